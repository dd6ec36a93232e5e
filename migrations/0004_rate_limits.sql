-- Per-key rate-limit overrides, as "class=limit/seconds,…" (NULL: defaults).
ALTER TABLE api_keys ADD COLUMN rate_limits TEXT;
