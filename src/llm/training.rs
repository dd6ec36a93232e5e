//! The prompt/answer pairs a job's LLM calls leave for the fine-tuning
//! export (`GET /v1/llm/training-data`, for jobs that opted in).

use serde::{Deserialize, Serialize};
use serde_json::json;

/// A prompt and the answer that was accepted, for the fine-tuning export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingPair {
    /// The command, or `batch:<a>+<b>` for a batched call.
    pub command: String,
    pub model: String,
    pub system: String,
    pub user: String,
    pub answer: String,
}

impl TrainingPair {
    /// One line of an OpenAI-style chat fine-tuning file.
    pub fn jsonl_line(&self, with_metadata: bool) -> String {
        let mut v = json!({
            "messages": [
                {"role": "system", "content": self.system},
                {"role": "user", "content": self.user},
                {"role": "assistant", "content": self.answer},
            ]
        });
        if with_metadata {
            v["command"] = json!(self.command);
            v["model"] = json!(self.model);
        }
        v.to_string()
    }
}
