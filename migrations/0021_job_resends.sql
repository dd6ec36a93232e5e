-- Self-healing bookkeeping: how often the sweeper re-sent a job whose
-- queue message seemed lost, so a job the queue never delivers ends
-- (failed, `never_delivered`) instead of being re-sent forever; and an
-- index for the sweep and the active-job count, which read jobs by status.
ALTER TABLE jobs ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_status ON jobs (status, updated_at);
