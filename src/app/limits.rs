//! Applies rate limits to a request: the caller's key (by route class) and
//! its tenant, or the client IP for public routes. Limits are checked in
//! Durable Objects through the [`RateLimiter`] port; when the limiter
//! itself is unreachable the request is let through (availability first),
//! and the edge adapter logs it.

use super::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::routes::RouteId;
use crate::http::{Method, Request, Response};
use crate::ports::{Ports, RateLimiter};
use crate::ratelimit::{policy_for, Decision, Policy};

/// The headers to add to the response once the request is allowed.
#[derive(Debug, Default)]
pub struct Granted(Vec<(Policy, Decision)>);

impl Granted {
    pub fn apply(self, resp: &mut Response) {
        if self.0.is_empty() {
            return;
        }
        let policies: Vec<String> = self.0.iter().map(|(p, _)| p.header()).collect();
        let states: Vec<String> = self.0.iter().map(|(p, d)| d.header(p)).collect();
        resp.set_header("ratelimit-policy", &policies.join(", "));
        resp.set_header("ratelimit", &states.join(", "));
    }
}

/// The route class of an authenticated request.
pub fn class_of(id: RouteId, method: Method) -> &'static str {
    match (id, method) {
        (RouteId::CreateDocument, _) => "upload",
        (RouteId::CreateJob, _) => "jobs",
        _ => "read",
    }
}

async fn one<P: Ports>(
    app: &App<P>,
    subject: String,
    policy: &Policy,
    granted: &mut Granted,
) -> Result<(), ApiError> {
    let Ok(decision) = app.limiter.check(&subject, policy).await else {
        return Ok(()); // fail open; see the module comment
    };
    if !decision.allowed {
        return Err(ApiError::RateLimited {
            policy: policy.name.clone(),
            retry_after_s: decision.retry_after_ms.div_ceil(1000).max(1),
        });
    }
    granted.0.push((policy.clone(), decision));
    Ok(())
}

/// Limits an authenticated request: key first, then tenant.
pub async fn for_principal<P: Ports>(
    app: &App<P>,
    class: &str,
    who: &Principal,
) -> Result<Granted, ApiError> {
    let mut granted = Granted::default();
    if let Some(policy) = policy_for(class, &who.rate_limits, &app.config.rate_limits) {
        one(
            app,
            format!("key:{}:{class}", who.key_id),
            policy,
            &mut granted,
        )
        .await?;
    }
    if let Some(policy) = &app.config.tenant_rate_limit {
        one(
            app,
            format!("tenant:{}", who.tenant_id),
            policy,
            &mut granted,
        )
        .await?;
    }
    Ok(granted)
}

/// Limits a public route by client address (`CF-Connecting-IP`, set by
/// Cloudflare's edge; `local` under `wrangler dev`).
pub async fn for_client<P: Ports>(app: &App<P>, req: &Request) -> Result<Granted, ApiError> {
    let mut granted = Granted::default();
    if let Some(policy) = policy_for("public", &[], &app.config.rate_limits) {
        let ip = req.header("cf-connecting-ip").unwrap_or("local");
        one(app, format!("ip:{ip}"), policy, &mut granted).await?;
    }
    Ok(granted)
}
