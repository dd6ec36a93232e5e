//! The seam for commands that need a language model (`summarize`,
//! `translate`, `classify`, `extract_fields`, `ask`): the provider trait and
//! the prompts, pure. No provider is wired in yet, so those commands fail
//! with `llm_not_configured`; the LLM issue plugs providers in here.

use crate::commands::Command;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// A chat-completion provider (Workers AI, OpenAI-compatible endpoints).
pub trait LlmProvider {
    async fn complete(&self, model: &str, req: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

fn option<'a>(options: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    options.get(key).and_then(Value::as_str)
}

/// Builds the prompt of an LLM command over the document's text; `None` for
/// commands that do not use a model.
pub fn request_for(command: &Command, text: &str) -> Option<LlmRequest> {
    let (system, json) = match command {
        Command::Summarize { options } => (
            format!(
                "Summarise the document in a {} style, {} length. Answer with the summary only.",
                option(options, "style").unwrap_or("neutral"),
                option(options, "length").unwrap_or("medium")
            ),
            false,
        ),
        Command::Translate { options } => (
            format!(
                "Translate the document into {}. Keep its structure. Answer with the translation only.",
                option(options, "target_language").unwrap_or("English")
            ),
            false,
        ),
        Command::Classify { options } => (
            format!(
                "Classify the document into exactly one of these labels: {}. Answer as JSON {{\"label\": …, \"confidence\": 0..1}}.",
                options.get("labels").map(Value::to_string).unwrap_or_else(|| "[]".into())
            ),
            true,
        ),
        Command::ExtractFields { options } => (
            format!(
                "Extract fields from the document as JSON matching this JSON Schema: {}. Use null when a field is absent.",
                options.get("schema").map(Value::to_string).unwrap_or_else(|| "{}".into())
            ),
            true,
        ),
        Command::Ask { options } => (
            format!(
                "Answer the question from the document only, quoting the passages you rely on. Question: {}",
                option(options, "question").unwrap_or("")
            ),
            false,
        ),
        _ => return None,
    };
    Some(LlmRequest {
        system,
        user: text.to_string(),
        json,
        max_output_tokens: 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llm_commands_build_prompts_and_others_do_not() {
        let c: Command = serde_json::from_str(
            r#"{"name":"classify","options":{"labels":["invoice","letter"]}}"#,
        )
        .unwrap();
        let req = request_for(&c, "Dear Sir").unwrap();
        assert!(req.json);
        assert!(req.system.contains(r#"["invoice","letter"]"#));
        assert_eq!(req.user, "Dear Sir");
        let stats: Command = serde_json::from_str(r#"{"name":"stats"}"#).unwrap();
        assert!(request_for(&stats, "x").is_none());
    }
}
