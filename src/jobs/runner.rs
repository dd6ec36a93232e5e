//! The queue consumer's logic for one delivery of one job.
//!
//! Queues deliver at least once; [`process_delivery`] makes that exactly once
//! in effect: a job runs only after an atomic claim in the metadata store
//! (`queued → running`), so a second delivery of a running or finished job
//! changes nothing. The caller turns the returned [`Disposition`] into
//! `ack()` / `retry()`; this code never panics and never returns an error the
//! runtime would have to handle.

use super::{result_key, CommandName, Job, JobError};
use crate::documents::Document;
use crate::extract;
use crate::ports::{BlobStore, Clock, MetaStore, StoreError};
use serde::Serialize;

/// What to do with the queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Ack,
    /// Deliver again after this many seconds.
    Retry {
        delay_seconds: u32,
    },
}

/// Limits the runner works under.
#[derive(Debug, Clone, Copy)]
pub struct RunnerLimits {
    pub max_attempts: u32,
    pub lease_ms: u64,
}

/// Why a claimed run stopped early.
enum RunFailure {
    /// The job cannot succeed; fail it for good.
    Permanent(JobError),
    /// A dependency failed; the job may succeed if tried again.
    Transient(StoreError),
}

impl From<StoreError> for RunFailure {
    fn from(e: StoreError) -> RunFailure {
        if e.is_retryable() {
            RunFailure::Transient(e)
        } else {
            RunFailure::Permanent(JobError::new(
                "internal_error",
                "a storage operation failed",
            ))
        }
    }
}

/// Result stored for the `extract` command.
#[derive(Debug, Serialize)]
struct ExtractResult<'a> {
    text: &'a str,
    markdown: &'a str,
    elements: &'a [crate::extract::model::Element],
    media_type: &'a str,
    pages: u32,
    characters: usize,
    warnings: &'a [String],
}

/// The ports the runner works over.
pub struct RunnerPorts<'a, M, B, C> {
    pub meta: &'a M,
    pub blobs: &'a B,
    pub clock: &'a C,
}

/// Handles one delivery of `job_id`.
pub async fn process_delivery<M: MetaStore, B: BlobStore, C: Clock>(
    ports: RunnerPorts<'_, M, B, C>,
    limits: RunnerLimits,
    job_id: &str,
) -> Disposition {
    let (meta, blobs, clock) = (ports.meta, ports.blobs, ports.clock);
    match claim(meta, limits, job_id, clock.now_ms()).await {
        Ok(Some(job)) => run_claimed(meta, blobs, clock, limits, job).await,
        Ok(None) => Disposition::Ack,
        Err(d) => d,
    }
}

/// Claims the job. `Ok(None)`: nothing to do (gone or finished).
/// `Err(disposition)`: not ours to run now.
async fn claim(
    meta: &impl MetaStore,
    limits: RunnerLimits,
    job_id: &str,
    now_ms: u64,
) -> Result<Option<Job>, Disposition> {
    let retry_soon = Disposition::Retry { delay_seconds: 10 };
    meta.record_delivery(job_id).await.map_err(|_| retry_soon)?;
    let won = meta
        .claim_job(job_id, now_ms, now_ms + limits.lease_ms)
        .await
        .map_err(|_| retry_soon)?;
    let job = meta.load_job(job_id).await.map_err(|_| retry_soon)?;
    match job {
        None => Ok(None),
        Some(job) if won => Ok(Some(job)),
        Some(job) if job.status.is_terminal() => Ok(None),
        // Another delivery holds the lease. Keep this message as a safety
        // net: if that run dies, this one takes over once the lease expires.
        Some(job) => {
            let wait_ms = job.lease_until_ms.unwrap_or(now_ms).saturating_sub(now_ms);
            let delay_seconds = (wait_ms / 1000 + 1).min(300) as u32;
            Err(Disposition::Retry { delay_seconds })
        }
    }
}

async fn run_claimed(
    meta: &impl MetaStore,
    blobs: &impl BlobStore,
    clock: &impl Clock,
    limits: RunnerLimits,
    job: Job,
) -> Disposition {
    let result = match run(meta, blobs, clock, &job).await {
        Ok(()) => meta
            .complete_job(&job.id, clock.now_ms())
            .await
            .map_err(RunFailure::from),
        Err(failure) => Err(failure),
    };
    match result {
        Ok(()) => Disposition::Ack,
        Err(failure) => after_failure(meta, limits, &job, failure, clock.now_ms()).await,
    }
}

async fn after_failure(
    meta: &impl MetaStore,
    limits: RunnerLimits,
    job: &Job,
    failure: RunFailure,
    now_ms: u64,
) -> Disposition {
    let outcome = match failure {
        RunFailure::Permanent(err) => meta.fail_job(&job.id, &err, now_ms).await,
        RunFailure::Transient(cause) if job.attempts >= limits.max_attempts => {
            let err = JobError::new(
                "attempts_exhausted",
                format!("gave up after {} attempts: {cause}", job.attempts),
            );
            meta.fail_job(&job.id, &err, now_ms).await
        }
        RunFailure::Transient(cause) => {
            let err = JobError::new("storage_unavailable", cause.to_string());
            // If the release itself fails the job stays claimed, and the
            // retried message takes over once the lease expires.
            let _ = meta.release_job(&job.id, &err, now_ms).await;
            return Disposition::Retry {
                delay_seconds: backoff_seconds(job.attempts),
            };
        }
    };
    match outcome {
        Ok(()) => Disposition::Ack,
        Err(_) => Disposition::Retry {
            delay_seconds: backoff_seconds(job.attempts),
        },
    }
}

/// Exponential backoff: 5 s, 10 s, 20 s … capped at 5 minutes.
pub fn backoff_seconds(attempts: u32) -> u32 {
    5u32.saturating_mul(1 << attempts.saturating_sub(1).min(6))
        .min(300)
}

async fn run(
    meta: &impl MetaStore,
    blobs: &impl BlobStore,
    clock: &impl Clock,
    job: &Job,
) -> Result<(), RunFailure> {
    let doc = load_document(meta, job).await?;
    meta.set_progress(&job.id, 20, clock.now_ms()).await?;
    let bytes = blobs.get(&doc.blob_key).await?.ok_or_else(|| {
        RunFailure::Permanent(JobError::new(
            "document_missing",
            "the document's content is no longer stored",
        ))
    })?;
    meta.set_progress(&job.id, 40, clock.now_ms()).await?;
    let step = 50 / job.commands.len().max(1) as u8;
    for (i, command) in job.commands.iter().enumerate() {
        let body = match command.name {
            CommandName::Extract => run_extract(&doc, &bytes)?,
        };
        let key = result_key(&job.tenant_id, &job.id, command.name);
        blobs.put(&key, body, "application/json").await?;
        meta.set_progress(&job.id, 40 + step * (i as u8 + 1), clock.now_ms())
            .await?;
    }
    Ok(())
}

async fn load_document(meta: &impl MetaStore, job: &Job) -> Result<Document, RunFailure> {
    meta.get_document(&job.tenant_id, &job.document_id)
        .await?
        .ok_or_else(|| {
            RunFailure::Permanent(JobError::new(
                "document_missing",
                "the document was deleted before the job ran",
            ))
        })
}

fn run_extract(doc: &Document, bytes: &[u8]) -> Result<Vec<u8>, RunFailure> {
    let extraction = extract::extract(&doc.media_type, bytes)
        .map_err(|e| RunFailure::Permanent(JobError::new(e.code(), e.to_string())))?;
    let text = extraction.text();
    let result = ExtractResult {
        text: &text,
        markdown: &extraction.markdown(),
        elements: &extraction.elements,
        media_type: &doc.media_type,
        pages: extraction.pages,
        characters: text.chars().count(),
        warnings: &extraction.warnings,
    };
    serde_json::to_vec(&result).map_err(|e| {
        RunFailure::Permanent(JobError::new("internal_error", format!("serialise: {e}")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_seconds(1), 5);
        assert_eq!(backoff_seconds(2), 10);
        assert_eq!(backoff_seconds(3), 20);
        assert_eq!(backoff_seconds(30), 300);
    }
}
