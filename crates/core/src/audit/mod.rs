//! The audit log: an append-only, hash-chained record per tenant of every
//! security-relevant action. Each entry stores the hash of the one before
//! it, so changing, removing or reordering any entry breaks every hash
//! after it. Pure: storage goes through [`crate::ports::Directory`].

use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    pub tenant_id: String,
    pub at_ms: u64,
    /// `key:<id>`, `user:<id>`, `operator` or `anonymous`.
    pub actor: String,
    /// The credential used: `key:<id>` or `jwt`.
    pub via: Option<String>,
    /// Dotted verb such as `document.read` or `key.revoked`.
    pub action: String,
    /// `document:<id>`, `key:<id>` …
    pub resource: Option<String>,
    /// `success`, `denied`, `not_found` or `error`.
    pub outcome: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// A small JSON object (never document text or secrets), as text.
    pub detail: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    #[serde(skip)]
    pub tenant_id: String,
    pub seq: u64,
    #[serde(skip)]
    pub at_ms: u64,
    pub actor: String,
    pub via: Option<String>,
    pub action: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[serde(skip)]
    pub detail: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// Places a draft after `head` (the tenant's last entry's seq and hash).
    pub fn chain(draft: Draft, head: Option<(u64, String)>) -> Entry {
        let (seq, prev_hash) = match head {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS.to_string()),
        };
        let mut e = Entry {
            tenant_id: draft.tenant_id,
            seq,
            at_ms: draft.at_ms,
            actor: draft.actor,
            via: draft.via,
            action: draft.action,
            resource: draft.resource,
            outcome: draft.outcome,
            ip: draft.ip,
            request_id: draft.request_id,
            detail: draft.detail,
            prev_hash,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// SHA-256 over a canonical JSON array of every stored field but the
    /// hash itself.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.tenant_id,
            self.seq,
            self.at_ms,
            self.actor,
            self.via,
            self.action,
            self.resource,
            self.outcome,
            self.ip,
            self.request_id,
            self.detail,
            self.prev_hash,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    /// The entry as the API shows it.
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["at"] = serde_json::Value::String(crate::time::rfc3339(self.at_ms));
        v["detail"] = self
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(serde_json::Value::Null);
        v
    }
}

/// Where and why a chain check failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Broken {
    pub seq: u64,
    pub reason: &'static str,
}

/// Checks a run of entries in ascending order that follows `prev` (the
/// entry before the run, or `None` at the start of the chain).
pub fn verify(prev: Option<(u64, &str)>, entries: &[Entry]) -> Result<(), Broken> {
    let (mut seq, mut hash) = prev.unwrap_or((0, GENESIS));
    for e in entries {
        if e.seq != seq + 1 {
            return Err(Broken {
                seq: seq + 1,
                reason: "entry missing or out of order",
            });
        }
        if e.prev_hash != hash {
            return Err(Broken {
                seq: e.seq,
                reason: "prev_hash does not match the previous entry",
            });
        }
        if e.compute_hash() != e.hash {
            return Err(Broken {
                seq: e.seq,
                reason: "entry was changed after it was written",
            });
        }
        seq = e.seq;
        hash = &e.hash;
    }
    Ok(())
}

/// Filters of `GET /v1/audit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub resource: Option<String>,
    pub outcome: Option<String>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
}

impl Filter {
    pub fn admits(&self, e: &Entry) -> bool {
        fn eq(want: &Option<String>, got: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| Some(w) == got)
        }
        // `action=document` matches every `document.*` action.
        let action_ok = self.action.as_deref().is_none_or(|a| {
            e.action == a || e.action.strip_prefix(a).is_some_and(|r| r.starts_with('.'))
        });
        action_ok
            && eq(&self.actor, Some(&e.actor))
            && eq(&self.resource, e.resource.as_deref())
            && eq(&self.outcome, Some(&e.outcome))
            && self.since_ms.is_none_or(|t| e.at_ms >= t)
            && self.until_ms.is_none_or(|t| e.at_ms < t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(action: &str) -> Draft {
        Draft {
            tenant_id: "ten_1".into(),
            at_ms: 1_700_000_000_000,
            actor: "key:key_1".into(),
            via: Some("key:key_1".into()),
            action: action.into(),
            resource: Some("document:doc_1".into()),
            outcome: "success".into(),
            ip: Some("203.0.113.9".into()),
            request_id: Some("req_1".into()),
            detail: None,
        }
    }

    fn chain_of(n: usize) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for i in 0..n {
            let head = out.last().map(|e| (e.seq, e.hash.clone()));
            out.push(Entry::chain(draft(&format!("document.read{i}")), head));
        }
        out
    }

    #[test]
    fn a_chain_verifies_and_links_each_entry_to_the_last() {
        let c = chain_of(4);
        assert_eq!(c[0].prev_hash, GENESIS);
        assert_eq!(c[0].seq, 1);
        assert_eq!(c[3].prev_hash, c[2].hash);
        assert_eq!(verify(None, &c), Ok(()));
        // A later run verifies from the entry before it.
        assert_eq!(verify(Some((2, &c[1].hash)), &c[2..]), Ok(()));
    }

    #[test]
    fn tampering_in_any_way_is_found_where_it_happened() {
        let mut edited = chain_of(4);
        edited[1].outcome = "denied".into();
        assert_eq!(verify(None, &edited).unwrap_err().seq, 2);

        let mut rehashed = chain_of(4);
        rehashed[1].actor = "key:someone_else".into();
        rehashed[1].hash = rehashed[1].compute_hash();
        // The edited entry now hashes fine; the next one no longer links.
        let err = verify(None, &rehashed).unwrap_err();
        assert_eq!(
            (err.seq, err.reason),
            (3, "prev_hash does not match the previous entry")
        );

        let mut removed = chain_of(4);
        removed.remove(2);
        assert_eq!(verify(None, &removed).unwrap_err().seq, 3);

        let mut swapped = chain_of(4);
        swapped.swap(1, 2);
        assert!(verify(None, &swapped).is_err());
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = Entry::chain(draft("key.revoked"), None);
        let variants: [fn(&mut Entry); 8] = [
            |e| e.tenant_id.push('x'),
            |e| e.at_ms += 1,
            |e| e.via = None,
            |e| e.resource = None,
            |e| e.ip = None,
            |e| e.request_id = None,
            |e| e.detail = Some("{}".into()),
            |e| e.prev_hash = "1".repeat(64),
        ];
        for change in variants {
            let mut e = base.clone();
            change(&mut e);
            assert_ne!(e.compute_hash(), base.hash);
        }
    }

    #[test]
    fn filters_match_prefixes_of_actions_and_time_windows() {
        let e = Entry::chain(draft("document.read"), None);
        let f = |action: &str| Filter {
            action: Some(action.into()),
            ..Filter::default()
        };
        assert!(f("document").admits(&e));
        assert!(f("document.read").admits(&e));
        assert!(!f("document.re").admits(&e));
        assert!(!f("key").admits(&e));
        let window = Filter {
            since_ms: Some(e.at_ms),
            until_ms: Some(e.at_ms + 1),
            ..Filter::default()
        };
        assert!(window.admits(&e));
        let later = Filter {
            since_ms: Some(e.at_ms + 1),
            ..Filter::default()
        };
        assert!(!later.admits(&e));
    }
}
