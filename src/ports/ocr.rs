//! The OCR engine: a page image in, its words out (text, box in pixels,
//! confidence). At the edge it is Tesseract compiled to Wasm, run by the
//! jobs worker's JavaScript (`js/ocr.mjs`, reached through
//! `edge::ocr`); natively there is no engine, and the fakes say
//! so (`quire_testkit::NoOcr`). Object-safe, so the runner takes it as
//! `&dyn Ocr` without another type parameter.

use futures_util::future::LocalBoxFuture;
pub use quire_extract::ocr::OcrWord;
pub use quire_extract::raster::Raster;

pub trait Ocr {
    /// The words of one page image, read with `model`; `Err` when the
    /// engine could not read it at all (which the result reports as a
    /// warning on that page).
    fn read<'a>(
        &'a self,
        image: &'a Raster,
        model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>>;

    /// The words of a part of a page read on its own (a table's cell with
    /// ink where the page's reading found no word: an engine binarises a
    /// small part by its own light, and reads there what it could not in
    /// the whole page). Read as a page by default, which the edge's
    /// Tesseract does (tesseract-wasm ignores the page segmentation mode:
    /// set to one block, it read the same words, tried 2026-12-08).
    fn read_part<'a>(
        &'a self,
        image: &'a Raster,
        model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>> {
        self.read(image, model)
    }
}

/// A language's model: English is built into the engine; others are
/// installed by the operator and handed over as their gzipped
/// `.traineddata`.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrModel {
    pub language: String,
    pub gz: Option<std::rc::Rc<Vec<u8>>>,
}

impl OcrModel {
    pub fn built_in() -> OcrModel {
        OcrModel {
            language: crate::commands::BUILT_IN_LANGUAGE.to_string(),
            gz: None,
        }
    }
}
