//! The tenant object's outbox: audit entries numbered and chained here,
//! held in its storage until D1 has them (written out at once, retried by
//! the alarm), and the alarm's expiry of idempotency records.

use super::{Pending, TenantObject, AUDIT_RETRY_MS, PENDING, RECORD, WRITE_BATCH};
use crate::audit::{Draft, Entry};
use crate::edge::d1::D1Meta;
use crate::edge::observe::Obs;
use crate::gate::{MonthCharge, Settle, Throttle};
use crate::idempotency::Entry as Record;
use worker::ListOptions;

impl TenantObject {
    /// Stores a request's audit entries, then its usage counts (a count
    /// that cannot be stored must not cost an entry), then ends its writes
    /// whatever failed (a write left held would stall moves until it
    /// lapses).
    pub(super) async fn settle(
        &self,
        tenant_id: &str,
        work: Settle,
        now: u64,
    ) -> worker::Result<()> {
        let done = self.keep(tenant_id, work.audits, &work.charges, now).await;
        // Last: a move that waits for these writes then finds their audit
        // entries held here (it flushes them before copying).
        self.with(|t| t.end_writes(&work.writes_done));
        done
    }

    async fn keep(
        &self,
        tenant_id: &str,
        audits: Vec<(Draft, Option<Throttle>)>,
        charges: &[MonthCharge],
        now: u64,
    ) -> worker::Result<()> {
        let mut appended = false;
        for (draft, throttle) in audits {
            appended |= self.append(draft, throttle.as_ref(), now).await?;
        }
        let counted = async {
            for mc in charges {
                self.charge(tenant_id, mc).await?;
            }
            Ok::<_, worker::Error>(())
        }
        .await;
        if appended {
            self.write_out().await;
        }
        counted
    }

    /// Forgets the audit head and every entry still held (the operator's
    /// reset after the tenant's log was erased).
    pub(super) async fn reset_audit(&self) -> worker::Result<()> {
        self.with(|t| t.audit_head = None);
        let storage = self.state.storage();
        storage.delete("audit:head").await?;
        let keys = self.pending_keys().await?;
        if !keys.is_empty() {
            storage.delete_multiple(keys).await?;
        }
        Ok(())
    }

    /// Numbers and chains the entry and stores it with the new head.
    pub(super) async fn append(
        &self,
        draft: Draft,
        throttle: Option<&Throttle>,
        now: u64,
    ) -> worker::Result<bool> {
        let placed = self.with(|t| {
            if throttle.is_some_and(|th| !t.throttle_allows(th, now)) {
                return None;
            }
            let prev = t.audit_head.clone();
            let entry = t.append(draft.clone());
            Some((entry.seq, Pending { draft, prev }, t.audit_head.clone()))
        });
        let Some((seq, pending, head)) = placed else {
            return Ok(false);
        };
        let storage = self.state.storage();
        storage.put(&format!("{PENDING}{seq:020}"), pending).await?;
        storage.put("audit:head", head).await?;
        Ok(true)
    }

    pub(super) async fn pending_keys(&self) -> worker::Result<Vec<String>> {
        let map = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(PENDING))
            .await?;
        Ok(map
            .keys()
            .into_iter()
            .filter_map(|k| k.ok().and_then(|k| k.as_string()))
            .collect())
    }

    /// Writes the entries held here to D1, in batches; what D1 refuses
    /// stays, and the alarm tries again. One write-out runs at a time: an
    /// append during one is taken by its next pass.
    pub(super) async fn write_out(&self) {
        if self.writing.replace(true) {
            return;
        }
        let result = loop {
            match self.write_batch().await {
                Ok(0) => break Ok(()),
                Ok(_) => continue,
                Err(e) => break Err(e),
            }
        };
        self.writing.set(false);
        if let Err(e) = result {
            worker::console_log!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "audit entries kept for a retry", "error": e.to_string()})
            );
            let storage = self.state.storage();
            let at = worker::Date::now().as_millis() as i64 + AUDIT_RETRY_MS;
            let sooner = match storage.get_alarm().await {
                Ok(Some(current)) => current > at,
                _ => true,
            };
            if sooner {
                let _ = storage.set_alarm(at).await;
            }
        }
    }

    /// Writes up to [`WRITE_BATCH`] held entries in one D1 batch; how many.
    pub(super) async fn write_batch(&self) -> worker::Result<usize> {
        let storage = self.state.storage();
        let held = storage
            .list_with_options(ListOptions::new().prefix(PENDING).limit(WRITE_BATCH))
            .await?;
        let mut keys = Vec::new();
        let mut entries = Vec::new();
        for item in held.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            let Some(key) = arr.get(0).as_string() else {
                continue;
            };
            let pending: Pending = worker::serde_wasm_bindgen::from_value(arr.get(1))
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            entries.push(Entry::chain(pending.draft, pending.prev));
            keys.push(key);
        }
        if entries.is_empty() {
            return Ok(0);
        }
        // One object, one tenant: its shard holds the chain.
        D1Meta::for_tenant(&self.env, Obs::default(), &entries[0].tenant_id)
            .await?
            .insert_audit_batch(&entries)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        storage.delete_multiple(keys).await?;
        Ok(entries.len())
    }

    /// Deletes expired idempotency records and sets the next alarm.
    pub(super) async fn expire_records(&self) -> worker::Result<()> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis();
        let all = storage
            .list_with_options(ListOptions::new().prefix(RECORD))
            .await?;
        let mut expired = Vec::new();
        let mut next: Option<u64> = None;
        for item in all.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            let Some(key) = arr.get(0).as_string() else {
                continue;
            };
            match worker::serde_wasm_bindgen::from_value::<Record>(arr.get(1)) {
                Ok(r) if r.expires_ms > now => {
                    next = Some(next.map_or(r.expires_ms, |n| n.min(r.expires_ms)));
                }
                _ => expired.push(key),
            }
        }
        for chunk in expired.chunks(128) {
            storage.delete_multiple(chunk.to_vec()).await?;
        }
        if !self.pending_keys().await?.is_empty() {
            let retry = now + AUDIT_RETRY_MS as u64;
            next = Some(next.map_or(retry, |n| n.min(retry)));
        }
        if let Some(at) = next {
            storage.set_alarm(at as i64).await?;
        }
        Ok(())
    }
}
