-- Processing engine: a cancelled job state, per-command progress, and a
-- lookup of documents by content hash (extraction cache).
-- SQLite cannot change a CHECK constraint in place, so jobs is rebuilt.

CREATE TABLE jobs_new (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    document_id   TEXT NOT NULL,
    commands      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress      INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    deliveries    INTEGER NOT NULL DEFAULT 0,
    error_code    TEXT,
    error_message TEXT,
    lease_until   INTEGER,
    created_at    INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    updated_at    INTEGER NOT NULL,
    command_states TEXT NOT NULL DEFAULT '[]'  -- JSON: [{name, status, progress}]
);
INSERT INTO jobs_new (id, tenant_id, document_id, commands, status, progress, attempts,
    deliveries, error_code, error_message, lease_until, created_at, started_at, finished_at,
    updated_at)
SELECT id, tenant_id, document_id, commands, status, progress, attempts, deliveries,
    error_code, error_message, lease_until, created_at, started_at, finished_at, updated_at
FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_by_document ON jobs (tenant_id, document_id);

CREATE INDEX documents_by_hash ON documents (tenant_id, sha256);
