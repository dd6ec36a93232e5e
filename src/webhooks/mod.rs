//! Webhooks on job completion, signed per the Standard Webhooks spec:
//! headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`) under a
//! per-tenant `whsec_…` secret. Pure: URL rules, signing, payloads and the
//! retry schedule. Sending and storage go through ports.

pub mod runner;

use crate::jobs::{Job, JobStatus};
use crate::time::rfc3339;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 6;
/// How long one attempt may hold a delivery.
pub const LEASE_MS: u64 = 60_000;

/// Delay before retry after `attempts` failed attempts (Standard Webhooks'
/// suggested schedule, shortened at the start): 5 s, 30 s, 2 min, 10 min, 30 min.
pub fn retry_delay_seconds(attempts: u32) -> Option<u32> {
    const SCHEDULE: [u32; 5] = [5, 30, 120, 600, 1800];
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    SCHEDULE
        .get(attempts.saturating_sub(1) as usize)
        .copied()
        .or(Some(1800))
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "succeeded" => Some(DeliveryStatus::Succeeded),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One webhook message and its delivery record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    pub job_id: String,
    pub url: String,
    pub event: String,
    #[serde(skip)]
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub created_at_ms: u64,
    #[serde(skip)]
    pub delivered_at_ms: Option<u64>,
}

/// The queue message that asks for one delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    pub delivery_id: String,
}

/// The delivery id of a job's completion webhook: one per job, so a
/// repeated completion cannot create a second one.
pub fn delivery_id(job_id: &str) -> String {
    format!("whd_{}", job_id.trim_start_matches("job_"))
}

/// Checks a webhook URL. Production takes only `https://` to a public
/// host name; elsewhere `http://localhost` and `127.0.0.1` are allowed too,
/// for local receivers.
pub fn validate_url(url: &str, production: bool) -> Result<(), String> {
    if url.len() > 2048 {
        return Err("webhook_url is longer than 2048 characters".into());
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "webhook_url must be an absolute http(s) URL".to_string())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err("webhook_url has no host".into());
    }
    let local = host == "localhost" || host == "127.0.0.1" || host == "::1";
    match scheme.to_ascii_lowercase().as_str() {
        "https" if !(production && (local || is_ip_literal(host))) => Ok(()),
        "http" if local && !production => Ok(()),
        _ if production => Err("webhook_url must be https:// to a public host name".into()),
        _ => Err("webhook_url must be https://, or http:// to localhost in development".into()),
    }
}

fn is_ip_literal(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// A new secret `whsec_<base64 of 24 random bytes>`.
pub fn new_secret(random: [u8; 24]) -> String {
    format!("whsec_{}", B64.encode(random))
}

/// The `webhook-signature` header value for a message.
pub fn sign(secret: &str, msg_id: &str, timestamp_s: u64, body: &str) -> Result<String, String> {
    let key = B64
        .decode(secret.trim_start_matches("whsec_"))
        .map_err(|_| "webhook secret is not base64".to_string())?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|_| "webhook secret is unusable".to_string())?;
    mac.update(format!("{msg_id}.{timestamp_s}.{body}").as_bytes());
    Ok(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The event type and JSON body sent when a job ends.
pub fn completion_payload(job: &Job, now_ms: u64) -> (String, String) {
    let event = match job.status {
        JobStatus::Succeeded => "job.succeeded",
        JobStatus::Cancelled => "job.cancelled",
        _ => "job.failed",
    };
    let body = serde_json::json!({
        "type": event,
        "timestamp": rfc3339(now_ms),
        "data": job.view(),
    });
    (event.to_string(), body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_reference() {
        // Test vector from the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn urls_are_checked_per_environment() {
        assert!(validate_url("https://hooks.example.com/q", true).is_ok());
        assert!(validate_url("http://hooks.example.com/q", true).is_err());
        assert!(validate_url("https://127.0.0.1/q", true).is_err());
        assert!(validate_url("http://127.0.0.1:9000/hook", false).is_ok());
        assert!(validate_url("http://10.0.0.1/hook", false).is_err());
        assert!(validate_url("ftp://x", false).is_err());
        assert!(validate_url("not a url", false).is_err());
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay_seconds(1), Some(5));
        assert_eq!(retry_delay_seconds(2), Some(30));
        assert_eq!(retry_delay_seconds(5), Some(1800));
        assert_eq!(retry_delay_seconds(MAX_ATTEMPTS), None);
    }
}
