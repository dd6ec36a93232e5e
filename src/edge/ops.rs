//! The operations store over D1: metrics rollups, alerts, job figures and
//! backups' table reads.

use super::d1::{num, text, D1Meta, JobRow, JOB_COLUMNS};
use crate::ops::jobstats::LlmRollup;
use crate::ops::metrics::{Rollup, Stats, BUCKETS};
use crate::ops::slo::{Alert, Sli};
use crate::ports::{JobTiming, OpsStore, StoreError, StoreResult};
use serde::Deserialize;
use serde_json::{Map, Value};
use worker::wasm_bindgen::JsValue;

fn bucket_columns() -> Vec<String> {
    (0..BUCKETS).map(|i| format!("b{i:02}")).collect()
}

fn number(row: &Map<String, Value>, name: &str) -> u64 {
    row.get(name).and_then(Value::as_f64).unwrap_or(0.0) as u64
}

/// metrics_minute's columns, in [`rollup_args`] order, and placeholders.
fn rollup_columns() -> (Vec<String>, Vec<String>) {
    let columns: Vec<String> = [
        "minute",
        "name",
        "count",
        "errors",
        "client_errors",
        "sum_ms",
    ]
    .iter()
    .map(|c| c.to_string())
    .chain(bucket_columns())
    .collect();
    let placeholders = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    (columns, placeholders)
}

/// A rollup's values in metrics_minute's column order.
fn rollup_args(r: &Rollup) -> Vec<JsValue> {
    let s = &r.stats;
    let mut args: Vec<JsValue> = vec![
        num(r.minute),
        text(&r.name),
        num(s.count),
        num(s.errors),
        num(s.client_errors),
        num(s.sum_ms),
    ];
    args.extend(s.buckets.iter().map(|b| num(*b)));
    args
}

impl OpsStore for D1Meta {
    async fn add_metrics(&self, rollups: &[Rollup]) -> StoreResult<()> {
        if rollups.is_empty() {
            return Ok(());
        }
        let (columns, placeholders) = rollup_columns();
        let updates: Vec<String> = columns[2..]
            .iter()
            .map(|c| format!("{c} = {c} + excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO metrics_minute ({}) VALUES ({}) ON CONFLICT (minute, name) DO UPDATE SET {}",
            columns.join(", "),
            placeholders.join(", "),
            updates.join(", ")
        );
        let mut statements = Vec::new();
        for r in rollups {
            statements.push(self.stmt(&sql, &rollup_args(r))?);
        }
        self.batch(statements).await
    }

    async fn metrics_since(&self, from_minute: u64) -> StoreResult<Vec<(String, Stats)>> {
        let sums: Vec<String> = ["count", "errors", "client_errors", "sum_ms"]
            .iter()
            .map(|c| c.to_string())
            .chain(bucket_columns())
            .map(|c| format!("SUM({c}) AS {c}"))
            .collect();
        let sql = format!(
            "SELECT name, {} FROM metrics_minute WHERE minute >= ?1 GROUP BY name",
            sums.join(", ")
        );
        let rows = self
            .all::<Map<String, Value>>(&sql, &[num(from_minute)])
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut stats = Stats {
                    count: number(&row, "count"),
                    errors: number(&row, "errors"),
                    client_errors: number(&row, "client_errors"),
                    sum_ms: number(&row, "sum_ms"),
                    ..Stats::default()
                };
                for (i, column) in bucket_columns().iter().enumerate() {
                    stats.buckets[i] = number(&row, column);
                }
                let name = row
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                (name, stats)
            })
            .collect())
    }

    async fn prune_metrics(&self, before_minute: u64) -> StoreResult<u64> {
        let mut n = 0;
        for table in ["metrics_minute", "llm_metrics_minute"] {
            let sql = format!("DELETE FROM {table} WHERE minute < ?1");
            n += self.run(&sql, &[num(before_minute)]).await?;
        }
        Ok(n as u64)
    }

    async fn put_job_rollups(
        &self,
        rows: &[Rollup],
        llm: &[LlmRollup],
        upto_minute: u64,
    ) -> StoreResult<()> {
        let (columns, placeholders) = rollup_columns();
        let replace_row = format!(
            "INSERT OR REPLACE INTO metrics_minute ({}) VALUES ({})",
            columns.join(", "),
            placeholders.join(", ")
        );
        let mut statements = Vec::new();
        for r in rows {
            statements.push(self.stmt(&replace_row, &rollup_args(r))?);
        }
        for m in llm {
            statements.push(self.stmt(
                "INSERT OR REPLACE INTO llm_metrics_minute \
                 (minute, model, commands, input_tokens, output_tokens, cost_usd) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &[
                    num(m.minute),
                    text(&m.model),
                    num(m.commands),
                    num(m.input_tokens),
                    num(m.output_tokens),
                    JsValue::from_f64(m.cost_usd),
                ],
            )?);
        }
        statements.push(self.stmt(
            "INSERT OR REPLACE INTO rollup_marks (name, upto_minute) VALUES ('jobs', ?1)",
            &[num(upto_minute)],
        )?);
        // In batches of bounded size, the mark last: a pass cut short
        // leaves the mark where it was, and the next pass replaces the
        // same rows again.
        let mut statements = statements.into_iter().peekable();
        while statements.peek().is_some() {
            self.batch(statements.by_ref().take(100).collect()).await?;
        }
        Ok(())
    }

    async fn job_rollup_mark(&self) -> StoreResult<Option<u64>> {
        #[derive(Deserialize)]
        struct Row {
            upto_minute: f64,
        }
        let row = self
            .first::<Row>(
                "SELECT upto_minute FROM rollup_marks WHERE name = 'jobs'",
                &[],
            )
            .await?;
        Ok(row.map(|r| r.upto_minute as u64))
    }

    async fn llm_since(&self, from_minute: u64) -> StoreResult<Vec<LlmRollup>> {
        #[derive(Deserialize)]
        struct Row {
            model: String,
            commands: f64,
            input_tokens: f64,
            output_tokens: f64,
            cost_usd: f64,
        }
        let rows = self
            .all::<Row>(
                "SELECT model, SUM(commands) AS commands, SUM(input_tokens) AS input_tokens, \
                 SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd \
                 FROM llm_metrics_minute WHERE minute >= ?1 GROUP BY model ORDER BY model",
                &[num(from_minute)],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| LlmRollup {
                minute: from_minute,
                model: r.model,
                commands: r.commands as u64,
                input_tokens: r.input_tokens as u64,
                output_tokens: r.output_tokens as u64,
                cost_usd: r.cost_usd,
            })
            .collect())
    }

    async fn finished_jobs(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<JobTiming>> {
        #[derive(Deserialize)]
        struct Row {
            #[serde(flatten)]
            job: JobRow,
            media_type: Option<String>,
        }
        let sql = format!(
            "SELECT {JOB_COLUMNS}, (SELECT d.media_type FROM documents d \
             WHERE d.id = jobs.document_id AND d.tenant_id = jobs.tenant_id) AS media_type \
             FROM jobs WHERE finished_at >= ?1 AND finished_at < ?2 ORDER BY finished_at LIMIT ?3"
        );
        self.all::<Row>(&sql, &[num(from_ms), num(to_ms), num(u64::from(limit))])
            .await?
            .into_iter()
            .map(|r| {
                Ok(JobTiming {
                    job: r.job.into_job()?,
                    // The document may be gone since.
                    media_type: r.media_type.unwrap_or_else(|| "(deleted)".into()),
                })
            })
            .collect()
    }

    async fn job_sli(&self, from_ms: u64, now_ms: u64, within_ms: u64) -> StoreResult<Sli> {
        #[derive(Deserialize)]
        struct Row {
            total: Option<f64>,
            good: Option<f64>,
        }
        let sql = "SELECT COUNT(*) AS total, \
                   SUM(status = 'succeeded' AND finished_at - created_at <= ?3) AS good \
                   FROM jobs WHERE created_at >= ?1 AND status != 'cancelled' \
                   AND (status IN ('succeeded', 'failed') OR created_at < ?2 - ?3)";
        let row = self
            .first::<Row>(sql, &[num(from_ms), num(now_ms), num(within_ms)])
            .await?;
        Ok(row.map_or(Sli::default(), |r| Sli {
            good: r.good.unwrap_or(0.0) as u64,
            total: r.total.unwrap_or(0.0) as u64,
        }))
    }

    async fn dead_letter_depth(&self, since_ms: u64) -> StoreResult<u64> {
        #[derive(Deserialize)]
        struct Row {
            n: f64,
        }
        let sql = "SELECT COUNT(*) AS n FROM dead_letters \
                   WHERE received_at >= ?1 AND replayed_at IS NULL";
        Ok(self
            .first::<Row>(sql, &[num(since_ms)])
            .await?
            .map_or(0, |r| r.n as u64))
    }

    async fn stored_totals(&self) -> StoreResult<(u64, u64)> {
        #[derive(Deserialize)]
        struct Row {
            n: f64,
            bytes: Option<f64>,
        }
        let sql = "SELECT COUNT(*) AS n, SUM(size_bytes) AS bytes FROM documents";
        Ok(self
            .first::<Row>(sql, &[])
            .await?
            .map_or((0, 0), |r| (r.n as u64, r.bytes.unwrap_or(0.0) as u64)))
    }

    async fn list_alerts(&self) -> StoreResult<Vec<Alert>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            slo: String,
            severity: String,
            state: String,
            summary: String,
            opened_at: f64,
            resolved_at: Option<f64>,
            notified: Option<String>,
        }
        let sql = "SELECT id, slo, severity, state, summary, opened_at, resolved_at, notified \
                   FROM alerts ORDER BY opened_at DESC";
        Ok(self
            .all::<Row>(sql, &[])
            .await?
            .into_iter()
            .map(|r| Alert {
                id: r.id,
                slo: r.slo,
                severity: r.severity,
                state: r.state,
                summary: r.summary,
                opened_at_ms: r.opened_at as u64,
                resolved_at_ms: r.resolved_at.map(|v| v as u64),
                notified: r.notified,
            })
            .collect())
    }

    async fn put_alert(&self, a: &Alert) -> StoreResult<()> {
        let sql = "INSERT INTO alerts (id, slo, severity, state, summary, opened_at, resolved_at, \
                   notified) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE \
                   SET state = excluded.state, summary = excluded.summary, \
                   opened_at = excluded.opened_at, resolved_at = excluded.resolved_at, \
                   notified = excluded.notified";
        let resolved = a.resolved_at_ms.map_or(JsValue::NULL, num);
        let notified = a.notified.as_deref().map_or(JsValue::NULL, text);
        self.run(
            sql,
            &[
                text(&a.id),
                text(&a.slo),
                text(&a.severity),
                text(&a.state),
                text(&a.summary),
                num(a.opened_at_ms),
                resolved,
                notified,
            ],
        )
        .await
        .map(|_| ())
    }

    async fn backup_tables(&self) -> StoreResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Row {
            name: String,
        }
        let sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid";
        Ok(self
            .all::<Row>(sql, &[])
            .await?
            .into_iter()
            .map(|r| r.name)
            .filter(|t| crate::ops::backup::is_backed_up(t))
            .collect())
    }

    async fn backup_rows(
        &self,
        table: &str,
        after_rowid: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, Map<String, Value>)>> {
        // Table names come from sqlite_master, never from a request.
        if !table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StoreError::Permanent(format!("odd table name {table}")));
        }
        let sql = format!(
            "SELECT rowid AS __rowid, * FROM \"{table}\" WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        );
        let rows = self
            .all::<Map<String, Value>>(
                &sql,
                &[JsValue::from_f64(after_rowid as f64), num(u64::from(limit))],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|mut row| {
                let id = row
                    .remove("__rowid")
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0) as i64;
                (id, row)
            })
            .collect())
    }
}
