//! MemMeta: messages that ran out of attempts (D1 `dead_letters`).

use super::*;

impl DeadLetterStore for MemMeta {
    async fn insert_dead_letter(&self, d: &quire::jobs::DeadLetter) -> StoreResult<()> {
        self.faults.check()?;
        self.dead_letters
            .borrow_mut()
            .entry(d.id.clone())
            .or_insert_with(|| d.clone());
        Ok(())
    }

    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<quire::jobs::DeadLetter>> {
        self.faults.check()?;
        let mut all: Vec<_> = self.dead_letters.borrow().values().cloned().collect();
        all.sort_by_key(|d| std::cmp::Reverse(d.received_at_ms));
        all.truncate(limit as usize);
        Ok(all)
    }

    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<quire::jobs::DeadLetter>> {
        self.faults.check()?;
        Ok(self.dead_letters.borrow().get(id).cloned())
    }

    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut all = self.dead_letters.borrow_mut();
        match all.get_mut(id) {
            Some(d) if d.replayed_at_ms.is_none() => {
                d.replayed_at_ms = Some(now_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
