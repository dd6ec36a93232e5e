//! `GET /v1/documents/{id}/content`: the stored bytes, whole or by range,
//! with a strong ETag; large ones streamed by the edge.

use super::find;
use crate::app::{App, Ctx};
use crate::auth::access::Access;
use crate::auth::Principal;
use crate::documents::Document;
use crate::error::ApiError;
use crate::http::ranges::{self, Plan};
use crate::http::{Request, Response, StreamSpec};
use crate::ports::{BlobStore, DocumentStore, Ports};

pub async fn content<P: Ports>(
    app: &App<P>,
    req: &Request,
    id: &str,
    ctx: &Ctx,
    who: &Principal,
) -> Result<Response, ApiError> {
    let doc = find(app, id, who, Access::Read).await?;
    let etag = format!("\"{}\"", doc.sha256);
    let plan = ranges::plan(
        req.header("if-none-match"),
        req.header("range"),
        req.header("if-range"),
        &etag,
        doc.size_bytes,
    );
    let base = |status| {
        Response::new(status)
            .with_header("etag", &etag)
            .with_header("accept-ranges", "bytes")
            .with_header("cache-control", "private, no-cache")
    };
    let (start, end) = match plan {
        Plan::NotModified => return Ok(base(304)),
        Plan::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable(doc.size_bytes)),
        Plan::Partial { start, end } => (start, end),
        Plan::Full => (0, doc.size_bytes.saturating_sub(1)),
    };
    let disposition = content_disposition(doc.filename.as_deref().unwrap_or(&doc.id));
    let mut resp = base(200)
        .with_header("content-type", &doc.media_type)
        .with_header("content-disposition", &disposition)
        .with_header("x-content-type-options", "nosniff");
    if matches!(plan, Plan::Partial { .. }) {
        resp.status = 206;
        resp.set_header(
            "content-range",
            &format!("bytes {start}-{end}/{}", doc.size_bytes),
        );
    }
    with_bytes(app, &doc, resp, start, end, ctx).await
}

/// The response given the bytes `start..=end`: a stream the edge fills
/// when large (decrypting a chunk of segments at a time, so memory stays
/// flat whatever the size), else the bytes read now.
async fn with_bytes<P: Ports>(
    app: &App<P>,
    doc: &Document,
    mut resp: Response,
    start: u64,
    end: u64,
    ctx: &Ctx,
) -> Result<Response, ApiError> {
    if doc.missing_at_ms.is_some() {
        return Err(ApiError::ContentMissing);
    }
    let len = (end + 1).saturating_sub(start).min(doc.size_bytes);
    if len > crate::documents::STREAM_ABOVE {
        resp.set_header("content-length", &len.to_string());
        resp.stream = Some(StreamSpec::Blob {
            key: doc.blob_key.clone(),
            shard: crate::ports::ShardStore::entered(&app.meta),
            size: doc.size_bytes,
            start,
            len,
        });
        return Ok(resp);
    }
    let Some(bytes) = app
        .blobs
        .read_range(&doc.blob_key, doc.size_bytes, start, len)
        .await?
    else {
        // Found out now rather than by the sweep: flag it the same way.
        let _ = app
            .meta
            .mark_verified(&doc.tenant_id, &doc.id, ctx.now_ms, true)
            .await;
        return Err(ApiError::ContentMissing);
    };
    Ok(resp.with_body(bytes))
}

/// `attachment` with an ASCII fallback and the exact name in RFC 5987 form.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn disposition_escapes_quotes_and_keeps_utf8_exactly() {
        assert_eq!(
            content_disposition("a\"ü.txt"),
            "attachment; filename=\"a__.txt\"; filename*=UTF-8''a%22%C3%BC.txt"
        );
    }
}
