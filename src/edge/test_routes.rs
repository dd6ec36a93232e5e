//! The API worker's test-only routes (`ENABLE_TEST_ROUTES`, never in
//! production): an object's raw bytes, and the extraction and cipher
//! benchmark routes, forwarded to the jobs worker (the API's module
//! carries neither extractors nor the aes-gcm crate).

use super::*;

/// Test-only: extraction runs in the jobs worker, which this module does not
/// carry; the request goes there whole through the `JOBS_WORKER` service
/// binding, and its answer comes back as it is.
pub(super) async fn forward_to_jobs(req: &Request, env: &Env) -> Result<http::Response, String> {
    let jobs = env.service("JOBS_WORKER").map_err(|e| e.to_string())?;
    let mut resp = jobs
        .fetch_request(req.clone().map_err(|e| e.to_string())?)
        .await
        .map_err(|e| format!("jobs worker: {e}"))?;
    let content_type = resp.headers().get("content-type").ok().flatten();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    let mut out = http::Response::new(resp.status_code()).with_body(body);
    if let Some(t) = content_type {
        out.set_header("content-type", &t);
    }
    Ok(out)
}

/// Test-only: an object's bytes exactly as R2 holds them, from the bucket
/// `bucket` names (`DOCUMENTS`, the default, or a region's, such as
/// `DOCUMENTS_EU`).
pub(super) async fn raw_object(req: &Request, env: &Env) -> Result<http::Response, String> {
    let url = req.url().map_err(|e| e.to_string())?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let key = param("key").unwrap_or_default();
    let binding = param("bucket").unwrap_or_else(|| "DOCUMENTS".into());
    if !binding.starts_with("DOCUMENTS") {
        return Ok(ApiError::NotFound("bucket".into()).to_response(""));
    }
    let bucket = env.bucket(&binding).map_err(|e| e.to_string())?;
    let object = bucket
        .get(&key)
        .execute()
        .await
        .map_err(|e| e.to_string())?;
    let Some(object) = object else {
        return Ok(ApiError::NotFound("object".into()).to_response(""));
    };
    let bytes = match object.body() {
        Some(body) => body.bytes().await.map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    Ok(http::Response::new(200)
        .with_header("content-type", "application/octet-stream")
        .with_body(bytes))
}
