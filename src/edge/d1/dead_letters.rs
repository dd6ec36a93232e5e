//! D1Meta: messages that ran out of attempts (D1 `dead_letters`).

use super::*;

impl DeadLetterStore for D1Meta {
    async fn insert_dead_letter(&self, d: &crate::jobs::DeadLetter) -> StoreResult<()> {
        let sql = "INSERT OR IGNORE INTO dead_letters (id, kind, ref_id, tenant_id, body, \
                   attempts, reason, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
        let args = [
            text(&d.id),
            text(&d.kind),
            text(&d.ref_id),
            opt_text(d.tenant_id.as_deref()),
            text(&d.body),
            num(u64::from(d.attempts)),
            opt_text(d.reason.as_deref()),
            num(d.received_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn list_dead_letters(&self, limit: u32) -> StoreResult<Vec<crate::jobs::DeadLetter>> {
        self.dead_letters_where(
            "1 = 1 ORDER BY received_at DESC LIMIT ?1",
            &[num(u64::from(limit))],
        )
        .await
    }

    async fn get_dead_letter(&self, id: &str) -> StoreResult<Option<crate::jobs::DeadLetter>> {
        Ok(self
            .dead_letters_where("id = ?1", &[text(id)])
            .await?
            .into_iter()
            .next())
    }

    async fn mark_replayed(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE dead_letters SET replayed_at = ?2 WHERE id = ?1 AND replayed_at IS NULL";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }
}
