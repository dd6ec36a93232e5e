//! Metering requests, stored bytes and processed pages against the
//! tenant's monthly budgets, and `GET /v1/usage`. A meter that cannot be
//! reached lets the request through (like the rate limiter); the edge logs.

use super::{App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::Response;
use crate::ports::{Ports, UsageMeter};
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
    };
    match app
        .usage
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
    let Ok(totals) = app
        .usage
        .totals(&who.tenant_id, &month_of(ctx.now_ms))
        .await
    else {
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

/// `GET /v1/usage`: this month's consumption against the budgets.
pub async fn report<P: Ports>(
    app: &App<P>,
    who: &Principal,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    let period = month_of(ctx.now_ms);
    let totals = app.usage.totals(&who.tenant_id, &period).await?;
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
            }),
        );
    }
    Ok(Response::json(
        200,
        &json!({ "period": period, "plan": who.plan, "usage": Value::Object(usage) }),
    ))
}
