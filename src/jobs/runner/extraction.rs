//! A job's extraction: from the cache when this tenant already extracted
//! the same bytes with this extractor version, else extracted now and
//! cached. Images, and the scanned pages of PDFs, are read by the OCR
//! engine; everything else by the document engine.

use super::RunFailure;
use crate::documents::Document;
use crate::extract::model::{Element, Kind};
use crate::extract::{self, ocr, raster, ExtractError, Extraction, Limits, PageImage};
use crate::jobs::{extraction_key, ocr_model_key, JobError};
use crate::ports::ocr::OcrModel;
use crate::ports::{BlobStore, Ocr, StoreResult};

pub(super) async fn extraction(
    blobs: &impl BlobStore,
    engine: &dyn Ocr,
    doc: &Document,
    languages: &[String],
) -> Result<Extraction, RunFailure> {
    let cache_key = extraction_key(&doc.tenant_id, &doc.sha256, languages);
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
    // Only images and PDFs (their scanned pages) are read by OCR: other
    // formats do not load the models (megabytes each) at all.
    let ocr = raster::is_image(&doc.media_type) || doc.media_type == "application/pdf";
    let models = match ocr {
        true => ocr_models(blobs, languages).await?.map_err(|language| {
            RunFailure::Permanent(JobError::new(
                "unsupported_language",
                format!("the OCR model for '{language}' is no longer installed"),
            ))
        })?,
        false => Vec::new(),
    };
    let ex = extract_bytes(engine, &models, &doc.media_type, bytes)
        .await
        .map_err(failure)?;
    if let Ok(json) = serde_json::to_vec(&ex) {
        // Caching is an optimisation: a failed write costs a re-extraction later.
        let _ = blobs.put(&cache_key, json, "application/json").await;
    }
    Ok(ex)
}

/// The models of the job's OCR languages: English built in, the others
/// read from where the operator installed them; `Ok(Err(language))` for
/// one that is not (or no longer) installed.
pub(crate) async fn ocr_models(
    blobs: &impl BlobStore,
    languages: &[String],
) -> StoreResult<Result<Vec<OcrModel>, String>> {
    let mut models = Vec::new();
    for language in languages {
        if language == crate::commands::BUILT_IN_LANGUAGE {
            models.push(OcrModel::built_in());
            continue;
        }
        let Some(gz) = blobs.get(&ocr_model_key(language)).await? else {
            return Ok(Err(language.clone()));
        };
        models.push(OcrModel {
            language: language.clone(),
            gz: Some(std::rc::Rc::new(gz)),
        });
    }
    Ok(Ok(models))
}

fn failure(e: ExtractError) -> RunFailure {
    RunFailure::Permanent(JobError::new(e.code(), e.to_string()))
}

/// A document's bytes to its extraction: images, and the scanned pages of
/// a PDF, read by the OCR engine; everything else by the document engine.
/// The bytes are dropped before the first page is read.
pub(crate) async fn extract_bytes(
    engine: &dyn Ocr,
    models: &[OcrModel],
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<Extraction, ExtractError> {
    let engine = Reader { engine, models };
    let limits = Limits::default();
    if raster::is_image(media_type) {
        return read_image(&engine, media_type, bytes).await;
    }
    let (ex, scans) = extract::extract_with_scans(media_type, &bytes)?;
    drop(bytes);
    let ex = read_scans(&engine, ex, &scans).await;
    extract::checked(ex, &limits)
}

/// An image read by OCR, every page of a multi-page TIFF (at most
/// [`extract::MAX_OCR_PAGES`], the rest named in a warning), each decoded
/// under its own budget and dropped before the next; a later page that
/// cannot be decoded is a warning naming it.
async fn read_image(
    engine: &Reader<'_>,
    media_type: &str,
    bytes: Vec<u8>,
) -> Result<Extraction, ExtractError> {
    let pages = raster::page_count(media_type, &bytes);
    let read = pages.min(extract::MAX_OCR_PAGES);
    let (mut elements, mut warnings) = (Vec::new(), Vec::new());
    for i in 0..read {
        let page = i as u32 + 1;
        if page > 1 {
            elements.push(Element::new(Kind::PageBreak, "").on_page(page));
        }
        match raster::decode_page(media_type, &bytes, i, &Limits::default()) {
            Ok(image) => {
                let (read, said) = engine.page(&image, page).await;
                elements.extend(read);
                warnings.extend(said);
            }
            Err(e) if i == 0 => return Err(e),
            Err(e) => warnings.push(format!(
                "ocr_failed: page {page}: its image could not be decoded: {e}"
            )),
        }
    }
    if pages > read {
        warnings.push(format!(
            "ocr_skipped: {} pages were not read (page {}–{pages}): OCR reads at most {read} \
             pages of a document",
            pages - read,
            read + 1
        ));
    }
    Ok(Extraction {
        elements,
        pages: pages as u32,
        warnings,
    })
}

/// The engine and the models a document is read with.
struct Reader<'a> {
    engine: &'a dyn Ocr,
    models: &'a [OcrModel],
}

impl Reader<'_> {
    /// Reads one page image with each model, keeping the most confident
    /// reading. An engine that cannot read it leaves a warning naming the
    /// page, never a silent empty result.
    async fn page(&self, image: &raster::Raster, page: u32) -> (Vec<Element>, Vec<String>) {
        let mut best: Option<(f32, Vec<ocr::OcrWord>, &OcrModel)> = None;
        let mut failed = None;
        for model in self.models {
            match self.engine.read(image, model).await {
                Ok(words) => {
                    let score = mean_confidence(&words);
                    if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                        best = Some((score, words, model));
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        match (best, failed) {
            (Some((_, words, model)), _) => {
                let ruling = ocr::ruling(&words, image);
                let words = self.cells(image, &ruling, model, words).await;
                ocr::page_elements(&words, &ruling, page)
            }
            (None, e) => (
                Vec::new(),
                vec![format!(
                    "ocr_failed: page {page}: the OCR engine could not read it: {}",
                    e.unwrap_or_default()
                )],
            ),
        }
    }
}

/// White pixels around a cell read again (text touching an image's edge
/// is read badly).
const CELL_PAD: u32 = 10;

impl Reader<'_> {
    /// The page's words, with those of its ruled tables' cells where the
    /// page's reading left ink unread, each such cell cut out and read
    /// again on its own (a cell the engine cannot read stays as it was).
    async fn cells(
        &self,
        image: &raster::Raster,
        ruling: &ocr::Ruling,
        model: &OcrModel,
        mut words: Vec<ocr::OcrWord>,
    ) -> Vec<ocr::OcrWord> {
        for [x0, y0, x1, y1] in ocr::unread_cells(&words, image, ruling) {
            let crop = image.crop([x0, y0, x1, y1], CELL_PAD);
            let Ok(read) = self.engine.read_part(&crop, model).await else {
                continue;
            };
            if let Some(last) = words.last_mut() {
                last.line_end = true;
            }
            let (dx, dy) = (x0 as i32 - CELL_PAD as i32, y0 as i32 - CELL_PAD as i32);
            words.extend(read.into_iter().map(|mut w| {
                (w.left, w.right, w.top, w.bottom) =
                    (w.left + dx, w.right + dx, w.top + dy, w.bottom + dy);
                w
            }));
        }
        words
    }
}

/// A reading's mean word confidence (0 for no words).
fn mean_confidence(words: &[ocr::OcrWord]) -> f32 {
    let read: Vec<f32> = words
        .iter()
        .filter(|w| !w.text.trim().is_empty())
        .map(|w| w.confidence)
        .collect();
    read.iter().sum::<f32>() / read.len().max(1) as f32
}

/// Reads a PDF's scanned pages, one at a time (each decoded under its own
/// budget and dropped before the next), and puts their elements where
/// their pages are. A page image that cannot be decoded is a warning.
async fn read_scans(engine: &Reader<'_>, mut ex: Extraction, scans: &[PageImage]) -> Extraction {
    for scan in scans {
        let (elements, warnings) = scan_reading(engine, scan).await;
        for element in elements {
            crate::extract::split::place(&mut ex, element);
        }
        ex.warnings.extend(warnings);
    }
    ex
}

/// The scanned pages of one part of a split PDF, read into the part.
pub(crate) async fn read_part_scans(
    engine: &dyn Ocr,
    models: &[OcrModel],
    part: &mut crate::extract::split::Part,
) {
    let reader = Reader { engine, models };
    for scan in std::mem::take(&mut part.scans) {
        let (elements, warnings) = scan_reading(&reader, &scan).await;
        part.ocr.extend(elements);
        part.warn(warnings);
    }
}

async fn scan_reading(engine: &Reader<'_>, scan: &PageImage) -> (Vec<Element>, Vec<String>) {
    match scan.raster(&Limits::default()) {
        Ok(image) => engine.page(&image, scan.page).await,
        Err(e) => (
            Vec::new(),
            vec![format!(
                "ocr_failed: page {}: its image could not be decoded: {e}",
                scan.page
            )],
        ),
    }
}
