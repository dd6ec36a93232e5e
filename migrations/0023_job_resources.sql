-- What a job's successful run used (JSON: wall time per step, bytes read,
-- pages, Wasm memory), for the job, usage per tenant and day, and the top
-- consumers in /v1/admin/metrics.
ALTER TABLE jobs ADD COLUMN resources TEXT;
