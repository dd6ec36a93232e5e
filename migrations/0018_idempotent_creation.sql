-- The Idempotency-Key a document or job was created under. A try that
-- wrote its row and then failed (a lost acknowledgement, a queue outage)
-- is finished by the client's retry with the same key instead of
-- creating a second row. One row per key and tenant.
ALTER TABLE documents ADD COLUMN idempotency_key TEXT;
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX documents_by_idempotency_key ON documents (tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
