//! Metering requests, stored bytes and processed pages against the
//! tenant's monthly budgets, and `GET /v1/usage`. A meter that cannot be
//! reached lets the request through (like the rate limiter); the edge logs.

use super::{App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::Response;
use crate::ports::{JobStore, Ports, UsageMeter};
use crate::usage::BreakdownRow as Row;
use crate::usage::{month_of, Charge, METRICS};
use serde_json::{json, Map, Value};

/// Adds `amount` to a metric, refusing it when it would pass the budget.
pub async fn charge<P: Ports>(
    app: &App<P>,
    who: &Principal,
    ctx: &Ctx,
    metric: &str,
    amount: i64,
) -> Result<(), ApiError> {
    let limit = app.config.budget(&who.plan, metric);
    let c = Charge {
        metric: metric.to_string(),
        amount,
        limit,
        day: Some(crate::usage::day_of(ctx.now_ms)),
        key: Some(who.key_id.clone()),
        once: None,
    };
    match app
        .gate
        .charge(&who.tenant_id, &month_of(ctx.now_ms), &c)
        .await
    {
        Ok(charged) if !charged.allowed => Err(ApiError::BudgetExceeded {
            metric: metric.to_string(),
            limit: limit.unwrap_or(0),
        }),
        _ => Ok(()),
    }
}

/// Refuses when a metric's budget is already used up (checked, not charged).
pub async fn require_room<P: Ports>(
    app: &App<P>,
    who: &Principal,
    ctx: &Ctx,
    metric: &str,
) -> Result<(), ApiError> {
    let Some(limit) = app.config.budget(&who.plan, metric) else {
        return Ok(());
    };
    let Ok(totals) = app.gate.totals(&who.tenant_id, &month_of(ctx.now_ms)).await else {
        return Ok(());
    };
    if totals.get(metric).copied().unwrap_or(0) >= limit as i64 {
        return Err(ApiError::BudgetExceeded {
            metric: metric.to_string(),
            limit,
        });
    }
    Ok(())
}

/// Counts an event (a document or a job created) for the usage report,
/// after the response (it refuses nothing); a count that cannot be
/// written is lost, not an error.
pub fn count<P: Ports>(app: &App<P>, who: &Principal, ctx: &Ctx, metric: &str) {
    ctx.defer(super::After::Charge {
        tenant_id: who.tenant_id.clone(),
        month: month_of(ctx.now_ms),
        charge: Charge {
            metric: metric.to_string(),
            amount: 1,
            limit: app.config.budget(&who.plan, metric),
            day: Some(crate::usage::day_of(ctx.now_ms)),
            key: Some(who.key_id.clone()),
            once: None,
        },
    });
}

/// `GET /v1/usage`: this month's consumption against the budgets, with a
/// breakdown per day and per key (`?format=csv` for the breakdown alone).
pub async fn report<P: Ports>(
    app: &App<P>,
    req: &crate::http::Request,
    who: &Principal,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    let period = match req.query_param("period") {
        None => month_of(ctx.now_ms),
        Some(p)
            if p.len() == 7
                && p.as_bytes()[4] == b'-'
                && p.chars().filter(char::is_ascii_digit).count() == 6 =>
        {
            p
        }
        Some(_) => {
            return Err(ApiError::Invalid(
                "invalid_period",
                "period must be a month such as 2026-11".into(),
            ))
        }
    };
    let totals = app.gate.totals(&who.tenant_id, &period).await?;
    let price = |metric: &str| app.config.usage_prices.get(metric).copied();
    let rows = crate::usage::breakdown(&totals);
    if super::query_choice(req, "format", &["json", "csv"])? == Some("csv") {
        return Ok(as_csv(&period, &rows, &price));
    }
    let mut usage = Map::new();
    for metric in METRICS {
        let used = totals.get(metric).copied().unwrap_or(0);
        let budget = app.config.budget(&who.plan, metric);
        usage.insert(
            metric.to_string(),
            json!({
                "used": used,
                "budget": budget,
                "remaining": budget.map(|b| (b as i64 - used).max(0)),
                "estimated_cost_usd": price(metric).map(|p| p * used as f64),
            }),
        );
    }
    let (mut daily, by_key) = by_day_and_key(&rows);
    add_job_resources(app, who, &period, &mut daily).await?;
    Ok(Response::json(
        200,
        &json!({
            "period": period, "plan": who.plan, "usage": Value::Object(usage),
            "daily": daily, "by_key": by_key,
        }),
    ))
}

/// The breakdown as a CSV download.
fn as_csv(period: &str, rows: &[Row], price: &dyn Fn(&str) -> Option<f64>) -> Response {
    let mut csv = String::from("day,key,metric,amount,estimated_cost_usd\n");
    for (day, key, metric, amount) in rows {
        let cost = price(metric).map(|p| format!("{:.6}", p * *amount as f64));
        csv.push_str(&format!(
            "{day},{},{metric},{amount},{}\n",
            key.as_deref().unwrap_or(""),
            cost.unwrap_or_default()
        ));
    }
    Response::new(200)
        .with_header("content-type", "text/csv; charset=utf-8")
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"quire-usage-{period}.csv\""),
        )
        .with_body(csv.into_bytes())
}

type ByName = std::collections::BTreeMap<String, Map<String, Value>>;

/// The tenant's figures per day, and each key's totals over the period.
fn by_day_and_key(rows: &[Row]) -> (ByName, ByName) {
    let (mut daily, mut by_key) = (ByName::new(), ByName::new());
    for (day, key, metric, amount) in rows {
        match key {
            None => {
                daily
                    .entry(day.clone())
                    .or_default()
                    .insert(metric.clone(), json!(amount));
            }
            Some(k) => {
                let entry = by_key.entry(k.clone()).or_default();
                let sum = entry.get(metric).and_then(Value::as_i64).unwrap_or(0) + amount;
                entry.insert(metric.clone(), json!(sum));
            }
        }
    }
    (daily, by_key)
}

/// What the tenant's succeeded jobs used each day of the month:
/// `jobs_succeeded`, `processing_ms`, `bytes_read` beside the day's other
/// figures.
async fn add_job_resources<P: Ports>(
    app: &App<P>,
    who: &Principal,
    period: &str,
    daily: &mut ByName,
) -> Result<(), ApiError> {
    let from = crate::time::parse_rfc3339(&format!("{period}-01T00:00:00Z"));
    let (year, month) = (period[..4].parse::<u32>(), period[5..].parse::<u32>());
    let (Some(from), Ok(y), Ok(m)) = (from, year, month) else {
        return Ok(());
    };
    let next = if m == 12 {
        format!("{}-01", y + 1)
    } else {
        format!("{y}-{:02}", m + 1)
    };
    let to = crate::time::parse_rfc3339(&format!("{next}-01T00:00:00Z")).unwrap_or(u64::MAX);
    let by = crate::jobs::resources::SumBy::DayOf(&who.tenant_id);
    for day in app.meta.resource_sums(by, from, to, 31).await? {
        let entry = daily.entry(day.key).or_default();
        entry.insert("jobs_succeeded".into(), json!(day.jobs));
        entry.insert("processing_ms".into(), json!(day.processing_ms));
        entry.insert("bytes_read".into(), json!(day.bytes_read));
    }
    Ok(())
}

/// Over a window: what all succeeded jobs used, and the tenants that used
/// the most processing time (for `/v1/admin/metrics`).
pub(super) async fn resource_figures<P: Ports>(
    app: &App<P>,
    from_ms: u64,
    to_ms: u64,
) -> Result<Value, ApiError> {
    use crate::jobs::resources::SumBy;
    use crate::ports::ShardStore;
    // Each tenant is in one shard: every shard's top ten, merged, holds
    // the service's.
    let (mut total, mut top) = (crate::jobs::resources::ResourceSum::default(), Vec::new());
    for shard in 0..app.meta.shard_count() {
        app.meta.enter(shard);
        let all = app
            .meta
            .resource_sums(SumBy::All, from_ms, to_ms, 1)
            .await?;
        if let Some(s) = all.into_iter().next() {
            total.jobs += s.jobs;
            total.processing_ms += s.processing_ms;
            total.bytes_read += s.bytes_read;
            total.pages += s.pages;
        }
        top.extend(
            app.meta
                .resource_sums(SumBy::Tenant, from_ms, to_ms, 10)
                .await?,
        );
    }
    top.sort_by(|a, b| {
        b.processing_ms
            .cmp(&a.processing_ms)
            .then(a.key.cmp(&b.key))
    });
    top.truncate(10);
    Ok(json!({
        "jobs": total.jobs, "processing_ms": total.processing_ms,
        "bytes_read": total.bytes_read, "pages": total.pages,
        "top_tenants": top,
    }))
}
