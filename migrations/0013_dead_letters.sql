-- Messages the queue gave up on (quire-jobs-dlq): kept for the operator,
-- who can list and replay them (GET /v1/admin/dead-letters,
-- POST /v1/admin/dead-letters/{id}/replay).
CREATE TABLE dead_letters (
    id          TEXT PRIMARY KEY,      -- the queue message id
    kind        TEXT NOT NULL,         -- 'job' or 'webhook'
    ref_id      TEXT NOT NULL,         -- the job or delivery id
    tenant_id   TEXT,
    body        TEXT NOT NULL,         -- the message as received
    attempts    INTEGER NOT NULL,
    reason      TEXT,                  -- the job's last error, if any
    received_at INTEGER NOT NULL,
    replayed_at INTEGER
);
CREATE INDEX dead_letters_by_time ON dead_letters (received_at);
