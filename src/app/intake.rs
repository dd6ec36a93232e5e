//! What every way of taking in a document shares (a raw or multipart
//! `POST /v1/documents`, a streamed one, a completed resumable upload): its
//! expiry, and the document an earlier try left under the same
//! Idempotency-Key.

use super::{created, App, Ctx};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{DocumentStore, Ports};

/// An upload's expiry: `?expires_in=`, else the tenant's own default
/// retention, else the environment's.
pub(super) async fn expiry_for<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
    now_ms: u64,
) -> Result<Option<u64>, ApiError> {
    let asked = req.query_param("expires_in");
    let retention_days = match asked {
        Some(_) => app.config.default_retention_days,
        None => who
            .retention_days
            .unwrap_or(app.config.default_retention_days),
    };
    crate::documents::expiry(asked.as_deref(), retention_days, now_ms)
}

/// The document an earlier try made under this request's Idempotency-Key,
/// if one failed after writing it (the client saw a 5xx and retried): the
/// same upload gets that document, charged now as the failed try gave its
/// charge back, and no second copy is stored. A different upload under
/// the key is refused. (`sha256` is unknown before a streamed body is read.)
pub(super) async fn earlier_try<P: Ports>(
    app: &App<P>,
    key: Option<&str>,
    ctx: &Ctx,
    who: &Principal,
    media_type: &str,
    size: u64,
    sha256: Option<&str>,
) -> Result<Option<Response>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    let Some(doc) = app
        .meta
        .document_by_idempotency_key(&who.tenant_id, key)
        .await?
    else {
        return Ok(None);
    };
    if doc.size_bytes != size
        || doc.media_type != media_type
        || sha256.is_some_and(|s| s != doc.sha256)
    {
        return Err(super::idempotent::key_reused());
    }
    super::usage::charge(app, who, ctx, "stored_bytes", size as i64).await?;
    super::usage::count(app, who, ctx, "documents");
    Ok(Some(created(
        &format!("/v1/documents/{}", doc.id),
        &doc.view(),
    )))
}
