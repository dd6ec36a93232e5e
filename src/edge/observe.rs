//! Per-call observation at the edge: every D1, R2, queue, LLM and webhook
//! call (operation, latency, outcome, and the request or message it
//! served), and the chaos drills' fault injection (`FAULTS`, refused in
//! production by the configuration).
//!
//! A request's calls go into its one log line (see [`Obs::close`]); a
//! failed or slow call also gets a line of its own at once, and calls made
//! after the request's line (a streamed body, work after the response) or
//! for a queue message or cron run are logged one line each.

use crate::ops::faults::{Fault, Faults};
use crate::trace::TraceContext;
use serde_json::json;
use std::future::Future;
use std::rc::Rc;

/// What every adapter of one request or queue message shares.
#[derive(Clone, Default)]
pub struct Obs {
    inner: Rc<ObsInner>,
}

#[derive(Default)]
struct ObsInner {
    /// The request id, or the queue message / cron run it serves.
    scope: String,
    trace: Option<TraceContext>,
    log_calls: bool,
    faults: Faults,
    /// The calls so far, while they are gathered for a request's line.
    gathered: std::cell::RefCell<Option<Vec<serde_json::Value>>>,
}

/// A call at least this slow gets a line of its own.
const SLOW_CALL_MS: u64 = 1_000;
/// Calls a request's line lists at most (the rest are counted).
const CALLS_IN_LINE: usize = 48;

/// When an injected failure strikes: before the call (it never happens)
/// or after it (it happened, but the caller sees an error, like a timeout
/// on a committed write).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Injected {
    Before,
    After,
}

fn draw() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::getrandom(&mut b).is_err() {
        return 1.0;
    }
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

impl Obs {
    pub fn new(
        scope: impl Into<String>,
        trace: Option<TraceContext>,
        ops: &crate::ops::OpsConfig,
    ) -> Obs {
        Obs {
            inner: Rc::new(ObsInner {
                scope: scope.into(),
                trace,
                log_calls: ops.log_calls,
                faults: ops.faults.clone(),
                gathered: std::cell::RefCell::new(None),
            }),
        }
    }

    /// An observer whose calls are gathered for one request's log line.
    #[cfg(feature = "api")]
    pub fn for_request(
        scope: impl Into<String>,
        trace: Option<TraceContext>,
        ops: &crate::ops::OpsConfig,
    ) -> Obs {
        let obs = Obs::new(scope, trace, ops);
        *obs.inner.gathered.borrow_mut() = Some(Vec::new());
        obs
    }

    /// The calls gathered for the request's line (empty with `LOG_CALLS`
    /// off); calls from now on get lines of their own.
    #[cfg(feature = "api")]
    pub fn close(&self) -> Vec<serde_json::Value> {
        self.inner.gathered.borrow_mut().take().unwrap_or_default()
    }

    /// A `traceparent` for an outbound call: a new span of this trace.
    pub fn child_traceparent(&self) -> Option<String> {
        self.inner.trace.as_ref().map(|t| {
            let mut span = [0u8; 8];
            if getrandom::getrandom(&mut span).is_err() {
                span = [1; 8];
            }
            t.child(span).header()
        })
    }

    /// Applies an injected delay, and says whether this call must fail.
    pub async fn inject(&self, dependency: &str) -> Option<Injected> {
        let faults = &self.inner.faults;
        if faults.is_off() {
            return None;
        }
        match faults.decide(dependency, draw(), draw()) {
            Fault::None => None,
            Fault::Delay(ms) => {
                worker::Delay::from(std::time::Duration::from_millis(ms)).await;
                None
            }
            Fault::Down => Some(Injected::Before),
            Fault::Fail => Some(if draw() < 0.5 {
                Injected::Before
            } else {
                Injected::After
            }),
        }
    }

    /// Records one finished call: in the request's line, or a line of its
    /// own (always for a failed or slow one).
    pub fn log(
        &self,
        dependency: &str,
        op: &str,
        started_ms: u64,
        outcome: &str,
        error: Option<&str>,
    ) {
        let latency = worker::Date::now().as_millis().saturating_sub(started_ms);
        let notable = outcome != "ok" || latency >= SLOW_CALL_MS;
        let mut gathered = self.inner.gathered.borrow_mut();
        if let (Some(calls), true) = (gathered.as_mut(), self.inner.log_calls) {
            if calls.len() < CALLS_IN_LINE {
                calls.push(json!({
                    "dependency": dependency, "op": op, "outcome": outcome, "latency_ms": latency,
                }));
            }
        }
        if !notable && (gathered.is_some() || !self.inner.log_calls) {
            return;
        }
        let line = json!({
            "level": if notable { "warn" } else { "debug" },
            "msg": "call", "ts": crate::time::rfc3339(started_ms),
            "dependency": dependency, "op": op, "outcome": outcome,
            "latency_ms": latency,
            "scope": self.inner.scope,
            "trace_id": self.inner.trace.as_ref().map(|t| t.trace_id.clone()),
            "error": error.map(|e| e.chars().take(200).collect::<String>()),
        });
        worker::console_log!("{line}");
    }

    /// Runs one binding call with fault injection and its log line.
    pub async fn call<T>(
        &self,
        dependency: &'static str,
        op: &str,
        fut: impl Future<Output = worker::Result<T>>,
    ) -> worker::Result<T> {
        let started = worker::Date::now().as_millis();
        let injected = self.inject(dependency).await;
        if injected == Some(Injected::Before) {
            self.log(dependency, op, started, "injected_fault", None);
            return Err(injected_error(dependency));
        }
        let result = fut.await;
        match (&result, injected) {
            (Ok(_), Some(Injected::After)) => {
                self.log(
                    dependency,
                    op,
                    started,
                    "injected_fault",
                    Some("after the call"),
                );
                return Err(injected_error(dependency));
            }
            (Ok(_), _) => self.log(dependency, op, started, "ok", None),
            (Err(e), _) => self.log(dependency, op, started, "error", Some(&e.to_string())),
        }
        result
    }
}

fn injected_error(dependency: &str) -> worker::Error {
    worker::Error::RustError(format!("injected fault: {dependency} unavailable"))
}

/// Classifies a binding error. Constraint violations will fail again the same
/// way; anything else (network, overload, timeouts) may pass on a retry.
pub fn classify(e: worker::Error) -> crate::ports::StoreError {
    let text = e.to_string();
    if text.contains("constraint") || text.contains("SQLITE_ERROR") {
        crate::ports::StoreError::Permanent(text)
    } else {
        crate::ports::StoreError::Transient(text)
    }
}
