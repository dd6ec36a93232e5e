//! Creating and attempting webhook deliveries. Like jobs, an attempt runs
//! only after an atomic claim, so duplicate queue messages cannot POST the
//! same delivery twice at once; retries follow [`super::retry_delay_seconds`].

use super::{
    completion_payload, delivery_id, retry_delay_seconds, sign, Delivery, DeliveryStatus,
    WebhookMessage, LEASE_MS,
};
use crate::jobs::{Disposition, Job};
use crate::ports::{JobQueue, StoreResult, WebhookSender, WebhookStore};

/// Records the completion webhook of a finished job (once) and queues its
/// first attempt. Safe to call again: the delivery id is derived from the
/// job, and an attempt on a settled delivery does nothing.
pub async fn ensure_completion_webhook(
    store: &impl WebhookStore,
    queue: &impl JobQueue,
    job: &Job,
    shard: u32,
    now_ms: u64,
) -> StoreResult<()> {
    let Some(url) = job.webhook_url.as_deref() else {
        return Ok(());
    };
    let (event, payload) = completion_payload(job, now_ms);
    let delivery = Delivery {
        id: delivery_id(&job.id),
        tenant_id: job.tenant_id.clone(),
        job_id: job.id.clone(),
        url: url.to_string(),
        event,
        payload,
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_status_code: None,
        last_error: None,
        created_at_ms: now_ms,
        delivered_at_ms: None,
    };
    store.insert_delivery(&delivery).await?;
    queue
        .send_webhook(&WebhookMessage {
            delivery_id: delivery.id,
            shard,
        })
        .await
}

/// One attempt at one delivery.
pub async fn process_webhook(
    store: &impl WebhookStore,
    sender: &impl WebhookSender,
    delivery_id: &str,
    now_ms: u64,
) -> Disposition {
    let retry_soon = Disposition::Retry { delay_seconds: 10 };
    let claimed = match store
        .claim_delivery(delivery_id, now_ms, now_ms + LEASE_MS)
        .await
    {
        Ok(c) => c,
        Err(_) => return retry_soon,
    };
    let d = match store.get_delivery(delivery_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return Disposition::Ack,
        Err(_) => return retry_soon,
    };
    if !claimed {
        return match d.status {
            // Another attempt holds the lease (or died holding it): look
            // again once it has expired, so the delivery is never dropped.
            DeliveryStatus::Pending => Disposition::Retry {
                delay_seconds: (LEASE_MS / 1000) as u32 + 1,
            },
            _ => Disposition::Ack,
        };
    }
    let outcome = attempt(store, sender, &d, now_ms).await;
    let (status, code, error) = match outcome {
        Ok(code) if (200..300).contains(&code) => (DeliveryStatus::Succeeded, Some(code), None),
        Ok(code) => (next_status(&d), Some(code), Some(format!("HTTP {code}"))),
        Err(e) => (next_status(&d), None, Some(e)),
    };
    if store
        .finish_attempt(&d.id, status, code, error.as_deref(), now_ms)
        .await
        .is_err()
    {
        return retry_soon;
    }
    match status {
        DeliveryStatus::Pending => Disposition::Retry {
            delay_seconds: retry_delay_seconds(d.attempts).unwrap_or(1800),
        },
        _ => Disposition::Ack,
    }
}

/// After a failed attempt: try again, unless the budget is spent.
fn next_status(d: &Delivery) -> DeliveryStatus {
    // `d.attempts` already counts this attempt (the claim incremented it).
    match retry_delay_seconds(d.attempts) {
        Some(_) => DeliveryStatus::Pending,
        None => DeliveryStatus::Failed,
    }
}

async fn attempt(
    store: &impl WebhookStore,
    sender: &impl WebhookSender,
    d: &Delivery,
    now_ms: u64,
) -> Result<u16, String> {
    let secret = store
        .tenant_secret(&d.tenant_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the tenant has no webhook secret".to_string())?;
    let ts = now_ms / 1000;
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("webhook-id".to_string(), d.id.clone()),
        ("webhook-timestamp".to_string(), ts.to_string()),
        (
            "webhook-signature".to_string(),
            sign(&secret, &d.id, ts, &d.payload)?,
        ),
        ("user-agent".to_string(), "Quire-Webhooks/1".to_string()),
    ];
    sender.post(&d.url, &headers, &d.payload).await
}
