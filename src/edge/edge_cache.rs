//! The edge cache (Cloudflare's Cache API) in front of R2, for objects that
//! never change once written: a job's results and a document's stored
//! extractions. What is cached is what R2 holds, ciphertext when encryption
//! at rest is on, so nothing readable rests in the cache; it is reached only
//! by code that has already checked the caller's access to the job or
//! document. Keys name the tenant and the object (job id and command, or
//! the document's hash and the extractor's version), under the active
//! master key's id: a rotation starts a fresh namespace. Entries last an
//! hour; a delete or a rewrite of an object purges this data centre's copy
//! at once. Everything else, and every write, goes to R2 as before.

use super::observe::Obs;
use crate::ports::StoreResult;
use std::future::Future;

/// How long an entry lasts: also the longest a retired master key must
/// stay configured after its objects were rewrapped (see docs/SECURITY.md).
const MAX_AGE_S: u32 = 3600;

/// Whether objects under `key` never change once written.
fn immutable(key: &str) -> bool {
    key.starts_with("tenants/") && (key.contains("/results/") || key.contains("/extractions/"))
}

/// The cache's URL for `key` when it is cached at all: under `namespace`
/// (the active master key's id; `None` with the cache off).
pub(super) fn url_of(namespace: Option<&str>, key: &str) -> Option<String> {
    let namespace = namespace?;
    immutable(key).then(|| format!("https://edge-cache.quire.internal/{namespace}/{key}"))
}

/// An object's bytes: from the cache when it holds them, else from
/// `origin` (R2), and then kept in the cache.
pub(super) async fn read_through(
    obs: &Obs,
    url: Option<&str>,
    origin: impl Future<Output = StoreResult<Option<Vec<u8>>>>,
) -> StoreResult<Option<Vec<u8>>> {
    let Some(url) = url else {
        return origin.await;
    };
    if let Some(bytes) = lookup(obs, url).await {
        return Ok(Some(bytes));
    }
    let found = origin.await?;
    if let Some(bytes) = &found {
        keep(obs, url, bytes).await;
    }
    Ok(found)
}

/// Drops this data centre's copy (after a delete or a rewrite).
pub(super) async fn purge(url: Option<&str>) {
    if let Some(url) = url {
        let _ = worker::Cache::default().delete(url, true).await;
    }
}

/// The cached bytes, if any; a cache that fails is a miss.
async fn lookup(obs: &Obs, url: &str) -> Option<Vec<u8>> {
    let started = worker::Date::now().as_millis();
    let hit = match worker::Cache::default().get(url, true).await {
        Ok(Some(mut resp)) => resp.bytes().await.ok(),
        _ => None,
    };
    let op = if hit.is_some() { "hit" } else { "miss" };
    obs.log("cache", op, started, "ok", None);
    hit
}

async fn keep(obs: &Obs, url: &str, bytes: &[u8]) {
    let started = worker::Date::now().as_millis();
    let Ok(resp) = worker::Response::from_bytes(bytes.to_vec()) else {
        return;
    };
    let headers = worker::Headers::new();
    let _ = headers.set("cache-control", &format!("public, max-age={MAX_AGE_S}"));
    let stored = worker::Cache::default()
        .put(url, resp.with_headers(headers))
        .await;
    let outcome = if stored.is_ok() { "ok" } else { "error" };
    obs.log("cache", "put", started, outcome, None);
}
