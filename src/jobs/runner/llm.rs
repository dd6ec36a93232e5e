//! A job's LLM commands, run together before the others so they can share
//! a call (the engine batches and caches them), and the opted-in job's
//! prompt/answer pairs kept for the fine-tuning export.

use super::{RunFailure, RunnerPorts};
use crate::documents::Document;
use crate::extract::Extraction;
use crate::jobs::Job;
use crate::llm::engine::{run_tasks, LlmDeps, TaskOutcome, TrainingPair};
use crate::llm::tasks::Task;
use crate::llm::{BreakerStore, LlmProvider};
use crate::ports::{BlobStore, Clock, MetaStore, UsageMeter};
use std::collections::HashMap;

/// The job's LLM commands, run together first so they can share a call:
/// each one's outcome by its index among the job's commands. Those `done`
/// in an earlier run of the job are not asked again.
pub(super) async fn run_llm<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job: &Job,
    done: &[bool],
    doc: &Document,
    extraction: &Extraction,
) -> Result<HashMap<usize, TaskOutcome>, RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    U: UsageMeter,
    L: LlmProvider,
    K: BreakerStore,
{
    let tasks: Vec<(usize, Task)> = job
        .commands
        .iter()
        .enumerate()
        .filter(|(i, _)| !done.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, c)| Task::of(c).and_then(Result::ok).map(|t| (i, t)))
        .collect();
    if tasks.is_empty() {
        return Ok(HashMap::new());
    }
    // A tenant may have its own tiers over the same providers.
    let tenant = super::again(ports.clock, || ports.meta.get_tenant(&job.tenant_id)).await?;
    let own = match tenant {
        Some(t) => t
            .llm_tiers
            .and_then(|s| ports.llm_config.with_tiers(&s).ok()),
        None => None,
    };
    let deps = LlmDeps {
        provider: ports.llm,
        breakers: ports.breakers,
        clock: ports.clock,
        blobs: ports.blobs,
        usage: ports.usage,
        config: own.as_ref().unwrap_or(ports.llm_config),
        key: job.created_by.clone(),
    };
    let text = extraction.text();
    let run = run_tasks(&deps, &job.tenant_id, &doc.sha256, &text, tasks).await;
    if job.llm_training_opt_in {
        keep_training_pairs(ports.blobs, job, &run.pairs).await;
    }
    Ok(run.outcomes.into_iter().collect())
}

/// Stores an opted-in job's prompt/answer pairs for the fine-tuning export,
/// under its document, so deleting the document deletes them too.
async fn keep_training_pairs(blobs: &impl BlobStore, job: &Job, pairs: &[TrainingPair]) {
    for (i, pair) in pairs.iter().enumerate() {
        let key = format!(
            "{}{}-{i}.json",
            crate::jobs::training_prefix(&job.tenant_id, Some(&job.document_id)),
            job.id
        );
        if let Ok(bytes) = serde_json::to_vec(pair) {
            // Best effort: a lost pair is a smaller export, not a failed job.
            let _ = blobs.put(&key, bytes, "application/json").await;
        }
    }
}
