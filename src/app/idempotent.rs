//! Runs a POST under its `Idempotency-Key`, if it has one (see
//! [`crate::idempotency`] for the rules).

use super::{App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::gate::Begin;
use crate::http::{Method, Request, Response};
use crate::idempotency::{fingerprint, should_store, valid_key, Outcome, StoredResponse};
use crate::ports::{DocumentStore, IdempotencyStore, JobStore, Ports};
use std::future::Future;

/// The key and fingerprint to begin for a POST with a valid
/// Idempotency-Key (an invalid one is refused by [`run`]).
pub fn begin_of(req: &Request, who: &Principal) -> Option<Begin> {
    let key = key_of(req, who)?;
    let content_type = req.header("content-type").unwrap_or("");
    // A streamed body is not at hand: its declared length stands in.
    let streamed;
    let body = match &req.stream {
        Some(s) => {
            streamed = format!("stream:{}", s.len).into_bytes();
            &streamed
        }
        None => &req.body,
    };
    Some(Begin {
        key,
        fingerprint: fingerprint("POST", &req.path, content_type, body),
    })
}

/// Runs the handler under the request's Idempotency-Key, if it has one.
/// `begun` is the gate's outcome when the key was begun with the rest of
/// the request; otherwise it is begun here.
pub async fn run<P: Ports, F, Fut>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
    ctx: &Ctx,
    begun: Option<Outcome>,
    handler: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Response, ApiError>>,
{
    match req.header("idempotency-key") {
        Some(k) if req.method == Method::Post => {
            if !valid_key(k.trim()) {
                return Err(ApiError::Invalid(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                ));
            }
        }
        _ => return handler().await,
    }
    // The record belongs to the credential that made it: the same key
    // from anyone else is another request, so a stored response (a new
    // key's secret, say) is never replayed to a different caller.
    let Some(Begin { key, fingerprint }) = begin_of(req, who) else {
        return handler().await;
    };
    let outcome = match begun {
        Some(o) => o,
        None => app
            .gate
            .begin(&who.tenant_id, &key, &fingerprint)
            .await
            // Without the record we cannot promise "at most once": refuse,
            // and let the client retry with the same key.
            .map_err(|_| ApiError::Unavailable("idempotency_unavailable"))?,
    };
    match outcome {
        Outcome::Replay { response } => Ok(replay(&response)),
        Outcome::InFlight => Err(ApiError::Conflict(
            "idempotency_in_flight",
            "a request with this Idempotency-Key is still being processed; retry shortly".into(),
        )),
        Outcome::Mismatch => Err(key_reused()),
        Outcome::Proceed => {
            let resp = match handler().await {
                Ok(r) => r,
                Err(e) => e.to_response(&ctx.request_id),
            };
            settle(app, &who.tenant_id, &key, &resp).await;
            Ok(resp)
        }
    }
}

/// Records the response a key's first request got, for replays, or
/// frees the key when that response is not one to replay. If this write
/// is lost, the key stays "in flight" for a minute and then accepts a
/// retry: never a duplicate replay.
async fn settle<P: Ports>(app: &App<P>, tenant_id: &str, key: &str, resp: &Response) {
    if should_store(resp.status) {
        let stored = StoredResponse::of(resp.status, &resp.headers, &resp.body);
        let _ = app.gate.complete(tenant_id, key, &stored).await;
    } else {
        let _ = app.gate.abandon(tenant_id, key).await;
    }
}

/// Forgets a key the gate began for a request that then did not run.
pub async fn release<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
    begun: Option<&Outcome>,
) {
    if let (Some(Outcome::Proceed), Some(b)) = (begun, begin_of(req, who)) {
        let _ = app.gate.abandon(&who.tenant_id, &b.key).await;
    }
}

/// The request's Idempotency-Key as bound to the caller, for a handler
/// that records it with what it creates (run() has refused an invalid one
/// already).
pub(super) fn key_of(req: &Request, who: &Principal) -> Option<String> {
    req.header("idempotency-key")
        .map(str::trim)
        .filter(|k| req.method == Method::Post && valid_key(k))
        .map(|k| bound(who, k))
}

/// A client's key namespaced by the credential that sent it (key ids and
/// `jwt:<user>` subjects hold no space, so the two parts cannot run into
/// each other).
fn bound(who: &Principal, key: &str) -> String {
    format!("{} {key}", who.key_id)
}

/// After an insert of row `ours` failed: whether the unique index refused
/// it because another try under the same key holds a row (one that passed
/// the key check before that row was visible). The client retries, and
/// its retry finds that row. (Our own row under the key means the insert
/// took effect: the caller's error stands, and the retry finishes it.)
pub(super) async fn lost_race<P: Ports>(
    app: &App<P>,
    tenant_id: &str,
    key: Option<&str>,
    ours: &str,
) -> Option<ApiError> {
    let key = key?;
    let holder = if ours.starts_with("job_") {
        let job = app.meta.job_by_idempotency_key(tenant_id, key).await.ok()?;
        job.map(|j| j.id)
    } else {
        let doc = app
            .meta
            .document_by_idempotency_key(tenant_id, key)
            .await
            .ok()?;
        doc.map(|d| d.id)
    };
    holder.filter(|h| h != ours).map(|_| {
        ApiError::Conflict(
            "idempotency_in_flight",
            "another request with this Idempotency-Key is being processed; retry shortly".into(),
        )
    })
}

/// A key already used for a different request.
pub(super) fn key_reused() -> ApiError {
    ApiError::Invalid(
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request".into(),
    )
}

fn replay(stored: &StoredResponse) -> Response {
    let mut resp = Response::new(stored.status).with_body(stored.body());
    for (name, value) in &stored.headers {
        resp.set_header(name, value);
    }
    resp.set_header("idempotent-replayed", "true");
    resp
}
