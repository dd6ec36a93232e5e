//! API keys (and their users) remembered by an isolate between requests,
//! so most requests read no credential from the database.
//!
//! Safety rests on the tenant's auth epoch, which every request's gate
//! call returns and every change to who may call bumps (after writing the
//! change): a credential is used from here only under the epoch it was
//! cached at, and cached only when the epoch the gate returned after its
//! database read had already been seen *before* that read began (epochs
//! only grow, so none was bumped in between): a change made around the
//! read can never be cached over. Entries also age out, in case a bump
//! was lost.

use super::{ApiKey, User};
use std::cell::RefCell;
use std::collections::HashMap;

/// The longest a credential is used without a database read.
pub const TTL_MS: u64 = 60_000;
/// Entries kept at most (then the cache starts again empty).
pub const CAPACITY: usize = 4096;

/// A credential as read from the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub key: ApiKey,
    pub user: Option<User>,
    /// The tenant's epoch it is valid under.
    pub epoch: u64,
    pub read_at_ms: u64,
}

/// The isolate's credentials, by key hash.
#[derive(Debug, Default)]
pub struct Credentials {
    entries: RefCell<HashMap<String, Cached>>,
    /// The last epoch seen per tenant, with the observation it was first
    /// seen at.
    epochs: RefCell<HashMap<String, (u64, u64)>>,
    /// Observations so far.
    seen: std::cell::Cell<u64>,
}

impl Credentials {
    /// The credential for a key hash, if cached and young enough.
    pub fn get(&self, hash: &str, now_ms: u64) -> Option<Cached> {
        let entries = self.entries.borrow();
        let c = entries.get(hash)?;
        (now_ms < c.read_at_ms.saturating_add(TTL_MS)).then(|| c.clone())
    }

    /// Where observations stand, taken before a credential is read.
    pub fn mark(&self) -> u64 {
        self.seen.get()
    }

    /// Records the epoch a gate answered with; a change drops the
    /// tenant's cached credentials.
    pub fn observe(&self, tenant_id: &str, epoch: u64) {
        let n = self.seen.get() + 1;
        self.seen.set(n);
        let mut epochs = self.epochs.borrow_mut();
        match epochs.get(tenant_id) {
            Some((e, _)) if *e == epoch => {}
            previous => {
                let changed = previous.is_some();
                epochs.insert(tenant_id.to_string(), (epoch, n));
                if changed {
                    self.entries
                        .borrow_mut()
                        .retain(|_, c| c.key.tenant_id != tenant_id);
                }
            }
        }
    }

    /// Keeps a credential whose read began at `mark`, if its epoch was
    /// already current then (see the module comment).
    pub fn keep(&self, hash: &str, cached: Cached, mark: u64) {
        let current = self.epochs.borrow().get(&cached.key.tenant_id).copied();
        if !current.is_some_and(|(e, at)| e == cached.epoch && at <= mark) {
            return;
        }
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(hash.to_string(), cached);
    }

    /// Notes that the key's last use was just recorded, so the cached
    /// row asks for no other write within the interval.
    pub fn touched(&self, hash: &str, now_ms: u64) {
        if let Some(c) = self.entries.borrow_mut().get_mut(hash) {
            c.key.last_used_at_ms = Some(now_ms);
        }
    }

    /// Forgets one credential (its key was refused, say).
    pub fn forget(&self, hash: &str) {
        self.entries.borrow_mut().remove(hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn key(tenant: &str) -> ApiKey {
        ApiKey {
            id: "key_1".into(),
            tenant_id: tenant.into(),
            name: "k".into(),
            prefix: "qk_test_abcdef".into(),
            hash: "h".into(),
            role: Role::Admin,
            user_id: None,
            scopes: None,
            created_at_ms: 0,
            expires_at_ms: None,
            last_used_at_ms: None,
            revoked_at_ms: None,
            rotated_to: None,
            rate_limits: vec![],
            tenant_active: true,
            tenant_retention_days: None,
            tenant_shard: 0,
            tenant_moving: false,
            plan: "standard".into(),
        }
    }

    fn cached(epoch: u64, at: u64) -> Cached {
        Cached {
            key: key("ten_a"),
            user: None,
            epoch,
            read_at_ms: at,
        }
    }

    #[test]
    fn a_credential_read_before_any_epoch_was_seen_is_not_kept() {
        let c = Credentials::default();
        let mark = c.mark();
        c.observe("ten_a", 3);
        c.keep("h", cached(3, 0), mark);
        assert!(c.get("h", 1).is_none());
    }

    #[test]
    fn a_credential_read_across_a_bump_is_not_kept() {
        let c = Credentials::default();
        c.observe("ten_a", 3);
        let mark = c.mark();
        // Read while 3 was current; the gate then answered 4: a change
        // happened around the read, which may predate it.
        c.observe("ten_a", 4);
        c.keep("h", cached(4, 0), mark);
        assert!(c.get("h", 1).is_none());
    }

    #[test]
    fn a_bump_seen_by_a_concurrent_request_during_the_read_is_not_trusted() {
        let c = Credentials::default();
        c.observe("ten_a", 3);
        let mark = c.mark();
        // Another request in this isolate saw 4 while ours was reading.
        c.observe("ten_a", 4);
        c.observe("ten_a", 4);
        c.keep("h", cached(4, 0), mark);
        assert!(c.get("h", 1).is_none());
    }

    #[test]
    fn a_kept_credential_is_dropped_when_the_epoch_moves() {
        let c = Credentials::default();
        c.observe("ten_a", 3);
        let mark = c.mark();
        c.observe("ten_a", 3);
        c.keep("h", cached(3, 0), mark);
        assert!(c.get("h", 1).is_some());
        c.observe("ten_b", 9);
        assert!(c.get("h", 1).is_some(), "another tenant's bump");
        c.observe("ten_a", 4);
        assert!(c.get("h", 1).is_none());
    }

    #[test]
    fn a_kept_credential_ages_out() {
        let c = Credentials::default();
        c.observe("ten_a", 3);
        c.keep("h", cached(3, 1_000), c.mark());
        assert!(c.get("h", 1_000 + TTL_MS - 1).is_some());
        assert!(c.get("h", 1_000 + TTL_MS).is_none());
    }
}
