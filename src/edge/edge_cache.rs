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
use super::storage::{classify, R2Blobs};
use crate::ports::StoreResult;

/// How long an entry lasts: also the longest a retired master key must
/// stay configured after its objects were rewrapped (see docs/SECURITY.md).
const MAX_AGE_S: u32 = 3600;

/// Whether objects under `key` never change once written.
fn immutable(key: &str) -> bool {
    key.starts_with("tenants/") && (key.contains("/results/") || key.contains("/extractions/"))
}

fn url_of(r2: &R2Blobs, key: &str) -> Option<String> {
    let namespace = r2.2.as_deref()?;
    immutable(key).then(|| format!("https://edge-cache.quire.internal/{namespace}/{key}"))
}

/// An object's bytes: from the cache when it holds them, else from R2
/// (and then kept in the cache).
pub(super) async fn get(r2: &R2Blobs, key: &str) -> StoreResult<Option<Vec<u8>>> {
    let Some(url) = url_of(r2, key) else {
        return from_r2(r2, key).await;
    };
    if let Some(bytes) = lookup(&r2.1, &url).await {
        return Ok(Some(bytes));
    }
    let found = from_r2(r2, key).await?;
    if let Some(bytes) = &found {
        keep(&r2.1, &url, bytes).await;
    }
    Ok(found)
}

/// Drops this data centre's copy of `key` (after a delete or a rewrite).
pub(super) async fn purge(r2: &R2Blobs, key: &str) {
    if let Some(url) = url_of(r2, key) {
        let _ = worker::Cache::default().delete(url.as_str(), true).await;
    }
}

async fn from_r2(r2: &R2Blobs, key: &str) -> StoreResult<Option<Vec<u8>>> {
    let get = async {
        let Some(object) = r2.0.get(key).execute().await? else {
            return Ok(None);
        };
        match object.body() {
            Some(body) => body.bytes().await.map(Some),
            None => Ok(Some(Vec::new())),
        }
    };
    r2.1.call("r2", "get", get).await.map_err(classify)
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
