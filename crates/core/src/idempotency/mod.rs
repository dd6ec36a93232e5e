//! Idempotency keys (IETF draft semantics, as Stripe does): the first
//! response to a POST with `Idempotency-Key` is stored per (tenant, key)
//! for 24 h and replayed byte for byte; a retry with a different request
//! is 422; a retry while the first is still running is 409. Responses that
//! end before anything was executed (4xx) are not stored, so the client may
//! fix the request and retry with the same key. The decision is pure; the
//! state lives in a Durable Object per tenant.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a stored response is replayed.
pub const TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// After this long, an unfinished first request is presumed dead and a
/// retry may take over.
pub const IN_FLIGHT_MS: u64 = 60_000;

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Base64 of the body bytes, so the replay is byte-exact.
    pub body_b64: String,
}

impl StoredResponse {
    pub fn of(status: u16, headers: &[(String, String)], body: &[u8]) -> StoredResponse {
        let kept = headers
            .iter()
            .filter(|(n, _)| matches!(n.as_str(), "content-type" | "location" | "cache-control"))
            .cloned()
            .collect();
        StoredResponse {
            status,
            headers: kept,
            body_b64: B64.encode(body),
        }
    }

    pub fn body(&self) -> Vec<u8> {
        B64.decode(&self.body_b64).unwrap_or_default()
    }
}

/// What is stored under one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub fingerprint: String,
    pub started_ms: u64,
    pub expires_ms: u64,
    pub response: Option<StoredResponse>,
}

/// What to do with a request carrying a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// First of its kind: run it, then complete or abandon.
    Proceed,
    /// Seen and finished: send this again.
    Replay { response: StoredResponse },
    /// Seen and still running.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

/// Decides a `begin`; returns the outcome and the entry to store, if any.
pub fn begin(existing: Option<&Entry>, fingerprint: &str, now_ms: u64) -> (Outcome, Option<Entry>) {
    let fresh = || Entry {
        fingerprint: fingerprint.to_string(),
        started_ms: now_ms,
        expires_ms: now_ms + TTL_MS,
        response: None,
    };
    match existing {
        Some(e) if e.expires_ms > now_ms => {
            if e.fingerprint != fingerprint {
                (Outcome::Mismatch, None)
            } else if let Some(r) = &e.response {
                (
                    Outcome::Replay {
                        response: r.clone(),
                    },
                    None,
                )
            } else if now_ms < e.started_ms + IN_FLIGHT_MS {
                (Outcome::InFlight, None)
            } else {
                (Outcome::Proceed, Some(fresh()))
            }
        }
        _ => (Outcome::Proceed, Some(fresh())),
    }
}

/// Whether a response is kept for replay: success, and server errors whose
/// effects are unknown (500). Client errors are not (nothing ran), nor is
/// 503: a dependency was down and the handler undid or never did its work,
/// so the client's retry with the same key must run it.
pub fn should_store(status: u16) -> bool {
    (200..300).contains(&status) || (status >= 500 && status != 503)
}

/// The request's fingerprint: method, path, content type and body.
pub fn fingerprint(method: &str, path: &str, content_type: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), content_type.as_bytes()] {
        h.update(part);
        h.update([0]);
    }
    h.update(body);
    hex::encode(h.finalize())
}

/// Checks the header value: 1–255 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(fp: &str) -> Entry {
        Entry {
            fingerprint: fp.into(),
            started_ms: 0,
            expires_ms: TTL_MS,
            response: Some(StoredResponse::of(201, &[], b"{}")),
        }
    }

    #[test]
    fn first_request_proceeds_and_is_recorded_in_flight() {
        let (o, e) = begin(None, "a", 5);
        assert_eq!(o, Outcome::Proceed);
        assert_eq!(e.unwrap().expires_ms, 5 + TTL_MS);
    }

    #[test]
    fn retries_replay_conflict_or_mismatch() {
        assert!(matches!(
            begin(Some(&done("a")), "a", 10).0,
            Outcome::Replay { .. }
        ));
        assert_eq!(begin(Some(&done("a")), "b", 10).0, Outcome::Mismatch);
        let running = Entry {
            response: None,
            ..done("a")
        };
        assert_eq!(begin(Some(&running), "a", 10).0, Outcome::InFlight);
        assert_eq!(
            begin(Some(&running), "a", IN_FLIGHT_MS + 1).0,
            Outcome::Proceed
        );
        assert_eq!(
            begin(Some(&done("a")), "b", TTL_MS + 1).0,
            Outcome::Proceed,
            "expired"
        );
    }

    #[test]
    fn only_executed_outcomes_are_stored_and_bodies_round_trip() {
        assert!(should_store(201) && should_store(500) && !should_store(503));
        assert!(!should_store(422) && !should_store(429) && !should_store(409));
        let r = StoredResponse::of(
            201,
            &[
                ("location".into(), "/x".into()),
                ("x-request-id".into(), "r".into()),
            ],
            b"\\xff\\x00",
        );
        assert_eq!(r.body(), b"\\xff\\x00");
        assert_eq!(r.headers, vec![("location".to_string(), "/x".to_string())]);
    }

    #[test]
    fn keys_are_checked() {
        assert!(valid_key("order-42"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"x".repeat(256)));
    }
}
