//! Rate limits as a response shows them, and the client-IP limit of
//! public routes (a Durable Object per address, through the
//! [`RateLimiter`] port). Authenticated requests are limited by key and
//! tenant in their tenant's gate (see [`super::gate`]). When a limiter is
//! unreachable the request is let through (availability first), and the
//! edge adapter logs it.

use super::App;
use crate::error::ApiError;
use crate::http::{Request, Response};
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

/// Checks one subject; `None` when there is no policy or the limiter is
/// unreachable (fail open; see the module comment).
async fn one<P: Ports>(
    app: &App<P>,
    subject: String,
    policy: Option<&Policy>,
) -> Option<(Policy, Decision)> {
    let policy = policy?;
    let decision = app.limiter.check(&subject, policy).await.ok()?;
    Some((policy.clone(), decision))
}

pub(super) fn verdict(checks: Vec<Option<(Policy, Decision)>>) -> Result<Granted, ApiError> {
    let mut granted = Granted::default();
    for (policy, decision) in checks.into_iter().flatten() {
        if !decision.allowed {
            return Err(ApiError::RateLimited {
                retry_after_s: decision.retry_after_ms.div_ceil(1000).max(1),
                policy: policy.name,
            });
        }
        granted.0.push((policy, decision));
    }
    Ok(granted)
}

/// Limits a public route by client address (`CF-Connecting-IP`, set by
/// Cloudflare's edge; `local` under `wrangler dev`).
pub async fn for_client<P: Ports>(app: &App<P>, req: &Request) -> Result<Granted, ApiError> {
    let ip = req.header("cf-connecting-ip").unwrap_or("local");
    let policy = policy_for("public", &[app.config.rate_limits.as_slice()]);
    verdict(vec![one(app, format!("ip:{ip}"), policy).await])
}
