//! OCR in application tests. There is no engine natively (Tesseract runs
//! only in the jobs worker), so [`NoOcr`] refuses every page, and
//! [`ScriptedOcr`] answers with the words a test gives it: what the
//! runner does with an engine's answer is tested here; the engine itself
//! end to end, in workerd.

use futures::future::LocalBoxFuture;
use quire::ports::ocr::{Ocr, OcrModel, OcrWord, Raster};
use std::cell::RefCell;

pub struct NoOcr;

impl Ocr for NoOcr {
    fn read<'a>(
        &'a self,
        _image: &'a Raster,
        _model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>> {
        Box::pin(async { Err("no OCR engine in this build".to_string()) })
    }
}

/// Answers every page with the same words (per language where
/// `by_language` has some), and keeps the size of each image it was
/// given and the language and model size it was read with.
#[derive(Default)]
pub struct ScriptedOcr {
    pub words: Vec<OcrWord>,
    /// What a part of a page read on its own says (each such read).
    pub parts: Vec<OcrWord>,
    pub by_language: std::collections::HashMap<String, Vec<OcrWord>>,
    pub seen: RefCell<Vec<(u32, u32)>>,
    pub models: RefCell<Vec<(String, usize)>>,
}

impl ScriptedOcr {
    fn saw(&self, image: &Raster) {
        self.seen.borrow_mut().push((image.width, image.height));
    }
}

impl Ocr for ScriptedOcr {
    fn read<'a>(
        &'a self,
        image: &'a Raster,
        model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>> {
        self.saw(image);
        let size = model.gz.as_ref().map_or(0, |gz| gz.len());
        self.models
            .borrow_mut()
            .push((model.language.clone(), size));
        let words = self
            .by_language
            .get(&model.language)
            .unwrap_or(&self.words)
            .clone();
        Box::pin(async move { Ok(words) })
    }

    fn read_part<'a>(
        &'a self,
        image: &'a Raster,
        _model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>> {
        self.saw(image);
        let words = self.parts.clone();
        Box::pin(async move { Ok(words) })
    }
}
