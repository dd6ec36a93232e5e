-- Completion webhooks: a signing secret per tenant, the target URL per job,
-- and a record of every delivery and its attempts.

ALTER TABLE tenants ADD COLUMN webhook_secret TEXT;
ALTER TABLE jobs ADD COLUMN webhook_url TEXT;

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,          -- whd_<job id>: one per job
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    job_id           TEXT NOT NULL,
    url              TEXT NOT NULL,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_until      INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX webhook_deliveries_by_job ON webhook_deliveries (tenant_id, job_id);
