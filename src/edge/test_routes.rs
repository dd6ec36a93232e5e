//! The API worker's test-only routes (`ENABLE_TEST_ROUTES`, never in
//! production): the cipher benchmark, an object's raw bytes, and the
//! extraction route, forwarded to the jobs worker.

use super::*;

/// Test-only: encrypts `mb` MiB in 64 KiB segments with AES-256-GCM,
/// with `engine=rust` (the aes-gcm crate in Wasm, what Quire uses) or
/// `engine=webcrypto` (workerd's SubtleCrypto, one call per segment), or
/// `engine=none` (the same loop without encrypting). The client times the
/// requests (`npm run bench:crypto`): the clock inside a Worker does not
/// move while it computes.
pub(super) async fn crypto_bench(req: &Request) -> Result<http::Response, String> {
    use crate::crypto::{RustCipher, SegmentCipher};
    async fn run<C: SegmentCipher>(c: &C, segments: usize) -> Result<(usize, Vec<u8>), String> {
        let key = c.key(&[9u8; 32]).await.map_err(|e| e.to_string())?;
        let segment = vec![7u8; crate::crypto::SEGMENT];
        let (mut bytes, mut first) = (0, Vec::new());
        for i in 0..segments {
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let sealed = c
                .seal(&key, &nonce, &segment)
                .await
                .map_err(|e| e.to_string())?;
            // Round trip: what was sealed opens to the segment.
            if i == 0 {
                let back = c
                    .open(&key, &nonce, &sealed)
                    .await
                    .map_err(|e| e.to_string())?;
                if back != segment {
                    return Err("round trip failed".into());
                }
                first = sealed.clone();
            }
            bytes += sealed.len();
        }
        Ok((bytes, first))
    }
    let url = req.url().map_err(|e| e.to_string())?;
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let mb: usize = param("mb")
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
        .min(256);
    let engine = param("engine").unwrap_or_else(|| "rust".into());
    let web = webcrypto::WebCryptoCipher::new().map_err(|e| e.to_string())?;
    let (bytes_out, same) = match engine.as_str() {
        "rust" => (run(&RustCipher, mb * 16).await?.0, None),
        "webcrypto" => (run(&web, mb * 16).await?.0, None),
        // Both seal a segment to the same bytes.
        "compare" => {
            let (a, x) = run(&RustCipher, 1).await?;
            let (_, y) = run(&web, 1).await?;
            (a, Some(x == y))
        }
        _ => (mb * 16 * (crate::crypto::SEGMENT + 16), None),
    };
    Ok(http::Response::json(
        200,
        &json!({ "engine": engine, "mb": mb, "bytes_out": bytes_out, "same": same }),
    ))
}

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

/// Test-only: an object's bytes exactly as R2 holds them.
pub(super) async fn raw_object(req: &Request, env: &Env) -> Result<http::Response, String> {
    let url = req.url().map_err(|e| e.to_string())?;
    let key = url
        .query_pairs()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let bucket = env.bucket("DOCUMENTS").map_err(|e| e.to_string())?;
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
