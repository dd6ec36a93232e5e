//! Rate limiting: policies per route class, the exact GCRA decision (pure,
//! clock passed in), and the IETF `RateLimit-Policy` / `RateLimit` header
//! values. State lives in a Durable Object per subject (see `edge`).

use serde::{Deserialize, Serialize};

/// A limit: `limit` requests per `period_ms`, bursts up to `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Route class it applies to: `read`, `upload`, `jobs`, `public`, `tenant`.
    pub name: String,
    pub limit: u32,
    pub period_ms: u64,
}

impl Policy {
    fn emission_interval_ms(&self) -> u64 {
        (self.period_ms / u64::from(self.limit.max(1))).max(1)
    }

    fn burst_tolerance_ms(&self) -> u64 {
        self.period_ms.saturating_sub(self.emission_interval_ms())
    }

    /// `RateLimit-Policy` item: `"read";q=600;w=60`.
    pub fn header(&self) -> String {
        format!(
            "\"{}\";q={};w={}",
            self.name,
            self.limit,
            self.period_ms.div_ceil(1000)
        )
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    /// Requests that could still be made right now.
    pub remaining: u32,
    /// Until the quota is whole again.
    pub reset_ms: u64,
    /// When denied: until the next request would be allowed.
    pub retry_after_ms: u64,
}

impl Decision {
    /// `RateLimit` item: `"read";r=599;t=1`.
    pub fn header(&self, policy: &Policy) -> String {
        format!(
            "\"{}\";r={};t={}",
            policy.name,
            self.remaining,
            self.reset_ms.div_ceil(1000)
        )
    }
}

/// GCRA: `tat` is the stored theoretical arrival time (None when new).
/// Returns the new TAT to store (unchanged when denied) and the decision.
pub fn check(tat: Option<u64>, p: &Policy, now_ms: u64) -> (u64, Decision) {
    let tat = tat.unwrap_or(now_ms).max(now_ms);
    let allow_at = tat.saturating_sub(p.burst_tolerance_ms());
    let t = p.emission_interval_ms();
    if now_ms < allow_at {
        let decision = Decision {
            allowed: false,
            remaining: 0,
            reset_ms: tat - now_ms,
            retry_after_ms: allow_at - now_ms,
        };
        return (tat, decision);
    }
    let next = tat + t;
    let used = next - now_ms; // time the bucket needs to drain fully
    let remaining = (p.period_ms.saturating_sub(used) / t) as u32;
    (
        next,
        Decision {
            allowed: true,
            remaining,
            reset_ms: used,
            retry_after_ms: 0,
        },
    )
}

/// Parses `"read=600/60,upload=60/60"` (limit per seconds) into policies.
pub fn parse_policies(spec: &str) -> Result<Vec<Policy>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let bad = || format!("rate limit '{item}' is not name=limit/seconds");
            let (name, rate) = item.split_once('=').ok_or_else(bad)?;
            let (limit, secs) = rate.split_once('/').ok_or_else(bad)?;
            let limit: u32 = limit
                .trim()
                .parse()
                .ok()
                .filter(|l| *l > 0)
                .ok_or_else(bad)?;
            let secs: u64 = secs
                .trim()
                .parse()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(bad)?;
            Ok(Policy {
                name: name.trim().to_string(),
                limit,
                period_ms: secs * 1000,
            })
        })
        .collect()
}

/// Picks the policy named `class` from the first layer that has one: a
/// key's overrides, then its tenant's plan, then the defaults.
pub fn policy_for<'a>(class: &str, layers: &[&'a [Policy]]) -> Option<&'a Policy> {
    layers
        .iter()
        .find_map(|layer| layer.iter().find(|p| p.name == class))
}

/// Of two policies, the one that lets fewer requests through: the lower
/// sustained rate, and at an equal rate the smaller burst.
pub fn stricter<'a>(a: &'a Policy, b: &'a Policy) -> &'a Policy {
    // limit/period compared without division: a.limit * b.period vs b.limit * a.period.
    let ra = u128::from(a.limit) * u128::from(b.period_ms);
    let rb = u128::from(b.limit) * u128::from(a.period_ms);
    if ra < rb || (ra == rb && a.limit <= b.limit) {
        a
    } else {
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stricter_policy_is_the_lower_rate_then_the_smaller_burst() {
        let fast = per_minute(100);
        let slow = per_minute(10);
        assert_eq!(stricter(&fast, &slow).limit, 10);
        assert_eq!(stricter(&slow, &fast).limit, 10);
        let hourly = Policy {
            name: "read".into(),
            limit: 100,
            period_ms: 3_600_000,
        };
        assert_eq!(stricter(&fast, &hourly).period_ms, 3_600_000);
    }

    fn per_minute(limit: u32) -> Policy {
        Policy {
            name: "read".into(),
            limit,
            period_ms: 60_000,
        }
    }

    #[test]
    fn a_burst_gets_exactly_the_limit() {
        let p = per_minute(100);
        let (mut tat, mut allowed) = (None, 0);
        for _ in 0..200 {
            let (next, d) = check(tat, &p, 1_000);
            if d.allowed {
                allowed += 1;
                tat = Some(next);
            }
        }
        assert_eq!(allowed, 100);
    }

    #[test]
    fn the_bucket_refills_one_request_per_interval() {
        let p = per_minute(60); // one per second
        let mut tat = None;
        for _ in 0..60 {
            tat = Some(check(tat, &p, 0).0);
        }
        let (_, denied) = check(tat, &p, 0);
        assert!(!denied.allowed);
        assert_eq!(denied.retry_after_ms, 1_000);
        let (t2, d) = check(tat, &p, 2_500);
        assert!(d.allowed);
        let (t3, d) = check(Some(t2), &p, 2_500);
        assert!(d.allowed, "two intervals passed: two more");
        assert!(!check(Some(t3), &p, 2_500).1.allowed);
    }

    #[test]
    fn remaining_counts_down_and_headers_render() {
        let p = per_minute(10);
        let (_, d) = check(None, &p, 0);
        assert_eq!(d.remaining, 9);
        assert_eq!(p.header(), "\"read\";q=10;w=60");
        assert_eq!(d.header(&p), "\"read\";r=9;t=6");
    }

    #[test]
    fn policies_parse_and_refuse_nonsense() {
        let ps = parse_policies("read=600/60, upload=10/1").unwrap();
        assert_eq!(
            ps[1],
            Policy {
                name: "upload".into(),
                limit: 10,
                period_ms: 1000
            }
        );
        assert!(parse_policies("read=0/60").is_err());
        assert!(parse_policies("read600").is_err());
        let o = parse_policies("read=5/1").unwrap();
        assert_eq!(policy_for("read", &[&o, &ps]).unwrap().limit, 5);
        assert_eq!(policy_for("upload", &[&o, &ps]).unwrap().limit, 10);
    }
}
