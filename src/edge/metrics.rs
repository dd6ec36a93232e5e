//! The API worker's request metrics: each request counted in the isolate's
//! per-minute rollup (and Analytics Engine when bound), flushed to D1.

use super::d1::D1Meta;
use crate::ports::OpsStore;

thread_local! {
    /// What this isolate has counted since its last flush to D1.
    static METRICS: std::cell::RefCell<crate::ops::metrics::Accumulator> =
        std::cell::RefCell::default();
}

/// Counts one request: a data point to Analytics Engine (when bound) and
/// the isolate's per-minute rollup, flushed to D1 after the response when
/// due (a failed flush is kept for the next).
#[allow(clippy::too_many_arguments)]
pub fn record_request(
    env: &worker::Env,
    wctx: &worker::Context,
    config: &crate::config::Config,
    obs: &super::observe::Obs,
    method: &str,
    who: &crate::app::RequestLog,
    status: u16,
    latency_ms: u64,
    bytes_out: usize,
) {
    let now = worker::Date::now().as_millis();
    let name = format!("{method} {}", who.route.as_deref().unwrap_or("(unmatched)"));
    if let Ok(dataset) = env.analytics_engine("METRICS") {
        let point = worker::AnalyticsEngineDataPointBuilder::new()
            .indexes([name.as_str()])
            .add_blob(name.as_str())
            .add_blob(who.tenant_id.as_deref().unwrap_or(""))
            .add_blob(who.error_code.unwrap_or(""))
            .add_double(f64::from(status))
            .add_double(latency_ms as f64)
            .add_double(bytes_out as f64)
            .build();
        let _ = dataset.write_data_point(&point);
    }
    let due = METRICS.with(|m| {
        let mut m = m.borrow_mut();
        m.record(now, &name, status, latency_ms);
        m.take_due(now, config.ops.metrics_flush_ms)
    });
    if due.is_empty() {
        return;
    }
    let Ok(dbs) = super::d1::Databases::of(env) else {
        METRICS.with(|m| m.borrow_mut().restore(due));
        return;
    };
    let meta = D1Meta(dbs, obs.clone());
    wctx.wait_until(async move {
        if meta.add_metrics(&due).await.is_err() {
            METRICS.with(|m| m.borrow_mut().restore(due));
        }
    });
}

/// Writes whatever this isolate has counted (the SLO cron's first step).
pub async fn flush_metrics(app: &super::EdgeApp, now_ms: u64) {
    let due = METRICS.with(|m| m.borrow_mut().take_due(now_ms, 0));
    if app.ops.add_metrics(&due).await.is_err() {
        METRICS.with(|m| m.borrow_mut().restore(due));
    }
}
