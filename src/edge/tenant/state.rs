//! The tenant object's state: loaded from its storage once per
//! activation, decided in memory (`crate::gate::Tenant`), and what must
//! outlive an eviction written back before the answer leaves.

use super::{TenantObject, RECORD};
use crate::edge::d1::D1Meta;
use crate::edge::observe::Obs;
use crate::gate::{Answer, Ask, MonthCharge, Tenant};
use crate::idempotency::{Entry as Record, Outcome, StoredResponse};
use crate::ports::Directory;
use crate::usage::{Charged, Totals};
use std::collections::HashMap;
use worker::ListOptions;

impl TenantObject {
    /// Starts (or finds) the idempotency record of `key`.
    pub(super) async fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        now: u64,
    ) -> worker::Result<Outcome> {
        let existing = self.record(key).await?;
        let (outcome, entry) = crate::idempotency::begin(existing.as_ref(), fingerprint, now);
        if let Some(entry) = entry {
            self.save_record(key, entry).await?;
        }
        Ok(outcome)
    }

    /// Keeps the response of the request that holds `key`'s record.
    pub(super) async fn complete(&self, key: &str, response: StoredResponse) -> worker::Result<()> {
        if let Some(mut entry) = self.record(key).await? {
            entry.response = Some(response);
            self.save_record(key, entry).await?;
        }
        Ok(())
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Tenant) -> T) -> T {
        let mut guard = self.tenant.borrow_mut();
        f(guard.get_or_insert_with(Tenant::default))
    }

    /// Reads the state kept between evictions, once.
    pub(super) async fn load(&self, tenant_id: &str) -> worker::Result<()> {
        if self.tenant.borrow().is_some() {
            return Ok(());
        }
        let storage = self.state.storage();
        let epoch: Option<u64> = storage.get("epoch").await?;
        let tats: Option<HashMap<String, u64>> = storage.get("tats").await?;
        let mut head: Option<(u64, String)> = storage.get("audit:head").await?;
        let started: Option<bool> = storage.get("audit:started").await?;
        if started.is_none() {
            // The chain's first writer here: continue it from where D1 has
            // it (entries appended before this object existed).
            head = D1Meta::for_tenant(&self.env, Obs::default(), tenant_id)
                .await?
                .audit_head(tenant_id)
                .await
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            // The D1 read lets other events in: one that loaded meanwhile
            // may have appended already, and its head must not be
            // overwritten with this older one.
            if self.tenant.borrow().is_some() {
                return Ok(());
            }
            storage.put("audit:started", true).await?;
            if let Some(h) = &head {
                storage.put("audit:head", h).await?;
            }
        }
        let mut guard = self.tenant.borrow_mut();
        if guard.is_none() {
            *guard = Some(Tenant {
                epoch: epoch.unwrap_or(0),
                tats: tats.unwrap_or_default(),
                usage: HashMap::new(),
                audit_head: head,
                ..Tenant::default()
            });
        }
        Ok(())
    }

    pub(super) async fn load_month(&self, tenant_id: &str, month: &str) -> worker::Result<()> {
        if self.months.borrow().contains(month) {
            return Ok(());
        }
        // One storage entry per counter, so a charge writes only the
        // three it changes, however long the month's breakdown grows.
        let prefix = format!("u:{month}:");
        let stored = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(&prefix))
            .await?;
        let mut totals = Totals::new();
        for item in stored.entries() {
            let arr = worker::js_sys::Array::from(&item?);
            if let (Some(key), Some(v)) = (arr.get(0).as_string(), arr.get(1).as_f64()) {
                totals.insert(key[prefix.len()..].to_string(), v as i64);
            }
        }
        let imported = totals.is_empty();
        if imported {
            totals = self.legacy_totals(tenant_id, month).await;
        }
        // The legacy read lets other events in: the first to load the month
        // wins, and only it stores what it imported (a later copy would
        // overwrite charges made meanwhile).
        if !self.months.borrow_mut().insert(month.to_string()) {
            return Ok(());
        }
        let all: Vec<(String, i64)> = totals.iter().map(|(k, v)| (k.clone(), *v)).collect();
        self.with(|t| t.usage.insert(month.to_string(), totals));
        if imported {
            self.save_counters(month, all).await?;
        }
        Ok(())
    }

    /// Totals kept by the usage object of earlier releases (one per tenant
    /// and month), so a month under way keeps its count across the
    /// upgrade. Read once per month; empty when there is none.
    pub(super) async fn legacy_totals(&self, tenant_id: &str, month: &str) -> Totals {
        let Ok(ns) = self.env.durable_object("USAGE") else {
            return Totals::default();
        };
        let name = format!("{tenant_id}:{month}");
        let body = serde_json::json!({ "op": "totals" });
        match crate::edge::objects::post_json(&ns, &name, "https://usage/op", &body).await {
            Ok(mut resp) => resp.json::<Totals>().await.unwrap_or_default(),
            Err(_) => Totals::default(),
        }
    }

    /// Writes the named counters of a month.
    pub(super) async fn save_counters(
        &self,
        month: &str,
        counters: Vec<(String, i64)>,
    ) -> worker::Result<()> {
        if counters.is_empty() {
            return Ok(());
        }
        let values = worker::js_sys::Object::new();
        for (name, v) in counters {
            worker::js_sys::Reflect::set(
                &values,
                &format!("u:{month}:{name}").into(),
                &(v as f64).into(),
            )?;
        }
        self.state.storage().put_multiple_raw(values).await
    }

    /// Writes the counters a charge changed.
    pub(super) async fn save_charge(&self, mc: &MonthCharge) -> worker::Result<()> {
        let counters = self.with(|t| {
            let totals = t.usage.get(&mc.month);
            crate::usage::touched(&mc.charge)
                .into_iter()
                .map(|n| {
                    let v = totals.and_then(|m| m.get(&n)).copied().unwrap_or(0);
                    (n, v)
                })
                .collect()
        });
        self.save_counters(&mc.month, counters).await
    }

    /// Whether a `once` charge was made before.
    pub(super) async fn once_seen(&self, mc: &MonthCharge) -> worker::Result<bool> {
        match &mc.charge.once {
            Some(id) => Ok(self
                .state
                .storage()
                .get::<bool>(&format!("once:{}:{id}", mc.month))
                .await?
                .is_some()),
            None => Ok(false),
        }
    }

    /// Marks a `once` charge as made, once it went ahead.
    pub(super) async fn mark_once(&self, mc: &MonthCharge) -> worker::Result<()> {
        match &mc.charge.once {
            Some(id) => {
                self.state
                    .storage()
                    .put(&format!("once:{}:{id}", mc.month), true)
                    .await
            }
            None => Ok(()),
        }
    }

    pub(super) async fn record(&self, key: &str) -> worker::Result<Option<Record>> {
        self.state.storage().get(&format!("{RECORD}{key}")).await
    }

    pub(super) async fn save_record(&self, key: &str, entry: Record) -> worker::Result<()> {
        let expires = entry.expires_ms as i64;
        let storage = self.state.storage();
        storage.put(&format!("{RECORD}{key}"), entry).await?;
        match storage.get_alarm().await? {
            Some(current) if current <= expires => Ok(()),
            _ => storage.set_alarm(expires).await,
        }
    }

    pub(super) async fn admit(
        &self,
        tenant_id: &str,
        ask: &Ask,
        now: u64,
    ) -> worker::Result<Answer> {
        if let Some(mc) = &ask.charge {
            self.load_month(tenant_id, &mc.month).await?;
        }
        let existing = match &ask.begin {
            Some(b) => self.record(&b.key).await?,
            None => None,
        };
        let once = match &ask.charge {
            Some(mc) => self.once_seen(mc).await?,
            None => false,
        };
        let (answer, changes) = self.with(|t| t.admit(ask, existing.as_ref(), once, now));
        let storage = self.state.storage();
        if let (Some(_), Some(mc)) = (&changes.usage_month, &ask.charge) {
            self.save_charge(mc).await?;
            self.mark_once(mc).await?;
        }
        if changes.long_window {
            let tats = self.with(|t| t.tats.clone());
            storage.put("tats", tats).await?;
        }
        if let (Some(b), Some(entry)) = (&ask.begin, changes.entry) {
            self.save_record(&b.key, entry).await?;
        }
        Ok(answer)
    }

    pub(super) async fn charge(
        &self,
        tenant_id: &str,
        mc: &MonthCharge,
    ) -> worker::Result<Charged> {
        self.load_month(tenant_id, &mc.month).await?;
        let once = self.once_seen(mc).await?;
        let charged = self.with(|t| t.charge(mc, once));
        if charged.allowed && !once {
            self.save_charge(mc).await?;
            self.mark_once(mc).await?;
        }
        Ok(charged)
    }
}
