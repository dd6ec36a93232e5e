//! Answers cached by what determines them: the document's bytes, the
//! command and its canonical options, the model, the prompt version and
//! the input budget; never anything about the request or the caller. In
//! the blob store under the document's bytes, removed with the last
//! document that has them.

use super::compress::Compressed;
use super::deps::{first_step, LlmDeps};
use super::tasks::{Task, PROMPT_VERSION};
use super::usage::LlmUsage;
use crate::ports::{BlobStore, Clock};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The cache key: document bytes, command, canonical options, model and
/// prompt version; never anything about the request or the caller.
pub fn cache_key(
    tenant_id: &str,
    doc_sha256: &str,
    task: &Task,
    model: &str,
    budget: u32,
) -> String {
    let material = json!([
        PROMPT_VERSION,
        doc_sha256,
        task.name(),
        task.canonical(),
        model,
        budget
    ]);
    let hash = hex::encode(Sha256::digest(material.to_string().as_bytes()));
    format!("{}{hash}.json", cache_prefix(tenant_id, doc_sha256))
}

/// Where the cached answers about one document's bytes live (removed with
/// the last document that has those bytes).
pub fn cache_prefix(tenant_id: &str, doc_sha256: &str) -> String {
    format!("tenants/{tenant_id}/llm-cache/{doc_sha256}/")
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    stored_at_ms: u64,
    model: String,
    result: Value,
}

pub(super) async fn cached<P, K, C: Clock, B: BlobStore, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    task: &Task,
    tier: &str,
    doc: &Compressed,
) -> Option<(Value, LlmUsage)> {
    let key = cache_key(
        tenant_id,
        doc_sha256,
        task,
        &step_of(deps.config, tier)?,
        deps.config.max_input_tokens,
    );
    let bytes = deps.blobs.get(&key).await.ok()??;
    let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
    if deps.clock.now_ms() > entry.stored_at_ms + deps.config.cache_ttl_ms {
        return None;
    }
    Some((
        entry.result,
        LlmUsage {
            model: Some(entry.model),
            tier: tier.to_string(),
            cached: true,
            compression_ratio: doc.ratio(),
            ..LlmUsage::default()
        },
    ))
}

/// What answers of a tier are cached under: its first step's targets (one
/// id, or several joined by `+` when they share the load), so an answer
/// from any of them serves the others' requests with one read.
fn step_of(cfg: &super::LlmConfig, tier: &str) -> Option<String> {
    let ids: Vec<String> = first_step(cfg, tier).iter().map(|t| t.id()).collect();
    (!ids.is_empty()).then(|| ids.join("+"))
}

/// Caches an answer of the tier's first step (a fallback's answer is not
/// what a later request of the tier would get first, and is not kept).
pub(super) async fn store<P, K, C: Clock, B: BlobStore, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    tenant_id: &str,
    doc_sha256: &str,
    task: &Task,
    (tier, model): (&str, &str),
    value: &Value,
) {
    if !first_step(deps.config, tier)
        .iter()
        .any(|t| t.id() == model)
    {
        return;
    }
    let Some(step) = step_of(deps.config, tier) else {
        return;
    };
    let key = cache_key(
        tenant_id,
        doc_sha256,
        task,
        &step,
        deps.config.max_input_tokens,
    );
    let entry = CacheEntry {
        stored_at_ms: deps.clock.now_ms(),
        model: model.to_string(),
        result: value.clone(),
    };
    if let Ok(bytes) = serde_json::to_vec(&entry) {
        // A failed cache write costs a call next time, nothing more.
        let _ = deps.blobs.put(&key, bytes, "application/json").await;
    }
}
