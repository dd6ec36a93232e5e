//! Usage budgets: per-tenant monthly counters of requests, stored bytes,
//! processed pages and LLM tokens, kept in a strongly consistent Durable
//! Object per tenant and month. A charge that would pass a hard budget is
//! refused and changes nothing. Pure: metrics, budgets, the charge rule.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is metered.
pub const METRICS: [&str; 4] = ["requests", "stored_bytes", "pages", "llm_tokens"];

/// Hard monthly limits by metric; a metric without one is unlimited.
pub type Budgets = BTreeMap<String, u64>;

/// Counters of one tenant for one month.
pub type Totals = BTreeMap<String, i64>;

/// Parses `"requests=1000000,pages=50000"`.
pub fn parse_budgets(spec: &str) -> Result<Budgets, String> {
    let mut out = Budgets::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("budget '{item}' is not metric=number");
        let (metric, n) = item.split_once('=').ok_or_else(bad)?;
        let metric = metric.trim();
        if !METRICS.contains(&metric) {
            return Err(format!("unknown budget metric '{metric}'"));
        }
        out.insert(metric.to_string(), n.trim().parse().map_err(|_| bad())?);
    }
    Ok(out)
}

/// A request to add `amount` (negative to give back) to a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charge {
    pub metric: String,
    pub amount: i64,
    /// The hard budget, if any: the charge is refused if it would pass it.
    pub limit: Option<u64>,
}

/// The result of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charged {
    pub allowed: bool,
    pub total: i64,
}

/// Applies a charge to the totals (pure; the object stores the result).
pub fn apply(totals: &mut Totals, c: &Charge) -> Charged {
    let current = totals.get(&c.metric).copied().unwrap_or(0);
    let next = current.saturating_add(c.amount).max(0);
    let over = c.amount > 0 && c.limit.is_some_and(|l| next > l as i64);
    if over {
        return Charged {
            allowed: false,
            total: current,
        };
    }
    totals.insert(c.metric.clone(), next);
    Charged {
        allowed: true,
        total: next,
    }
}

/// `YYYY-MM` of a Unix-millisecond instant (UTC): the budget period.
pub fn month_of(ms: u64) -> String {
    crate::time::rfc3339(ms)[..7].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_stop_at_the_budget_and_refunds_always_pass() {
        let mut t = Totals::new();
        let c = |amount| Charge {
            metric: "pages".into(),
            amount,
            limit: Some(10),
        };
        assert!(apply(&mut t, &c(8)).allowed);
        let refused = apply(&mut t, &c(3));
        assert_eq!(
            refused,
            Charged {
                allowed: false,
                total: 8
            }
        );
        assert!(apply(&mut t, &c(2)).allowed);
        assert_eq!(apply(&mut t, &c(-4)).total, 6);
        assert_eq!(apply(&mut t, &c(-100)).total, 0, "never negative");
    }

    #[test]
    fn budgets_parse_and_months_format() {
        let b = parse_budgets("requests=100, pages=5").unwrap();
        assert_eq!(b["pages"], 5);
        assert!(parse_budgets("coffee=1").is_err());
        assert_eq!(month_of(1_795_542_395_123), "2026-11");
    }
}
