//! The rate limiter: a Durable Object per subject (key and class, tenant,
//! or client IP) holding GCRA state, and the adapter that calls it.
//!
//! Exactness: a Durable Object handles one event at a time, and the check
//! reads and updates the in-memory state with no `await` in between, so
//! concurrent requests cannot both take the last slot.
//!
//! Durability: for windows up to a minute the state lives in memory only. An
//! object is evicted only after tens of seconds without requests, by which
//! time such a bucket has refilled anyway, so nothing is lost; and skipping
//! the write spares every request a durable storage round trip (the output
//! gate). Longer windows are also written to storage, so an evicted object
//! resumes where it left off.

use crate::ports::{RateLimiter, StoreError, StoreResult};
use crate::ratelimit::{check, Decision, Policy};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use worker::{durable_object, Env, ObjectNamespace, Request, Response, State};

/// Windows longer than this are persisted (see the module comment).
const PERSIST_AFTER_MS: u64 = 60_000;

#[durable_object]
pub struct RateLimiterObject {
    state: State,
    /// Theoretical arrival time per policy name; `None` until loaded.
    tats: RefCell<Option<HashMap<String, u64>>>,
}

impl worker::DurableObject for RateLimiterObject {
    fn new(state: State, _env: Env) -> Self {
        RateLimiterObject {
            state,
            tats: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let policy: Policy = req.json().await?;
        if self.tats.borrow().is_none() {
            // Input gates hold other events while storage is read.
            let stored: Option<HashMap<String, u64>> = self.state.storage().get("tats").await?;
            let mut tats = self.tats.borrow_mut();
            if tats.is_none() {
                *tats = Some(stored.unwrap_or_default());
            }
        }
        let now = worker::Date::now().as_millis();
        let (decision, snapshot) = {
            let mut guard = self.tats.borrow_mut();
            let tats = guard.get_or_insert_with(HashMap::new);
            let (next, decision) = check(tats.get(&policy.name).copied(), &policy, now);
            if decision.allowed {
                tats.insert(policy.name.clone(), next);
            }
            let persist = decision.allowed && policy.period_ms > PERSIST_AFTER_MS;
            (decision, persist.then(|| tats.clone()))
        };
        if let Some(snapshot) = snapshot {
            self.state.storage().put("tats", snapshot).await?;
        }
        Response::from_json(&decision)
    }
}

/// Calls the subject's Durable Object.
pub struct DoLimiter(pub Option<ObjectNamespace>);

impl RateLimiter for DoLimiter {
    async fn check(&self, subject: &str, policy: &Policy) -> StoreResult<Decision> {
        let ns = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("RATE_LIMITER binding missing".into()))?;
        let result = async {
            let mut resp =
                super::objects::post_json(ns, subject, "https://rate-limiter/check", policy)
                    .await?;
            resp.json::<Decision>().await
        }
        .await;
        result.map_err(|e| {
            worker::console_log!(
                "{}",
                json!({"level": "warn", "msg": "rate limiter unavailable, request let through", "error": e.to_string()})
            );
            StoreError::Transient(e.to_string())
        })
    }
}
