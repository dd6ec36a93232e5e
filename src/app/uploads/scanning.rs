//! The scan of a document stored in parts, for both ways a large one
//! arrives (resumable uploads, a streamed `POST /v1/documents`): read back
//! by range where the format keeps what matters at its end (a ZIP's
//! directory), the rest from what was seen on the way in.

use crate::app::App;
use crate::error::ApiError;
use crate::ports::{BlobStore, Ports};

/// Scans a document stored in parts: whole when it fits in one part; a
/// larger one on its first part (type, executables, EICAR), except
/// archives, whose directory is at the end (flagged instead).
/// The stored object an upload became, for the scan to read from.
pub(super) struct Stored<'a> {
    pub key: &'a str,
    pub size: u64,
}

/// The scan of an upload held in parts: a whole one (a single part) as
/// any upload; a larger one from its first part, its archive directory
/// (see [`directory_of`]) and the signatures found through all of it (see
/// [`crate::scan::scan_large`]). Only refusals come out of here: reading
/// failures come out of [`directory_of`], before anything is discarded.
pub(super) fn scan_upload<P: Ports>(
    app: &App<P>,
    stored: &Stored<'_>,
    media_type: &str,
    head: &[u8],
    archive: Option<&[crate::scan::zipscan::Entry]>,
    hits: &[String],
) -> Result<crate::scan::ScanReport, ApiError> {
    let refuse = &app.config.scan_refuse;
    if head.len() as u64 == stored.size {
        let limits = crate::scan::ScanLimits::default();
        return Ok(crate::scan::scan(media_type, head, &limits, refuse)?);
    }
    Ok(crate::scan::scan_large(
        media_type, head, archive, hits, refuse,
    )?)
}

/// A large archive's members, read by range from the end of the stored
/// object (none for anything else).
pub(super) async fn directory_of<P: Ports>(
    app: &App<P>,
    stored: &Stored<'_>,
    head: &[u8],
) -> Result<Option<Vec<crate::scan::zipscan::Entry>>, ApiError> {
    if head.len() as u64 == stored.size || !head.starts_with(b"PK") {
        return Ok(None);
    }
    archive_directory(app, stored).await
}

/// A central directory larger than this is not read (flagged instead).
const MAX_DIRECTORY_BYTES: u64 = 16 * 1024 * 1024;

/// The members of a stored archive, read from its end by range: `None`
/// when it has no readable directory, or one too large to read.
async fn archive_directory<P: Ports>(
    app: &App<P>,
    stored: &Stored<'_>,
) -> Result<Option<Vec<crate::scan::zipscan::Entry>>, ApiError> {
    use crate::scan::zipscan::{self, Directory};
    let read = |start: u64, len: u64| async move {
        app.blobs
            .read_range(stored.key, stored.size, start, len)
            .await?
            .ok_or_else(|| ApiError::Internal(format!("{} missing", stored.key)))
    };
    let tail_len = stored.size.min(zipscan::TAIL_BYTES);
    let mut directory = zipscan::locate_directory(&read(stored.size - tail_len, tail_len).await?);
    if let Directory::Zip64Record(at) = directory {
        directory = match at.checked_add(56) {
            Some(end) if end <= stored.size => zipscan::zip64_directory(&read(at, 56).await?),
            _ => Directory::Missing,
        };
    }
    match directory {
        Directory::At { offset, size }
            if size <= MAX_DIRECTORY_BYTES
                && offset
                    .checked_add(size)
                    .is_some_and(|end| end <= stored.size) =>
        {
            Ok(zipscan::parse_directory(&read(offset, size).await?).ok())
        }
        _ => Ok(None),
    }
}

pub(super) fn is_pdf(media_type: &str) -> bool {
    media_type == "application/pdf"
}
