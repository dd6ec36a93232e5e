//! The fault-injection switch for chaos drills: `FAULTS` names, per
//! dependency, the fraction of calls that fail, and optionally a fraction
//! that is delayed. Refused in production (see `Config`).

use serde::Serialize;

pub const DEPENDENCIES: [&str; 6] = ["d1", "r2", "queue", "llm", "webhook", "tenant"];

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Faults {
    /// (dependency, failure rate from 0 to 1).
    pub fail: Vec<(String, f64)>,
    /// Dependencies whose failures all strike before the call (`d1=1:down`,
    /// an outage: nothing reaches it), not half of them after it took effect.
    pub down: Vec<String>,
    /// Fraction of calls (any dependency) delayed, and by how long.
    pub delay_rate: f64,
    pub delay_ms: u64,
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Fail,
    /// Fails before the call: the dependency is down.
    Down,
    Delay(u64),
}

impl Faults {
    /// Parses `d1=0.05,r2=0.3,queue=0.3,llm=0.3,webhook=0.3,delay=0.1:200ms`.
    pub fn parse(spec: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("'{item}' is not dependency=rate"))?;
            let name = name.trim();
            let (rate, extra) = match value.split_once(':') {
                Some((r, e)) => (r, Some(e.trim())),
                None => (value, None),
            };
            let rate: f64 = rate
                .trim()
                .parse()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| format!("rate '{rate}' must be from 0 to 1"))?;
            if name == "delay" {
                let ms = extra
                    .and_then(|e| e.strip_suffix("ms"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|ms| *ms <= 60_000)
                    .ok_or_else(|| "delay is rate:<n>ms, at most 60000ms".to_string())?;
                f.delay_rate = rate;
                f.delay_ms = ms;
            } else if DEPENDENCIES.contains(&name) && matches!(extra, None | Some("down")) {
                f.fail.push((name.to_string(), rate));
                if extra.is_some() {
                    f.down.push(name.to_string());
                }
            } else {
                return Err(format!(
                    "unknown dependency '{name}' (one of {}, or delay)",
                    DEPENDENCIES.join(", ")
                ));
            }
        }
        Ok(f)
    }

    pub fn is_off(&self) -> bool {
        self.delay_rate == 0.0 && self.fail.iter().all(|(_, r)| *r == 0.0)
    }

    /// The fault for a call to `dependency`, given two uniform draws in [0, 1).
    pub fn decide(&self, dependency: &str, draw_fail: f64, draw_delay: f64) -> Fault {
        let rate = self
            .fail
            .iter()
            .find(|(d, _)| d == dependency)
            .map_or(0.0, |(_, r)| *r);
        if draw_fail < rate && self.down.iter().any(|d| d == dependency) {
            Fault::Down
        } else if draw_fail < rate {
            Fault::Fail
        } else if draw_delay < self.delay_rate {
            Fault::Delay(self.delay_ms)
        } else {
            Fault::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_delays() {
        let f = Faults::parse("d1=0.05, r2=0.3,delay=0.1:200ms").unwrap();
        assert_eq!(f.fail, vec![("d1".into(), 0.05), ("r2".into(), 0.3)]);
        assert_eq!((f.delay_rate, f.delay_ms), (0.1, 200));
        assert!(!f.is_off());
        assert!(Faults::parse("").unwrap().is_off());
        for bad in [
            "kv=0.1",
            "d1=2",
            "d1",
            "delay=0.1",
            "delay=0.1:9s",
            "d1=0.1:5ms",
        ] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decides_by_rate() {
        let f = Faults::parse("r2=0.3,delay=0.5:10ms").unwrap();
        assert_eq!(f.decide("r2", 0.29, 0.9), Fault::Fail);
        assert_eq!(f.decide("r2", 0.31, 0.9), Fault::None);
        assert_eq!(f.decide("r2", 0.31, 0.4), Fault::Delay(10));
        assert_eq!(f.decide("d1", 0.0, 0.9), Fault::None, "d1 not named");
    }

    #[test]
    fn an_outage_fails_every_call_before_it_is_made() {
        let f = Faults::parse("d1=1:down,r2=0.5").unwrap();
        assert_eq!(f.decide("d1", 0.99, 0.9), Fault::Down);
        assert_eq!(f.decide("r2", 0.1, 0.9), Fault::Fail);
        assert!(Faults::parse("d1=1:up").is_err());
    }
}
