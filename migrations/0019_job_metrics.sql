-- Finished jobs rolled up per minute (src/ops/jobstats.rs): by outcome and
-- format (processing time) and queue wait go in metrics_minute under the
-- names job:<outcome>:<media type> and queue_wait; LLM tokens and cost per
-- model here. A pass replaces the rows of the minutes it covers, and
-- records the minute it covered up to.
CREATE TABLE llm_metrics_minute (
    minute        INTEGER NOT NULL,
    model         TEXT NOT NULL,
    commands      INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, model)
);

CREATE TABLE rollup_marks (
    name        TEXT PRIMARY KEY,
    upto_minute INTEGER NOT NULL
);
