//! One LLM request through a tier's chain of targets: each target in turn
//! while its circuit breaker allows, retried with backoff on retryable
//! errors, its answer validated and repaired once; every call's tokens and
//! cost counted, each failure kept for the job's usage record.

use super::breaker::Policy;
use super::compress::estimate_tokens;
use super::deps::{Answered, LlmDeps};
use super::usage::LlmUsage;
use super::{BreakerStore, LlmConfig, LlmProvider, LlmRequest, LlmResponse, Target};
use crate::ports::Clock;
use serde_json::Value;

/// An answer's parser: the accepted value, or why it was refused.
pub type Parse<'a> = &'a dyn Fn(&str) -> Result<Value, String>;

/// Tries each target of the chain in turn; the accepted answer, or
/// `Err(())` with the failures written to `usage`.
pub(super) async fn call_chain<P, K, C, B, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    chain: &[Target],
    base: &LlmRequest,
    parse: Parse<'_>,
    usage: &mut LlmUsage,
) -> Result<Answered, ()>
where
    P: LlmProvider,
    K: BreakerStore,
    C: Clock,
{
    let policy = Policy {
        failures: deps.config.breaker_failures,
        cooldown_ms: deps.config.breaker_cooldown_ms,
    };
    for target in chain {
        let id = target.id();
        if !deps.breakers.allow(&id, policy).await {
            usage.failures.push(format!("{id}: circuit open"));
            continue;
        }
        // Every way a target ends counts once for its breaker.
        let answered = try_target(deps, target, base, parse, usage).await;
        deps.breakers.record(&id, answered.is_some(), policy).await;
        if let Some(answered) = answered {
            return Ok(answered);
        }
    }
    Err(())
}

/// One target: retries on retryable errors, one repair of an invalid
/// answer; `None` once it has failed (the reason is in `usage`).
async fn try_target<P, K, C, B, U>(
    deps: &LlmDeps<'_, P, K, C, B, U>,
    target: &Target,
    base: &LlmRequest,
    parse: Parse<'_>,
    usage: &mut LlmUsage,
) -> Option<Answered>
where
    P: LlmProvider,
    C: Clock,
{
    let id = target.id();
    let mut req = base.clone();
    let (mut attempt, mut repaired) = (0, false);
    loop {
        usage.calls += 1;
        let resp = match deps.provider.complete(target, &req).await {
            Ok(resp) => resp,
            Err(e) if e.retryable && attempt < deps.config.retries => {
                attempt += 1;
                usage.failures.push(format!("{id}: {e} (retry {attempt})"));
                let wait = backoff_ms(attempt, deps.clock.now_ms());
                deps.clock.sleep(wait).await;
                continue;
            }
            Err(e) => {
                usage.failures.push(format!("{id}: {e}"));
                return None;
            }
        };
        account(deps.config, &id, &req, &resp, usage);
        if resp.finish_reason == "length" {
            let cut = format!("{id}: answer cut off (finish_reason length)");
            usage.failures.push(cut);
            return None;
        }
        match parse(&resp.text) {
            Ok(value) => {
                usage.model = Some(id.clone());
                return Some(Answered {
                    value,
                    model: id,
                    request: req,
                    raw: resp.text,
                });
            }
            Err(why) if !repaired => {
                repaired = true;
                let note = format!("{id}: invalid answer, repairing: {why}");
                usage.failures.push(note);
                req = repair(base, &resp.text, &why);
            }
            Err(why) => {
                usage.failures.push(format!("{id}: invalid answer: {why}"));
                return None;
            }
        }
    }
}

/// Counts a call's tokens (estimated where the provider says none) and
/// its cost.
fn account(cfg: &LlmConfig, id: &str, req: &LlmRequest, resp: &LlmResponse, usage: &mut LlmUsage) {
    let input = resp.input_tokens.unwrap_or_else(|| {
        usage.estimated = true;
        estimate_tokens(&req.system) + estimate_tokens(&req.user)
    });
    let output = resp.output_tokens.unwrap_or_else(|| {
        usage.estimated = true;
        estimate_tokens(&resp.text)
    });
    usage.input_tokens += input;
    usage.output_tokens += output;
    usage.cost_usd += cfg.cost(id, input, output);
}

/// The one repair: the model is shown its answer and what is wrong.
fn repair(base: &LlmRequest, answer: &str, why: &str) -> LlmRequest {
    LlmRequest {
        user: format!(
            "{}\n\nYour previous answer was:\n{answer}\n\nIt was rejected: {why}. Answer again with the corrected JSON object only.",
            base.user
        ),
        ..base.clone()
    }
}

/// Exponential backoff with jitter: 500 ms, 1 s, 2 s … (capped at 8 s),
/// plus up to half of that again, drawn from the clock's low bits.
pub fn backoff_ms(attempt: u32, now_ms: u64) -> u64 {
    let base = (500u64 << attempt.saturating_sub(1).min(4)).min(8_000);
    base + now_ms % (base / 2 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert!((500..=750).contains(&backoff_ms(1, 123)));
        assert!((1000..=1500).contains(&backoff_ms(2, 77)));
        assert!(backoff_ms(20, 5) <= 12_000);
        assert_ne!(backoff_ms(1, 1), backoff_ms(1, 2));
    }
}
