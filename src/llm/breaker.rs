//! A circuit breaker per provider/model, as a pure state machine. The edge
//! keeps each breaker's state in a Durable Object, so every isolate sees
//! the same one; the fakes keep it in memory.
//!
//! Closed: calls go through; `failures` consecutive failures open it. Open:
//! calls are refused until `cooldown` has passed, then one probe is let
//! through (half-open); its success closes the breaker, its failure opens
//! it again. A probe that never reports back frees the slot after another
//! cooldown.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum State {
    #[default]
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Breaker {
    pub state: State,
    pub failures: u32,
    pub opened_at_ms: u64,
    pub probe_at_ms: Option<u64>,
}

/// Thresholds, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub failures: u32,
    pub cooldown_ms: u64,
}

impl Breaker {
    /// Whether a call may go out now (taking the probe slot when half-open).
    pub fn allow(&mut self, now_ms: u64, p: Policy) -> bool {
        match self.state {
            State::Closed => true,
            State::Open if now_ms >= self.opened_at_ms + p.cooldown_ms => {
                self.state = State::HalfOpen;
                self.probe_at_ms = Some(now_ms);
                true
            }
            State::Open => false,
            State::HalfOpen => match self.probe_at_ms {
                Some(t) if now_ms < t + p.cooldown_ms => false,
                _ => {
                    self.probe_at_ms = Some(now_ms);
                    true
                }
            },
        }
    }

    /// Records the outcome of a call that was allowed.
    pub fn record(&mut self, ok: bool, now_ms: u64, p: Policy) {
        if ok {
            *self = Breaker::default();
            return;
        }
        self.failures += 1;
        if self.state == State::HalfOpen || self.failures >= p.failures {
            self.state = State::Open;
            self.opened_at_ms = now_ms;
            self.probe_at_ms = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy {
        failures: 3,
        cooldown_ms: 1000,
    };

    #[test]
    fn opens_after_consecutive_failures_and_probes_after_cooldown() {
        let mut b = Breaker::default();
        for t in 0..2 {
            assert!(b.allow(t, P));
            b.record(false, t, P);
        }
        assert_eq!(b.state, State::Closed);
        b.record(true, 3, P);
        assert_eq!(b.failures, 0, "a success resets the count");
        for t in 10..13 {
            b.record(false, t, P);
        }
        assert_eq!(b.state, State::Open);
        assert!(!b.allow(500, P));
        assert!(b.allow(1012, P), "one probe after the cooldown");
        assert_eq!(b.state, State::HalfOpen);
        assert!(!b.allow(1013, P), "only one probe at a time");
        b.record(false, 1020, P);
        assert_eq!(b.state, State::Open);
        assert!(b.allow(2020, P));
        b.record(true, 2021, P);
        assert_eq!(b.state, State::Closed);
    }

    #[test]
    fn a_lost_probe_frees_its_slot_after_a_cooldown() {
        let mut b = Breaker {
            state: State::Open,
            failures: 3,
            opened_at_ms: 0,
            probe_at_ms: None,
        };
        assert!(b.allow(1000, P));
        assert!(!b.allow(1500, P));
        assert!(b.allow(2000, P));
    }
}
