//! `POST /v1/uploads/{id}/complete`: the parts assembled by the object
//! store, their SHA-256 checked against the declared one, the assembled
//! object scanned, and the document recorded; a refusal discards the
//! upload, a failure to read keeps it (completing again carries on).

use super::scanning::{directory_of, is_pdf, scan_upload, Stored};
use super::{discard, find};
use crate::app::{App, Ctx};
use crate::auth::Principal;
use crate::crypto::parts::Midstate;
use crate::documents::Document;
use crate::error::ApiError;
use crate::http::Response;
use crate::ports::{BlobStore, DocumentStore, Ports, UploadStore};
use crate::scan::markers::{join_parts, PartMarks};
use crate::uploads::{digest_of, Part, Upload};

/// The digest of the assembled object: from the running hash, reading
/// back only the parts that arrived out of order.
async fn digest<P: Ports>(app: &App<P>, upload: &Upload) -> Result<String, ApiError> {
    if let Some(done) = digest_of(&upload.hash_state) {
        return Ok(done.to_string());
    }
    let mut m = Midstate::decode(&upload.hash_state)
        .ok_or_else(|| ApiError::Internal(format!("upload {} hash state", upload.id)))?;
    for n in upload.hashed_parts + 1..=upload.parts() {
        let offset = u64::from(n - 1) * upload.part_size;
        let plain = app
            .blobs
            .read_range(
                &upload.blob_key,
                upload.size_bytes,
                offset,
                upload.part_len(n),
            )
            .await?
            .ok_or_else(|| ApiError::Internal(format!("{} missing", upload.blob_key)))?;
        if n == upload.parts() {
            return Ok(hex::encode(m.finish(&plain)));
        }
        m.update(&plain)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(hex::encode(m.finish(&[])))
}

pub async fn complete<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let upload = find(app, id, who).await?;
    let parts = app.meta.list_upload_parts(&upload.id).await?;
    assemble(app, &upload, &parts).await?;
    let sha256 = digest(app, &upload).await?;
    if let Some(declared) = upload.sha256.as_deref().filter(|d| *d != sha256) {
        discard(app, &upload, ctx.now_ms, true).await;
        return Err(ApiError::Invalid(
            "sha256_mismatch",
            format!(
                "the parts hash to {sha256}, not the declared {declared}; the upload is discarded"
            ),
        ));
    }
    let scan = scan_assembled(app, &upload, &parts, ctx).await?;
    let doc = Document {
        id: upload.document_id.clone(),
        tenant_id: upload.tenant_id.clone(),
        filename: upload.filename.clone(),
        media_type: upload.media_type.clone(),
        size_bytes: upload.size_bytes,
        sha256,
        blob_key: upload.blob_key.clone(),
        created_at_ms: ctx.now_ms,
        scan,
        expires_at_ms: upload.expires_at_ms,
        owner: upload.owner.clone(),
        missing_at_ms: None,
    };
    if let Err(e) = app.meta.insert_document(&doc, None).await {
        // Committed despite the error? Then it is done.
        if !matches!(
            app.meta.get_document(&doc.tenant_id, &doc.id).await,
            Ok(Some(_))
        ) {
            return Err(e.into());
        }
    }
    let _ = app.meta.delete_upload(&upload.tenant_id, &upload.id).await;
    crate::app::usage::count(app, who, ctx, "documents");
    Ok(Response::json(201, &doc.view())
        .with_header("location", &format!("/v1/documents/{}", doc.id)))
}

/// Has the object store assemble the parts, once all have arrived; an
/// object an earlier attempt assembled is carried on from.
async fn assemble<P: Ports>(app: &App<P>, upload: &Upload, parts: &[Part]) -> Result<(), ApiError> {
    let missing: Vec<u32> = (1..=upload.parts())
        .filter(|n| !parts.iter().any(|p| p.number == *n))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::Conflict(
            "upload_incomplete",
            format!("parts still missing: {missing:?}"),
        ));
    }
    let etags: Vec<(u32, String)> = parts.iter().map(|p| (p.number, p.etag.clone())).collect();
    let finished = app
        .blobs
        .finish_multipart(&upload.blob_key, &upload.store_upload_id, &etags)
        .await;
    match finished {
        // Assembled by an earlier attempt that failed later (or whose
        // answer was lost)? Then carry on from there.
        Err(e) if !matches!(app.blobs.exists(&upload.blob_key).await, Ok(true)) => Err(e.into()),
        _ => Ok(()),
    }
}

/// The scan of the assembled object, from its first part, its archive
/// directory and the signatures each part saw on arrival. A failure to
/// read keeps the upload (completing again carries on); a refusal
/// discards it.
async fn scan_assembled<P: Ports>(
    app: &App<P>,
    upload: &Upload,
    parts: &[Part],
    ctx: &Ctx,
) -> Result<crate::scan::ScanReport, ApiError> {
    let head_len = upload.size_bytes.min(upload.part_size);
    let head = app
        .blobs
        .read_range(&upload.blob_key, upload.size_bytes, 0, head_len)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("{} missing", upload.blob_key)))?;
    let marks: Option<Vec<PartMarks>> = parts.iter().map(|p| p.marks.clone()).collect();
    let hits = match &marks {
        Some(marks) => join_parts(marks, is_pdf(&upload.media_type)),
        // Parts stored before part scanning: say so.
        None => vec!["not_fully_scanned".to_string()],
    };
    let stored = Stored {
        key: &upload.blob_key,
        size: upload.size_bytes,
    };
    let archive = directory_of(app, &stored, &head).await?;
    let media_type = &upload.media_type;
    let scanned = scan_upload(app, &stored, media_type, &head, archive.as_deref(), &hits);
    if scanned.is_err() {
        discard(app, upload, ctx.now_ms, true).await;
    }
    scanned
}
