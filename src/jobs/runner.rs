//! The queue consumer's logic for one delivery of one job.
//!
//! Queues deliver at least once; [`process_delivery`] makes that exactly once
//! in effect: a job runs only after an atomic claim in the metadata store
//! (`queued → running`), so a second delivery of a running or finished job
//! changes nothing. The caller turns the returned [`Disposition`] into
//! `ack()` / `retry()`; this code never panics and never returns an error the
//! runtime would have to handle.

use super::fair::send_held;
use super::{
    result_key, Command, CommandState, CommandStatus, Disposition, Job, JobError, JobStatus,
};
use crate::documents::Document;
use crate::extract::Extraction;
use crate::llm::{BreakerStore, LlmConfig, LlmProvider};
use crate::ports::{BlobStore, Clock, JobQueue, MetaStore, StoreError, UsageMeter, WebhookStore};
use crate::usage::{month_of, Charge};
use crate::webhooks::runner::ensure_completion_webhook;

pub(crate) mod extraction;
mod llm;
mod retry;
use extraction::extraction;
use llm::run_llm;
use retry::{again, Steady};
pub use retry::{backoff_seconds, give_up};

/// Limits the runner works under.
#[derive(Debug, Clone, Copy)]
pub struct RunnerLimits {
    /// A ceiling on runs, against a job that fails fast for ever.
    pub max_attempts: u32,
    pub lease_ms: u64,
    /// How long after its first start a job's transient failures are
    /// retried: the budget of retries is time, not a count.
    pub retry_window_ms: u64,
    /// A tenant's jobs in the queue at once (see [`super::fair`]).
    pub in_flight: u32,
}

/// Why a claimed run stopped early.
enum RunFailure {
    /// The client cancelled the job while it ran; leave it as it is.
    Cancelled,
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

/// The ports the runner works over.
pub struct RunnerPorts<'a, M, B, C, W, Q, U, L, K> {
    pub meta: &'a M,
    pub blobs: &'a B,
    pub clock: &'a C,
    pub webhooks: &'a W,
    pub queue: &'a Q,
    pub usage: &'a U,
    pub llm: &'a L,
    pub breakers: &'a K,
    pub llm_config: &'a LlmConfig,
    /// Reads images (and pages without text) for the extraction.
    pub ocr: &'a dyn crate::ports::Ocr,
}

/// Handles one delivery of `job_id`.
pub async fn process_delivery<M, B, C, W, Q, U, L, K>(
    ports: RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    limits: RunnerLimits,
    job_id: &str,
) -> Disposition
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    W: WebhookStore,
    Q: JobQueue,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let (meta, clock) = (ports.meta, ports.clock);
    let outcome = match claim(meta, limits, job_id, clock.now_ms()).await {
        Ok(Some(job)) => {
            let steady = Steady {
                blobs: ports.blobs,
                clock,
            };
            run_claimed(&with_blobs(&ports, &steady), limits, job).await
        }
        Ok(None) => Disposition::Ack,
        Err(d) => return d,
    };
    if outcome != Disposition::Ack {
        return outcome;
    }
    // The job has ended (now or before this duplicate delivery): make sure
    // its webhook exists and is queued. Idempotent, so repeats are safe;
    // if it fails, retrying this message tries again.
    match meta.load_job(job_id).await {
        Ok(Some(job)) if job.status.is_terminal() => {
            // Its place in the queue goes to the tenant's next held-back
            // job (lost, the sweep sends it).
            let now = clock.now_ms();
            let _ = send_held(meta, ports.queue, &job.tenant_id, limits.in_flight, now).await;
            match ensure_completion_webhook(ports.webhooks, ports.queue, &job, now).await {
                Ok(()) => Disposition::Ack,
                Err(_) => Disposition::Retry { delay_seconds: 10 },
            }
        }
        Ok(_) => Disposition::Ack,
        Err(_) => Disposition::Retry { delay_seconds: 10 },
    }
}

/// The same ports over other blobs.
fn with_blobs<'a, M, B, B2, C, W, Q, U, L, K>(
    p: &RunnerPorts<'a, M, B, C, W, Q, U, L, K>,
    blobs: &'a B2,
) -> RunnerPorts<'a, M, B2, C, W, Q, U, L, K> {
    RunnerPorts {
        meta: p.meta,
        blobs,
        clock: p.clock,
        webhooks: p.webhooks,
        queue: p.queue,
        usage: p.usage,
        llm: p.llm,
        breakers: p.breakers,
        llm_config: p.llm_config,
        ocr: p.ocr,
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

async fn run_claimed<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    limits: RunnerLimits,
    job: Job,
) -> Disposition
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let (meta, clock) = (ports.meta, ports.clock);
    let result = match run(ports, &job).await {
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
    let backoff = backoff_seconds(&job.id, job.attempts);
    let outcome = match failure {
        RunFailure::Cancelled => return Disposition::Ack,
        RunFailure::Permanent(err) => meta.fail_job(&job.id, &err, now_ms).await,
        RunFailure::Transient(cause) if give_up(job, limits, now_ms) => {
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
                delay_seconds: backoff,
            };
        }
    };
    match outcome {
        Ok(()) => Disposition::Ack,
        Err(_) => Disposition::Retry {
            delay_seconds: backoff,
        },
    }
}

async fn run<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job: &Job,
) -> Result<(), RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let (meta, blobs, clock, usage) = (ports.meta, ports.blobs, ports.clock, ports.usage);
    let mut states = resumed_states(job);
    let doc = load_document(meta, clock, job).await?;
    set_progress(ports, job, 10, &states).await?;
    let languages = crate::commands::ocr_languages(&job.commands);
    let extraction = extraction(blobs, ports.ocr, &doc, &languages).await?;
    charge_pages(usage, clock, job, extraction.pages).await;
    let done: Vec<bool> = states
        .iter()
        .map(|s| s.status == CommandStatus::Succeeded)
        .collect();
    let mut llm = run_llm(ports, job, &done, &doc, &extraction).await?;
    let step = 50 / job.commands.len().max(1);
    for (i, command) in job.commands.iter().enumerate() {
        stop_if_cancelled(meta, clock, &job.id).await?;
        if done[i] {
            // Stored by an earlier run of this job, which failed later.
            continue;
        }
        states[i].status = CommandStatus::Running;
        set_progress(ports, job, (50 + step * i) as u8, &states).await?;
        let outcome = match llm.remove(&i) {
            Some(Ok((value, spent))) => {
                states[i].llm = Some(spent.clone());
                let mut value = value;
                value["llm"] = serde_json::to_value(&spent).unwrap_or_default();
                store_result(blobs, job, command, &value).await
            }
            Some(Err(e)) => Err(RunFailure::Permanent(e)),
            None => run_command(blobs, job, &doc, &extraction, command).await,
        };
        states[i].status = match outcome {
            Ok(()) => CommandStatus::Succeeded,
            Err(_) => CommandStatus::Failed,
        };
        states[i].progress = 100;
        let overall = (50 + step * (i + 1)).min(99) as u8;
        set_progress(ports, job, overall, &states).await?;
        outcome?;
    }
    stop_if_cancelled(meta, clock, &job.id).await
}

/// The commands' states: a run after a failed one keeps what that run
/// finished (its results were stored before the state said so); the rest
/// start again.
fn resumed_states(job: &Job) -> Vec<CommandState> {
    let mut states = CommandState::pending(&job.commands);
    if job.command_states.len() == states.len() {
        for (state, before) in states.iter_mut().zip(&job.command_states) {
            if before.status == CommandStatus::Succeeded && before.name == state.name {
                *state = before.clone();
            }
        }
    }
    states
}

async fn set_progress<M: MetaStore, B, C: Clock, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job: &Job,
    progress: u8,
    states: &[CommandState],
) -> Result<(), RunFailure> {
    let now = ports.clock.now_ms();
    again(ports.clock, || {
        ports.meta.set_progress(&job.id, progress, states, now)
    })
    .await?;
    Ok(())
}

/// The job was admitted under the pages budget; its actual pages are
/// counted once it is read, once per job however many attempts it takes.
/// Metering is best effort: a lost charge is not retried.
async fn charge_pages<C: Clock, U: UsageMeter>(usage: &U, clock: &C, job: &Job, pages: u32) {
    let pages = Charge {
        metric: "pages".into(),
        amount: i64::from(pages),
        limit: None,
        day: Some(crate::usage::day_of(clock.now_ms())),
        key: job.created_by.clone(),
        once: Some(format!("pages:{}", job.id)),
    };
    let _ = usage
        .charge(&job.tenant_id, &month_of(clock.now_ms()), &pages)
        .await;
}

async fn stop_if_cancelled(
    meta: &impl MetaStore,
    clock: &impl Clock,
    job_id: &str,
) -> Result<(), RunFailure> {
    match again(clock, || meta.load_job(job_id)).await? {
        Some(j) if j.status == JobStatus::Running => Ok(()),
        _ => Err(RunFailure::Cancelled),
    }
}

async fn run_command(
    blobs: &impl BlobStore,
    job: &Job,
    doc: &Document,
    extraction: &Extraction,
    command: &Command,
) -> Result<(), RunFailure> {
    let result = command.run(extraction, &doc.media_type).map_err(|e| {
        RunFailure::Permanent(JobError::new(
            e.code(),
            format!("command '{}': {e}", command.name()),
        ))
    })?;
    store_result(blobs, job, command, &result).await
}

async fn store_result(
    blobs: &impl BlobStore,
    job: &Job,
    command: &Command,
    result: &serde_json::Value,
) -> Result<(), RunFailure> {
    let body = serde_json::to_vec(result).map_err(|e| {
        RunFailure::Permanent(JobError::new("internal_error", format!("serialise: {e}")))
    })?;
    let key = result_key(&job.tenant_id, &job.id, command.name());
    blobs.put(&key, body, "application/json").await?;
    Ok(())
}

async fn load_document(
    meta: &impl MetaStore,
    clock: &impl Clock,
    job: &Job,
) -> Result<Document, RunFailure> {
    again(clock, || {
        meta.get_document(&job.tenant_id, &job.document_id)
    })
    .await?
    .ok_or_else(|| {
        RunFailure::Permanent(JobError::new(
            "document_missing",
            "the document was deleted before the job ran",
        ))
    })
}
