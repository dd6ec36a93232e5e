-- Database sharding. The database bound as DB is the directory (tenants,
-- their keys, users and identity providers; operations tables) and also
-- shard 0; DB_1, DB_2, ... are further shards. Every database gets every
-- migration; a tenant's documents, jobs, uploads, shares, webhook
-- deliveries and audit log live in the shard its directory row names.
-- Tenants created before sharding are on shard 0, where their rows are.
ALTER TABLE tenants ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
-- Set while the tenant's rows are copied to another shard: its writes are
-- refused (503, Retry-After) until the move ends.
ALTER TABLE tenants ADD COLUMN moving_since INTEGER;

-- A tenant's audit entries may leave a database only when the tenant is
-- erased (its tombstone) or moved away: the move writes a release row, the
-- deletes and the release's removal in one transaction.
CREATE TABLE audit_releases (
    tenant_id TEXT PRIMARY KEY
);

DROP TRIGGER audit_log_append_only_delete;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM tenant_tombstones t WHERE t.tenant_id = OLD.tenant_id)
 AND NOT EXISTS (SELECT 1 FROM audit_releases r WHERE r.tenant_id = OLD.tenant_id)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
