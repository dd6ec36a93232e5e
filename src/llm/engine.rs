//! Runs a job's LLM commands: cache → route → compress → batch → call with
//! retries, fallbacks and circuit breakers → validate (and repair) →
//! degrade when every path is down → cache and meter. Over ports, so the
//! same code runs in the queue consumer and in the application tests.

use super::cache::{cached, store};
use super::chain::call_chain;
use super::compress::{compress, Compressed};
use super::tasks::{apportion, batch_request, split_batch, Task};
use super::{BreakerStore, LlmConfig, LlmProvider};
use crate::jobs::error::JobError;
use crate::ports::{BlobStore, Clock, UsageMeter};
use crate::usage::{month_of, Charge};

use serde_json::Value;

pub use super::deps::LlmDeps;
use super::deps::{balanced, seed_of, Answered};
pub use super::training::TrainingPair;
pub use super::usage::LlmUsage;

/// One command's outcome: its result with its usage, or a typed error.
pub type TaskOutcome = Result<(Value, LlmUsage), JobError>;

/// Everything a run of the LLM commands produced.
#[derive(Debug, Default)]
pub struct LlmRun {
    pub outcomes: Vec<(usize, TaskOutcome)>,
    /// Accepted prompt/answer pairs of fresh calls (not cached, not degraded).
    pub pairs: Vec<TrainingPair>,
}

impl Answered {
    fn pair(&self, command: String) -> TrainingPair {
        TrainingPair {
            command,
            model: self.model.clone(),
            system: self.request.system.clone(),
            user: self.request.user.clone(),
            answer: self.raw.clone(),
        }
    }
}

/// Which tier a task goes to: the `large` one for the commands configured
/// so and for inputs above `small_max_tokens`, else `small` (when there is
/// one). The naive baseline always uses `large`.
pub fn route(cfg: &LlmConfig, task: &Task, input_tokens: u32) -> String {
    let large = !cfg.optimize
        || cfg.large_commands.iter().any(|c| c == task.name())
        || input_tokens > cfg.small_max_tokens
        || !cfg.tiers.contains_key("small");
    if large { "large" } else { "small" }.to_string()
}

struct Pending {
    index: usize,
    task: Task,
    doc: Compressed,
    tier: String,
}

/// Runs the tasks (command index, task) over a document's text and
/// returns each outcome by index.
pub async fn run_tasks<P, K, C, B, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    text: &str,
    tasks: Vec<(usize, Task)>,
) -> LlmRun
where
    P: LlmProvider,
    K: BreakerStore,
    C: Clock,
    B: BlobStore,
    U: UsageMeter,
{
    let cfg = deps.config;
    if !cfg.is_configured() {
        return not_configured(tasks);
    }
    // Answers from the cache, and the tasks still to run.
    let (mut out, mut pending) = lookup(deps, tenant_id, doc_sha256, text, tasks).await;
    let mut pairs: Vec<TrainingPair> = Vec::new();
    // Tokens of calls whose answers were not used (a failed batch, a
    // command that failed anyway): paid for, so metered too.
    let mut wasted: u64 = 0;
    if cfg.optimize {
        pending = batch(
            deps,
            tenant_id,
            doc_sha256,
            pending,
            (&mut out, &mut pairs, &mut wasted),
        )
        .await;
    }
    for p in pending {
        let outcome = run_one(deps, tenant_id, doc_sha256, text, &p).await;
        let outcome = match outcome {
            Ok((value, usage, pair)) => {
                pairs.extend(pair);
                Ok((value, usage))
            }
            Err((e, spent)) => {
                wasted += spent;
                Err(e)
            }
        };
        out.push((p.index, outcome));
    }
    meter(deps, tenant_id, &out, wasted).await;
    out.sort_by_key(|(i, _)| *i);
    LlmRun {
        outcomes: out,
        pairs,
    }
}

/// Each task's document compressed for it and its tier chosen; answered
/// from the cache where the deployment optimises and an answer is there.
async fn lookup<P, K, C: Clock, B: BlobStore, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    text: &str,
    tasks: Vec<(usize, Task)>,
) -> (Vec<(usize, TaskOutcome)>, Vec<Pending>) {
    let cfg = deps.config;
    let (mut answered, mut pending) = (Vec::new(), Vec::new());
    for (index, task) in tasks {
        let doc = compress(text, cfg.max_input_tokens, task.query(), cfg.optimize);
        let tier = route(cfg, &task, doc.tokens);
        if cfg.optimize {
            if let Some(hit) = cached(deps, tenant_id, doc_sha256, &task, &tier, &doc).await {
                answered.push((index, Ok(hit)));
                continue;
            }
        }
        pending.push(Pending {
            index,
            task,
            doc,
            tier,
        });
    }
    (answered, pending)
}

/// Every task fails alike when no provider is configured.
fn not_configured(tasks: Vec<(usize, Task)>) -> LlmRun {
    let outcomes = tasks
        .into_iter()
        .map(|(i, t)| {
            let err = JobError::new(
                "llm_not_configured",
                format!(
                    "command '{}' needs an LLM provider, and none is configured",
                    t.name()
                ),
            );
            (i, Err(err))
        })
        .collect();
    LlmRun {
        outcomes,
        pairs: Vec::new(),
    }
}

/// One task on its own call chain: its value, usage and training pair;
/// degraded (without a model) when every model failed and the command
/// can; else its error with the tokens spent in vain.
async fn run_one<P, K, C, B, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    text: &str,
    p: &Pending,
) -> Result<(Value, LlmUsage, Option<TrainingPair>), (JobError, u64)>
where
    P: LlmProvider,
    K: BreakerStore,
    C: Clock,
    B: BlobStore,
{
    let req = p.task.request(&p.doc);
    let chain = balanced(deps.config, &p.tier, seed_of(deps.clock.now_ms(), &req));
    let parse = |answer: &str| p.task.parse(answer, &p.doc);
    let mut usage = LlmUsage {
        tier: p.tier.clone(),
        compression_ratio: p.doc.ratio(),
        ..LlmUsage::default()
    };
    if let Ok(answered) = call_chain(deps, &chain, &req, &parse, &mut usage).await {
        if deps.config.optimize {
            let (model, value) = (&answered.model, &answered.value);
            store(
                deps,
                tenant_id,
                doc_sha256,
                &p.task,
                (&p.tier, model),
                value,
            )
            .await;
        }
        let pair = answered.pair(p.task.name().to_string());
        return Ok((answered.value, usage, Some(pair)));
    }
    // A degraded answer has no training pair: no model gave it.
    match p.task.degraded(text, &p.doc) {
        Some(value) => {
            usage.degraded = true;
            Ok((value, usage, None))
        }
        None => Err((
            JobError::new(
                "llm_unavailable",
                format!(
                    "command '{}': every model failed: {}",
                    p.task.name(),
                    usage.failures.join("; ")
                ),
            ),
            u64::from(usage.tokens()),
        )),
    }
}

/// Answers the batchable tasks of a tier with one call each tier; returns
/// the tasks still to run (all of them when the batch answer is invalid).
async fn batch<P, K, C, B, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    pending: Vec<Pending>,
    (out, pairs, wasted): (
        &mut Vec<(usize, TaskOutcome)>,
        &mut Vec<TrainingPair>,
        &mut u64,
    ),
) -> Vec<Pending>
where
    P: LlmProvider,
    K: BreakerStore,
    C: Clock,
    B: BlobStore,
    U: UsageMeter,
{
    let (groups, mut rest) = by_tier(pending);
    for (tier, members) in groups {
        let tasks: Vec<&Task> = members.iter().map(|p| &p.task).collect();
        // Tasks without a question compress the document identically.
        let doc = &members[0].doc;
        let req = batch_request(&tasks, doc);
        let parse = |answer: &str| split_batch(&tasks, answer, doc).map(Value::from);
        let mut usage = LlmUsage {
            tier: tier.clone(),
            batched: true,
            compression_ratio: doc.ratio(),
            ..LlmUsage::default()
        };
        let chain = balanced(deps.config, &tier, seed_of(deps.clock.now_ms(), &req));
        match call_chain(deps, &chain, &req, &parse, &mut usage).await {
            Ok(answered) if answered.value.as_array().map(Vec::len) == Some(members.len()) => {
                let names: Vec<&str> = tasks.iter().map(|t| t.name()).collect();
                pairs.push(answered.pair(format!("batch:{}", names.join("+"))));
                let shared = share_out(&members, answered, &usage, doc.tokens);
                for (p, (value, share, model)) in members.iter().zip(shared) {
                    store(
                        deps,
                        tenant_id,
                        doc_sha256,
                        &p.task,
                        (&tier, &model),
                        &value,
                    )
                    .await;
                    out.push((p.index, Ok((value, share))));
                }
            }
            // The batch failed or was invalid: each task gets its own call.
            _ => {
                *wasted += u64::from(usage.tokens());
                rest.extend(members);
            }
        }
    }
    rest.sort_by_key(|p| p.index);
    rest
}

/// The batchable tasks (no question of their own) in groups of two or more
/// of one tier, in tier order; and every other task.
fn by_tier(pending: Vec<Pending>) -> (Vec<(String, Vec<Pending>)>, Vec<Pending>) {
    let (mut group, mut rest): (Vec<Pending>, Vec<Pending>) = pending
        .into_iter()
        .partition(|p| p.task.batchable() && p.task.query().is_none());
    let mut tiers: Vec<String> = group.iter().map(|p| p.tier.clone()).collect();
    tiers.dedup();
    let mut groups = Vec::new();
    for tier in tiers {
        let (members, others): (Vec<Pending>, Vec<Pending>) =
            group.into_iter().partition(|p| p.tier == tier);
        group = others;
        if members.len() < 2 {
            rest.extend(members);
        } else {
            groups.push((tier, members));
        }
    }
    (groups, rest)
}

/// A batch answer split back into its members: each one's value, its
/// share of the call's tokens and cost (the call itself counted once, on
/// the first), and the model that answered.
fn share_out(
    members: &[Pending],
    answered: Answered,
    usage: &LlmUsage,
    doc_tokens: u32,
) -> Vec<(Value, LlmUsage, String)> {
    let tasks: Vec<&Task> = members.iter().map(|p| &p.task).collect();
    let parts = match answered.value {
        Value::Array(parts) => parts,
        _ => Vec::new(),
    };
    let input = apportion(&tasks, usage.input_tokens, doc_tokens);
    let output = apportion(&tasks, usage.output_tokens, doc_tokens);
    let n = members.len() as f64;
    parts
        .into_iter()
        .enumerate()
        .map(|(k, value)| {
            let share = LlmUsage {
                input_tokens: input[k],
                output_tokens: output[k],
                cost_usd: usage.cost_usd / n,
                calls: if k == 0 { usage.calls } else { 0 },
                ..usage.clone()
            };
            (value, share, answered.model.clone())
        })
        .collect()
}

/// Charges the tokens spent to the tenant's `llm_tokens` budget. Best
/// effort, like the pages charge: a lost charge is not retried.
async fn meter<P, K, C: Clock, B, U: UsageMeter>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    outcomes: &[(usize, TaskOutcome)],
    wasted: u64,
) {
    let tokens: u64 = outcomes
        .iter()
        .filter_map(|(_, o)| o.as_ref().ok())
        .map(|(_, u)| u64::from(u.tokens()))
        .sum::<u64>()
        + wasted;
    if tokens == 0 {
        return;
    }
    let charge = Charge {
        metric: "llm_tokens".into(),
        amount: tokens as i64,
        limit: None,
        day: Some(crate::usage::day_of(deps.clock.now_ms())),
        key: deps.key.clone(),
        once: None,
    };
    let _ = deps
        .usage
        .charge(tenant_id, &month_of(deps.clock.now_ms()), &charge)
        .await;
}
