//! Service-level objectives: their configuration, the indicators measured
//! from metrics, multi-window burn-rate alerting, and alert state changes
//! (fire once, resolve once). Pure; the cron run feeds it numbers from D1.

use super::metrics::Stats;
use serde::Serialize;

/// What an objective measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SloKind {
    /// Requests answered without a server error (4xx are the caller's and
    /// count neither way).
    Availability,
    /// `GET` requests answered within the threshold.
    ReadLatency { threshold_ms: u64 },
    /// Jobs succeeded within the time after creation; cancelled jobs do not
    /// count, failed ones and late ones count against.
    JobCompletion { within_ms: u64 },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slo {
    pub name: String,
    #[serde(flatten)]
    pub kind: SloKind,
    /// The target fraction of good events, e.g. 0.999.
    pub objective: f64,
}

pub const DEFAULT_SLOS: &str = "availability=99.9; read_latency=99@1000ms; job_completion=99@15m";

/// Parses `availability=99.9; read_latency=99@1000ms; job_completion=99@15m`.
pub fn parse_slos(spec: &str) -> Result<Vec<Slo>, String> {
    let mut out = Vec::new();
    for item in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, rest) = item
            .split_once('=')
            .ok_or_else(|| format!("'{item}' is not name=objective"))?;
        let (target, threshold) = match rest.split_once('@') {
            Some((t, th)) => (t.trim(), Some(th.trim())),
            None => (rest.trim(), None),
        };
        let percent: f64 = target
            .trim_end_matches('%')
            .parse()
            .map_err(|_| format!("'{target}' is not a percentage"))?;
        if !(50.0..100.0).contains(&percent) {
            return Err(format!(
                "objective {percent} must be at least 50 and below 100"
            ));
        }
        let need = |what: &str| {
            let th = threshold.ok_or_else(|| format!("{name} needs @{what}"))?;
            parse_duration_ms(th)
                .ok_or_else(|| format!("'{th}' is not a duration like 500ms, 30s or 15m"))
        };
        let kind = match name.trim() {
            "availability" if threshold.is_none() => SloKind::Availability,
            "read_latency" => SloKind::ReadLatency {
                threshold_ms: need("threshold")?,
            },
            "job_completion" => SloKind::JobCompletion {
                within_ms: need("time")?,
            },
            other => return Err(format!("unknown objective '{other}'")),
        };
        out.push(Slo {
            name: name.trim().to_string(),
            kind,
            objective: percent / 100.0,
        });
    }
    Ok(out)
}

fn parse_duration_ms(s: &str) -> Option<u64> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "s" => n * 1000,
        "m" => n * 60_000,
        "h" => n * 3_600_000,
        _ => return None,
    };
    (ms > 0).then_some(ms)
}

/// Good events out of all counted events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sli {
    pub good: u64,
    pub total: u64,
}

impl Sli {
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }
}

/// A request objective's indicator from per-route stats (names are
/// `"METHOD route"`). `None` for job objectives, which come from jobs.
pub fn request_sli(kind: &SloKind, routes: &[(String, Stats)]) -> Option<Sli> {
    match kind {
        SloKind::Availability => {
            let total: u64 = routes.iter().map(|(_, s)| s.count - s.client_errors).sum();
            let bad: u64 = routes.iter().map(|(_, s)| s.errors).sum();
            Some(Sli {
                good: total - bad,
                total,
            })
        }
        SloKind::ReadLatency { threshold_ms } => {
            let reads = routes.iter().filter(|(n, _)| n.starts_with("GET "));
            let (good, total) = reads.fold((0, 0), |(g, t), (_, s)| {
                (g + s.at_most(*threshold_ms), t + s.count)
            });
            Some(Sli { good, total })
        }
        SloKind::JobCompletion { .. } => None,
    }
}

/// How fast the error budget burns: the bad fraction over what the
/// objective allows (1.0 spends exactly the budget over the period).
pub fn burn_rate(sli: Sli, objective: f64) -> f64 {
    if sli.total == 0 {
        return 0.0;
    }
    let bad = sli.bad() as f64 / sli.total as f64;
    ((bad / (1.0 - objective)) * 100.0).round() / 100.0
}

/// Error budget left over the period, as a fraction (negative when spent).
pub fn budget_remaining(sli: Sli, objective: f64) -> f64 {
    if sli.total == 0 {
        return 1.0;
    }
    let allowed = sli.total as f64 * (1.0 - objective);
    ((1.0 - sli.bad() as f64 / allowed) * 10_000.0).round() / 10_000.0
}

/// Multi-window burn-rate rules (the SRE workbook's): both the long and
/// the short window must burn faster than the factor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BurnRule {
    pub severity: &'static str,
    pub long_minutes: u64,
    pub short_minutes: u64,
    pub factor: f64,
}

pub const BURN_RULES: [BurnRule; 2] = [
    BurnRule {
        severity: "page",
        long_minutes: 60,
        short_minutes: 5,
        factor: 14.4,
    },
    BurnRule {
        severity: "ticket",
        long_minutes: 360,
        short_minutes: 30,
        factor: 6.0,
    },
];

/// Every window the rules need, in minutes.
pub fn windows() -> Vec<u64> {
    let mut w: Vec<u64> = BURN_RULES
        .iter()
        .flat_map(|r| [r.long_minutes, r.short_minutes])
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// A condition that should be alerting now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub slo: String,
    pub severity: String,
    pub summary: String,
}

/// Whether `rule` fires for an objective given its long- and short-window
/// indicators.
pub fn check(slo: &Slo, rule: &BurnRule, long: Sli, short: Sli) -> Option<Candidate> {
    let (bl, bs) = (
        burn_rate(long, slo.objective),
        burn_rate(short, slo.objective),
    );
    (bl > rule.factor && bs > rule.factor).then(|| Candidate {
        id: format!("{}:{}", slo.name, rule.severity),
        slo: slo.name.clone(),
        severity: rule.severity.to_string(),
        summary: format!(
            "{} is burning its error budget {bl}x over {} min and {bs}x over {} min (threshold {}x)",
            slo.name, rule.long_minutes, rule.short_minutes, rule.factor
        ),
    })
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: String,
    pub slo: String,
    pub severity: String,
    /// `firing` or `resolved`.
    pub state: String,
    pub summary: String,
    pub opened_at_ms: u64,
    pub resolved_at_ms: Option<u64>,
    /// The last state the alert receiver acknowledged (2xx), if any.
    pub notified: Option<String>,
}

impl Alert {
    pub fn needs_notice(&self) -> bool {
        self.notified.as_deref() != Some(self.state.as_str())
    }
}

/// The alerts that change: new ones fire, firing ones whose condition is
/// gone resolve; one already firing stays as it is (no repeat notice).
pub fn transitions(current: &[Alert], firing: &[Candidate], now_ms: u64) -> Vec<Alert> {
    let mut changed = Vec::new();
    for c in firing {
        let open = current.iter().find(|a| a.id == c.id);
        if open.is_none_or(|a| a.state != "firing") {
            changed.push(Alert {
                id: c.id.clone(),
                slo: c.slo.clone(),
                severity: c.severity.clone(),
                state: "firing".into(),
                summary: c.summary.clone(),
                opened_at_ms: now_ms,
                resolved_at_ms: None,
                notified: None,
            });
        }
    }
    for a in current.iter().filter(|a| a.state == "firing") {
        if !firing.iter().any(|c| c.id == a.id) {
            changed.push(Alert {
                state: "resolved".into(),
                resolved_at_ms: Some(now_ms),
                ..a.clone()
            });
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(ok: u64, client: u64, server: u64, ms: u64) -> Stats {
        let mut s = Stats::default();
        (0..ok).for_each(|_| s.record(200, ms));
        (0..client).for_each(|_| s.record(404, ms));
        (0..server).for_each(|_| s.record(503, ms));
        s
    }

    #[test]
    fn parses_the_default_and_refuses_nonsense() {
        let slos = parse_slos(DEFAULT_SLOS).unwrap();
        assert_eq!(slos.len(), 3);
        assert_eq!(slos[0].kind, SloKind::Availability);
        assert!((slos[0].objective - 0.999).abs() < 1e-9);
        assert_eq!(slos[1].kind, SloKind::ReadLatency { threshold_ms: 1000 });
        assert_eq!(slos[2].kind, SloKind::JobCompletion { within_ms: 900_000 });
        for bad in [
            "availability",
            "availability=100",
            "availability=abc",
            "read_latency=99",
            "read_latency=99@fast",
            "job_completion=99@0m",
            "uptime=99.9",
            "availability=99@1s",
        ] {
            assert!(parse_slos(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn availability_ignores_client_errors() {
        let routes = vec![
            ("GET A".to_string(), stats(990, 500, 10, 5)),
            ("POST B".to_string(), stats(0, 100, 0, 5)),
        ];
        let sli = request_sli(&SloKind::Availability, &routes).unwrap();
        assert_eq!(
            sli,
            Sli {
                good: 990,
                total: 1000
            }
        );
        // 1 % bad against a 0.1 % allowance: burning 10x.
        assert_eq!(burn_rate(sli, 0.999), 10.0);
        assert_eq!(budget_remaining(sli, 0.999), -9.0);
        assert_eq!(budget_remaining(Sli::default(), 0.999), 1.0);
    }

    #[test]
    fn read_latency_counts_only_gets_within_the_threshold() {
        let routes = vec![
            ("GET A".to_string(), stats(90, 0, 0, 40)),
            ("GET A2".to_string(), stats(10, 0, 0, 4000)),
            ("POST B".to_string(), stats(50, 0, 0, 4000)),
        ];
        let kind = SloKind::ReadLatency { threshold_ms: 1000 };
        assert_eq!(
            request_sli(&kind, &routes).unwrap(),
            Sli {
                good: 90,
                total: 100
            }
        );
    }

    #[test]
    fn both_windows_must_burn_to_fire() {
        let slo = &parse_slos("availability=99").unwrap()[0];
        let rule = &BURN_RULES[0];
        let hot = Sli {
            good: 80,
            total: 100,
        }; // 20x
        let cool = Sli {
            good: 99,
            total: 100,
        }; // 1x
        assert!(check(slo, rule, hot, hot).is_some());
        assert!(check(slo, rule, hot, cool).is_none(), "already recovering");
        assert!(check(slo, rule, cool, hot).is_none(), "a blip");
        assert_eq!(check(slo, rule, hot, hot).unwrap().id, "availability:page");
        assert_eq!(windows(), vec![5, 30, 60, 360]);
    }

    #[test]
    fn alerts_fire_once_and_resolve_once() {
        let cand = Candidate {
            id: "availability:page".into(),
            slo: "availability".into(),
            severity: "page".into(),
            summary: "hot".into(),
        };
        let opened = transitions(&[], std::slice::from_ref(&cand), 1000);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].state, "firing");
        assert!(opened[0].needs_notice());
        let mut stored = opened[0].clone();
        stored.notified = Some("firing".into());
        assert!(!stored.needs_notice());
        // Still burning: nothing changes, nothing is sent again.
        assert!(transitions(
            std::slice::from_ref(&stored),
            std::slice::from_ref(&cand),
            2000
        )
        .is_empty());
        // Cooled down: resolves once.
        let resolved = transitions(&[stored.clone()], &[], 3000);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].state, "resolved");
        assert_eq!(resolved[0].resolved_at_ms, Some(3000));
        assert!(resolved[0].needs_notice());
        assert!(transitions(&resolved, &[], 4000).is_empty());
        // Burning again later: a new firing.
        assert_eq!(transitions(&resolved, &[cand], 5000)[0].state, "firing");
    }
}
