-- The parts of a job on a large PDF: ranges of pages read as separate
-- queue messages at the same time, each in its own bounded memory, then
-- merged in page order (src/jobs/parts.rs). A tenant table: in the
-- tenant's shard, copied by a move, gone with its job.
CREATE TABLE job_parts (
    job_id      TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    tenant_id   TEXT NOT NULL,
    first_page  INTEGER NOT NULL,
    last_page   INTEGER NOT NULL,
    -- pending: not sent yet; sent: on the queue or being read;
    -- done, failed: read (its result stored), or given up with `error`.
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    sent_at     INTEGER,
    finished_at INTEGER,
    error       TEXT,
    -- What reading it used: bytes fetched from storage, the isolate's
    -- Wasm memory after it, wall time.
    bytes_read  INTEGER NOT NULL DEFAULT 0,
    wasm_memory INTEGER NOT NULL DEFAULT 0,
    ms          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, part)
);
CREATE INDEX job_parts_tenant ON job_parts (tenant_id);

-- A running job waiting for its parts (when it was parked); its last part
-- clears it and sends the job's message again.
ALTER TABLE jobs ADD COLUMN parked_at INTEGER;
