//! OCR at the edge: Tesseract compiled to Wasm, which the jobs worker's
//! entry (`js/jobs.mjs`) loads from `js/ocr.mjs` and publishes as
//! `globalThis.QUIRE_OCR([grey, width, height], language, modelGz)`, a
//! promise of the page's words (`modelGz` null for the built-in English). The API worker publishes none: it never reads images.

use crate::ports::ocr::{Ocr, OcrModel, OcrWord, Raster};
use futures_util::future::LocalBoxFuture;
use worker::js_sys::{Function, Promise, Reflect, Uint8Array, JSON};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

pub struct TesseractOcr;

fn described(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "the OCR engine failed".into())
}

async fn read(image: &Raster, model: &OcrModel) -> Result<Vec<OcrWord>, String> {
    let engine = Reflect::get(&worker::js_sys::global(), &"QUIRE_OCR".into()).map_err(described)?;
    let engine: Function = engine
        .dyn_into()
        .map_err(|_| "no OCR engine in this worker".to_string())?;
    let pixels = Uint8Array::from(image.gray.as_slice());
    let page = worker::js_sys::Array::of3(&pixels, &image.width.into(), &image.height.into());
    let gz = match &model.gz {
        Some(gz) => Uint8Array::from(gz.as_slice()).into(),
        None => JsValue::NULL,
    };
    let promise: Promise = engine
        .call3(&JsValue::NULL, &page, &model.language.as_str().into(), &gz)
        .map_err(described)?
        .dyn_into()
        .map_err(|_| "the OCR engine returned no promise".to_string())?;
    let words = JsFuture::from(promise).await.map_err(described)?;
    let json: String = JSON::stringify(&words).map_err(described)?.into();
    serde_json::from_str(&json).map_err(|e| format!("the OCR engine's answer: {e}"))
}

impl Ocr for TesseractOcr {
    fn read<'a>(
        &'a self,
        image: &'a Raster,
        model: &'a OcrModel,
    ) -> LocalBoxFuture<'a, Result<Vec<OcrWord>, String>> {
        Box::pin(read(image, model))
    }
}
