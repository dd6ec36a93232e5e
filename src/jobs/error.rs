//! A typed reason a job failed: its own file, so the LLM engine, which
//! fails tasks with it, depends on nothing else of the job model.

use serde::{Deserialize, Serialize};

/// A typed reason a job failed (or last failed, while it is retried).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    pub code: String,
    pub message: String,
}

impl JobError {
    pub fn new(code: &str, message: impl Into<String>) -> JobError {
        JobError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}
