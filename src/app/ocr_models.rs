//! OCR models the operator installs: `PUT /v1/admin/ocr-models/{language}`
//! stores a language's gzipped Tesseract model (a `.traineddata.gz`, such
//! as `@tesseract.js-data/<language>` ships) in R2, outside every tenant's
//! prefix; `GET /v1/admin/ocr-models` lists them. English is built into
//! the jobs worker; a job asks for others with `extract`'s `languages`.

use super::App;
use crate::commands::{language_code, BUILT_IN_LANGUAGE};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::jobs::ocr_model_key;
use crate::ports::{BlobStore, Ports};
use serde_json::json;

/// The largest model taken (Tesseract's largest `best` models are about
/// 15 MB gzipped).
pub const MAX_MODEL_BYTES: u64 = 32 * 1024 * 1024;

const PREFIX: &str = "ocr-models/";

pub async fn put<P: Ports>(
    app: &App<P>,
    req: &Request,
    language: &str,
) -> Result<Response, ApiError> {
    if !language_code(language) || language == BUILT_IN_LANGUAGE {
        return Err(ApiError::Invalid(
            "invalid_language",
            format!(
                "'{language}' is not a Tesseract language code such as 'deu' or 'chi_sim' \
                 ('{BUILT_IN_LANGUAGE}' is built in)"
            ),
        ));
    }
    if req.body.len() as u64 > MAX_MODEL_BYTES {
        return Err(ApiError::PayloadTooLarge {
            size: req.body.len() as u64,
            limit: MAX_MODEL_BYTES,
        });
    }
    if !req.body.starts_with(&[0x1f, 0x8b]) {
        return Err(ApiError::Invalid(
            "invalid_ocr_model",
            "the body must be a gzipped Tesseract model (.traineddata.gz)".into(),
        ));
    }
    let bytes = req.body.len();
    app.blobs
        .put(
            &ocr_model_key(language),
            req.body.to_vec(),
            "application/gzip",
        )
        .await?;
    Ok(Response::json(
        201,
        &json!({ "language": language, "bytes": bytes }),
    ))
}

pub async fn list<P: Ports>(app: &App<P>) -> Result<Response, ApiError> {
    let mut languages = vec![BUILT_IN_LANGUAGE.to_string()];
    let mut cursor = None;
    loop {
        let (keys, next) = app.blobs.list(PREFIX, cursor.as_deref(), 500).await?;
        languages.extend(keys.iter().filter_map(|(k, _)| {
            k.strip_prefix(PREFIX)?
                .strip_suffix(".traineddata.gz")
                .map(str::to_string)
        }));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    Ok(Response::json(200, &json!({ "languages": languages })))
}
