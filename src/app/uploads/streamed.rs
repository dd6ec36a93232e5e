//! `POST /v1/documents` with a body too large to hold: read a part at a
//! time, each encrypted and sent to R2 as a multipart part while the
//! SHA-256 runs over it, so memory holds one part whatever the size.
//!
//! The stored bytes are charged before anything is sent and given back in
//! one place, [`create_streamed`], whichever step fails after; each step
//! cleans up only what it made (an unfinished multipart upload, an object
//! whose scan refused it).

use super::scanning::{directory_of, is_pdf, scan_upload, Stored};
use crate::app::{App, Ctx};
use crate::auth::Principal;
use crate::crypto::parts::Midstate;
use crate::documents::{blob_key, resolve_media_type, Document};
use crate::error::ApiError;
use crate::http::{BodyStream, Request, Response};
use crate::ids::new_id;
use crate::ports::{BlobStore, DocumentStore, Ports, TenantStore};
use crate::scan::markers::MarkerScan;

/// What the request declared, checked.
struct Declared<'a> {
    filename: Option<String>,
    media_type: String,
    size: u64,
    expires_at_ms: Option<u64>,
    idempotency_key: Option<&'a str>,
}

/// What arrived: its digest, its first part and the signatures seen.
struct Sent {
    sha256: String,
    head: Vec<u8>,
    hits: Vec<String>,
}

pub async fn create_streamed<P: Ports>(
    app: &App<P>,
    req: &Request,
    body: &BodyStream,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let size = body.len;
    if size == 0 {
        return Err(ApiError::EmptyBody);
    }
    crate::documents::check_size(size, app.config.max_upload_bytes)?;
    let filename = req
        .header("x-filename")
        .and_then(crate::documents::clean_filename);
    let media_type = resolve_media_type(
        req.header("content-type"),
        filename.as_deref(),
        &app.config.accepted_media_types,
    )?;
    let idempotency_key = crate::app::idempotent::key_of(req, who);
    let idempotency_key = idempotency_key.as_deref();
    let intake =
        crate::app::intake::earlier_try(app, idempotency_key, ctx, who, &media_type, size, None);
    if let Some(done) = intake.await? {
        return Ok(done);
    }
    let expires_at_ms = crate::app::intake::expiry_for(app, req, who, ctx.now_ms).await?;
    let declared = Declared {
        filename,
        media_type,
        size,
        expires_at_ms,
        idempotency_key,
    };
    crate::app::usage::charge(app, who, ctx, "stored_bytes", size as i64).await?;
    let stored = store(app, body, ctx, who, declared).await;
    if stored.is_err() {
        // Nothing stored under the charge: it goes back, whatever failed.
        let _ = crate::app::usage::charge(app, who, ctx, "stored_bytes", -(size as i64)).await;
    }
    stored
}

/// Sends, scans and records the document; an error leaves no object
/// behind but one the orphan sweep will remove.
async fn store<P: Ports>(
    app: &App<P>,
    body: &BodyStream,
    ctx: &Ctx,
    who: &Principal,
    declared: Declared<'_>,
) -> Result<Response, ApiError> {
    let id = new_id("doc", ctx.now_ms, &app.entropy);
    let key = blob_key(&who.tenant_id, &id);
    let size = declared.size;
    let part_size = app.config.upload_part_bytes;
    let upload_id = app.blobs.start_multipart(&key, size, part_size).await?;
    let pdf = is_pdf(&declared.media_type);
    let sent = match send(app, body, (&key, &upload_id), (size, part_size), pdf).await {
        Ok(sent) => sent,
        Err(e) => {
            let _ = app.blobs.abort_multipart(&key, &upload_id).await;
            return Err(e);
        }
    };
    let stored = Stored { key: &key, size };
    let archive = directory_of(app, &stored, &sent.head).await;
    let scanned = archive.and_then(|archive| {
        let media_type = &declared.media_type;
        scan_upload(
            app,
            &stored,
            media_type,
            &sent.head,
            archive.as_deref(),
            &sent.hits,
        )
    });
    // No document without its scan: the client sends the body again.
    let scan = match scanned {
        Ok(report) => report,
        Err(e) => {
            let _ = app.blobs.delete(&key).await;
            return Err(e);
        }
    };
    let doc = Document {
        id,
        tenant_id: who.tenant_id.clone(),
        filename: declared.filename,
        media_type: declared.media_type,
        size_bytes: size,
        sha256: sent.sha256,
        blob_key: key,
        created_at_ms: ctx.now_ms,
        scan,
        expires_at_ms: declared.expires_at_ms,
        owner: Some(who.owner_tag()),
        missing_at_ms: None,
    };
    record(app, &doc, who, declared.idempotency_key).await?;
    crate::app::usage::count(app, who, ctx, "documents");
    Ok(Response::json(201, &doc.view())
        .with_header("location", &format!("/v1/documents/{}", doc.id)))
}

/// Whether the tenant is still where the request found it. A body that
/// streams for minutes can outlast the start of a move to another shard
/// (the freeze, the copy and the catch-up): its row would then land on the
/// shard being left after the last copy, and be lost with it. Asked again
/// right before the row is written, the directory says so (503
/// `tenant_moving`, the client sends again once the move is done).
async fn still_placed<P: Ports>(app: &App<P>, who: &Principal) -> Result<(), ApiError> {
    match app.meta.get_tenant(&who.tenant_id).await? {
        Some(t) if t.moving_since_ms.is_some() || t.shard != who.shard => {
            Err(ApiError::Unavailable("tenant_moving"))
        }
        _ => Ok(()),
    }
}

/// Inserts the document's row, unless the tenant began to move meanwhile
/// (then its object goes). A failed insert whose row is there after
/// all (the write landed, its answer did not) is success.
async fn record<P: Ports>(
    app: &App<P>,
    doc: &Document,
    who: &Principal,
    idempotency_key: Option<&str>,
) -> Result<(), ApiError> {
    if let Err(e) = still_placed(app, who).await {
        let _ = app.blobs.delete(&doc.blob_key).await;
        return Err(e);
    }
    let Err(e) = app.meta.insert_document(doc, idempotency_key).await else {
        return Ok(());
    };
    if matches!(
        app.meta.get_document(&doc.tenant_id, &doc.id).await,
        Ok(Some(_))
    ) {
        return Ok(());
    }
    // The object stays for the sweep to remove as an orphan: the row might
    // yet appear, and deleting under it would lose data.
    let race =
        crate::app::idempotent::lost_race(app, &who.tenant_id, idempotency_key, &doc.id).await;
    Err(race.unwrap_or_else(|| e.into()))
}

/// Reads the body part by part into the multipart upload `(key, id)` of
/// `(size, part_size)`, hashing and scanning on the way; finishes the
/// upload once exactly `size` bytes arrived.
async fn send<P: Ports>(
    app: &App<P>,
    body: &BodyStream,
    (key, upload_id): (&str, &str),
    (size, part_size): (u64, u64),
    pdf: bool,
) -> Result<Sent, ApiError> {
    let parts = crate::uploads::parts_for(size, part_size);
    let (mut hash, mut etags, mut head) = (Midstate::default(), Vec::new(), Vec::new());
    let mut sha256 = String::new();
    let mut markers = MarkerScan::new(pdf);
    for n in 1..=parts {
        let want = (size - u64::from(n - 1) * part_size).min(part_size);
        let bytes = read(body, want as usize).await?;
        if (bytes.len() as u64) < want {
            let got = u64::from(n - 1) * part_size + bytes.len() as u64;
            return Err(ApiError::Invalid(
                "body_too_short",
                format!("the body ended after {got} of its {size} declared bytes"),
            ));
        }
        if n == parts {
            sha256 = hex::encode(hash.clone().finish(&bytes));
        } else {
            hash.update(&bytes)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
        if n == 1 {
            head = bytes.clone();
        }
        markers.feed(&bytes);
        let etag = app
            .blobs
            .put_part(key, upload_id, (size, part_size), n, bytes)
            .await?;
        etags.push((n, etag));
    }
    if !read(body, 1).await?.is_empty() {
        return Err(ApiError::Invalid(
            "body_too_long",
            format!("the body is longer than its {size} declared bytes"),
        ));
    }
    app.blobs.finish_multipart(key, upload_id, &etags).await?;
    Ok(Sent {
        sha256,
        head,
        hits: markers.names(),
    })
}

async fn read(body: &BodyStream, up_to: usize) -> Result<Vec<u8>, ApiError> {
    body.read_up_to(up_to)
        .await
        .map_err(|e| ApiError::Invalid("unreadable_body", e))
}
