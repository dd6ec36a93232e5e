//! What the engine, its cache and its call chains share: the ports they
//! run over, a chain's accepted answer, and which targets serve a tier.
//! A leaf below all three, so none of them imports another's internals.

use super::{LlmConfig, LlmRequest, Target};
use serde_json::Value;

/// The dependencies of the engine.
pub struct LlmDeps<'a, P, K, C, B, U> {
    pub provider: &'a P,
    pub breakers: &'a K,
    pub clock: &'a C,
    pub blobs: &'a B,
    pub usage: &'a U,
    pub config: &'a LlmConfig,
    /// Who the tokens are charged to (the job's creator), for usage per key.
    pub key: Option<String>,
}

/// What a successful call chain returns.
pub(super) struct Answered {
    pub value: Value,
    pub model: String,
    pub request: LlmRequest,
    pub raw: String,
}

/// The targets of a tier, in order; the `large` tier's when the tier is unknown.
pub(super) fn chain_of(cfg: &LlmConfig, tier: &str) -> Vec<Target> {
    cfg.tiers
        .get(tier)
        .or_else(|| cfg.tiers.get("large"))
        .cloned()
        .unwrap_or_default()
}
