//! The LLM circuit breakers, in a Durable Object per `provider/model` so
//! every isolate sees one state: the API worker holds the class (and reads
//! the states for `/ready`), the jobs worker records its calls' outcomes.

use crate::llm::breaker::{Breaker, Policy};
use crate::llm::BreakerStore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use worker::{durable_object, Env, ObjectNamespace, Request, Response, State};

#[derive(Serialize, Deserialize)]
struct BreakerCall {
    op: String,
    ok: bool,
    policy: Option<Policy>,
}

/// One circuit breaker. A Durable Object handles one event at a time and
/// the state changes with no `await` in between, so concurrent calls see
/// a consistent breaker; the state is persisted when it changes.
#[durable_object]
pub struct CircuitBreakerObject {
    state: State,
    breaker: RefCell<Option<Breaker>>,
}

impl worker::DurableObject for CircuitBreakerObject {
    fn new(state: State, _env: Env) -> Self {
        CircuitBreakerObject {
            state,
            breaker: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let call: BreakerCall = req.json().await?;
        if self.breaker.borrow().is_none() {
            let stored: Option<Breaker> = self.state.storage().get("breaker").await.ok().flatten();
            let mut b = self.breaker.borrow_mut();
            if b.is_none() {
                *b = Some(stored.unwrap_or_default());
            }
        }
        let now = worker::Date::now().as_millis();
        let (answer, changed) = {
            let mut guard = self.breaker.borrow_mut();
            let b = guard.get_or_insert_with(Breaker::default);
            let before = b.clone();
            let answer = match (call.op.as_str(), call.policy) {
                ("allow", Some(p)) => json!({ "allowed": b.allow(now, p) }),
                ("record", Some(p)) => {
                    b.record(call.ok, now, p);
                    json!({ "recorded": true })
                }
                _ => json!({ "breaker": b }),
            };
            (answer, (*b != before).then(|| b.clone()))
        };
        if let Some(b) = changed {
            self.state.storage().put("breaker", b).await?;
        }
        Response::from_json(&answer)
    }
}

/// Calls the breaker objects. When the namespace is missing or a call
/// fails, calls are allowed (availability first) and nothing is recorded.
pub struct DoBreakers(pub Option<ObjectNamespace>);

impl DoBreakers {
    async fn call(&self, target: &str, body: &BreakerCall) -> Option<Value> {
        let ns = self.0.as_ref()?;
        let mut resp = super::objects::post_json(ns, target, "https://breaker/op", body)
            .await
            .ok()?;
        resp.json().await.ok()
    }
}

impl BreakerStore for DoBreakers {
    async fn allow(&self, target: &str, policy: Policy) -> bool {
        let body = BreakerCall {
            op: "allow".into(),
            ok: false,
            policy: Some(policy),
        };
        self.call(target, &body)
            .await
            .and_then(|v| v["allowed"].as_bool())
            .unwrap_or(true)
    }

    async fn record(&self, target: &str, ok: bool, policy: Policy) {
        let body = BreakerCall {
            op: "record".into(),
            ok,
            policy: Some(policy),
        };
        let _ = self.call(target, &body).await;
    }

    async fn state(&self, target: &str) -> Option<Breaker> {
        let body = BreakerCall {
            op: "state".into(),
            ok: false,
            policy: None,
        };
        let v = self.call(target, &body).await?;
        serde_json::from_value(v["breaker"].clone()).ok()
    }
}
