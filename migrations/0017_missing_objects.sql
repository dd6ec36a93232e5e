-- The sweep checks that each document's object is still in R2, oldest
-- check first: when it last looked, and since when the object is missing.
ALTER TABLE documents ADD COLUMN verified_at INTEGER;
ALTER TABLE documents ADD COLUMN missing_at INTEGER;
CREATE INDEX documents_by_verification ON documents (verified_at);
