//! Usage budgets: per-tenant monthly counters of requests, stored bytes,
//! processed pages and LLM tokens, kept in a strongly consistent Durable
//! Object per tenant and month. A charge that would pass a hard budget is
//! refused and changes nothing. Pure: metrics, budgets, the charge rule.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What is metered.
pub const METRICS: [&str; 6] = [
    "requests",
    "documents",
    "jobs",
    "stored_bytes",
    "pages",
    "llm_tokens",
];

/// The metrics a budget may cap (the others are only counted).
pub const BUDGETED: [&str; 4] = ["requests", "stored_bytes", "pages", "llm_tokens"];

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
        if !BUDGETED.contains(&metric) {
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
    /// `YYYY-MM-DD` and the key (or `jwt:<user>`), for the daily and
    /// per-key breakdown of `GET /v1/usage`.
    #[serde(default)]
    pub day: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    /// Charged at most once under this id (e.g. a job's pages, whatever
    /// number of attempts it takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub once: Option<String>,
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
    // Breakdown entries `metric@day` and `metric@day@key`: what was
    // charged that day (by that key), refunds included.
    if let Some(day) = &c.day {
        for name in [
            Some(format!("{}@{day}", c.metric)),
            c.key.as_ref().map(|k| format!("{}@{day}@{k}", c.metric)),
        ]
        .into_iter()
        .flatten()
        {
            let v = totals.entry(name).or_insert(0);
            *v = v.saturating_add(c.amount);
        }
    }
    Charged {
        allowed: true,
        total: next,
    }
}

/// The totals' entries a charge changes (the metric, and its day and
/// day-and-key breakdown), so a store may write only those.
pub fn touched(c: &Charge) -> Vec<String> {
    let mut names = vec![c.metric.clone()];
    if let Some(day) = &c.day {
        names.push(format!("{}@{day}", c.metric));
        if let Some(k) = &c.key {
            names.push(format!("{}@{day}@{k}", c.metric));
        }
    }
    names
}

/// One row of the breakdown: (day, key or `None` for the day's total,
/// metric, amount).
pub type BreakdownRow = (String, Option<String>, String, i64);

/// The breakdown entries of the totals, sorted by day, key, metric.
pub fn breakdown(totals: &Totals) -> Vec<BreakdownRow> {
    let mut rows: Vec<BreakdownRow> = totals
        .iter()
        .filter_map(|(name, amount)| {
            let mut parts = name.splitn(3, '@');
            let metric = parts.next()?;
            let day = parts.next()?;
            let key = parts.next().map(str::to_string);
            Some((day.to_string(), key, metric.to_string(), *amount))
        })
        .collect();
    rows.sort();
    rows
}

/// Unit prices in USD by metric (`USAGE_PRICES`), for cost estimates.
pub fn parse_prices(spec: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = || format!("price '{item}' is not metric=usd");
        let (metric, p) = item.split_once('=').ok_or_else(bad)?;
        if !METRICS.contains(&metric.trim()) {
            return Err(format!("unknown metric '{}'", metric.trim()));
        }
        let p: f64 = p.trim().parse().map_err(|_| bad())?;
        if !p.is_finite() || p < 0.0 {
            return Err(bad());
        }
        out.insert(metric.trim().to_string(), p);
    }
    Ok(out)
}

/// `YYYY-MM-DD` of a Unix-millisecond instant (UTC).
pub fn day_of(ms: u64) -> String {
    crate::time::rfc3339(ms)[..10].to_string()
}

/// `YYYY-MM` of a Unix-millisecond instant (UTC): the budget period.
pub fn month_of(ms: u64) -> String {
    crate::time::rfc3339(ms)[..7].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_touches_its_metric_and_its_breakdown_entries() {
        let c = Charge {
            metric: "requests".into(),
            amount: 1,
            limit: None,
            day: Some("2026-12-02".into()),
            key: Some("key_1".into()),
            once: None,
        };
        let mut totals = Totals::new();
        apply(&mut totals, &c);
        let mut names = touched(&c);
        names.sort();
        assert_eq!(names, totals.keys().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn charges_stop_at_the_budget_and_refunds_always_pass() {
        let mut t = Totals::new();
        let c = |amount| Charge {
            metric: "pages".into(),
            amount,
            limit: Some(10),
            day: None,
            key: None,
            once: None,
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
    fn charges_are_broken_down_by_day_and_key() {
        let mut t = Totals::new();
        let c = |amount, day: &str, key: Option<&str>| Charge {
            metric: "requests".into(),
            amount,
            limit: None,
            day: Some(day.into()),
            key: key.map(str::to_string),
            once: None,
        };
        apply(&mut t, &c(2, "2026-11-23", Some("key_a")));
        apply(&mut t, &c(3, "2026-11-24", Some("key_a")));
        apply(&mut t, &c(4, "2026-11-24", Some("key_b")));
        apply(&mut t, &c(1, "2026-11-24", None));
        assert_eq!(t["requests"], 10);
        let rows = breakdown(&t);
        assert_eq!(
            rows,
            vec![
                ("2026-11-23".into(), None, "requests".into(), 2),
                (
                    "2026-11-23".into(),
                    Some("key_a".into()),
                    "requests".into(),
                    2
                ),
                ("2026-11-24".into(), None, "requests".into(), 8),
                (
                    "2026-11-24".into(),
                    Some("key_a".into()),
                    "requests".into(),
                    3
                ),
                (
                    "2026-11-24".into(),
                    Some("key_b".into()),
                    "requests".into(),
                    4
                ),
            ]
        );
        assert_eq!(day_of(1_795_542_395_123), "2026-11-24");
    }

    #[test]
    fn budgets_parse_and_months_format() {
        let b = parse_budgets("requests=100, pages=5").unwrap();
        assert_eq!(b["pages"], 5);
        assert!(parse_budgets("coffee=1").is_err());
        assert_eq!(month_of(1_795_542_395_123), "2026-11");
    }
}
