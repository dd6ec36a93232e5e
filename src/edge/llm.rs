//! LLM calls from the jobs worker: OpenAI-compatible endpoints through
//! `fetch`, and the Workers AI binding. (Their circuit breakers are in
//! `breakers.rs`.)

use crate::llm::config::ProviderKind;
use crate::llm::{
    openai_body, parse_openai, LlmError, LlmProvider, LlmRequest, LlmResponse, Target,
};
use futures_util::future::{select, Either};
use serde_json::{json, Value};

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
