-- Tenant erasure (DELETE /v1/tenant): a request mark on the tenant, and the
-- tombstone that is all that remains afterwards. The audit log's
-- append-only guard lets a tenant's entries go only once its tombstone
-- exists.
ALTER TABLE tenants ADD COLUMN erase_requested_at INTEGER;

CREATE TABLE tenant_tombstones (
    tenant_id       TEXT PRIMARY KEY,
    requested_at    INTEGER NOT NULL,
    erased_at       INTEGER NOT NULL,
    objects_deleted INTEGER NOT NULL,
    audit_entries   INTEGER NOT NULL,
    audit_head      TEXT                -- hash of the last audit entry erased
);

DROP TRIGGER audit_log_append_only_delete;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM tenant_tombstones t WHERE t.tenant_id = OLD.tenant_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
