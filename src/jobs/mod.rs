//! Jobs: the record, its state machine, the commands a job runs and the
//! queue message. Pure; the consumer logic lives in [`runner`].

pub mod error;
pub mod events;
pub mod fair;
pub mod resources;
pub mod runner;

pub use error::JobError;

use crate::error::ApiError;
use crate::ids::looks_like_id;
use crate::time::rfc3339;
use serde::{Deserialize, Serialize};

/// Where a job is in its life. `queued → running → succeeded | failed`;
/// `running → queued` only when a retryable failure releases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn parse(s: &str) -> Option<JobStatus> {
        match s {
            "queued" => Some(JobStatus::Queued),
            "running" => Some(JobStatus::Running),
            "succeeded" => Some(JobStatus::Succeeded),
            "failed" => Some(JobStatus::Failed),
            "cancelled" => Some(JobStatus::Cancelled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

pub use crate::commands::Command;

/// Where one command of a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// Progress of one command, shown in the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandState {
    pub name: String,
    pub status: CommandStatus,
    pub progress: u8,
    /// Model, tokens, cost and how an LLM command was served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::llm::usage::LlmUsage>,
}

impl CommandState {
    /// All commands of a new job, pending.
    pub fn pending(commands: &[Command]) -> Vec<CommandState> {
        commands
            .iter()
            .map(|c| CommandState {
                name: c.name().to_string(),
                status: CommandStatus::Pending,
                progress: 0,
                llm: None,
            })
            .collect()
    }
}

/// A job record.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub document_id: String,
    pub commands: Vec<Command>,
    pub status: JobStatus,
    pub progress: u8,
    /// Times a consumer claimed the job and started it.
    pub attempts: u32,
    /// Queue messages received for the job (duplicates included).
    pub deliveries: u32,
    pub error: Option<JobError>,
    pub created_at_ms: u64,
    pub started_at_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
    pub lease_until_ms: Option<u64>,
    pub command_states: Vec<CommandState>,
    /// Where to POST the completion webhook, if anywhere.
    pub webhook_url: Option<String>,
    /// Its LLM prompts and answers go to the fine-tuning export.
    pub llm_training_opt_in: bool,
    /// The key (or `jwt:<user>`) that created it, for usage per key.
    pub created_by: Option<String>,
    /// What its successful run used (none before it succeeds).
    pub resources: Option<resources::Resources>,
}

/// A job the sweeper found not moving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    pub id: String,
    /// Runs claimed so far.
    pub attempts: u32,
    /// Times the sweeper already sent it again.
    pub resends: u32,
    pub created_at_ms: u64,
}

/// A queue message the queue gave up on, as kept for the operator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    pub id: String,
    /// `job` or `webhook`.
    pub kind: String,
    pub ref_id: String,
    pub tenant_id: Option<String>,
    pub body: String,
    pub attempts: u32,
    pub reason: Option<String>,
    #[serde(skip)]
    pub received_at_ms: u64,
    #[serde(skip)]
    pub replayed_at_ms: Option<u64>,
}

impl DeadLetter {
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["received_at"] = rfc3339(self.received_at_ms).into();
        v["replayed_at"] = self.replayed_at_ms.map(rfc3339).into();
        v
    }
}

/// Where a tenant's fine-tuning pairs live: all of them, or one document's.
pub fn training_prefix(tenant_id: &str, document_id: Option<&str>) -> String {
    match document_id {
        Some(d) => format!("tenants/{tenant_id}/llm-training/{d}/"),
        None => format!("tenants/{tenant_id}/llm-training/"),
    }
}

/// The message put on the queue for a job: the job id only, so nothing sensitive or
/// stale travels through the queue; the consumer reads the rest from D1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: String,
    /// One part of a split job to read, instead of the job's run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// The database shard of the job's tenant (0 in messages from before
    /// sharding, where every job was).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shard: u32,
    /// W3C `traceparent` of the request that queued it, so the consumer's
    /// work continues the same trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// Whether a shard number is the default one (left out of messages).
pub fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Any message on the queue, as read by the consumer: exactly one field is
/// set. (A flat struct, not an untagged enum: it decodes reliably from JS.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueEnvelope {
    #[serde(default)]
    pub job_id: Option<String>,
    #[serde(default)]
    pub delivery_id: Option<String>,
    /// With `job_id`: the part of a split job to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// The shard of the job's or delivery's tenant.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shard: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// What to do with a job's queue message once a consumer is done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Ack,
    /// Deliver again after this many seconds.
    Retry {
        delay_seconds: u32,
    },
}

/// Body of `POST /v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    pub document_id: String,
    pub commands: Vec<Command>,
    #[serde(default, deserialize_with = "crate::strict::some")]
    pub webhook_url: Option<String>,
    /// Keep this job's LLM prompts and answers for the tenant's
    /// fine-tuning export.
    #[serde(default)]
    pub llm_training_opt_in: bool,
}

const MAX_COMMANDS: usize = 16;

impl CreateJobRequest {
    /// Parses and checks the body; every refusal names what is wrong.
    pub fn parse(body: &[u8]) -> Result<CreateJobRequest, ApiError> {
        let req: CreateJobRequest = crate::strict::object(body)
            .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid job request: {e}")))?;
        if !looks_like_id("doc", &req.document_id) {
            return Err(ApiError::Invalid(
                "invalid_document_id",
                "document_id must be a document id such as 'doc_…'".into(),
            ));
        }
        if req.commands.is_empty() || req.commands.len() > MAX_COMMANDS {
            return Err(ApiError::Invalid(
                "invalid_commands",
                format!("commands must list between 1 and {MAX_COMMANDS} commands"),
            ));
        }
        for (i, c) in req.commands.iter().enumerate() {
            if req.commands[..i].iter().any(|p| p.name() == c.name()) {
                return Err(ApiError::Invalid(
                    "invalid_commands",
                    format!("command '{}' is listed twice", c.name()),
                ));
            }
            c.validate()
                .and_then(|()| match crate::llm::tasks::Task::of(c) {
                    Some(Err(why)) => Err(why),
                    _ => Ok(()),
                })
                .map_err(|why| ApiError::Invalid("invalid_options", why))?;
        }
        Ok(req)
    }
}

/// Where a command's result is stored: under the tenant, beside the job.
pub fn result_key(tenant_id: &str, job_id: &str, command: &str) -> String {
    format!("tenants/{tenant_id}/jobs/{job_id}/results/{command}.json")
}

/// Where what one part of a split job read is kept until the merge.
pub fn part_key(tenant_id: &str, job_id: &str, part: u32) -> String {
    format!("{}{part}.json", parts_prefix(tenant_id, job_id))
}

/// Every part reading of a job (left by a job that never merged them).
pub fn parts_prefix(tenant_id: &str, job_id: &str) -> String {
    format!("tenants/{tenant_id}/jobs/{job_id}/parts/")
}

/// Where a document's extraction is cached: per tenant (never shared
/// across tenants), by content hash and extractor version, so re-running
/// commands on the same bytes skips extraction.
pub fn extraction_key(tenant_id: &str, sha256: &str, languages: &[String]) -> String {
    // English OCR is the default reading; others are other extractions.
    let ocr = match languages {
        [only] if only == crate::commands::BUILT_IN_LANGUAGE => String::new(),
        langs => format!("ocr-{}-", langs.join("+")),
    };
    format!(
        "{}{ocr}v{}.json",
        extractions_prefix(tenant_id, sha256),
        crate::extract::EXTRACTOR_VERSION
    )
}

/// Where every cached extraction of some bytes is (all extractor
/// versions and OCR languages).
pub fn extractions_prefix(tenant_id: &str, sha256: &str) -> String {
    format!("tenants/{tenant_id}/extractions/{sha256}-")
}

/// Where an installed OCR model is kept: outside every tenant's prefix,
/// written only by the operator (`PUT /v1/admin/ocr-models/{language}`).
pub fn ocr_model_key(language: &str) -> String {
    format!("ocr-models/{language}.traineddata.gz")
}

/// The job as clients see it.
#[derive(Debug, Serialize)]
pub struct JobView<'a> {
    pub id: &'a str,
    pub document_id: &'a str,
    pub status: &'static str,
    pub progress: u8,
    pub commands: &'a [Command],
    pub command_progress: &'a [CommandState],
    pub attempts: u32,
    pub deliveries: u32,
    pub error: Option<&'a JobError>,
    pub webhook_url: Option<&'a str>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub result_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<&'a resources::Resources>,
}

impl Job {
    pub fn view(&self) -> JobView<'_> {
        JobView {
            id: &self.id,
            document_id: &self.document_id,
            status: self.status.as_str(),
            progress: self.progress,
            commands: &self.commands,
            command_progress: &self.command_states,
            attempts: self.attempts,
            deliveries: self.deliveries,
            error: self.error.as_ref(),
            webhook_url: self.webhook_url.as_deref(),
            created_at: rfc3339(self.created_at_ms),
            started_at: self.started_at_ms.map(rfc3339),
            finished_at: self.finished_at_ms.map(rfc3339),
            result_url: (self.status == JobStatus::Succeeded)
                .then(|| format!("/v1/jobs/{}/result", self.id)),
            resources: self.resources.as_ref(),
        }
    }
}

/// A job for unit tests: one run so far, no commands, nothing set.
#[cfg(test)]
pub(crate) fn sample_job(status: JobStatus) -> Job {
    Job {
        id: "job_1".into(),
        tenant_id: "t".into(),
        document_id: "doc_1".into(),
        commands: vec![],
        status,
        progress: 40,
        attempts: 1,
        deliveries: 1,
        error: None,
        created_at_ms: 0,
        started_at_ms: None,
        finished_at_ms: None,
        lease_until_ms: None,
        command_states: vec![],
        webhook_url: None,
        llm_training_opt_in: false,
        created_by: None,
        resources: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<CreateJobRequest, ApiError> {
        CreateJobRequest::parse(body.as_bytes())
    }

    #[test]
    fn a_valid_extract_job_parses() {
        let req = parse(r#"{"document_id":"doc_01abc","commands":[{"name":"extract"}]}"#).unwrap();
        assert_eq!(req.commands[0].name(), "extract");
    }

    #[test]
    fn unknown_commands_and_fields_are_refused_with_a_reason() {
        let err = parse(r#"{"document_id":"doc_1","commands":[{"name":"teleport"}]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        assert!(err.to_string().contains("teleport"), "{err}");
        let err = parse(r#"{"document_id":"doc_1","commands":[],"x":1}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_body");
        let bad =
            r#"{"document_id":"doc_1","commands":[{"name":"chunk","options":{"max_size":1}}]}"#;
        assert_eq!(parse(bad).unwrap_err().code(), "invalid_options");
    }

    #[test]
    fn empty_duplicate_and_malformed_inputs_are_refused() {
        assert_eq!(
            parse(r#"{"document_id":"doc_1","commands":[]}"#)
                .unwrap_err()
                .code(),
            "invalid_commands"
        );
        let twice = r#"{"document_id":"doc_1","commands":[{"name":"extract"},{"name":"extract"}]}"#;
        assert_eq!(parse(twice).unwrap_err().code(), "invalid_commands");
        assert_eq!(
            parse(r#"{"document_id":"../etc","commands":[{"name":"extract"}]}"#)
                .unwrap_err()
                .code(),
            "invalid_document_id"
        );
        assert_eq!(parse("not json").unwrap_err().status(), 422);
    }

    #[test]
    fn only_terminal_states_are_terminal() {
        assert!(JobStatus::Succeeded.is_terminal());
        assert!(JobStatus::Failed.is_terminal());
        assert!(!JobStatus::Running.is_terminal());
        assert_eq!(JobStatus::parse("queued"), Some(JobStatus::Queued));
    }
}
