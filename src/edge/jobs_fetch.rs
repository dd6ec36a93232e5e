//! The jobs worker's `fetch`. It has no route of its own: the API worker
//! reaches it through its `JOBS_WORKER` service binding, to forward the
//! test-only extraction, OCR and cipher benchmark routes (the API's
//! module carries no extractor, OCR engine or pure-Rust cipher).

use super::*;

/// The most `/__test/extract` reads (the API forwards bodies it has not read).
const EXTRACT_BODY_MAX: u64 = 25 * 1024 * 1024;

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let answer = match config(&env) {
        Ok(c) if c.enable_test_routes && req.path() == "/__test/crypto" => {
            super::crypto_bench::crypto_bench(&req)
                .await
                .map_err(ApiError::Internal)
        }
        Ok(c) if c.enable_test_routes && req.path() == "/__test/ocr" => {
            ocr(&mut req, &env, c).await
        }
        Ok(c) if c.enable_test_routes => extract(&mut req).await,
        Ok(_) => Err(ApiError::NotFound(format!("route {}", req.path()))),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    };
    to_worker(answer.unwrap_or_else(|e| e.to_response("")))
}

/// `POST /__test/ocr[?languages=fra,eng]`: an image, or a PDF with
/// scanned pages, read as a job reads it (the models loaded as a job
/// loads them, decoded, then OCR'd in the jobs worker), without the queue
/// (`npm run bench:ocr`, the OCR end-to-end tests).
async fn ocr(req: &mut Request, env: &Env, config: Config) -> Result<http::Response, ApiError> {
    use crate::jobs::runner::extraction::{extract_bytes, ocr_models};
    let languages: Vec<String> = req
        .url()
        .ok()
        .and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "languages")
                .map(|(_, v)| v.into_owned())
        })
        .map_or_else(
            || vec![crate::commands::BUILT_IN_LANGUAGE.to_string()],
            |v| v.split(',').map(str::to_string).collect(),
        );
    let obs = super::observe::Obs::new("test-ocr", None, &config.ops);
    let app = super::app(env, config, &obs).map_err(|e| ApiError::Internal(e.to_string()))?;
    let models = ocr_models(&app.blobs, &languages).await?.map_err(|l| {
        ApiError::Invalid("unsupported_language", format!("no OCR model for '{l}'"))
    })?;
    let (media_type, body) = test_body(req).await?;
    let started = worker::Date::now().as_millis();
    let ex = extract_bytes(&super::ocr::TesseractOcr, &models, &media_type, body)
        .await
        .map_err(|e| ApiError::Invalid(e.code(), e.to_string()))?;
    let ms = worker::Date::now().as_millis() - started;
    Ok(http::Response::json(
        200,
        &serde_json::json!({ "text": ex.text(), "pages": ex.pages, "ms": ms, "warnings": ex.warnings }),
    ))
}

async fn extract(req: &mut Request) -> Result<http::Response, ApiError> {
    if req.path() != "/__test/extract" {
        return Err(ApiError::NotFound(format!("route {}", req.path())));
    }
    let (media_type, body) = test_body(req).await?;
    crate::app::system::test_extract(Some(&media_type), &body)
}

/// A test route's body (POST, at most `EXTRACT_BODY_MAX`) and its media type.
async fn test_body(req: &mut Request) -> Result<(String, Vec<u8>), ApiError> {
    if req.method() != worker::Method::Post {
        return Err(ApiError::NotFound(format!("route {}", req.path())));
    }
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let declared = header("content-length").and_then(|v| v.parse::<u64>().ok());
    let size = declared.unwrap_or(EXTRACT_BODY_MAX + 1);
    if size > EXTRACT_BODY_MAX {
        return Err(ApiError::PayloadTooLarge {
            size,
            limit: EXTRACT_BODY_MAX,
        });
    }
    let content_type = header("content-type").unwrap_or_else(|| "text/plain".into());
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::Invalid("unreadable_body", e.to_string()))?;
    Ok((media_type, body))
}
