//! The jobs worker's `fetch`. It has no route of its own: the API worker
//! reaches it through its `JOBS_WORKER` service binding, to forward the
//! test-only extraction and cipher benchmark routes (the API's module
//! carries no extractor and no pure-Rust cipher).

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
        Ok(c) if c.enable_test_routes => extract(&mut req).await,
        Ok(_) => Err(ApiError::NotFound(format!("route {}", req.path()))),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    };
    to_worker(answer.unwrap_or_else(|e| e.to_response("")))
}

async fn extract(req: &mut Request) -> Result<http::Response, ApiError> {
    if req.path() != "/__test/extract" || req.method() != worker::Method::Post {
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
    let content_type = header("content-type");
    let body = req
        .bytes()
        .await
        .map_err(|e| ApiError::Invalid("unreadable_body", e.to_string()))?;
    crate::app::system::test_extract(content_type.as_deref(), &body)
}
