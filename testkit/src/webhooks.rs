//! MemWebhooks and ScriptedSender: webhook secrets, deliveries and a scripted receiver.

use super::*;

/// Webhook secrets and deliveries in memory.
#[derive(Default)]
pub struct MemWebhooks {
    pub secrets: RefCell<HashMap<String, String>>,
    pub deliveries: RefCell<BTreeMap<String, Delivery>>,
    leases: RefCell<HashMap<String, u64>>,
}

impl WebhookStore for MemWebhooks {
    async fn tenant_secret_or_insert(
        &self,
        tenant_id: &str,
        candidate: &str,
    ) -> StoreResult<String> {
        let mut secrets = self.secrets.borrow_mut();
        Ok(secrets
            .entry(tenant_id.to_string())
            .or_insert_with(|| candidate.to_string())
            .clone())
    }
    async fn tenant_secret(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        Ok(self.secrets.borrow().get(tenant_id).cloned())
    }
    async fn insert_delivery(&self, d: &Delivery) -> StoreResult<()> {
        self.deliveries
            .borrow_mut()
            .entry(d.id.clone())
            .or_insert_with(|| d.clone());
        Ok(())
    }
    async fn get_delivery(&self, id: &str) -> StoreResult<Option<Delivery>> {
        Ok(self.deliveries.borrow().get(id).cloned())
    }
    async fn list_deliveries(&self, tenant_id: &str, job_id: &str) -> StoreResult<Vec<Delivery>> {
        let all = self.deliveries.borrow();
        Ok(all
            .values()
            .filter(|d| d.tenant_id == tenant_id && d.job_id == job_id)
            .cloned()
            .collect())
    }
    async fn claim_delivery(
        &self,
        id: &str,
        now_ms: u64,
        lease_until_ms: u64,
    ) -> StoreResult<bool> {
        let mut all = self.deliveries.borrow_mut();
        let Some(d) = all.get_mut(id) else {
            return Ok(false);
        };
        let mut leases = self.leases.borrow_mut();
        let free = leases.get(id).is_none_or(|l| *l < now_ms);
        if d.status != DeliveryStatus::Pending || !free {
            return Ok(false);
        }
        d.attempts += 1;
        leases.insert(id.to_string(), lease_until_ms);
        Ok(true)
    }
    async fn finish_attempt(
        &self,
        id: &str,
        status: DeliveryStatus,
        http_status: Option<u16>,
        error: Option<&str>,
        now_ms: u64,
    ) -> StoreResult<()> {
        if let Some(d) = self.deliveries.borrow_mut().get_mut(id) {
            d.status = status;
            d.last_status_code = http_status;
            d.last_error = error.map(str::to_string);
            if status == DeliveryStatus::Succeeded {
                d.delivered_at_ms = Some(now_ms);
            }
        }
        self.leases.borrow_mut().remove(id);
        Ok(())
    }
}

/// One request a [`ScriptedSender`] received: url, headers, body.
pub type SentRequest = (String, Vec<(String, String)>, String);

/// A webhook receiver that answers with scripted statuses and records what
/// it was sent (url, headers, body).
#[derive(Default)]
pub struct ScriptedSender {
    /// Statuses to answer, in order; 200 once they run out.
    pub script: RefCell<Vec<Result<u16, String>>>,
    pub received: RefCell<Vec<SentRequest>>,
}

impl WebhookSender for ScriptedSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String> {
        self.received
            .borrow_mut()
            .push((url.to_string(), headers.to_vec(), body.to_string()));
        let mut script = self.script.borrow_mut();
        if script.is_empty() {
            Ok(200)
        } else {
            script.remove(0)
        }
    }
}
