//! What one command's LLM work cost: a record kept on the job, in its own
//! file so the job model depends on nothing of the engine.

use serde::{Deserialize, Serialize};

/// What one command's LLM work cost and how it was served.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmUsage {
    /// `provider/model` that answered (none when degraded or failed).
    pub model: Option<String>,
    pub tier: String,
    pub calls: u32,
    pub input_tokens: u32,
    pub output_tokens: u32,
    /// True when a provider reported no usage and tokens were estimated.
    pub estimated: bool,
    pub cost_usd: f64,
    /// Served from the response cache: no call, no tokens.
    pub cached: bool,
    /// Answered by one call together with other commands of the job.
    pub batched: bool,
    /// Every model was down: the answer is the non-LLM substitute.
    pub degraded: bool,
    /// Tokens sent over tokens of the document (1.0: nothing removed).
    pub compression_ratio: f64,
    /// Failures met on the way (retries, fallbacks), for diagnosis.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

impl LlmUsage {
    pub fn tokens(&self) -> u32 {
        self.input_tokens + self.output_tokens
    }
}
