//! The queue consumer's logic for one delivery of one job.
//!
//! Queues deliver at least once; [`process_delivery`] makes that exactly once
//! in effect: a job runs only after an atomic claim in the metadata store
//! (`queued → running`), so a second delivery of a running or finished job
//! changes nothing. The caller turns the returned [`Disposition`] into
//! `ack()` / `retry()`; this code never panics and never returns an error the
//! runtime would have to handle.

use super::fair::send_held;
use super::resources::{wasm_memory_bytes, Resources};
use super::{CommandStatus, Disposition, Job, JobError};
use crate::llm::{BreakerStore, LlmConfig, LlmProvider};
use crate::ports::{BlobStore, Clock, JobQueue, MetaStore, StoreError, UsageMeter, WebhookStore};
use crate::webhooks::runner::ensure_completion_webhook;

pub(crate) mod extraction;
mod llm;
pub mod parts;
mod retry;
mod steps;
use llm::run_llm;
use retry::{again, Steady};
pub use retry::{backoff_seconds, give_up};
use steps::{charge_pages, load_document, resumed_states, run_command, set_progress, store_answer};

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
    /// Which documents are read in parts, and how.
    pub split: crate::config::split::Split,
}

impl RunnerLimits {
    pub fn of(config: &crate::config::Config) -> RunnerLimits {
        RunnerLimits {
            max_attempts: config.job_max_attempts,
            lease_ms: config.job_lease_ms,
            retry_window_ms: config.job_retry_window_ms,
            in_flight: config.tenant_jobs_in_flight,
            split: config.split,
        }
    }
}

/// Why a claimed run stopped early.
enum RunFailure {
    /// The client cancelled the job while it ran; leave it as it is.
    Cancelled,
    /// The run waits for the parts of its document (a large PDF read in
    /// parts); the last part wakes it.
    Parked,
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
                read: std::cell::Cell::new(0),
            };
            run_claimed(&with_blobs(&ports, &steady), limits, job, &steady.read).await
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
            let shard = meta.entered();
            match ensure_completion_webhook(ports.webhooks, ports.queue, &job, shard, now).await {
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
    bytes_read: &std::cell::Cell<u64>,
) -> Disposition
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    Q: JobQueue,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let (meta, clock) = (ports.meta, ports.clock);
    let result = match run(ports, limits, &job).await {
        Ok(mut used) => {
            used.bytes_read += bytes_read.get();
            used.wasm_memory_bytes = used.wasm_memory_bytes.max(wasm_memory_bytes());
            meta.complete_job(&job.id, clock.now_ms(), &used)
                .await
                .map_err(RunFailure::from)
        }
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
        RunFailure::Cancelled | RunFailure::Parked => return Disposition::Ack,
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
    limits: RunnerLimits,
    job: &Job,
) -> Result<Resources, RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    Q: JobQueue,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let (meta, clock, usage) = (ports.meta, ports.clock, ports.usage);
    let mut lap = Lap::new(clock);
    let mut states = resumed_states(job);
    let doc = load_document(meta, clock, job).await?;
    set_progress(ports, job, 10, &states).await?;
    let prepare_ms = lap.split();
    let languages = crate::commands::ocr_languages(&job.commands);
    let (extraction, parts_used) = parts::extraction_of(ports, limits, job, &doc, &languages)
        .await?
        .ok_or(RunFailure::Parked)?;
    let extract_ms = lap.split();
    charge_pages(usage, clock, job, extraction.pages).await;
    let done: Vec<bool> = states
        .iter()
        .map(|s| s.status == CommandStatus::Succeeded)
        .collect();
    let mut llm = run_llm(ports, job, &done, &doc, &extraction).await?;
    let llm_ms = lap.split();
    let read = (&doc, &extraction);
    run_commands(ports, job, read, (&done, &mut llm), &mut states).await?;
    Ok(Resources {
        prepare_ms,
        extract_ms,
        llm_ms,
        commands_ms: lap.split(),
        pages: extraction.pages,
        // What the parts of a split document read and held, beside this run's.
        bytes_read: parts_used.bytes_read,
        wasm_memory_bytes: parts_used.wasm_memory_bytes,
    })
}

/// The commands in order, each stored with its state; those an earlier
/// run finished (`done`) are skipped, LLM ones take their answer.
async fn run_commands<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job: &Job,
    (doc, extraction): (&crate::documents::Document, &crate::extract::Extraction),
    (done, llm): (
        &[bool],
        &mut std::collections::HashMap<usize, crate::llm::engine::TaskOutcome>,
    ),
    states: &mut [super::CommandState],
) -> Result<(), RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
{
    let blobs = ports.blobs;
    let step = 50 / job.commands.len().max(1);
    for (i, command) in job.commands.iter().enumerate() {
        if done[i] {
            // Stored by an earlier run of this job, which failed later.
            continue;
        }
        states[i].status = CommandStatus::Running;
        set_progress(ports, job, (50 + step * i) as u8, states).await?;
        let outcome = match llm.remove(&i) {
            Some(answer) => store_answer(blobs, job, command, answer, &mut states[i]).await,
            None => run_command(blobs, job, doc, extraction, command).await,
        };
        states[i].status = match outcome {
            Ok(()) => CommandStatus::Succeeded,
            Err(_) => CommandStatus::Failed,
        };
        states[i].progress = 100;
        let overall = (50 + step * (i + 1)).min(99) as u8;
        set_progress(ports, job, overall, states).await?;
        outcome?;
    }
    Ok(())
}

/// Wall time between the steps of a run.
struct Lap<'a, C> {
    clock: &'a C,
    at: u64,
}

impl<'a, C: Clock> Lap<'a, C> {
    fn new(clock: &'a C) -> Self {
        Lap {
            clock,
            at: clock.now_ms(),
        }
    }

    /// Milliseconds since the last split.
    fn split(&mut self) -> u64 {
        let now = self.clock.now_ms();
        let ms = now.saturating_sub(self.at);
        self.at = now;
        ms
    }
}
