-- Retention: a per-document expiry and a per-tenant default.
ALTER TABLE documents ADD COLUMN expires_at INTEGER;
ALTER TABLE tenants ADD COLUMN retention_days INTEGER;
CREATE INDEX documents_by_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;
