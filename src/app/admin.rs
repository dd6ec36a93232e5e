//! Operator maintenance: `POST /v1/admin/rewrap` moves stored objects' data
//! keys to the active master key (`MASTER_KEY_ID`), a page at a time, so an
//! old master key can be retired without re-encrypting any document.

use super::App;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{BlobStore, DeadLetterStore, JobStore, Ports, ShardStore, TenantStore};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RewrapRequest {
    cursor: Option<String>,
    limit: Option<u32>,
    /// The data region whose bucket to go through (none: the main one).
    region: Option<String>,
}

pub async fn rewrap<P: Ports>(app: &App<P>, req: &Request) -> Result<Response, ApiError> {
    let body: RewrapRequest = if req.body.is_empty() {
        RewrapRequest::default()
    } else {
        crate::strict::object(&req.body).map_err(|e| {
            ApiError::Invalid("invalid_body", format!("invalid rewrap request: {e}"))
        })?
    };
    let limit = body.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Invalid(
            "invalid_limit",
            "limit must be from 1 to 500".into(),
        ));
    }
    // A region's objects are in its bucket, reached through its shards.
    if let Some(region) = body.region.as_deref() {
        let regions = &app.config.shard_regions;
        let home = (0..app.meta.shard_count()).find(|s| regions.of(*s) == Some(region));
        let Some(home) = home else {
            return Err(ApiError::Invalid(
                "region_unavailable",
                format!("no database shard of this deployment is in region '{region}'"),
            ));
        };
        app.meta.enter(home);
    }
    let (keys, next) = app
        .blobs
        .list("tenants/", body.cursor.as_deref(), limit)
        .await?;
    let (mut rewrapped, mut current, mut failed) = (0u32, 0u32, Vec::new());
    for (key, _) in &keys {
        match app.blobs.rewrap(key).await {
            Ok(true) => rewrapped += 1,
            Ok(false) => current += 1,
            Err(e) => failed.push(json!({ "key": key, "error": e.to_string() })),
        }
    }
    Ok(Response::json(
        200,
        &json!({
            "active_key": app.config.master_keys.active_id(),
            "checked": keys.len(),
            "rewrapped": rewrapped,
            "already_current": current,
            "failed": failed,
            "next_cursor": next,
        }),
    ))
}

/// Handles one message from the dead-letter queue: keeps it for the
/// operator and, for a job, fails the job with the reason (so no job waits
/// forever on a message nobody will deliver). Never fails: the message is
/// acked whatever happens, and problems are returned for the log.
/// The error a job whose message was dead-lettered ends with.
fn dead_lettered(attempts: u32, reason: Option<String>) -> crate::jobs::JobError {
    let after = if attempts > 0 {
        format!(" after {attempts} deliveries")
    } else {
        String::new()
    };
    let last = reason
        .map(|r| format!("; last error {r}"))
        .unwrap_or_default();
    crate::jobs::JobError::new(
        "dead_lettered",
        format!("the queue gave up on its message{after}{last}"),
    )
}

pub async fn take_dead_letter<P: Ports>(
    app: &App<P>,
    message_id: &str,
    body: &str,
    attempts: u32,
    now_ms: u64,
) -> Result<(), String> {
    let envelope: crate::jobs::QueueEnvelope =
        serde_json::from_str(body).map_err(|e| format!("undecodable dead letter: {e}"))?;
    let (kind, ref_id) = match (&envelope.job_id, &envelope.delivery_id) {
        (Some(job), _) => ("job", job.clone()),
        (None, Some(delivery)) => ("webhook", delivery.clone()),
        (None, None) => return Err("dead letter names no job or delivery".into()),
    };
    app.meta.enter(envelope.shard);
    let job = if kind == "job" {
        app.meta
            .load_job(&ref_id)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    let reason = job
        .as_ref()
        .and_then(|j| j.error.as_ref())
        .map(|e| format!("{}: {}", e.code, e.message));
    let letter = crate::jobs::DeadLetter {
        id: message_id.to_string(),
        kind: kind.into(),
        ref_id: ref_id.clone(),
        tenant_id: job.as_ref().map(|j| j.tenant_id.clone()),
        body: body.to_string(),
        attempts,
        reason: reason.clone(),
        received_at_ms: now_ms,
        replayed_at_ms: None,
    };
    app.meta
        .insert_dead_letter(&letter)
        .await
        .map_err(|e| e.to_string())?;
    if job.is_some() {
        let err = dead_lettered(attempts, reason);
        app.meta
            .fail_stalled(&ref_id, &err, now_ms)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

pub async fn list_dead_letters<P: Ports>(app: &App<P>) -> Result<Response, ApiError> {
    let letters = app.meta.list_dead_letters(200).await?;
    let data: Vec<_> = letters.iter().map(crate::jobs::DeadLetter::view).collect();
    Ok(Response::json(200, &json!({ "data": data })))
}

/// Sends a dead letter's job or webhook again. Idempotent: a letter is
/// replayed once; asking again changes nothing and says so.
pub async fn replay_dead_letter<P: Ports>(
    app: &App<P>,
    id: &str,
    now_ms: u64,
) -> Result<Response, ApiError> {
    use crate::ports::JobQueue;
    let letter = app
        .meta
        .get_dead_letter(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("dead letter".into()))?;
    if letter.replayed_at_ms.is_some() {
        return Ok(Response::json(
            200,
            &json!({ "replayed": false, "detail": "already replayed", "dead_letter": letter.view() }),
        ));
    }
    // The letter's rows are in its tenant's shard (where its message
    // said, unless the tenant has moved since).
    let sent: crate::jobs::QueueEnvelope = serde_json::from_str(&letter.body).unwrap_or_default();
    let moved_to = match &letter.tenant_id {
        Some(t) => app.meta.get_tenant(t).await?.map(|t| t.shard),
        None => None,
    };
    app.meta.enter(moved_to.unwrap_or(sent.shard));
    match letter.kind.as_str() {
        "job" => {
            app.meta.revive_job(&letter.ref_id, now_ms).await?;
            let msg = crate::jobs::JobMessage {
                part: None,
                job_id: letter.ref_id.clone(),
                shard: app.meta.entered(),
                traceparent: None,
            };
            app.queue
                .send(&msg)
                .await
                .map_err(|_| ApiError::Unavailable("queue_unavailable"))?;
        }
        _ => {
            let msg = crate::webhooks::WebhookMessage {
                delivery_id: letter.ref_id.clone(),
                shard: app.meta.entered(),
            };
            app.queue
                .send_webhook(&msg)
                .await
                .map_err(|_| ApiError::Unavailable("queue_unavailable"))?;
        }
    }
    app.meta.mark_replayed(id, now_ms).await?;
    Ok(Response::json(
        202,
        &json!({ "replayed": true, "kind": letter.kind, "ref_id": letter.ref_id }),
    ))
}
