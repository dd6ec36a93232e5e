//! Unauthenticated system routes: liveness, readiness, the API description.

use super::App;
use crate::http::Response;
use crate::llm::BreakerStore;
use crate::ports::{BlobStore, JobQueue, MetaStore, Ports, StoreResult};
use serde_json::json;

pub fn health() -> Response {
    Response::json(200, &json!({ "status": "ok" }))
}

/// Probes each dependency; 503 when any is down. Reports only up/down, so
/// it is safe without credentials.
pub async fn ready<P: Ports>(app: &App<P>) -> Response {
    let d1 = app.meta.ping().await;
    let r2 = app.blobs.ping().await;
    let queue = app.queue.ping().await;
    let all_ok = d1.is_ok() && r2.is_ok() && queue.is_ok();
    // Circuit breakers of the configured models: an open one is worth
    // knowing, but not a reason to take the instance out of rotation
    // (the fallback chain and degradation cover it).
    let mut llm = serde_json::Map::new();
    for target in app.config.llm.targets() {
        let id = target.id();
        let state = match app.breakers.state(&id).await {
            Some(b) => serde_json::to_value(b.state).unwrap_or_default(),
            None => json!("closed"),
        };
        llm.insert(id, state);
    }
    let body = json!({
        "status": if all_ok { "ready" } else { "degraded" },
        "checks": { "d1": state(&d1), "r2": state(&r2), "queue": state(&queue) },
        "llm_circuits": llm,
    });
    Response::json(if all_ok { 200 } else { 503 }, &body)
}

fn state(r: &StoreResult<()>) -> &'static str {
    if r.is_ok() {
        "ok"
    } else {
        "unavailable"
    }
}

/// The OpenAPI document, with a strong ETag (its SHA-256, worked out once
/// per isolate): a client that has it gets 304 and no body.
pub fn openapi(if_none_match: Option<&str>) -> Response {
    thread_local! {
        static ETAG: String = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(crate::openapi::DOCUMENT.as_bytes());
            format!("\"{}\"", hex::encode(&digest[..16]))
        };
    }
    let etag = ETAG.with(String::clone);
    let resp = Response::new(200)
        .with_header("etag", &etag)
        .with_header("cache-control", "public, max-age=300");
    if if_none_match.is_some_and(|h| crate::http::ranges::etag_matches(h, &etag)) {
        return Response {
            status: 304,
            ..resp
        };
    }
    resp.with_header("content-type", "application/json")
        .with_body(crate::openapi::DOCUMENT.as_bytes().to_vec())
}

/// Test-only: extracts the body at once and reports sizes, so a client can
/// time extraction inside the runtime. Served by the jobs worker (the API
/// worker forwards it there) and by the app natively.
#[cfg(not(feature = "api"))]
pub fn test_extract(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Response, crate::error::ApiError> {
    let media_type = content_type
        .unwrap_or("text/plain")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let ex = crate::extract::extract(&media_type, body)
        .map_err(|e| crate::error::ApiError::Invalid(e.code(), e.to_string()))?;
    Ok(Response::json(
        200,
        &json!({ "pages": ex.pages, "elements": ex.elements.len(), "characters": ex.text().chars().count() }),
    ))
}
