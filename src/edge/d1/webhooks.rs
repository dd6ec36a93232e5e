//! Webhook deliveries and tenants' signing secrets in D1.

use super::{num, opt_text, text, D1Meta};
use crate::ports::{StoreError, StoreResult, WebhookStore};
use crate::webhooks::{Delivery, DeliveryStatus};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

#[derive(Deserialize)]
struct DeliveryRow {
    id: String,
    tenant_id: String,
    job_id: String,
    url: String,
    event: String,
    payload: String,
    status: String,
    attempts: f64,
    last_status_code: Option<f64>,
    last_error: Option<String>,
    created_at: f64,
    delivered_at: Option<f64>,
}

impl DeliveryRow {
    fn into_delivery(self) -> StoreResult<Delivery> {
        Ok(Delivery {
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Permanent(format!("bad status {}", self.status)))?,
            id: self.id,
            tenant_id: self.tenant_id,
            job_id: self.job_id,
            url: self.url,
            event: self.event,
            payload: self.payload,
            attempts: self.attempts as u32,
            last_status_code: self.last_status_code.map(|c| c as u16),
            last_error: self.last_error,
            created_at_ms: self.created_at as u64,
            delivered_at_ms: self.delivered_at.map(|v| v as u64),
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, tenant_id, job_id, url, event, payload, status, attempts, \
last_status_code, last_error, created_at, delivered_at";

impl WebhookStore for D1Meta {
    async fn tenant_secret_or_insert(
        &self,
        tenant_id: &str,
        candidate: &str,
    ) -> StoreResult<String> {
        let sql = "UPDATE tenants SET webhook_secret = ?2 WHERE id = ?1 AND webhook_secret IS NULL";
        self.run(sql, &[text(tenant_id), text(candidate)]).await?;
        self.tenant_secret(tenant_id)
            .await?
            .ok_or_else(|| StoreError::Permanent(format!("tenant {tenant_id} not found")))
    }

    async fn tenant_secret(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        #[derive(Deserialize)]
        struct Row {
            webhook_secret: Option<String>,
        }
        let sql = "SELECT webhook_secret FROM tenants WHERE id = ?1";
        let row = self.first::<Row>(sql, &[text(tenant_id)]).await?;
        Ok(row.and_then(|r| r.webhook_secret))
    }

    async fn insert_delivery(&self, d: &Delivery) -> StoreResult<()> {
        let sql = "INSERT OR IGNORE INTO webhook_deliveries (id, tenant_id, job_id, url, event, \
                   payload, status, attempts, created_at, updated_at) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?8)";
        let args = [
            text(&d.id),
            text(&d.tenant_id),
            text(&d.job_id),
            text(&d.url),
            text(&d.event),
            text(&d.payload),
            text(d.status.as_str()),
            num(d.created_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?1");
        self.first::<DeliveryRow>(&sql, &[text(id)])
            .await?
            .map(DeliveryRow::into_delivery)
            .transpose()
    }

    async fn list_deliveries(&self, tenant_id: &str, job_id: &str) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = ?1 AND job_id = ?2 ORDER BY created_at"
        );
        let rows = self
            .all::<DeliveryRow>(&sql, &[text(tenant_id), text(job_id)])
            .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    async fn claim_delivery(
        &self,
        id: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> StoreResult<bool> {
        let sql = "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = ?3, \
                   updated_at = ?2 WHERE id = ?1 AND status = 'pending' \
                   AND (lease_until IS NULL OR lease_until < ?2)";
        Ok(self
            .run(sql, &[text(id), num(now_ms), num(lease_until_ms)])
            .await?
            == 1)
    }

    async fn finish_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        http_status: Option<u16>,
        error: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<()> {
        let sql = "UPDATE webhook_deliveries SET status = ?2, last_status_code = ?3, \
                   last_error = ?4, lease_until = NULL, updated_at = ?5, \
                   delivered_at = CASE WHEN ?2 = 'succeeded' THEN ?5 ELSE delivered_at END \
                   WHERE id = ?1";
        let code = http_status.map_or(JsValue::NULL, |c| num(u64::from(c)));
        let args = [
            text(id),
            text(status.as_str()),
            code,
            opt_text(error),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }
}
