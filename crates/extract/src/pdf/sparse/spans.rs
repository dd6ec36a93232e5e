//! Which byte spans to ask for in one round: those wanted, sorted and
//! joined where they nearly touch, then the closest joined until few
//! enough remain.

use super::JOIN_GAP;
use std::collections::BTreeSet;

/// Spans sorted and joined where they overlap or nearly touch.
pub(super) fn joined(want: BTreeSet<(u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (at, len) in want {
        match out.last_mut() {
            Some((o, l)) if at <= *o + *l + JOIN_GAP => *l = (*l).max(at + len - *o),
            _ => out.push((at, len)),
        }
    }
    out
}

/// At most `max` spans: the two with the smallest gap between them are
/// joined until so.
pub(super) fn fewest(mut spans: Vec<(u64, u64)>, max: usize) -> Vec<(u64, u64)> {
    while spans.len() > max.max(1) {
        let i = (0..spans.len() - 1)
            .min_by_key(|&i| spans[i + 1].0.saturating_sub(spans[i].0 + spans[i].1))
            .unwrap_or(0);
        let (at, len) = spans.remove(i + 1);
        let first = &mut spans[i];
        first.1 = (at + len).max(first.0 + first.1) - first.0;
    }
    spans
}
