//! Resumable multipart uploads: `POST /v1/uploads` declares a file,
//! `PUT /v1/uploads/{id}/parts/{n}` sends its parts (in any order, again
//! if need be), `GET /v1/uploads/{id}` says what arrived,
//! `POST /v1/uploads/{id}/complete` checks size and SHA-256 and creates
//! the document, `DELETE /v1/uploads/{id}` aborts. Each part is encrypted
//! on arrival; the object store assembles them.

use super::{App, Ctx};
use crate::auth::Principal;
use crate::crypto::parts::Midstate;
use crate::documents::{blob_key, resolve_media_type};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ids::new_id;
use crate::ports::{BlobStore, Ports, UploadStore, UsageMeter};
use crate::scan::markers::PartMarks;
use crate::uploads::{hash_after, Part, Upload, MAX_UPLOAD_SIZE};
use scanning::is_pdf;
use serde::Deserialize;

mod complete;
mod scanning;
mod streamed;

pub use complete::complete;
pub use streamed::create_streamed;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUpload {
    #[serde(default, deserialize_with = "crate::strict::some")]
    filename: Option<String>,
    /// Also accepted as `media_type`, the name documents report it by.
    #[serde(
        default,
        alias = "media_type",
        deserialize_with = "crate::strict::some"
    )]
    content_type: Option<String>,
    size: u64,
    #[serde(default, deserialize_with = "crate::strict::some")]
    sha256: Option<String>,
    /// Seconds; the stored document's expiry.
    #[serde(default, deserialize_with = "crate::strict::some")]
    expires_in: Option<u64>,
}

fn refund(size: u64, now_ms: u64) -> crate::usage::Charge {
    crate::usage::Charge {
        metric: "stored_bytes".into(),
        amount: -(size as i64),
        limit: None,
        day: Some(crate::usage::day_of(now_ms)),
        key: None,
        once: None,
    }
}

/// The SHA-256 a client declares for its upload: 64 hex digits, kept
/// lower-case.
fn declared_sha256(given: Option<&str>) -> Result<Option<String>, ApiError> {
    match given {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        Some(_) => Err(ApiError::Invalid(
            "invalid_sha256",
            "sha256 is 64 hexadecimal digits".into(),
        )),
        None => Ok(None),
    }
}

/// An upload as declared, checked.
struct Declared {
    filename: Option<String>,
    media_type: String,
    size: u64,
    sha256: Option<String>,
    expires_at_ms: Option<u64>,
}

/// Starts the multipart object and records the upload.
async fn start<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    who: &Principal,
    declared: Declared,
) -> Result<Upload, crate::ports::StoreError> {
    let document_id = new_id("doc", ctx.now_ms, &app.entropy);
    let key = blob_key(&who.tenant_id, &document_id);
    let part_size = app.config.upload_part_bytes;
    let store_upload_id = app
        .blobs
        .start_multipart(&key, declared.size, part_size)
        .await?;
    let upload = Upload {
        id: new_id("upl", ctx.now_ms, &app.entropy),
        tenant_id: who.tenant_id.clone(),
        document_id,
        blob_key: key,
        store_upload_id,
        filename: declared.filename,
        media_type: declared.media_type,
        size_bytes: declared.size,
        sha256: declared.sha256,
        part_size,
        hash_state: Midstate::default().encode(),
        hashed_parts: 0,
        owner: Some(who.owner_tag()),
        expires_at_ms: declared.expires_at_ms,
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
    };
    app.meta.insert_upload(&upload).await?;
    Ok(upload)
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let body: CreateUpload = crate::strict::object(&req.body)
        .map_err(|e| ApiError::Invalid("invalid_body", format!("invalid upload: {e}")))?;
    if body.size == 0 || body.size > MAX_UPLOAD_SIZE {
        return Err(ApiError::Invalid(
            "invalid_size",
            format!("size must be from 1 to {MAX_UPLOAD_SIZE} bytes (5 GiB)"),
        ));
    }
    let sha256 = declared_sha256(body.sha256.as_deref())?;
    let media_type = resolve_media_type(
        body.content_type.as_deref(),
        body.filename.as_deref(),
        &app.config.accepted_media_types,
    )?;
    let retention = who
        .retention_days
        .unwrap_or(app.config.default_retention_days);
    let expires_at_ms = crate::documents::expiry(
        body.expires_in.map(|s| s.to_string()).as_deref(),
        retention,
        ctx.now_ms,
    )?;
    // The bytes are counted against the budget now, and given back if the
    // upload is aborted or abandoned.
    super::usage::charge(app, who, ctx, "stored_bytes", body.size as i64).await?;
    let declared = Declared {
        filename: body.filename,
        media_type,
        size: body.size,
        sha256,
        expires_at_ms,
    };
    let upload = match start(app, ctx, who, declared).await {
        Ok(u) => u,
        Err(e) => {
            let _ = super::usage::charge(app, who, ctx, "stored_bytes", -(body.size as i64)).await;
            return Err(e.into());
        }
    };
    Ok(Response::json(201, &upload.view(&[]))
        .with_header("location", &format!("/v1/uploads/{}", upload.id)))
}

/// The caller's upload: its creator's, or any for those who see every
/// document. Others get 404.
async fn find<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Upload, ApiError> {
    let not_found = || ApiError::NotFound("upload".into());
    if !crate::ids::looks_like_id("upl", id) {
        return Err(not_found());
    }
    let upload = app
        .meta
        .get_upload(&who.tenant_id, id)
        .await?
        .ok_or_else(not_found)?;
    if who.role.sees_all_documents() || upload.owner.as_deref() == Some(&who.owner_tag()) {
        Ok(upload)
    } else {
        Err(not_found())
    }
}

pub async fn get<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Response, ApiError> {
    let upload = find(app, id, who).await?;
    let parts = app.meta.list_upload_parts(&upload.id).await?;
    Ok(Response::json(200, &upload.view(&parts)))
}

pub async fn put_part<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    number: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let upload = find(app, id, who).await?;
    let n: u32 = number.parse().map_err(|_| {
        ApiError::Invalid("invalid_part_number", "part numbers are integers".into())
    })?;
    upload.check_part(n, req.body.len() as u64)?;
    let etag = app
        .blobs
        .put_part(
            &upload.blob_key,
            &upload.store_upload_id,
            (upload.size_bytes, upload.part_size),
            n,
            req.body.clone(),
        )
        .await?;
    let part = Part {
        number: n,
        etag,
        size_bytes: req.body.len() as u64,
        marks: Some(PartMarks::of(&req.body, is_pdf(&upload.media_type))),
    };
    app.meta
        .put_upload_part(&upload.id, &part, ctx.now_ms)
        .await?;
    // In order: the running SHA-256 moves on, so completion needs no
    // re-reading. Losing the race to another request is harmless.
    if let Some(state) = hash_after(&upload, n, &req.body) {
        let _ = app
            .meta
            .advance_upload_hash(&upload.id, upload.hashed_parts, &state)
            .await;
    }
    Ok(Response::json(
        200,
        &serde_json::json!({ "number": n, "size_bytes": part.size_bytes }),
    ))
}

/// Ends an upload that will not become a document: the assembled object
/// (if any), the multipart upload, the rows, and the charge.
async fn discard<P: Ports>(app: &App<P>, upload: &Upload, now_ms: u64, assembled: bool) {
    if assembled {
        let _ = app.blobs.delete(&upload.blob_key).await;
    } else {
        let _ = app
            .blobs
            .abort_multipart(&upload.blob_key, &upload.store_upload_id)
            .await;
    }
    if let Ok(true) = app.meta.delete_upload(&upload.tenant_id, &upload.id).await {
        let month = crate::usage::month_of(now_ms);
        let _ = app
            .gate
            .charge(
                &upload.tenant_id,
                &month,
                &refund(upload.size_bytes, now_ms),
            )
            .await;
    }
}

pub async fn abort<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let upload = find(app, id, who).await?;
    discard(app, &upload, ctx.now_ms, false).await;
    Ok(Response::new(204))
}

/// The sweep: uploads untouched for a day are aborted and their bytes'
/// charge given back. How many.
pub async fn abort_idle<P: Ports>(app: &App<P>, now_ms: u64) -> Result<u32, ApiError> {
    let idle = app
        .meta
        .idle_uploads(now_ms.saturating_sub(crate::uploads::IDLE_MS), 100)
        .await?;
    for upload in &idle {
        discard(app, upload, now_ms, false).await;
    }
    Ok(idle.len() as u32)
}
