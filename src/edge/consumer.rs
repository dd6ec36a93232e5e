//! The jobs worker's queue consumer: job runs, webhook deliveries and dead
//! letters, each message settled on its own.

use super::*;
use crate::jobs::runner::{process_delivery, RunnerLimits, RunnerPorts};
use crate::jobs::{Disposition, QueueEnvelope};
use crate::ports::Ports;
use crate::webhooks::runner::process_webhook;
use storage::WallClock;
use worker::{MessageBatch, MessageExt, QueueRetryOptionsBuilder};

#[event(queue)]
async fn queue(batch: MessageBatch<QueueEnvelope>, env: Env, _ctx: Context) -> worker::Result<()> {
    // Never return Err: that would retry the whole batch. Each message is
    // acked or retried on its own.
    let Some((cfg, dlq_app)) = config(&env).ok().and_then(|c| {
        let obs = Obs::new(format!("queue {}", batch.queue()), None, &c.ops);
        app(&env, c.clone(), &obs).ok().map(|a| (c, a))
    }) else {
        log(json!({"level": "error", "msg": "queue consumer misconfigured"}));
        batch.retry_all();
        return Ok(());
    };
    if batch.queue().ends_with("-dlq") {
        for raw in batch.raw_iter() {
            dead_letter(&dlq_app, &raw).await;
        }
        return Ok(());
    }
    for raw in batch.raw_iter() {
        deliver(&env, &cfg, &raw).await;
    }
    Ok(())
}

/// The dead-letter queue: the message is kept for the operator, its job
/// failed with the reason, and it is acked.
async fn dead_letter(app: &EdgeApp, raw: &worker::RawMessage) {
    let now = worker::Date::now().as_millis();
    let body = worker::serde_wasm_bindgen::from_value::<QueueEnvelope>(raw.body())
        .ok()
        .and_then(|e| serde_json::to_string(&e).ok())
        .unwrap_or_else(|| "{}".into());
    // workers-rs gives no delivery count here: 0 means "unknown".
    let outcome = app.take_dead_letter(&raw.id(), &body, 0, now).await;
    log(json!({
        "level": if outcome.is_ok() { "warn" } else { "error" },
        "msg": "dead letter", "id": raw.id(), "body": body,
        "error": outcome.err(),
    }));
    raw.ack();
}

/// One message of the jobs queue (a job run or a webhook delivery),
/// acked or retried with a delay by its own outcome.
async fn deliver(env: &Env, cfg: &Config, raw: &worker::RawMessage) {
    let msg = worker::serde_wasm_bindgen::from_value::<QueueEnvelope>(raw.body());
    let started = worker::Date::now().as_millis();
    let trace = msg
        .as_ref()
        .ok()
        .and_then(|e| e.traceparent.as_deref())
        .and_then(crate::trace::TraceContext::parse);
    let Some((kind, id, outcome)) = run(env, cfg, msg.ok(), trace.as_ref(), started).await else {
        log(json!({"level": "warn", "msg": "undecodable queue message dropped", "id": raw.id()}));
        raw.ack();
        return;
    };
    log(json!({
        "level": "info", "msg": "queue message", "kind": kind, "id": id,
        "trace_id": trace.as_ref().map(|t| t.trace_id.clone()),
        "outcome": format!("{outcome:?}"),
        "latency_ms": worker::Date::now().as_millis().saturating_sub(started),
    }));
    match outcome {
        Disposition::Ack => raw.ack(),
        Disposition::Retry { delay_seconds } => raw.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(delay_seconds)
                .build(),
        ),
    }
}

/// The longest one webhook delivery attempt may take (its POST has its
/// own 10 s timeout; the rest is D1).
const WEBHOOK_DEADLINE_MS: u64 = 60_000;

/// `work`, or a retry if it has not finished within `ms`. Dropping the
/// work is safe: a job keeps its lease and a delivery its claim, so the
/// retried message takes over only once they lapse, and takes effect once.
async fn within(ms: u64, work: impl std::future::Future<Output = Disposition>) -> Disposition {
    use futures_util::future::{select, Either};
    let deadline = worker::Delay::from(std::time::Duration::from_millis(ms));
    match select(std::pin::pin!(work), std::pin::pin!(deadline)).await {
        Either::Left((outcome, _)) => outcome,
        Either::Right(_) => {
            log(
                json!({"level": "warn", "msg": "queue message past its deadline", "deadline_ms": ms}),
            );
            Disposition::Retry { delay_seconds: 5 }
        }
    }
}

async fn run_job(
    app: &EdgeApp,
    env: &Env,
    job_id: &str,
    trace: Option<&crate::trace::TraceContext>,
) -> Disposition {
    // Outbound LLM calls carry a child span of the job's trace.
    let traceparent = trace.map(|t| {
        let mut span = [0u8; 8];
        CryptoEntropy.fill(&mut span);
        t.child(span).header()
    });
    let limits = RunnerLimits::of(&app.config);
    let llm = edge_llm(app, env, traceparent);
    process_delivery(runner_ports(app, &llm), limits, job_id).await
}

/// One part of a split job: its pages read, the job woken after the last.
async fn run_part(app: &EdgeApp, env: &Env, job_id: &str, part: u32) -> Disposition {
    let llm = edge_llm(app, env, None);
    let limits = RunnerLimits::of(&app.config);
    crate::jobs::runner::parts::process_part(runner_ports(app, &llm), limits, job_id, part).await
}

fn edge_llm(app: &EdgeApp, env: &Env, traceparent: Option<String>) -> llm::EdgeLlm {
    llm::EdgeLlm {
        ai: env.ai("AI").ok(),
        timeout_ms: app.config.llm.timeout_ms,
        traceparent,
        obs: app.http.0.clone(),
    }
}

type Of = super::EdgePorts;
type Runner<'a> = RunnerPorts<
    'a,
    <Of as Ports>::Meta,
    <Of as Ports>::Blobs,
    WallClock,
    <Of as Ports>::Webhooks,
    <Of as Ports>::Queue,
    <Of as Ports>::Gate,
    llm::EdgeLlm,
    <Of as Ports>::Breakers,
>;

fn runner_ports<'a>(app: &'a EdgeApp, llm: &'a llm::EdgeLlm) -> Runner<'a> {
    RunnerPorts {
        meta: &app.meta,
        blobs: &app.blobs,
        clock: &WallClock,
        webhooks: &app.webhooks,
        queue: &app.queue,
        usage: &app.gate,
        llm,
        breakers: &app.breakers,
        llm_config: &app.config.llm,
        ocr: &super::ocr::TesseractOcr,
    }
}

/// Runs what a message asks for: (kind, id, disposition), or `None` for
/// a message that names nothing we know.
async fn run(
    env: &Env,
    cfg: &Config,
    msg: Option<QueueEnvelope>,
    trace: Option<&crate::trace::TraceContext>,
    started: u64,
) -> Option<(&'static str, String, Disposition)> {
    // Each message gets its own adapters, so its calls are logged with its
    // id and trace.
    let for_message = |id: &str| {
        let obs = Obs::new(id.to_string(), trace.cloned(), &cfg.ops);
        app(env, cfg.clone(), &obs)
    };
    let retry_later = Disposition::Retry { delay_seconds: 30 };
    let msg = msg?;
    // The message names its tenant's shard: the run's queries go there.
    let for_message = |id: &str| {
        for_message(id).inspect(|app| crate::ports::ShardStore::enter(&app.meta, msg.shard))
    };
    match msg.clone() {
        QueueEnvelope {
            job_id: Some(id),
            part,
            ..
        } => {
            // A run (or a part's read) never outlasts a job's lease: past
            // it another delivery may take the job over anyway.
            let outcome = match (for_message(&id), part) {
                (Ok(app), Some(n)) => {
                    within(app.config.job_lease_ms, run_part(&app, env, &id, n)).await
                }
                (Ok(app), None) => {
                    within(app.config.job_lease_ms, run_job(&app, env, &id, trace)).await
                }
                (Err(_), _) => retry_later,
            };
            let label = part.map_or(("job", id.clone()), |n| ("job part", format!("{id}#{n}")));
            Some((label.0, label.1, outcome))
        }
        QueueEnvelope {
            delivery_id: Some(id),
            ..
        } => {
            let outcome = match for_message(&id) {
                Ok(app) => {
                    let send = process_webhook(&app.webhooks, &app.http, &id, started);
                    within(WEBHOOK_DEADLINE_MS, send).await
                }
                Err(_) => retry_later,
            };
            Some(("webhook", id, outcome))
        }
        _ => None,
    }
}
