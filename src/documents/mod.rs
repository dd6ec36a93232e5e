//! Documents: the stored record, its public view, and the pure rules of an
//! upload (media type, size, filename). No I/O here.

use crate::error::ApiError;
use crate::time::rfc3339;
pub use quire_extract::media::{canonical, media_type_for_filename, DEFAULT_MEDIA_TYPES};
use serde::Serialize;

/// A stored document's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: String,
    pub tenant_id: String,
    pub filename: Option<String>,
    pub media_type: String,
    pub size_bytes: u64,
    pub sha256: String,
    pub blob_key: String,
    pub created_at_ms: u64,
    pub scan: crate::scan::ScanReport,
    /// When the cleanup sweep deletes the document, if ever.
    pub expires_at_ms: Option<u64>,
    /// `user:<id>` or `key:<id>` of its creator (`None`: admins only).
    pub owner: Option<String>,
    /// Since when the sweep found its object missing from storage.
    pub missing_at_ms: Option<u64>,
}

/// The document as clients see it.
#[derive(Debug, Serialize)]
pub struct DocumentView<'a> {
    pub id: &'a str,
    pub filename: Option<&'a str>,
    pub media_type: &'a str,
    pub size_bytes: u64,
    pub sha256: &'a str,
    pub created_at: String,
    pub content_url: String,
    pub scan: &'a crate::scan::ScanReport,
    pub expires_at: Option<String>,
    pub owner: Option<&'a str>,
    /// Present (true) when its stored bytes were found missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_missing: Option<bool>,
}

impl Document {
    pub fn view(&self) -> DocumentView<'_> {
        DocumentView {
            id: &self.id,
            filename: self.filename.as_deref(),
            media_type: &self.media_type,
            size_bytes: self.size_bytes,
            sha256: &self.sha256,
            created_at: rfc3339(self.created_at_ms),
            content_url: format!("/v1/documents/{}/content", self.id),
            scan: &self.scan,
            expires_at: self.expires_at_ms.map(rfc3339),
            owner: self.owner.as_deref(),
            content_missing: self.missing_at_ms.map(|_| true),
        }
    }
}

/// Where a document's bytes live in the bucket. Tenant first, so a tenant's
/// objects can be listed and erased by prefix.
pub fn blob_key(tenant_id: &str, document_id: &str) -> String {
    format!("tenants/{tenant_id}/documents/{document_id}/original")
}

/// Resolves the upload's media type from `Content-Type` (parameters dropped,
/// aliases mapped) or, when that says nothing, from the filename's
/// extension, and checks it against the accepted list.
pub fn resolve_media_type(
    content_type: Option<&str>,
    filename: Option<&str>,
    accepted: &[String],
) -> Result<String, ApiError> {
    let declared = content_type
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|ct| !ct.is_empty() && ct != "application/octet-stream");
    let media_type = match declared {
        Some(ct) => canonical(&ct),
        None => filename
            .and_then(media_type_for_filename)
            .map(str::to_string)
            .ok_or_else(|| {
                ApiError::UnsupportedMediaType(content_type.unwrap_or("(none)").trim().to_string())
            })?,
    };
    if accepted.contains(&media_type) {
        Ok(media_type)
    } else {
        Err(ApiError::UnsupportedMediaType(media_type))
    }
}

/// Cleans a client-supplied filename: keeps the last path component, drops
/// control characters, caps the length. `None` when nothing usable remains.
pub fn clean_filename(raw: &str) -> Option<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_string())
}

/// The expiry of a new upload: `expires_in` seconds from the request
/// (1 s to 10 years), else the default retention in days (0: never).
pub fn expiry(
    expires_in: Option<&str>,
    default_days: u64,
    now_ms: u64,
) -> Result<Option<u64>, ApiError> {
    const TEN_YEARS_S: u64 = 10 * 366 * 24 * 3600;
    match expires_in {
        Some(v) => {
            let secs = v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=TEN_YEARS_S).contains(s))
                .ok_or_else(|| {
                    ApiError::Invalid(
                        "invalid_expires_in",
                        "expires_in must be a number of seconds from 1 to 10 years".into(),
                    )
                })?;
            Ok(Some(now_ms + secs * 1000))
        }
        None if default_days > 0 => Ok(Some(now_ms + default_days * 86_400_000)),
        None => Ok(None),
    }
}

/// Checks the body size against the limit and refuses empty bodies.
pub fn check_size(size: u64, limit: u64) -> Result<(), ApiError> {
    if size == 0 {
        Err(ApiError::EmptyBody)
    } else if size > limit {
        Err(ApiError::PayloadTooLarge { size, limit })
    } else {
        Ok(())
    }
}

/// Downloads bigger than this are streamed rather than read into memory.
pub const STREAM_ABOVE: u64 = 1024 * 1024;
/// Bytes read and decrypted per step of a streamed download (16 segments).
pub const STREAM_CHUNK: u64 = 16 * crate::crypto::SEGMENT as u64;

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted() -> Vec<String> {
        DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        let t = resolve_media_type(Some("Text/Plain; charset=UTF-16"), None, &accepted());
        assert_eq!(t.unwrap(), "text/plain");
    }

    #[test]
    fn octet_stream_falls_back_to_the_filename_extension() {
        let t = resolve_media_type(
            Some("application/octet-stream"),
            Some("stanley-cups.CSV"),
            &accepted(),
        );
        assert_eq!(t.unwrap(), "text/csv");
    }

    #[test]
    fn images_are_accepted_and_unknown_types_refused_by_name() {
        let t = resolve_media_type(Some("image/jpg"), Some("a.jpg"), &accepted());
        assert_eq!(t.unwrap(), "image/jpeg");
        let err = resolve_media_type(Some("image/heic"), Some("a.heic"), &accepted()).unwrap_err();
        assert_eq!(err, ApiError::UnsupportedMediaType("image/heic".into()));
        let err = resolve_media_type(None, Some("noext"), &accepted()).unwrap_err();
        assert_eq!(err.status(), 415);
    }

    #[test]
    fn aliases_map_to_canonical_types() {
        let t = resolve_media_type(Some("text/x-markdown"), None, &accepted());
        assert_eq!(t.unwrap(), "text/markdown");
    }

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\x\\a\u{0}b.txt").as_deref(),
            Some("ab.txt")
        );
        assert_eq!(clean_filename(".."), None);
        assert_eq!(clean_filename("   "), None);
    }

    #[test]
    fn expiry_comes_from_the_request_or_the_default_retention() {
        assert_eq!(expiry(Some("60"), 0, 1_000), Ok(Some(61_000)));
        assert_eq!(expiry(None, 2, 0), Ok(Some(2 * 86_400_000)));
        assert_eq!(expiry(None, 0, 0), Ok(None));
        assert_eq!(
            expiry(Some("0"), 0, 0).unwrap_err().code(),
            "invalid_expires_in"
        );
        assert_eq!(
            expiry(Some("soon"), 0, 0).unwrap_err().code(),
            "invalid_expires_in"
        );
    }

    #[test]
    fn empty_and_oversized_bodies_are_refused() {
        assert_eq!(check_size(0, 10), Err(ApiError::EmptyBody));
        assert_eq!(
            check_size(11, 10),
            Err(ApiError::PayloadTooLarge {
                size: 11,
                limit: 10
            })
        );
        assert_eq!(check_size(10, 10), Ok(()));
    }
}
