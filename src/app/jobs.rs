//! `/v1/jobs`: create a job on a document, read its state and its result.

use super::{App, Ctx};
use crate::auth::access::Access;
use crate::auth::Principal;
use crate::commands::Command;
use crate::error::ApiError;
use crate::http::{Request, Response, StreamSpec};
use crate::ids::{looks_like_id, new_id};
use crate::jobs::{result_key, CommandStatus, Job, JobMessage, JobStatus};
use crate::ports::{BlobStore, JobPage, JobQueue, JobStore, Ports, ShardStore, WebhookStore};
use crate::webhooks;

mod create;
pub use create::create;

async fn find<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Job, ApiError> {
    if !looks_like_id("job", id) {
        return Err(ApiError::NotFound("job".into()));
    }
    let job = app
        .meta
        .get_job(&who.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("job".into()))?;
    // A job is reached through its document: no access to it, no job.
    // Admins reach every document, so they need no lookup.
    if who.role.sees_all_documents() {
        return Ok(job);
    }
    super::documents::find(app, &job.document_id, who, Access::Read)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::NotFound("job".into()),
            other => other,
        })?;
    Ok(job)
}

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// `GET /v1/jobs`: the tenant's jobs the caller may see (through their
/// documents), newest first, a page at a time; `status` and `document_id`
/// narrow it.
pub async fn list<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = super::id_cursor(req, "job")?;
    let document_id = req.query_param("document_id");
    if document_id
        .as_deref()
        .is_some_and(|d| !looks_like_id("doc", d))
    {
        return Err(ApiError::Invalid(
            "invalid_document_id",
            "document_id must be a document id (doc_…)".into(),
        ));
    }
    let status = match req.query_param("status") {
        None => None,
        Some(s) => Some(JobStatus::parse(&s).ok_or_else(|| {
            ApiError::Invalid(
                "invalid_status",
                "status must be queued, running, succeeded, failed or cancelled".into(),
            )
        })?),
    };
    let visibility = crate::auth::access::visibility(who);
    let page = JobPage {
        tenant_id: &who.tenant_id,
        before: cursor.as_deref(),
        limit: limit + 1,
        status,
        document_id: document_id.as_deref(),
        visibility: visibility.as_ref(),
    };
    let mut jobs = app.meta.page_jobs(&page).await?;
    let next_cursor = (jobs.len() > limit as usize).then(|| {
        jobs.truncate(limit as usize);
        jobs.last().map(|j| j.id.clone())
    });
    let data: Vec<_> = jobs.iter().map(|j| view_for(j, who)).collect();
    Ok(Response::json(
        200,
        &serde_json::json!({ "data": data, "next_cursor": next_cursor.flatten() }),
    ))
}

pub async fn get<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    let resp = Response::json(200, &view_for(&job, who));
    // Until it ends, the interval a client should poll at.
    Ok(if job.status.is_terminal() {
        resp
    } else {
        resp.with_header("retry-after", "2")
    })
}

/// Whether `who` stands for the job: an admin, or the credential that
/// created it (a key, or `jwt:<user>`). Others reach it only through a share of its
/// document.
fn answers_for(job: &Job, who: &Principal) -> bool {
    who.role.sees_all_documents() || job.created_by.as_deref() == Some(who.key_id.as_str())
}

/// The job as `who` may see it: the webhook URL (its path and query may
/// carry the receiver's own secret) is shown whole only to those who
/// answer for the job, and as its origin to everyone else.
fn view_for(job: &Job, who: &Principal) -> serde_json::Value {
    let mut view = serde_json::to_value(job.view()).unwrap_or_default();
    if !answers_for(job, who) {
        if let Some(url) = job.webhook_url.as_deref() {
            view["webhook_url"] = webhooks::origin_of(url).into();
        }
    }
    view
}

/// The job's webhook deliveries, with their attempts and last outcome.
pub async fn deliveries<P: Ports>(
    app: &App<P>,
    id: &str,
    who: &Principal,
) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    let mut list = app
        .webhooks
        .list_deliveries(&who.tenant_id, &job.id)
        .await?;
    // Where the job reports is shown as in `view_for`.
    if !answers_for(&job, who) {
        for d in &mut list {
            d.url = webhooks::origin_of(&d.url);
        }
    }
    Ok(Response::json(200, &serde_json::json!({ "data": list })))
}

/// Opens a Server-Sent Events stream of the job's progress; the edge
/// produces it (see [`crate::jobs::events`]).
pub async fn events<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    // Each stream polls D1 for minutes: a key holds a few at most. An
    // unreachable gate lets the stream open (and the slot is not held).
    let slot = crate::http::StreamSlot {
        key: who.key_id.clone(),
        id: new_id("sse", ctx.now_ms, &app.entropy),
    };
    let slot = match crate::ports::Gate::hold_stream(&app.gate, &who.tenant_id, &slot.key, &slot.id)
        .await
    {
        Ok(true) => Some(slot),
        Ok(false) => {
            return Err(ApiError::RateLimited {
                retry_after_s: crate::gate::STREAM_LEASE_MS / 1000,
                policy: "streams".into(),
            })
        }
        Err(_) => None,
    };
    let mut resp = Response::new(200)
        .with_header("content-type", "text/event-stream")
        .with_header("cache-control", "no-cache");
    resp.stream = Some(StreamSpec::JobEvents {
        key_id: match &who.credential {
            crate::auth::Credential::ApiKey(_) => Some(who.key_id.clone()),
            crate::auth::Credential::Jwt => None,
        },
        tenant_id: who.tenant_id.clone(),
        shard: who.shard,
        job_id: job.id,
        slot,
    });
    Ok(resp)
}

/// Cancels a queued or running job. A running command finishes, but no
/// further command starts and the job ends `cancelled`.
pub async fn cancel<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    // Reading a document is not the right to stop someone else's work on
    // it: that takes writing it, unless the job is the caller's own.
    if !answers_for(&job, who) {
        super::documents::find(app, &job.document_id, who, Access::Write).await?;
    }
    if !app
        .meta
        .cancel_job(&who.tenant_id, &job.id, ctx.now_ms)
        .await?
    {
        return Err(ApiError::Conflict(
            "job_finished",
            format!("the job is already {}", job.status.as_str()),
        ));
    }
    let job = find(app, id, who).await?;
    Ok(Response::json(202, &view_for(&job, who)))
}

/// The stored result of one command (`?command=`; default: the first).
pub async fn result<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    who: &Principal,
) -> Result<Response, ApiError> {
    let job = find(app, id, who).await?;
    let command = pick_command(&job, req.query_param("command").as_deref())?;
    has_result(&job, command)?;
    // A command's stored result never changes once it is served (a later
    // run of the job keeps the commands an earlier one finished), so the
    // job and command name it: a client that has it gets 304 without the
    // result being read, after the same access check.
    let etag = format!("\"{}.{command}\"", job.id);
    let resp = Response::new(200)
        .with_header("etag", &etag)
        .with_header("cache-control", "private, no-cache");
    if req
        .header("if-none-match")
        .is_some_and(|h| crate::http::ranges::etag_matches(h, &etag))
    {
        return Ok(Response {
            status: 304,
            ..resp
        });
    }
    let bytes = app
        .blobs
        .get(&result_key(&job.tenant_id, &job.id, command))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("result of {} missing", job.id)))?;
    Ok(resp
        .with_header("content-type", "application/json")
        .with_body(bytes))
}

/// Whether the job has the command's result to serve.
fn has_result(job: &Job, command: &str) -> Result<(), ApiError> {
    let command_done = job
        .command_states
        .iter()
        .any(|c| c.name == command && c.status == CommandStatus::Succeeded);
    match job.status {
        JobStatus::Succeeded => Ok(()),
        // A failed or cancelled job still serves the commands that finished.
        _ if command_done => Ok(()),
        JobStatus::Failed => {
            let why = job.error.as_ref().map_or("unknown", |e| e.code.as_str());
            Err(ApiError::Conflict(
                "job_failed",
                format!("the job failed ({why}); command '{command}' has no result"),
            ))
        }
        JobStatus::Cancelled => Err(ApiError::Conflict(
            "job_cancelled",
            format!("the job was cancelled before command '{command}' finished"),
        )),
        other => Err(ApiError::Conflict(
            "job_not_finished",
            format!(
                "the job is {}; poll GET /v1/jobs/{}",
                other.as_str(),
                job.id
            ),
        )),
    }
}

fn pick_command(job: &Job, wanted: Option<&str>) -> Result<&'static str, ApiError> {
    let found = match wanted {
        None => job.commands.first(),
        Some(name) => job.commands.iter().find(|c| c.name() == name),
    };
    found.map(|c| c.name()).ok_or_else(|| match wanted {
        // A command this job did not run has no result here.
        Some(name) if Command::is_name(name) => {
            ApiError::NotFound(format!("result of command '{name}' for this job"))
        }
        _ => ApiError::Invalid(
            "invalid_command",
            format!("no command is named '{}'", wanted.unwrap_or("")),
        ),
    })
}

/// Test-only: puts the job's message on the queue again, as a duplicate
/// delivery would, to prove it does not run twice.
pub async fn redeliver<P: Ports>(app: &App<P>, id: &str) -> Result<Response, ApiError> {
    // The route names a job only: it is looked for in every shard.
    for shard in 0..app.meta.shard_count() {
        app.meta.enter(shard);
        if app.meta.load_job(id).await?.is_some() {
            app.queue
                .send(&JobMessage {
                    part: None,
                    job_id: id.to_string(),
                    shard,
                    traceparent: None,
                })
                .await?;
            return Ok(Response::new(202));
        }
    }
    Err(ApiError::NotFound("job".into()))
}
