-- Fair processing: a tenant has at most TENANT_JOBS_IN_FLIGHT jobs in the
-- shared queue at once; its later jobs wait here (`queued`, held = 1) and
-- are sent, oldest first, as its earlier ones end. One tenant's flood then
-- sits in its own rows, not ahead of every other tenant's work in the queue.
ALTER TABLE jobs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_in_flight ON jobs (tenant_id, status, held, created_at);
