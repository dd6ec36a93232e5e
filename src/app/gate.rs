//! The one round trip an authenticated request makes before its handler:
//! the tenant's gate takes the key's and the tenant's rate-limit slots,
//! charges the request to the month's budget, begins its Idempotency-Key
//! when the body is at hand, and returns the auth epoch (see
//! [`crate::gate`]). An unreachable gate lets the request through without
//! limits (availability first, as before) but confirms no cached
//! credential and begins no key.

use super::limits::{verdict, Granted};
use super::{After, App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::gate::{Ask, Begin, Limit, MonthCharge};
use crate::idempotency::Outcome;
use crate::ports::{Gate, Ports};
use crate::ratelimit::{policy_for, stricter};
use crate::usage::{day_of, month_of, Charge};

/// A request the gate let through.
#[derive(Debug, Default)]
pub struct Admitted {
    pub granted: Granted,
    /// The tenant's auth epoch; `None` when the gate was unreachable.
    pub epoch: Option<u64>,
    /// The Idempotency-Key's outcome, when one was begun.
    pub begun: Option<Outcome>,
}

/// What the gate is asked for a request of `class` by `who`.
pub fn ask_for<P: Ports>(app: &App<P>, who: &Principal, class: &str, ctx: &Ctx) -> Ask {
    let plan = app
        .config
        .plan_rate_limits
        .get(&who.plan)
        .map_or(&[][..], Vec::as_slice);
    // A key's own limit can only narrow what its plan (or the deployment)
    // grants for the class, never widen it.
    let granted = policy_for(class, &[plan, app.config.rate_limits.as_slice()]);
    let own = policy_for(class, &[who.rate_limits.as_slice()]);
    let key_policy = match (own, granted) {
        (Some(o), Some(g)) => Some(stricter(o, g)),
        (o, g) => o.or(g),
    };
    let mut limits = Vec::new();
    if let Some(p) = key_policy {
        limits.push(Limit {
            subject: format!("key:{}:{class}", who.key_id),
            policy: p.clone(),
        });
    }
    if let Some(p) = &app.config.tenant_rate_limit {
        limits.push(Limit {
            subject: "tenant".into(),
            policy: p.clone(),
        });
    }
    let limit = app.config.budget(&who.plan, "requests");
    Ask {
        limits,
        charge: Some(MonthCharge {
            month: month_of(ctx.now_ms),
            charge: Charge {
                metric: "requests".into(),
                amount: 1,
                limit,
                day: Some(day_of(ctx.now_ms)),
                key: Some(who.key_id.clone()),
                once: None,
            },
        }),
        begin: None,
        write: None,
    }
}

/// Asks the tenant's gate about the request; refuses it when over a rate
/// limit or the request budget. A request that `writes` is held by the
/// gate as a write in flight until its work after the response is done
/// (a tenant move waits for it: see `moves`).
pub async fn admit<P: Ports>(
    app: &App<P>,
    who: &Principal,
    (class, writes): (&str, bool),
    ctx: &Ctx,
    begin: Option<Begin>,
) -> Result<Admitted, ApiError> {
    let mut ask = ask_for(app, who, class, ctx);
    ask.begin = begin;
    ask.write = writes.then(|| ctx.request_id.clone());
    let answer = match app.gate.admit(&who.tenant_id, &ask).await {
        Ok(a) => a,
        Err(e) => {
            ctx.warn(format!("gate unavailable, request let through: {e}"));
            return Ok(Admitted::default());
        }
    };
    let write = ask.write.take();
    let pairs = ask
        .limits
        .into_iter()
        .zip(answer.limits.iter().copied())
        .map(|(l, d)| Some((l.policy, d)))
        .collect();
    let granted = verdict(pairs)?;
    if let (Some(mc), Some(charged)) = (&ask.charge, answer.charged) {
        if !charged.allowed {
            return Err(ApiError::BudgetExceeded {
                metric: mc.charge.metric.clone(),
                limit: mc.charge.limit.unwrap_or(0),
            });
        }
    }
    // Held by the gate only when let through (a refusal holds nothing
    // and costs no settle).
    if let Some(request_id) = write {
        ctx.defer(After::WriteDone {
            tenant_id: who.tenant_id.clone(),
            request_id,
        });
    }
    Ok(Admitted {
        granted,
        epoch: Some(answer.epoch),
        begun: answer.begun,
    })
}

/// After a change to who may call (a key revoked or rotated, a user or
/// tenant changed): every isolate's cached credentials of the tenant are
/// stale from the next request on. A lost bump is logged; cached entries
/// then age out within [`crate::auth::cache::TTL_MS`].
pub async fn bump<P: Ports>(app: &App<P>, tenant_id: &str, ctx: &Ctx) {
    if let Err(e) = app.gate.bump(tenant_id).await {
        ctx.warn(format!("auth epoch of {tenant_id} not bumped: {e}"));
    }
}
