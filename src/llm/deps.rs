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

/// The targets of a tier, in configured order; the `large` tier's when
/// the tier is unknown.
pub(super) fn chain_of(cfg: &LlmConfig, tier: &str) -> Vec<Target> {
    cfg.tiers
        .get(tier)
        .or_else(|| cfg.tiers.get("large"))
        .cloned()
        .unwrap_or_default()
}

/// The targets of a tier's first step (those that may hold a cached answer).
pub(super) fn first_step(cfg: &LlmConfig, tier: &str) -> Vec<Target> {
    let chain = chain_of(cfg, tier);
    let first = chain.first().map(|t| t.group);
    chain
        .into_iter()
        .filter(|t| Some(t.group) == first)
        .collect()
}

/// The order one request tries a tier's targets in: step by step, as
/// configured; within a step, a weighted draw (a target of weight 3 comes
/// first three times as often as one of weight 1), so a step's providers
/// and keys share its load. A target whose circuit is open is skipped by
/// the call chain, so the others of its step take its share.
pub(super) fn balanced(cfg: &LlmConfig, tier: &str, seed: u64) -> Vec<Target> {
    let mut rest = chain_of(cfg, tier);
    let mut out = Vec::with_capacity(rest.len());
    let mut state = seed;
    while let Some(group) = rest.first().map(|t| t.group) {
        let mut members: Vec<Target> = Vec::new();
        rest.retain(|t| {
            if t.group == group {
                members.push(t.clone());
                false
            } else {
                true
            }
        });
        while !members.is_empty() {
            let total: u64 = members.iter().map(|t| u64::from(t.weight)).sum();
            state = splitmix64(state);
            let mut pick = state % total.max(1);
            let at = members
                .iter()
                .position(|t| {
                    let w = u64::from(t.weight);
                    if pick < w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .unwrap_or(0);
            out.push(members.remove(at));
        }
    }
    out
}

/// A seed for [`balanced`] from the time and the request, so requests
/// spread even within one millisecond.
pub(super) fn seed_of(now_ms: u64, request: &LlmRequest) -> u64 {
    request
        .user
        .bytes()
        .fold(now_ms ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_their_order_and_members_are_drawn_by_weight() {
        let mut cfg = LlmConfig::from_lookup(&|k: &str| match k {
            "LLM_PROVIDERS" => Some("a=openai:http://a.test,b=openai:http://b.test".into()),
            "LLM_TIERS" => Some("large=a/m*3+b/m|b/big".into()),
            _ => None,
        })
        .unwrap();
        let mut first_a = 0;
        for seed in 0..4000u64 {
            let ids: Vec<String> = balanced(&cfg, "large", seed)
                .iter()
                .map(Target::id)
                .collect();
            assert_eq!(ids.len(), 3);
            assert_eq!(
                ids[2], "b/big",
                "the next step comes after the whole first one"
            );
            first_a += usize::from(ids[0] == "a/m");
        }
        assert!(
            (2800..=3200).contains(&first_a),
            "a/m first {first_a} times of 4000"
        );
        assert_eq!(first_step(&cfg, "large").len(), 2);
        cfg.tiers.clear();
        assert!(balanced(&cfg, "large", 1).is_empty());
    }
}
