//! `/v1/documents`: upload, list, read, download, delete.

mod content;
pub use content::content;

use super::intake::{earlier_try, expiry_for};
use super::{created, App, Ctx};
use crate::auth::access::{self, Access};
use crate::auth::Principal;
use crate::documents::{blob_key, check_size, clean_filename, resolve_media_type, Document};
use crate::error::ApiError;
use crate::http::{multipart, Request, Response};
use crate::ids::{looks_like_id, new_id};
use crate::jobs::{extractions_prefix, parts_prefix, result_key};
use crate::ports::{BlobStore, DocumentStore, Ports, UsageMeter};
use serde_json::json;
use sha2::{Digest, Sha256};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 100;

/// The file a request carries, whether raw or as a multipart `file` field.
struct Upload<'a> {
    bytes: &'a [u8],
    content_type: Option<String>,
    filename: Option<String>,
}

fn upload_of(req: &Request) -> Result<Upload<'_>, ApiError> {
    let content_type = req.header("content-type");
    if let Some(boundary) = content_type.and_then(multipart::boundary) {
        let parts = multipart::parse(&req.body, &boundary)?;
        let file = parts
            .into_iter()
            .find(|p| p.name == "file")
            .ok_or_else(|| {
                ApiError::Invalid("invalid_multipart", "the form has no 'file' field".into())
            })?;
        return Ok(Upload {
            bytes: file.body,
            content_type: file.content_type,
            filename: file.filename.as_deref().and_then(clean_filename),
        });
    }
    Ok(Upload {
        bytes: &req.body,
        content_type: content_type.map(str::to_string),
        filename: req.header("x-filename").and_then(clean_filename),
    })
}

pub async fn create<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    if let Some(stream) = &req.stream {
        return super::uploads::create_streamed(app, req, stream, ctx, who).await;
    }
    let upload = checked(app, req)?;
    let key = super::idempotent::key_of(req, who);
    let key = key.as_deref();
    let size = upload.upload.bytes.len() as u64;
    let earlier = earlier_try(
        app,
        key,
        ctx,
        who,
        &upload.media_type,
        size,
        Some(&upload.sha256),
    );
    if let Some(done) = earlier.await? {
        return Ok(done);
    }
    let scan = crate::scan::scan(
        &upload.media_type,
        upload.upload.bytes,
        &crate::scan::ScanLimits::default(),
        &app.config.scan_refuse,
    )?;
    let expires_at_ms = expiry_for(app, req, who, ctx.now_ms).await?;
    let size = size as i64;
    super::usage::charge(app, who, ctx, "stored_bytes", size).await?;
    let (doc, bytes) = upload.document(app, who, ctx, scan, expires_at_ms);
    let stored = store(app, &doc, bytes, key).await;
    if let Err(e) = stored {
        let _ = super::usage::charge(app, who, ctx, "stored_bytes", -size).await;
        let race = super::idempotent::lost_race(app, &who.tenant_id, key, &doc.id).await;
        return Err(race.unwrap_or_else(|| e.into()));
    }
    super::usage::count(app, who, ctx, "documents");
    Ok(created(&format!("/v1/documents/{}", doc.id), &doc.view()))
}

/// An upload that has passed the checks that need no I/O.
struct Checked<'a> {
    upload: Upload<'a>,
    media_type: String,
    sha256: String,
}

impl<'a> Checked<'a> {
    /// The new document's record, and the bytes to store.
    fn document<P: Ports>(
        self,
        app: &App<P>,
        who: &Principal,
        ctx: &Ctx,
        scan: crate::scan::ScanReport,
        expires_at_ms: Option<u64>,
    ) -> (Document, &'a [u8]) {
        let id = new_id("doc", ctx.now_ms, &app.entropy);
        let doc = Document {
            blob_key: blob_key(&who.tenant_id, &id),
            id,
            tenant_id: who.tenant_id.clone(),
            filename: self.upload.filename,
            media_type: self.media_type,
            size_bytes: self.upload.bytes.len() as u64,
            sha256: self.sha256,
            created_at_ms: ctx.now_ms,
            scan,
            expires_at_ms,
            owner: Some(who.owner_tag()),
            missing_at_ms: None,
        };
        (doc, self.upload.bytes)
    }
}

/// The request's file, its size within the limit and its type accepted.
fn checked<'a, P: Ports>(app: &App<P>, req: &'a Request) -> Result<Checked<'a>, ApiError> {
    let upload = upload_of(req)?;
    check_size(upload.bytes.len() as u64, app.config.max_upload_bytes)?;
    let media_type = resolve_media_type(
        upload.content_type.as_deref(),
        upload.filename.as_deref(),
        &app.config.accepted_media_types,
    )?;
    let sha256 = hex::encode(Sha256::digest(upload.bytes));
    Ok(Checked {
        upload,
        media_type,
        sha256,
    })
}

/// Puts the bytes, then the row; undoes the bytes only when the row is
/// known to be absent.
async fn store<P: Ports>(
    app: &App<P>,
    doc: &Document,
    bytes: &[u8],
    idempotency_key: Option<&str>,
) -> Result<(), crate::ports::StoreError> {
    app.blobs
        .put(&doc.blob_key, bytes.to_vec(), &doc.media_type)
        .await?;
    let Err(e) = app.meta.insert_document(doc, idempotency_key).await else {
        return Ok(());
    };
    // An error can come after the row was written (a timeout on a
    // committed write): look before undoing anything.
    match app.meta.get_document(&doc.tenant_id, &doc.id).await {
        Ok(Some(_)) => return Ok(()),
        // No metadata, no document: remove the bytes.
        Ok(None) => {
            let _ = app.blobs.delete(&doc.blob_key).await;
        }
        // Unknown: keep the bytes; if the row is absent the sweep's
        // reconciliation removes them as an orphan.
        Err(_) => {}
    }
    Err(e)
}

pub async fn list<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = super::id_cursor(req, "doc")?;
    let mut docs = app
        .meta
        .list_documents(
            &who.tenant_id,
            cursor.as_deref(),
            limit + 1,
            access::visibility(who).as_ref(),
        )
        .await?;
    let next_cursor = (docs.len() > limit as usize).then(|| {
        docs.truncate(limit as usize);
        docs.last().map(|d| d.id.clone())
    });
    let data: Vec<_> = docs.iter().map(Document::view).collect();
    Ok(Response::json(
        200,
        &json!({ "data": data, "next_cursor": next_cursor.flatten() }),
    ))
}

/// Loads a document of the caller's tenant and checks the caller may do
/// `need` with it (404 when it may not even see it). Jobs and results use
/// this too: derived data has its document's permissions.
pub(super) async fn find<P: Ports>(
    app: &App<P>,
    id: &str,
    who: &Principal,
    need: Access,
) -> Result<Document, ApiError> {
    if !looks_like_id("doc", id) {
        return Err(ApiError::NotFound("document".into()));
    }
    let doc = app
        .meta
        .get_document(&who.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("document".into()))?;
    // Admins and owners of the document need no share lookup.
    let shares = if access::access_of(who, doc.owner.as_deref(), &[]).is_some() {
        Vec::new()
    } else {
        app.meta.list_shares(&who.tenant_id, &doc.id).await?
    };
    access::check(who, doc.owner.as_deref(), &shares, need)?;
    Ok(doc)
}

pub async fn get<P: Ports>(app: &App<P>, id: &str, who: &Principal) -> Result<Response, ApiError> {
    let doc = find(app, id, who, Access::Read).await?;
    Ok(Response::json(200, &doc.view()))
}

pub async fn delete<P: Ports>(
    app: &App<P>,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let doc = find(app, id, who, Access::Write).await?;
    if !remove(app, &doc, ctx.now_ms).await? {
        return Err(ApiError::NotFound("document".into()));
    }
    Ok(Response::new(204))
}

/// Deletes a document and everything derived from it; false when it was
/// already gone. Used by `DELETE` and by the retention sweep.
pub async fn remove<P: Ports>(app: &App<P>, doc: &Document, now_ms: u64) -> Result<bool, ApiError> {
    // Metadata first: if blob removal fails afterwards the leftovers are
    // unreachable orphans (the sweep removes them), never metadata
    // pointing at nothing.
    let Some(jobs) = app.meta.delete_document(&doc.tenant_id, &doc.id).await? else {
        return Ok(false);
    };
    let _ = app.blobs.delete(&doc.blob_key).await;
    let refund = crate::usage::Charge {
        metric: "stored_bytes".into(),
        amount: -(doc.size_bytes as i64),
        limit: None,
        day: Some(crate::usage::day_of(now_ms)),
        key: None,
        once: None,
    };
    let month = crate::usage::month_of(now_ms);
    let _ = app.gate.charge(&doc.tenant_id, &month, &refund).await;
    // The cached extraction is shared by identical bytes: remove it with
    // the last document that has them. The document is already gone, so a
    // failed count must not fail the call: the sweep removes the cache later.
    let others = app
        .meta
        .count_documents_with_sha256(&doc.tenant_id, &doc.sha256)
        .await;
    if others == Ok(0) {
        let extractions = extractions_prefix(&doc.tenant_id, &doc.sha256);
        delete_prefix(app, &extractions).await;
        let cache = crate::llm::cache::cache_prefix(&doc.tenant_id, &doc.sha256);
        delete_prefix(app, &cache).await;
    }
    // Prompts and answers kept for fine-tuning hold the document's text.
    let training = crate::jobs::training_prefix(&doc.tenant_id, Some(&doc.id));
    delete_prefix(app, &training).await;
    for job in &jobs {
        for command in &job.commands {
            let _ = app
                .blobs
                .delete(&result_key(&job.tenant_id, &job.id, command.name()))
                .await;
        }
        // What the parts of a large PDF read, if its job never merged them
        // (cancelled or failed meanwhile): the document's text too.
        delete_prefix(app, &parts_prefix(&job.tenant_id, &job.id)).await;
    }
    Ok(true)
}

/// Deletes every object under a prefix, best effort (the sweep removes
/// whatever is left once its owner is gone).
async fn delete_prefix<P: Ports>(app: &App<P>, prefix: &str) {
    let mut cursor: Option<String> = None;
    loop {
        let Ok((keys, next)) = app.blobs.list(prefix, cursor.as_deref(), 500).await else {
            return;
        };
        for (key, _) in keys {
            let _ = app.blobs.delete(&key).await;
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return,
        }
    }
}
