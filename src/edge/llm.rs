//! LLM calls at the edge: OpenAI-compatible endpoints through `fetch`, the
//! Workers AI binding, and the circuit breakers in a Durable Object per
//! `provider/model`, so every isolate sees one state.

use crate::llm::breaker::{Breaker, Policy};
use crate::llm::config::ProviderKind;
use crate::llm::{
    openai_body, parse_openai, BreakerStore, LlmError, LlmProvider, LlmRequest, LlmResponse, Target,
};
use futures_util::future::{select, Either};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::cell::RefCell;
use worker::{durable_object, Env, ObjectNamespace, Request, Response, State};

pub struct EdgeLlm {
    pub ai: Option<worker::Ai>,
    /// Longest wait for one completion (`LLM_TIMEOUT_SECONDS`).
    pub timeout_ms: u64,
    /// W3C `traceparent` sent with each call (the job's trace).
    pub traceparent: Option<String>,
    /// Call logs and injected faults.
    pub obs: super::observe::Obs,
}

fn transient(message: String) -> LlmError {
    LlmError {
        message,
        retryable: true,
    }
}

impl EdgeLlm {
    async fn openai(
        &self,
        base_url: &str,
        target: &Target,
        req: &LlmRequest,
    ) -> Result<LlmResponse, LlmError> {
        let headers = worker::Headers::new();
        let set = |k: &str, v: &str| headers.set(k, v).map_err(|e| transient(e.to_string()));
        set("content-type", "application/json")?;
        if let Some(tp) = &self.traceparent {
            set("traceparent", tp)?;
        }
        if let Some(key) = &target.api_key {
            set("authorization", &format!("Bearer {key}"))?;
        }
        let body = openai_body(&target.model, req).to_string();
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        let url = format!("{base_url}/chat/completions");
        let request =
            worker::Request::new_with_init(&url, &init).map_err(|e| transient(e.to_string()))?;
        let call = async {
            let mut resp = worker::Fetch::Request(request)
                .send()
                .await
                .map_err(|e| transient(format!("request failed: {e}")))?;
            let status = resp.status_code();
            let text = resp
                .text()
                .await
                .map_err(|e| transient(format!("reading the answer failed: {e}")))?;
            if status != 200 {
                return Err(LlmError::from_status(status, &text));
            }
            parse_openai(&text)
        };
        let wait = std::time::Duration::from_millis(self.timeout_ms);
        let timeout = Box::pin(worker::Delay::from(wait));
        let outcome = match select(Box::pin(call), timeout).await {
            Either::Left((r, _)) => r,
            Either::Right(_) => Err(transient(format!(
                "no answer within {} ms",
                self.timeout_ms
            ))),
        };
        outcome
    }

    async fn workers_ai(&self, target: &Target, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let ai = self.ai.as_ref().ok_or_else(|| LlmError {
            message: "the AI binding is not configured".into(),
            retryable: false,
        })?;
        let mut input = json!({
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "max_tokens": req.max_output_tokens,
        });
        if req.json {
            input["response_format"] = json!({"type": "json_object"});
        }
        let out: Value = ai
            .run(&target.model, input)
            .await
            .map_err(|e| transient(format!("Workers AI: {e}")))?;
        let text = match &out["response"] {
            Value::String(s) => s.clone(),
            Value::Null => return Err(transient("Workers AI: no response".into())),
            other => other.to_string(),
        };
        let tokens = |k: &str| out["usage"][k].as_u64().map(|n| n as u32);
        Ok(LlmResponse {
            text,
            input_tokens: tokens("prompt_tokens"),
            output_tokens: tokens("completion_tokens"),
            finish_reason: out["finish_reason"].as_str().unwrap_or("stop").to_string(),
        })
    }
}

impl LlmProvider for EdgeLlm {
    async fn complete(&self, target: &Target, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let started = worker::Date::now().as_millis();
        let op = format!("complete {}", target.model);
        if self.obs.inject("llm").await.is_some() {
            self.obs.log("llm", &op, started, "injected_fault", None);
            return Err(transient("injected fault: LLM provider unavailable".into()));
        }
        let outcome = match &target.kind {
            ProviderKind::OpenAi { base_url } => self.openai(base_url, target, req).await,
            ProviderKind::WorkersAi => self.workers_ai(target, req).await,
        };
        match &outcome {
            Ok(_) => self.obs.log("llm", &op, started, "ok", None),
            Err(e) => self.obs.log("llm", &op, started, "error", Some(&e.message)),
        }
        outcome
    }
}

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
