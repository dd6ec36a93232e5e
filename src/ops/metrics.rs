//! Request metrics: fixed latency buckets, per-minute rollups, and the
//! percentiles and ratios read back from them. Pure: the edge accumulates
//! per isolate and flushes rollups to D1 (`metrics_minute`), where rows
//! for the same minute and route add up.

use serde::Serialize;
use std::collections::BTreeMap;

/// Upper bounds (inclusive, milliseconds) of the latency buckets; one more
/// bucket holds everything slower than the last bound.
pub const BOUNDS_MS: [u64; 22] = [
    1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
    30000, 60000,
];
pub const BUCKETS: usize = BOUNDS_MS.len() + 1;

/// The bucket a latency falls into.
pub fn bucket_of(ms: u64) -> usize {
    BOUNDS_MS
        .iter()
        .position(|b| ms <= *b)
        .unwrap_or(BOUNDS_MS.len())
}

/// Counts and a latency histogram for one route over some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub count: u64,
    /// Responses with status 500 and above.
    pub errors: u64,
    /// Responses with status 400 to 499.
    pub client_errors: u64,
    pub sum_ms: u64,
    pub buckets: [u64; BUCKETS],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            errors: 0,
            client_errors: 0,
            sum_ms: 0,
            buckets: [0; BUCKETS],
        }
    }
}

impl Stats {
    pub fn record(&mut self, status: u16, ms: u64) {
        self.count += 1;
        if status >= 500 {
            self.errors += 1;
        } else if status >= 400 {
            self.client_errors += 1;
        }
        self.sum_ms += ms;
        self.buckets[bucket_of(ms)] += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.errors += other.errors;
        self.client_errors += other.client_errors;
        self.sum_ms += other.sum_ms;
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
    }

    /// The latency under which a fraction `q` of requests fell, as the
    /// upper bound of its bucket (so never an underestimate); `None`
    /// without requests. Past the last bound it reports that bound.
    pub fn percentile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some(BOUNDS_MS[i.min(BOUNDS_MS.len() - 1)]);
            }
        }
        BOUNDS_MS.last().copied()
    }

    /// Requests that took at most `threshold_ms`, counted by whole
    /// buckets: a threshold between two bounds counts up to the lower one.
    pub fn at_most(&self, threshold_ms: u64) -> u64 {
        BOUNDS_MS
            .iter()
            .zip(self.buckets.iter())
            .filter(|(bound, _)| **bound <= threshold_ms)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One route's requests in one minute (`minute` is Unix minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub minute: u64,
    pub name: String,
    pub stats: Stats,
}

/// What an isolate has counted since its last flush.
#[derive(Debug, Default)]
pub struct Accumulator {
    rows: BTreeMap<(u64, String), Stats>,
    last_flush_ms: u64,
}

impl Accumulator {
    pub fn record(&mut self, now_ms: u64, name: &str, status: u16, latency_ms: u64) {
        self.rows
            .entry((now_ms / 60_000, name.to_string()))
            .or_default()
            .record(status, latency_ms);
    }

    /// Everything counted so far, when the last flush is at least
    /// `every_ms` old or a minute has closed since; otherwise nothing.
    pub fn take_due(&mut self, now_ms: u64, every_ms: u64) -> Vec<Rollup> {
        let minute = now_ms / 60_000;
        let closed = self.rows.keys().any(|(m, _)| *m < minute);
        if self.rows.is_empty() || (!closed && now_ms.saturating_sub(self.last_flush_ms) < every_ms)
        {
            return Vec::new();
        }
        self.last_flush_ms = now_ms;
        std::mem::take(&mut self.rows)
            .into_iter()
            .map(|((minute, name), stats)| Rollup {
                minute,
                name,
                stats,
            })
            .collect()
    }

    /// Puts back rollups whose flush failed, so they go with the next one.
    pub fn restore(&mut self, rollups: Vec<Rollup>) {
        for r in rollups {
            self.rows
                .entry((r.minute, r.name))
                .or_default()
                .merge(&r.stats);
        }
    }
}

/// A route's figures over a window, as `GET /v1/admin/metrics` shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteSummary {
    pub route: String,
    pub requests: u64,
    pub server_errors: u64,
    pub client_errors: u64,
    /// Server errors over requests.
    pub error_rate: f64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub mean_ms: Option<f64>,
}

pub fn summarize(route: &str, s: &Stats) -> RouteSummary {
    RouteSummary {
        route: route.to_string(),
        requests: s.count,
        server_errors: s.errors,
        client_errors: s.client_errors,
        error_rate: ratio(s.errors, s.count),
        p50_ms: s.percentile(0.50),
        p95_ms: s.percentile(0.95),
        p99_ms: s.percentile(0.99),
        mean_ms: (s.count > 0).then(|| round3(s.sum_ms as f64 / s.count as f64)),
    }
}

/// `part / whole`, 0 when there is no whole, to four decimal places.
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Percentiles of raw samples (used for job timings read from D1).
pub fn sample_percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_inclusive_upper_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1), 0);
        assert_eq!(bucket_of(2), 1);
        assert_eq!(bucket_of(101), 9);
        assert_eq!(bucket_of(60_000), BOUNDS_MS.len() - 1);
        assert_eq!(bucket_of(60_001), BOUNDS_MS.len());
    }

    #[test]
    fn percentiles_come_from_bucket_bounds() {
        let mut s = Stats::default();
        for ms in 1..=100u64 {
            s.record(200, ms);
        }
        // 50th request took 50 ms: bucket (30, 50].
        assert_eq!(s.percentile(0.5), Some(50));
        // 95th took 95 ms: bucket (75, 100].
        assert_eq!(s.percentile(0.95), Some(100));
        assert_eq!(s.percentile(0.99), Some(100));
        assert_eq!(Stats::default().percentile(0.5), None);
        let mut slow = Stats::default();
        slow.record(200, 120_000);
        assert_eq!(slow.percentile(0.5), Some(60_000));
    }

    #[test]
    fn errors_are_split_by_class_and_merge_adds() {
        let mut a = Stats::default();
        a.record(200, 5);
        a.record(404, 5);
        a.record(503, 900);
        let mut b = a.clone();
        b.merge(&a);
        assert_eq!((b.count, b.errors, b.client_errors), (6, 2, 2));
        assert_eq!(b.sum_ms, 2 * 910);
        assert_eq!(b.at_most(10), 4);
        assert_eq!(b.at_most(1000), 6);
        let sum = summarize("GET X", &a);
        assert_eq!(sum.error_rate, 0.3333);
        assert_eq!(sum.p99_ms, Some(1000));
    }

    #[test]
    fn the_accumulator_flushes_when_due_and_keeps_failed_flushes() {
        let mut acc = Accumulator::default();
        acc.record(60_000, "GET A", 200, 3);
        // First flush of an isolate happens at once.
        let first = acc.take_due(60_001, 10_000);
        assert_eq!(first.len(), 1);
        acc.record(61_000, "GET A", 200, 3);
        assert!(acc.take_due(62_000, 10_000).is_empty(), "not due yet");
        acc.record(62_000, "GET A", 500, 3);
        // The flush failed: put it back, it leaves with the next one.
        let due = acc.take_due(75_000, 10_000);
        assert_eq!(due[0].stats.count, 2);
        acc.restore(due);
        acc.record(121_000, "GET B", 200, 3);
        let mut due = acc.take_due(121_001, 10_000);
        due.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(due.len(), 2, "minute 1 closed: everything leaves");
        assert_eq!(
            (due[0].minute, due[0].stats.count, due[0].stats.errors),
            (1, 2, 1)
        );
        assert_eq!(due[1].minute, 2);
    }

    #[test]
    fn sample_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(sample_percentile(&v, 0.5), Some(5));
        assert_eq!(sample_percentile(&v, 0.95), Some(10));
        assert_eq!(sample_percentile(&[], 0.5), None);
    }
}
