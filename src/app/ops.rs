//! Operator views and runs over operations data: `GET /v1/admin/metrics`,
//! `GET /v1/admin/slo`, backups (`/v1/admin/backups`), and the cron's SLO
//! evaluation (alerts) and backup/retention passes.

use super::rollups::roll_up_jobs;
use super::App;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ops::jobstats::{self, JobFigures, LlmRollup};
use crate::ops::metrics::{self, summarize, Stats};
use crate::ops::slo;
use crate::ports::{HttpClient, OpsStore, Ports, ShardStore};
use serde::Serialize;
use serde_json::{json, Value};

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 86_400_000;
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
    let window = window_minutes(req, 60)?;
    let from_ms = now_ms.saturating_sub(window * MINUTE_MS);
    // Up to now; if this pass fails, figures are as of the last one.
    let _ = roll_up_jobs(app, now_ms).await;
    let rows = app.ops.metrics_since(from_ms / MINUTE_MS).await?;
    let jobs = JobFigures::from_rows(&rows);
    let llm = app.ops.llm_since(from_ms / MINUTE_MS).await?;
    let routes = requests_only(rows);
    let mut total = Stats::default();
    let mut summaries: Vec<_> = routes
        .iter()
        .map(|(name, s)| {
            total.merge(s);
            summarize(name, s)
        })
        .collect();
    summaries.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.route.cmp(&b.route)));
    let (mut documents, mut bytes) = (0, 0);
    for shard in 0..app.meta.shard_count() {
        app.meta.enter(shard);
        let (d, b) = app.ops.stored_totals().await?;
        documents += d;
        bytes += b;
    }
    let resources = super::usage::resource_figures(app, from_ms, now_ms + 1).await?;
    Ok(Response::json(
        200,
        &json!({
            "window_minutes": window,
            "from": crate::time::rfc3339(from_ms),
            "to": crate::time::rfc3339(now_ms),
            "requests": summarize("*", &total),
            "routes": summaries,
            "jobs": job_figures(&jobs, &llm),
            "storage": { "documents": documents, "bytes": bytes },
            "resources": resources,
        }),
    ))
}

fn percentiles(s: &Stats) -> Value {
    json!({
        "count": s.count,
        "p50": s.percentile(0.5),
        "p95": s.percentile(0.95),
        "p99": s.percentile(0.99),
    })
}

fn job_figures(jobs: &JobFigures, llm: &[LlmRollup]) -> Value {
    let formats: Vec<Value> = jobs
        .formats
        .iter()
        .map(|(media_type, (outcomes, processing))| {
            json!({
                "media_type": media_type,
                "outcomes": outcomes,
                "processing_ms": percentiles(processing),
            })
        })
        .collect();
    let round = |c: f64| (c * 1_000_000.0).round() / 1_000_000.0;
    let models: Vec<Value> = llm
        .iter()
        .map(|m| {
            json!({
                "model": m.model, "commands": m.commands, "input_tokens": m.input_tokens,
                "output_tokens": m.output_tokens, "cost_usd": round(m.cost_usd),
            })
        })
        .collect();
    json!({
        "finished": jobs.finished(),
        "outcomes": jobs.outcomes,
        "queue_wait_ms": percentiles(&jobs.queue_wait),
        "formats": formats,
        "llm": {
            "input_tokens": llm.iter().map(|m| m.input_tokens).sum::<u64>(),
            "output_tokens": llm.iter().map(|m| m.output_tokens).sum::<u64>(),
            "cost_usd": round(llm.iter().map(|m| m.cost_usd).sum()),
            "models": models,
        },
    })
}

/// The request rows among rollups (job rollups share the table).
fn requests_only(rows: Vec<(String, Stats)>) -> Vec<(String, Stats)> {
    rows.into_iter()
        .filter(|(name, _)| !jobstats::is_job_rollup(name))
        .collect()
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
                let mut all = slo::Sli::default();
                for shard in 0..app.meta.shard_count() {
                    app.meta.enter(shard);
                    let from = now_ms.saturating_sub(minutes * MINUTE_MS);
                    let s = app.ops.job_sli(from, now_ms, *within_ms).await?;
                    all.good += s.good;
                    all.total += s.total;
                }
                all
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
        out.push((w, requests_only(app.ops.metrics_since(since).await?)));
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
    /// Finished jobs read by the rollup pass that runs first.
    pub jobs_rolled_up: u64,
}

/// The cron's SLO pass: burn rates per rule, dead-letter depth, alert
/// state changes stored, and every alert whose state the receiver has
/// not acknowledged POSTed (signed) again.
pub async fn evaluate_slos<P: Ports>(app: &App<P>, now_ms: u64) -> SloReport {
    let mut report = SloReport::default();
    match roll_up_jobs(app, now_ms).await {
        Ok(n) => report.jobs_rolled_up = n,
        Err(_) => report.errors += 1,
    }
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
pub async fn show_slo<P: Ports>(app: &App<P>, now_ms: u64) -> Result<Response, ApiError> {
    let period_minutes = app.config.ops.slo_period_days * 1440;
    let period_routes = requests_only(
        app.ops
            .metrics_since((now_ms / MINUTE_MS).saturating_sub(period_minutes))
            .await?,
    );
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
