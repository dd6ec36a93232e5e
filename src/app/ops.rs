//! Operator views and runs over operations data: `GET /v1/admin/metrics`,
//! `GET /v1/admin/slo`, backups (`/v1/admin/backups`), and the cron's SLO
//! evaluation (alerts) and backup/retention passes.

use super::tenants::require_operator;
use super::App;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ops::metrics::{self, sample_percentile, summarize, Stats};
use crate::ops::{backup, slo};
use crate::ports::{BlobStore, HttpClient, OpsStore, Ports};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;
/// Finished jobs read for the job figures of one metrics window.
const JOB_SAMPLE: u32 = 5000;

fn window_minutes(req: &Request, default: u64) -> Result<u64, ApiError> {
    match req.query_param("window") {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|w| (1..=10_080).contains(w))
            .ok_or_else(|| {
                ApiError::Invalid(
                    "invalid_window",
                    format!("window is minutes from 1 to 10080 (7 days), not '{v}'"),
                )
            }),
    }
}

/// Per-route and overall request figures, job outcomes and timings per
/// format, queue wait, LLM tokens and cost, and storage, over a window.
pub async fn metrics<P: Ports>(
    app: &App<P>,
    req: &Request,
    now_ms: u64,
) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let window = window_minutes(req, 60)?;
    let from_ms = now_ms.saturating_sub(window * MINUTE_MS);
    let routes = app.ops.metrics_since(from_ms / MINUTE_MS).await?;
    let mut total = Stats::default();
    let mut summaries: Vec<_> = routes
        .iter()
        .map(|(name, s)| {
            total.merge(s);
            summarize(name, s)
        })
        .collect();
    summaries.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.route.cmp(&b.route)));
    let jobs = app.ops.finished_jobs(from_ms, JOB_SAMPLE).await?;
    let (documents, bytes) = app.ops.stored_totals().await?;
    Ok(Response::json(
        200,
        &json!({
            "window_minutes": window,
            "from": crate::time::rfc3339(from_ms),
            "to": crate::time::rfc3339(now_ms),
            "requests": summarize("*", &total),
            "routes": summaries,
            "jobs": job_figures(&jobs),
            "storage": { "documents": documents, "bytes": bytes },
        }),
    ))
}

#[derive(Default)]
struct FormatFigures {
    outcomes: BTreeMap<String, u64>,
    processing_ms: Vec<u64>,
}

fn percentiles(mut v: Vec<u64>) -> Value {
    v.sort_unstable();
    json!({
        "count": v.len(),
        "p50": sample_percentile(&v, 0.5),
        "p95": sample_percentile(&v, 0.95),
        "p99": sample_percentile(&v, 0.99),
    })
}

fn job_figures(jobs: &[crate::ports::JobTiming]) -> Value {
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut formats: BTreeMap<String, FormatFigures> = BTreeMap::new();
    let mut waits = Vec::new();
    let (mut tokens_in, mut tokens_out, mut cost) = (0u64, 0u64, 0f64);
    let mut by_model: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    for t in jobs {
        let job = &t.job;
        let status = job.status.as_str().to_string();
        *outcomes.entry(status.clone()).or_default() += 1;
        let f = formats.entry(t.media_type.clone()).or_default();
        *f.outcomes.entry(status).or_default() += 1;
        if let (Some(started), Some(finished)) = (job.started_at_ms, job.finished_at_ms) {
            f.processing_ms.push(finished.saturating_sub(started));
            waits.push(started.saturating_sub(job.created_at_ms));
        }
        for usage in job.command_states.iter().filter_map(|c| c.llm.as_ref()) {
            tokens_in += u64::from(usage.input_tokens);
            tokens_out += u64::from(usage.output_tokens);
            cost += usage.cost_usd;
            let model = usage.model.clone().unwrap_or_else(|| "(none)".into());
            let m = by_model.entry(model).or_default();
            m.0 += u64::from(usage.input_tokens);
            m.1 += u64::from(usage.output_tokens);
            m.2 += usage.cost_usd;
        }
    }
    let formats: Vec<Value> = formats
        .into_iter()
        .map(|(media_type, f)| {
            json!({
                "media_type": media_type,
                "outcomes": f.outcomes,
                "processing_ms": percentiles(f.processing_ms),
            })
        })
        .collect();
    let round = |c: f64| (c * 1_000_000.0).round() / 1_000_000.0;
    let models: Vec<Value> = by_model
        .into_iter()
        .map(|(model, (i, o, c))| json!({"model": model, "input_tokens": i, "output_tokens": o, "cost_usd": round(c)}))
        .collect();
    json!({
        "finished": jobs.len(),
        "sampled_up_to": JOB_SAMPLE,
        "outcomes": outcomes,
        "queue_wait_ms": percentiles(waits),
        "formats": formats,
        "llm": {
            "input_tokens": tokens_in, "output_tokens": tokens_out,
            "cost_usd": round(cost), "models": models,
        },
    })
}

/// One objective's indicator over the last `minutes`.
async fn sli<P: Ports>(
    app: &App<P>,
    objective: &slo::Slo,
    routes: &[(String, Stats)],
    minutes: u64,
    now_ms: u64,
) -> Result<slo::Sli, ApiError> {
    Ok(
        match (&objective.kind, slo::request_sli(&objective.kind, routes)) {
            (_, Some(s)) => s,
            (slo::SloKind::JobCompletion { within_ms }, None) => {
                app.ops
                    .job_sli(
                        now_ms.saturating_sub(minutes * MINUTE_MS),
                        now_ms,
                        *within_ms,
                    )
                    .await?
            }
            _ => slo::Sli::default(),
        },
    )
}

/// Per-route stats for each burn window.
async fn window_stats<P: Ports>(
    app: &App<P>,
    now_ms: u64,
) -> Result<Vec<(u64, Vec<(String, Stats)>)>, ApiError> {
    let mut out = Vec::new();
    for w in slo::windows() {
        let since = (now_ms / MINUTE_MS).saturating_sub(w);
        out.push((w, app.ops.metrics_since(since).await?));
    }
    Ok(out)
}

#[derive(Debug, Default, Serialize)]
pub struct SloReport {
    pub evaluated: usize,
    pub firing: usize,
    pub opened: usize,
    pub resolved: usize,
    pub notified: usize,
    pub notify_failed: usize,
    pub errors: usize,
}

/// The cron's SLO pass: burn rates per rule, dead-letter depth, alert
/// state changes stored, and every alert whose state the receiver has
/// not acknowledged POSTed (signed) again.
pub async fn evaluate_slos<P: Ports>(app: &App<P>, now_ms: u64) -> SloReport {
    let mut report = SloReport::default();
    match candidates(app, now_ms).await {
        Ok(firing) => {
            report.evaluated = app.config.ops.slos.len() + 1;
            report.firing = firing.len();
            match app.ops.list_alerts().await {
                Ok(current) => {
                    for alert in slo::transitions(&current, &firing, now_ms) {
                        if alert.state == "firing" {
                            report.opened += 1;
                        } else {
                            report.resolved += 1;
                        }
                        if app.ops.put_alert(&alert).await.is_err() {
                            report.errors += 1;
                        }
                    }
                }
                Err(_) => report.errors += 1,
            }
        }
        Err(_) => report.errors += 1,
    }
    notify(app, now_ms, &mut report).await;
    report
}

async fn candidates<P: Ports>(app: &App<P>, now_ms: u64) -> Result<Vec<slo::Candidate>, ApiError> {
    let stats = window_stats(app, now_ms).await?;
    let routes_for = |w: u64| {
        stats
            .iter()
            .find(|(m, _)| *m == w)
            .map(|(_, r)| r.as_slice())
            .unwrap_or(&[])
    };
    let mut firing = Vec::new();
    for objective in &app.config.ops.slos {
        for rule in &slo::BURN_RULES {
            let long = sli(
                app,
                objective,
                routes_for(rule.long_minutes),
                rule.long_minutes,
                now_ms,
            )
            .await?;
            let short = sli(
                app,
                objective,
                routes_for(rule.short_minutes),
                rule.short_minutes,
                now_ms,
            )
            .await?;
            firing.extend(slo::check(objective, rule, long, short));
        }
    }
    let depth = app
        .ops
        .dead_letter_depth(now_ms.saturating_sub(DAY_MS))
        .await?;
    if depth > app.config.ops.dlq_alert_depth {
        firing.push(slo::Candidate {
            id: "dead_letters:ticket".into(),
            slo: "dead_letters".into(),
            severity: "ticket".into(),
            summary: format!(
                "{depth} dead letters in the last 24 h await the operator (alert above {})",
                app.config.ops.dlq_alert_depth
            ),
        });
    }
    Ok(firing)
}

async fn notify<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SloReport) {
    let Some(url) = app.config.ops.alert_url.as_deref() else {
        return;
    };
    let Ok(alerts) = app.ops.list_alerts().await else {
        report.errors += 1;
        return;
    };
    for mut alert in alerts.into_iter().filter(slo::Alert::needs_notice) {
        let body = json!({
            "type": format!("alert.{}", alert.state),
            "alert": {
                "id": alert.id, "slo": alert.slo, "severity": alert.severity,
                "state": alert.state, "summary": alert.summary,
                "opened_at": crate::time::rfc3339(alert.opened_at_ms),
                "resolved_at": alert.resolved_at_ms.map(crate::time::rfc3339),
            },
            "environment": app.config.environment,
        })
        .to_string();
        // The id names the state, so a receiver can de-duplicate repeats.
        let msg_id = format!("alert_{}_{}_{}", alert.id, alert.state, alert.opened_at_ms);
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("webhook-id".to_string(), msg_id.clone()),
            ("webhook-timestamp".to_string(), (now_ms / 1000).to_string()),
        ];
        if let Some(secret) = app.config.ops.alert_secret.as_deref() {
            match crate::webhooks::sign(secret, &msg_id, now_ms / 1000, &body) {
                Ok(sig) => headers.push(("webhook-signature".to_string(), sig)),
                Err(_) => {
                    report.errors += 1;
                    return;
                }
            }
        }
        match app.http.post(url, &headers, &body).await {
            Ok(status) if (200..300).contains(&status) => {
                alert.notified = Some(alert.state.clone());
                report.notified += 1;
                if app.ops.put_alert(&alert).await.is_err() {
                    report.errors += 1;
                }
            }
            // Left un-acknowledged: the next run sends it again.
            _ => report.notify_failed += 1,
        }
    }
}

/// `GET /v1/admin/slo`: each objective's indicator and budget left over
/// the period, its burn rate per window, and the alerts.
pub async fn show_slo<P: Ports>(
    app: &App<P>,
    req: &Request,
    now_ms: u64,
) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let period_minutes = app.config.ops.slo_period_days * 1440;
    let period_routes = app
        .ops
        .metrics_since((now_ms / MINUTE_MS).saturating_sub(period_minutes))
        .await?;
    let stats = window_stats(app, now_ms).await?;
    let mut out = Vec::new();
    for objective in &app.config.ops.slos {
        let period = sli(app, objective, &period_routes, period_minutes, now_ms).await?;
        let mut burn = serde_json::Map::new();
        for (w, routes) in &stats {
            let s = sli(app, objective, routes, *w, now_ms).await?;
            burn.insert(
                format!("{w}m"),
                json!(slo::burn_rate(s, objective.objective)),
            );
        }
        out.push(json!({
            "slo": objective,
            "period_days": app.config.ops.slo_period_days,
            "good": period.good,
            "total": period.total,
            "attainment": if period.total == 0 { None } else { Some(metrics::ratio(period.good, period.total)) },
            "budget_remaining": slo::budget_remaining(period, objective.objective),
            "burn_rates": burn,
        }));
    }
    let alerts = app.ops.list_alerts().await?;
    Ok(Response::json(
        200,
        &json!({
            "objectives": out,
            "rules": slo::BURN_RULES,
            "dead_letters_24h": app.ops.dead_letter_depth(now_ms.saturating_sub(DAY_MS)).await?,
            "alerts": alerts,
        }),
    ))
}

/// Rows read from D1 per query while backing up.
const BACKUP_PAGE: u32 = 500;

/// Writes a backup of every D1 table to R2 (encrypted like documents).
pub async fn make_backup<P: Ports>(app: &App<P>, now_ms: u64) -> Result<Value, ApiError> {
    let tables = app.ops.backup_tables().await?;
    let mut sql = backup::header(&crate::time::rfc3339(now_ms), tables.len());
    let mut counts = serde_json::Map::new();
    for table in &tables {
        let (mut after, mut n) = (i64::MIN, 0u64);
        loop {
            let rows = app.ops.backup_rows(table, after, BACKUP_PAGE).await?;
            let Some((last, _)) = rows.last() else { break };
            after = *last;
            n += rows.len() as u64;
            let maps: Vec<_> = rows.into_iter().map(|(_, m)| m).collect();
            sql.push_str(&backup::inserts(table, &maps));
            if maps.len() < BACKUP_PAGE as usize {
                break;
            }
        }
        counts.insert(table.clone(), json!(n));
    }
    let id = crate::ids::new_id("bak", now_ms, &app.entropy);
    let key = backup::object_key(now_ms, &id);
    let bytes = sql.len();
    app.blobs
        .put(&key, sql.into_bytes(), "application/sql")
        .await?;
    Ok(json!({
        "id": id, "key": key, "created_at": crate::time::rfc3339(now_ms),
        "bytes": bytes, "tables": counts,
    }))
}

/// Every backup's object key, oldest first.
async fn backup_keys<P: Ports>(app: &App<P>) -> Result<Vec<String>, ApiError> {
    let (mut cursor, mut out) = (None::<String>, Vec::new());
    loop {
        let (keys, next) = app.blobs.list("backups/", cursor.as_deref(), 500).await?;
        out.extend(keys.into_iter().map(|(k, _)| k));
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(out),
        }
    }
}

/// Deletes backups older than the retention; how many went.
pub async fn prune_backups<P: Ports>(app: &App<P>, now_ms: u64) -> Result<u64, ApiError> {
    let keep_from = now_ms.saturating_sub(app.config.ops.backup_retention_days * DAY_MS);
    let mut deleted = 0;
    for key in backup_keys(app).await? {
        if backup::created_of(&key).is_some_and(|t| t < keep_from) {
            app.blobs.delete(&key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

pub async fn create_backup<P: Ports>(
    app: &App<P>,
    req: &Request,
    now_ms: u64,
) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    Ok(Response::json(201, &make_backup(app, now_ms).await?))
}

pub async fn list_backups<P: Ports>(app: &App<P>, req: &Request) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let mut data: Vec<Value> = backup_keys(app)
        .await?
        .iter()
        .filter_map(|key| {
            let created = backup::created_of(key)?;
            let id = key.get("backups/".len() + 16..)?.trim_end_matches(".sql");
            Some(json!({ "id": id, "created_at": crate::time::rfc3339(created) }))
        })
        .collect();
    data.reverse();
    Ok(Response::json(200, &json!({ "data": data })))
}

/// The backup's SQL, decrypted, ready for `wrangler d1 execute --file`.
pub async fn get_backup<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let not_found = || ApiError::NotFound("backup".into());
    if !id.starts_with("bak_") || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(not_found());
    }
    let suffix = format!("-{id}.sql");
    let key = backup_keys(app)
        .await?
        .into_iter()
        .find(|k| k.ends_with(&suffix))
        .ok_or_else(not_found)?;
    let sql = app.blobs.get(&key).await?.ok_or_else(not_found)?;
    Ok(Response::new(200)
        .with_header("content-type", "application/sql; charset=utf-8")
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"{id}.sql\""),
        )
        .with_body(sql))
}
