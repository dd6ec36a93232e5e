//! `/v1/jobs`: create a job on a document, read its state and its result.

use super::{App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::{looks_like_id, new_id};
use crate::jobs::{result_key, CommandName, CreateJobRequest, Job, JobMessage, JobStatus};
use crate::ports::{BlobStore, JobQueue, MetaStore, Ports};

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body = CreateJobRequest::parse(&req.body)?;
    app.meta
        .get_document(&who.tenant_id, &body.document_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("document".into()))?;
    let job = Job {
        id: new_id("job", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        document_id: body.document_id,
        commands: body.commands,
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
    app.meta.insert_job(&job).await?;
    let msg = JobMessage {
        job_id: job.id.clone(),
    };
    if let Err(e) = app.queue.send(&msg).await {
        // A job nobody will run must not exist: undo, and let the client retry.
        let _ = app.meta.delete_job(&who.tenant_id, &job.id).await;
        return Err(if e.is_retryable() {
            ApiError::Unavailable("queue_unavailable")
        } else {
            ApiError::Internal(e.to_string())
        });
    }
    Ok(Response::json(202, &job.view()).with_header("location", &format!("/v1/jobs/{}", job.id)))
}

async fn find<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Job, ApiError> {
    if !looks_like_id("job", id) {
        return Err(ApiError::NotFound("job".into()));
    }
    app.meta
        .get_job(&who.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("job".into()))
}

pub async fn get<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    Ok(Response::json(200, &job.view()))
}

/// The stored result of one command (`?command=`; default: the first).
pub async fn result<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    who: &Principal,
) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    match job.status {
        JobStatus::Succeeded => {}
        JobStatus::Failed => {
            let why = job.error.as_ref().map_or("unknown", |e| e.code.as_str());
            return Err(ApiError::Conflict(
                "job_failed",
                format!("the job failed ({why}); it has no result"),
            ));
        }
        other => {
            return Err(ApiError::Conflict(
                "job_not_finished",
                format!("the job is {}; poll GET /v1/jobs/{id}", other.as_str()),
            ))
        }
    }
    let command = pick_command(&job, req.query_param("command").as_deref())?;
    let bytes = app
        .blobs
        .get(&result_key(&job.tenant_id, &job.id, command))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("result of {} missing", job.id)))?;
    Ok(Response::new(200)
        .with_header("content-type", "application/json")
        .with_body(bytes))
}

fn pick_command(job: &Job, wanted: Option<&str>) -> Result<CommandName, ApiError> {
    let found = match wanted {
        None => job.commands.first(),
        Some(name) => job.commands.iter().find(|c| c.name.as_str() == name),
    };
    found.map(|c| c.name).ok_or_else(|| {
        ApiError::Invalid(
            "invalid_command",
            format!("this job did not run command '{}'", wanted.unwrap_or("")),
        )
    })
}

/// Test-only: puts the job's message on the queue again, as a duplicate
/// delivery would, to prove it does not run twice.
pub async fn redeliver<P: Ports>(app: &App<P>, id: &str) -> Result<Response, ApiError> {
    app.meta
        .load_job(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("job".into()))?;
    app.queue
        .send(&JobMessage {
            job_id: id.to_string(),
        })
        .await?;
    Ok(Response::new(202))
}
