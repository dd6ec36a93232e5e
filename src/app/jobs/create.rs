//! `POST /v1/jobs`: everything a new job must pass before it is written
//! (its document, budgets, an LLM provider for LLM commands, the
//! active-job caps), then its row and its queue message, or nothing.

use crate::app::{App, Ctx};
use crate::auth::access::Access;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::new_id;
use crate::jobs::{CommandState, CreateJobRequest, Job, JobMessage, JobStatus};
use crate::ports::{BlobStore, Entropy, JobQueue, JobStore, Ports, WebhookStore};
use crate::webhooks;

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body = CreateJobRequest::parse(&req.body)?;
    if let Some(url) = &body.webhook_url {
        webhooks::validate_url(url, app.config.local_urls_allowed)
            .map_err(|why| ApiError::Invalid("invalid_webhook_url", why))?;
        // The tenant needs a signing secret before anything is signed.
        let mut random = [0u8; 24];
        app.entropy.fill(&mut random);
        app.webhooks
            .tenant_secret_or_insert(&who.tenant_id, &webhooks::new_secret(random))
            .await?;
    }
    let doc = crate::app::documents::find(app, &body.document_id, who, Access::Read).await?;
    let key = crate::app::idempotent::key_of(req, who);
    if let Some(key) = key.as_deref() {
        if let Some(job) = app.meta.job_by_idempotency_key(&who.tenant_id, key).await? {
            return finish_earlier_try(app, ctx, who, &body, job).await;
        }
    }
    admit(app, ctx, who, &body, (&doc.media_type, doc.size_bytes)).await?;
    let job = Job {
        id: new_id("job", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        document_id: body.document_id,
        command_states: CommandState::pending(&body.commands),
        commands: body.commands,
        webhook_url: body.webhook_url,
        llm_training_opt_in: body.llm_training_opt_in,
        resources: None,
        created_by: Some(who.key_id.clone()),
        status: JobStatus::Queued,
        progress: 0,
        attempts: 0,
        deliveries: 0,
        error: None,
        created_at_ms: ctx.now_ms,
        started_at_ms: None,
        finished_at_ms: None,
        lease_until_ms: None,
    };
    insert_and_send(app, ctx, who, &job, key.as_deref()).await?;
    crate::app::usage::count(app, who, ctx, "jobs");
    Ok(accepted(&job))
}

/// Writes the job's row, then sends it to the queue unless it is held
/// back for its tenant's turn (see `crate::jobs::fair`).
async fn insert_and_send<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
    job: &Job,
    key: Option<&str>,
) -> Result<(), ApiError> {
    let in_flight = app.config.tenant_jobs_in_flight;
    let held = match app.meta.insert_job(job, key, in_flight).await {
        Ok(held) => held,
        // An error can come after the row was written: if it is there,
        // go on (the job must then be queued; a message for a held job
        // only runs it early), else fail.
        Err(e) => {
            if !matches!(app.meta.get_job(&who.tenant_id, &job.id).await, Ok(Some(_))) {
                let race =
                    crate::app::idempotent::lost_race(app, &who.tenant_id, key, &job.id).await;
                return Err(race.unwrap_or_else(|| e.into()));
            }
            false
        }
    };
    // A held job waits for its tenant's turn (see `crate::jobs::fair`).
    if !held {
        enqueue(app, ctx, who, job).await?;
    }
    Ok(())
}

/// Every OCR language the job asks for has its model installed (English
/// is built in).
async fn require_ocr_models<P: Ports>(
    app: &App<P>,
    commands: &[crate::commands::Command],
) -> Result<(), ApiError> {
    for language in crate::commands::ocr_languages(commands) {
        if language == crate::commands::BUILT_IN_LANGUAGE {
            continue;
        }
        if !app
            .blobs
            .exists(&crate::jobs::ocr_model_key(&language))
            .await?
        {
            return Err(ApiError::Invalid(
                "unsupported_language",
                format!(
                    "no OCR model for '{language}' is installed; English ('eng') is built in, \
                     others are installed by the operator (npm run ocr:models -- {language})"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether a new job may be made: the document within what a job
/// processes, the budgets not spent, an LLM provider for LLM commands, and
/// room under the active-job caps. All before anything is written, so no
/// job is half-created.
async fn admit<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
    body: &CreateJobRequest,
    (media_type, size_bytes): (&str, u64),
) -> Result<(), ApiError> {
    // A document is read whole into the isolate's memory, except a large
    // PDF, read in parts of pages by range.
    if !app.config.split.admits(media_type, size_bytes) {
        return Err(ApiError::Invalid(
            "document_too_large",
            format!(
                "the document has {} bytes; jobs read documents of up to {} whole \
                 (MAX_PROCESS_BYTES), and larger ones only if they are PDFs (read in parts)",
                size_bytes, app.config.max_process_bytes
            ),
        ));
    }
    crate::app::usage::require_room(app, who, ctx, "pages").await?;
    require_ocr_models(app, &body.commands).await?;
    if body.commands.iter().any(|c| c.needs_llm()) {
        if !app.config.llm.is_configured() {
            return Err(ApiError::Invalid(
                "llm_not_configured",
                "this job has LLM commands, and no LLM provider is configured (LLM_PROVIDERS, LLM_TIERS)"
                    .into(),
            ));
        }
        // Over the token budget: refused before any call is made.
        crate::app::usage::require_room(app, who, ctx, "llm_tokens").await?;
    }
    // Backpressure. (Concurrent requests may overshoot by a few.)
    let queued_since = ctx.now_ms.saturating_sub(app.config.job_stall_ms);
    let (mine, total) = app
        .meta
        .count_active_jobs(&who.tenant_id, ctx.now_ms, queued_since)
        .await?;
    if total >= app.config.max_active_jobs_total {
        return Err(ApiError::Unavailable("service_saturated"));
    }
    if mine >= app.config.max_active_jobs_per_tenant {
        return Err(ApiError::TooManyActiveJobs {
            limit: app.config.max_active_jobs_per_tenant,
        });
    }
    Ok(())
}

/// Sends the job to the queue; if that fails, the job is undone (a job
/// nobody will run must not exist) and the client may retry.
async fn enqueue<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
    job: &Job,
) -> Result<(), ApiError> {
    let msg = JobMessage {
        part: None,
        job_id: job.id.clone(),
        shard: who.shard,
        traceparent: ctx.trace.as_ref().map(|t| t.header()),
    };
    if let Err(e) = app.queue.send(&msg).await {
        // If the undo is lost too, the sweep sends the queued job later.
        let _ = app.meta.delete_job(&who.tenant_id, &job.id).await;
        return Err(if e.is_retryable() {
            ApiError::Unavailable("queue_unavailable")
        } else {
            ApiError::Internal(e.to_string())
        });
    }
    Ok(())
}

fn accepted(job: &Job) -> Response {
    Response::json(202, &job.view()).with_header("location", &format!("/v1/jobs/{}", job.id))
}

/// A job already made under the request's Idempotency-Key by a try that
/// failed after writing it (the client saw a 5xx): the same request gets
/// that job, sent to the queue again if it may never have been, so a
/// retry never makes a second job. A different request under the key is
/// refused.
async fn finish_earlier_try<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
    body: &CreateJobRequest,
    job: Job,
) -> Result<Response, ApiError> {
    if job.document_id != body.document_id
        || job.commands != body.commands
        || job.webhook_url != body.webhook_url
        || job.llm_training_opt_in != body.llm_training_opt_in
    {
        return Err(crate::app::idempotent::key_reused());
    }
    if job.status == JobStatus::Queued {
        // The earlier try ended before it counted the job. A duplicate
        // message is harmless: only one consumer claims a job.
        enqueue(app, ctx, who, &job).await?;
        crate::app::usage::count(app, who, ctx, "jobs");
    }
    Ok(accepted(&job))
}
