//! Messages that ran out of attempts (D1 `dead_letters`).

use super::StoreResult;

pub trait DeadLetterStore {
    /// Keeps a dead letter (once per message id).
    async fn insert_dead_letter(&self, d: &crate::jobs::DeadLetter) -> StoreResult<()>;

    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<crate::jobs::DeadLetter>>;

    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<crate::jobs::DeadLetter>>;

    /// Marks it replayed; false when it already was (replays are idempotent).
    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool>;
}
