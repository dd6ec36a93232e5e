-- Operations: per-minute request metrics (rows for the same minute and
-- route add up; latency in fixed buckets b00..b22, bounds in
-- src/ops/metrics.rs) and SLO alerts (one row per objective and severity).
CREATE TABLE metrics_minute (
    minute        INTEGER NOT NULL,
    name          TEXT NOT NULL,
    count         INTEGER NOT NULL DEFAULT 0,
    errors        INTEGER NOT NULL DEFAULT 0,
    client_errors INTEGER NOT NULL DEFAULT 0,
    sum_ms        INTEGER NOT NULL DEFAULT 0,
    b00 INTEGER NOT NULL DEFAULT 0, b01 INTEGER NOT NULL DEFAULT 0,
    b02 INTEGER NOT NULL DEFAULT 0, b03 INTEGER NOT NULL DEFAULT 0,
    b04 INTEGER NOT NULL DEFAULT 0, b05 INTEGER NOT NULL DEFAULT 0,
    b06 INTEGER NOT NULL DEFAULT 0, b07 INTEGER NOT NULL DEFAULT 0,
    b08 INTEGER NOT NULL DEFAULT 0, b09 INTEGER NOT NULL DEFAULT 0,
    b10 INTEGER NOT NULL DEFAULT 0, b11 INTEGER NOT NULL DEFAULT 0,
    b12 INTEGER NOT NULL DEFAULT 0, b13 INTEGER NOT NULL DEFAULT 0,
    b14 INTEGER NOT NULL DEFAULT 0, b15 INTEGER NOT NULL DEFAULT 0,
    b16 INTEGER NOT NULL DEFAULT 0, b17 INTEGER NOT NULL DEFAULT 0,
    b18 INTEGER NOT NULL DEFAULT 0, b19 INTEGER NOT NULL DEFAULT 0,
    b20 INTEGER NOT NULL DEFAULT 0, b21 INTEGER NOT NULL DEFAULT 0,
    b22 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, name)
);

CREATE TABLE alerts (
    id             TEXT PRIMARY KEY,
    slo            TEXT NOT NULL,
    severity       TEXT NOT NULL,
    state          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    opened_at      INTEGER NOT NULL,
    resolved_at    INTEGER,
    notified       TEXT
);

-- The operator's job figures and the job-completion SLO read by time.
CREATE INDEX jobs_by_finished ON jobs (finished_at);
CREATE INDEX jobs_by_created ON jobs (created_at);
