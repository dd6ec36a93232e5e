//! The steps of a run that the runner strings together: the commands'
//! states carried over from an earlier run, progress writes, the pages
//! charge, the cancellation check, one command's result, the document.

use super::{again, RunFailure, RunnerPorts};
use crate::documents::Document;
use crate::extract::Extraction;
use crate::jobs::{result_key, Command, CommandState, CommandStatus, Job, JobError};
use crate::ports::{BlobStore, Clock, MetaStore, UsageMeter};
use crate::usage::{month_of, Charge};

/// The commands' states: a run after a failed one keeps what that run
/// finished (its results were stored before the state said so); the rest
/// start again.
pub(super) fn resumed_states(job: &Job) -> Vec<CommandState> {
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

/// Writes the run's progress; the same write tells whether the job is
/// still running: a job cancelled meanwhile stops the run here.
pub(super) async fn set_progress<M: MetaStore, B, C: Clock, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job: &Job,
    progress: u8,
    states: &[CommandState],
) -> Result<(), RunFailure> {
    let now = ports.clock.now_ms();
    let running = again(ports.clock, || {
        ports.meta.set_progress(&job.id, progress, states, now)
    })
    .await?;
    if running {
        Ok(())
    } else {
        Err(RunFailure::Cancelled)
    }
}

/// The job was admitted under the pages budget; its actual pages are
/// counted once it is read, once per job however many attempts it takes.
/// Metering is best effort: a lost charge is not retried.
pub(super) async fn charge_pages<C: Clock, U: UsageMeter>(
    usage: &U,
    clock: &C,
    job: &Job,
    pages: u32,
) {
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

pub(super) async fn run_command(
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

pub(super) async fn store_result(
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

pub(super) async fn load_document(
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

/// An LLM command's answer stored as its result, with how it was served
/// (also kept in the command's state).
pub(super) async fn store_answer(
    blobs: &impl BlobStore,
    job: &Job,
    command: &Command,
    answer: crate::llm::engine::TaskOutcome,
    state: &mut CommandState,
) -> Result<(), RunFailure> {
    let (mut value, spent) = answer.map_err(RunFailure::Permanent)?;
    state.llm = Some(spent.clone());
    value["llm"] = serde_json::to_value(&spent).unwrap_or_default();
    store_result(blobs, job, command, &value).await
}
