-- Resumable multipart uploads: one row per upload in progress (deleted on
-- completion or abort) and one per part received.
CREATE TABLE uploads (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    document_id      TEXT NOT NULL,
    blob_key         TEXT NOT NULL,
    store_upload_id  TEXT NOT NULL,
    filename         TEXT,
    media_type       TEXT NOT NULL,
    size_bytes       INTEGER NOT NULL,
    sha256           TEXT,
    part_size        INTEGER NOT NULL,
    hash_state       TEXT NOT NULL,
    hashed_parts     INTEGER NOT NULL DEFAULT 0,
    owner            TEXT,
    expires_at       INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX uploads_by_update ON uploads (updated_at);
CREATE INDEX uploads_by_document ON uploads (tenant_id, document_id);

CREATE TABLE upload_parts (
    upload_id   TEXT NOT NULL,
    number      INTEGER NOT NULL,
    etag        TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    PRIMARY KEY (upload_id, number)
);
