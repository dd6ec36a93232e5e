//! Operator maintenance: `POST /v1/admin/rewrap` moves stored objects' data
//! keys to the active master key (`MASTER_KEY_ID`), a page at a time, so an
//! old master key can be retired without re-encrypting any document.

use super::tenants::require_operator;
use super::App;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{BlobStore, Ports};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RewrapRequest {
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn rewrap<P: Ports>(app: &App<P>, req: &Request) -> Result<Response, ApiError> {
    require_operator(app, req)?;
    let body: RewrapRequest = if req.body.is_empty() {
        RewrapRequest::default()
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
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
