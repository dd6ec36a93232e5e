//! A job's extraction: from the cache when this tenant already extracted
//! the same bytes with this extractor version, else extracted now and
//! cached. Images, and the scanned pages of PDFs, are read by the OCR
//! engine; everything else by the document engine.

use super::RunFailure;
use crate::documents::Document;
use crate::extract::model::Element;
use crate::extract::{self, ocr, raster, ExtractError, Extraction, Limits, PageImage};
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
    let ex = extract_bytes(engine, &doc.media_type, bytes)
        .await
        .map_err(failure)?;
    if let Ok(json) = serde_json::to_vec(&ex) {
        // Caching is an optimisation: a failed write costs a re-extraction later.
        let _ = blobs.put(&cache_key, json, "application/json").await;
    }
    Ok(ex)
}

fn failure(e: ExtractError) -> RunFailure {
    RunFailure::Permanent(JobError::new(e.code(), e.to_string()))
}

/// A document's bytes to its extraction: images, and the scanned pages of
/// a PDF, read by the OCR engine; everything else by the document engine.
/// The bytes are dropped before the first page is read.
pub(crate) async fn extract_bytes(
    engine: &dyn Ocr,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<Extraction, ExtractError> {
    let limits = Limits::default();
    if raster::is_image(media_type) {
        let image = raster::decode(media_type, &bytes, &limits)?;
        drop(bytes);
        let (elements, warnings) = read_page(engine, &image, 1).await;
        let ex = Extraction {
            elements,
            pages: 1,
            warnings,
        };
        return Ok(ex);
    }
    let (ex, scans) = extract::extract_with_scans(media_type, &bytes)?;
    drop(bytes);
    let ex = read_scans(engine, ex, &scans).await;
    extract::checked(ex, &limits)
}

/// Reads one page image. An engine that cannot read it leaves a warning
/// naming the page, never a silent empty result.
async fn read_page(
    engine: &dyn Ocr,
    image: &raster::Raster,
    page: u32,
) -> (Vec<Element>, Vec<String>) {
    match engine.read(image).await {
        Ok(words) => ocr::page_elements(&words, page),
        Err(e) => (
            Vec::new(),
            vec![format!(
                "ocr_failed: page {page}: the OCR engine could not read it: {e}"
            )],
        ),
    }
}

/// Reads a PDF's scanned pages, one at a time (each decoded under its own
/// budget and dropped before the next), and puts their elements where
/// their pages are. A page image that cannot be decoded is a warning.
async fn read_scans(engine: &dyn Ocr, mut ex: Extraction, scans: &[PageImage]) -> Extraction {
    for scan in scans {
        let (elements, warnings) = match scan.raster(&Limits::default()) {
            Ok(image) => read_page(engine, &image, scan.page).await,
            Err(e) => (
                Vec::new(),
                vec![format!(
                    "ocr_failed: page {}: its image could not be decoded: {e}",
                    scan.page
                )],
            ),
        };
        let at = ex
            .elements
            .iter()
            .position(|e| e.page.unwrap_or(1) > scan.page)
            .unwrap_or(ex.elements.len());
        ex.elements.splice(at..at, elements);
        ex.warnings.extend(warnings);
    }
    ex
}
