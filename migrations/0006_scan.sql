-- What the upload scan found (JSON: sniffed_type, flags).
ALTER TABLE documents ADD COLUMN scan TEXT;
