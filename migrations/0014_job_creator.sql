-- Who created a job (key id, or jwt:<user id>), so the pages and LLM
-- tokens it spends are attributed per key in GET /v1/usage.
ALTER TABLE jobs ADD COLUMN created_by TEXT;
