//! The jobs worker's test-only cipher benchmark (`/__test/crypto`, which
//! the API worker forwards here): the pure-Rust cipher it measures is in
//! no production path, so it stays out of the API worker's module.

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
