//! A job's extraction: from the cache when this tenant already extracted
//! the same bytes with this extractor version, else extracted now and
//! cached. Images are read by the OCR engine; everything else by the
//! document engine.

use super::RunFailure;
use crate::documents::Document;
use crate::extract::{self, ocr, raster, Extraction, Limits};
use crate::jobs::{extraction_key, JobError};
use crate::ports::{BlobStore, Ocr};

pub(super) async fn extraction(
    blobs: &impl BlobStore,
    engine: &dyn Ocr,
    doc: &Document,
) -> Result<Extraction, RunFailure> {
    let cache_key = extraction_key(&doc.tenant_id, &doc.sha256);
    if let Some(cached) = blobs.get(&cache_key).await? {
        // A cache entry we cannot read is ignored and rewritten below.
        if let Ok(ex) = serde_json::from_slice::<Extraction>(&cached) {
            return Ok(ex);
        }
    }
    let bytes = blobs.get(&doc.blob_key).await?.ok_or_else(|| {
        RunFailure::Permanent(JobError::new(
            "document_missing",
            "the document's content is no longer stored",
        ))
    })?;
    let ex = if raster::is_image(&doc.media_type) {
        read_image(engine, &doc.media_type, &bytes).await?
    } else {
        extract::extract(&doc.media_type, &bytes).map_err(failure)?
    };
    if let Ok(json) = serde_json::to_vec(&ex) {
        // Caching is an optimisation: a failed write costs a re-extraction later.
        let _ = blobs.put(&cache_key, json, "application/json").await;
    }
    Ok(ex)
}

fn failure(e: extract::ExtractError) -> RunFailure {
    RunFailure::Permanent(JobError::new(e.code(), e.to_string()))
}

/// An image, decoded and read by OCR as one page. An engine that cannot
/// read it leaves a warning naming the page, never a silent empty result.
async fn read_image(
    engine: &dyn Ocr,
    media_type: &str,
    bytes: &[u8],
) -> Result<Extraction, RunFailure> {
    let image = raster::decode(media_type, bytes, &Limits::default()).map_err(failure)?;
    let (elements, warnings) = match engine.read(&image).await {
        Ok(words) => ocr::page_elements(&words, 1),
        Err(e) => (
            Vec::new(),
            vec![format!(
                "ocr_failed: page 1: the OCR engine could not read it: {e}"
            )],
        ),
    };
    Ok(Extraction {
        elements,
        pages: 1,
        warnings,
    })
}
