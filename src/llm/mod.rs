//! LLM commands (`summarize`, `translate`, `classify`, `extract_fields`,
//! `ask`): providers behind a trait, model tiers chosen by a router, and
//! the optimisations and safeguards around every call — response cache,
//! prompt compression, batching, retries with backoff, fallback chains,
//! circuit breakers, budgets and graceful degradation. Pure except for
//! the ports the engine is given.

pub mod breaker;
pub mod cache;
mod chain;
pub mod compress;
pub mod config;
mod deps;
pub mod engine;
pub mod schema;
pub mod tasks;
mod training;
pub mod usage;

pub use config::{LlmConfig, Target};

use serde::{Deserialize, Serialize};

/// One chat-completion request, provider-neutral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmRequest {
    pub system: String,
    pub user: String,
    /// Ask the provider for a JSON object answer.
    pub json: bool,
    pub max_output_tokens: u32,
}

/// The provider's answer with the usage it reported.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LlmResponse {
    pub text: String,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    /// `"stop"`, or `"length"` when the answer was cut off.
    pub finish_reason: String,
}

/// Why a provider call failed; `retryable` drives backoff and fallbacks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    pub message: String,
    pub retryable: bool,
}

impl LlmError {
    /// Classifies an HTTP status: 408, 429 and 5xx may pass on retry.
    pub fn from_status(status: u16, body: &str) -> LlmError {
        let snippet: String = body.chars().take(200).collect();
        LlmError {
            message: format!("HTTP {status}: {snippet}"),
            retryable: status == 408 || status == 429 || status >= 500,
        }
    }
}

/// A chat-completion provider (Workers AI, OpenAI-compatible endpoints).
pub trait LlmProvider {
    async fn complete(&self, target: &Target, req: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

/// The circuit breakers, one per `provider/model`, shared by all isolates.
pub trait BreakerStore {
    /// Whether a call to the target may go out now.
    async fn allow(&self, target: &str, policy: breaker::Policy) -> bool;
    async fn record(&self, target: &str, ok: bool, policy: breaker::Policy);
    /// The breaker's state, for `/ready`.
    async fn state(&self, target: &str) -> Option<breaker::Breaker>;
}

/// Parses an OpenAI-compatible chat-completions answer.
pub fn parse_openai(body: &str) -> Result<LlmResponse, LlmError> {
    let bad = |why: &str| LlmError {
        message: format!("unreadable completion: {why}"),
        retryable: true,
    };
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| bad(&e.to_string()))?;
    let choice = v["choices"].get(0).ok_or_else(|| bad("no choices"))?;
    let text = choice["message"]["content"]
        .as_str()
        .ok_or_else(|| bad("no message content"))?
        .to_string();
    let tokens = |k: &str| v["usage"][k].as_u64().map(|n| n as u32);
    Ok(LlmResponse {
        text,
        input_tokens: tokens("prompt_tokens"),
        output_tokens: tokens("completion_tokens"),
        finish_reason: choice["finish_reason"]
            .as_str()
            .unwrap_or("stop")
            .to_string(),
    })
}

/// The body of an OpenAI-compatible chat-completions request.
pub fn openai_body(model: &str, req: &LlmRequest) -> serde_json::Value {
    let mut body = serde_json::json!({
        "model": model,
        "messages": [
            {"role": "system", "content": req.system},
            {"role": "user", "content": req.user},
        ],
        "max_tokens": req.max_output_tokens,
        "temperature": 0,
    });
    if req.json {
        body["response_format"] = serde_json::json!({"type": "json_object"});
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_answers_parse_with_and_without_usage() {
        let r = parse_openai(r#"{"choices":[{"message":{"content":"hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}"#).unwrap();
        assert_eq!(
            (r.text.as_str(), r.input_tokens, r.output_tokens),
            ("hi", Some(7), Some(2))
        );
        assert_eq!(r.finish_reason, "length");
        let r = parse_openai(r#"{"choices":[{"message":{"content":"x"}}]}"#).unwrap();
        assert_eq!(r.input_tokens, None);
        assert!(parse_openai("{not json").unwrap_err().retryable);
    }

    #[test]
    fn statuses_are_classified() {
        assert!(LlmError::from_status(429, "").retryable);
        assert!(LlmError::from_status(503, "").retryable);
        assert!(!LlmError::from_status(400, "bad").retryable);
        assert!(!LlmError::from_status(401, "").retryable);
    }
}
