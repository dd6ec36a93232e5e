//! The API worker's crons (`scheduled`): self-healing, the SLO pass, the
//! sweep and the daily backup. They touch D1, R2 and the queue only, so
//! they run where the Durable Objects and `/cdn-cgi/handler/scheduled` are.

use super::*;

/// The cron schedule of self-healing (stalled jobs sent again or ended).
pub const HEAL_CRON: &str = "* * * * *";
/// The cron schedule of the SLO pass (also flushes metrics).
pub const SLO_CRON: &str = "*/5 * * * *";
/// The cron schedule of the daily backup and retention run.
pub const DAILY_CRON: &str = "30 3 * * *";

#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let now = worker::Date::now().as_millis();
    let cron = event.cron();
    let Some(app) = config(&env).ok().and_then(|c| {
        app(
            &env,
            c.clone(),
            &Obs::new(format!("cron {cron}"), None, &c.ops),
        )
        .ok()
    }) else {
        log(json!({"level": "error", "msg": "scheduled run misconfigured"}));
        return;
    };
    // Which run a trigger starts is set by its schedule (wrangler.toml
    // [triggers]): healing every minute, the SLO pass every 5 minutes, the
    // daily backup, and the sweep for the rest.
    let (msg, failed, report) = match cron.as_str() {
        HEAL_CRON => {
            let r = app.heal(now).await;
            ("heal", r.errors > 0, json!(r))
        }
        SLO_CRON => {
            metrics::flush_metrics(&app, now).await;
            let r = app.evaluate_slos(now).await;
            ("slo", r.errors > 0 || r.notify_failed > 0, json!(r))
        }
        DAILY_CRON => {
            let r = app.daily(now).await;
            let failed = r["errors"].as_array().is_some_and(|e| !e.is_empty());
            ("daily", failed, r)
        }
        _ => {
            let r = app.sweep(now).await;
            ("sweep", r.errors > 0, json!(r))
        }
    };
    log(json!({
        "level": if failed { "warn" } else { "info" },
        "msg": msg, "cron": cron, "report": report,
        "latency_ms": worker::Date::now().as_millis().saturating_sub(now),
    }));
}
