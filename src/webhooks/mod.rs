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
    /// The database shard of the delivery's tenant.
    #[serde(default, skip_serializing_if = "crate::jobs::is_zero")]
    pub shard: u32,
}

/// The delivery id of a job's completion webhook: one per job, so a
/// repeated completion cannot create a second one.
pub fn delivery_id(job_id: &str) -> String {
    format!("whd_{}", job_id.trim_start_matches("job_"))
}

/// Checks an outbound URL (webhooks, JWKS) the way `fetch` will read it:
/// parsed by a WHATWG URL parser, so `\\`, `@`, percent-escapes and the
/// many spellings of an IP address (`2130706433`, `127.1`, `0x7f.1`,
/// `[::ffff:127.0.0.1]`) are seen as the host they really name.
///
/// `https://` to a host name outside the reserved local names is all that
/// passes, unless `local_allowed` (local development and tests only) also
/// lets `http(s)://localhost`, `127.0.0.1` and `[::1]` through, spelled
/// exactly so. An IP literal is never accepted otherwise, nor are
/// credentials in the URL.
pub fn validate_url(raw: &str, local_allowed: bool) -> Result<(), String> {
    if raw.len() > 2048 {
        return Err("webhook_url is longer than 2048 characters".into());
    }
    let url = url::Url::parse(raw)
        .map_err(|_| "webhook_url must be an absolute http(s) URL".to_string())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("webhook_url must not carry credentials".into());
    }
    let https = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err("webhook_url must be an absolute http(s) URL".into()),
    };
    let host = url
        .host()
        .ok_or_else(|| "webhook_url has no host".to_string())?;
    if local_allowed && is_plain_loopback(raw, &host) {
        return Ok(());
    }
    match host {
        url::Host::Domain(name) if https && is_public_name(name) => Ok(()),
        url::Host::Domain(_) if https => Err(format!(
            "webhook_url must name a public host; '{}' is reserved for local networks",
            url.host_str().unwrap_or_default()
        )),
        url::Host::Domain(_) => Err("webhook_url must be https://".into()),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => {
            Err("webhook_url must name a host, not an IP address".into())
        }
    }
}

/// `localhost`, `127.0.0.1` or `[::1]`, written that way in the URL (not
/// reached through another spelling of the address).
fn is_plain_loopback(raw: &str, host: &url::Host<&str>) -> bool {
    let written = raw
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '\\', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let written = written.to_ascii_lowercase();
    let canonical = match host {
        url::Host::Domain("localhost") => "localhost",
        url::Host::Ipv4(ip) if *ip == std::net::Ipv4Addr::LOCALHOST => "127.0.0.1",
        url::Host::Ipv6(ip) if *ip == std::net::Ipv6Addr::LOCALHOST => "[::1]",
        _ => return false,
    };
    written == canonical || written.strip_prefix(canonical).is_some_and(is_port)
}

fn is_port(rest: &str) -> bool {
    rest.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A name that public DNS can answer for: dotted, and not one of the
/// names kept for hosts and networks of one's own (RFC 6761, 6762, 8375).
fn is_public_name(name: &str) -> bool {
    const LOCAL_SUFFIXES: [&str; 7] = [
        "localhost",
        "local",
        "internal",
        "intranet",
        "lan",
        "home.arpa",
        "localdomain",
    ];
    let name = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| !l.is_empty() && l.len() <= 63;
    name.contains('.')
        && name.split('.').all(label_ok)
        && !name.ends_with(".arpa")
        && !LOCAL_SUFFIXES
            .iter()
            .any(|s| name == *s || name.ends_with(&format!(".{s}")))
}

/// A webhook URL cut to its origin (`https://hooks.example.com/…`), for
/// callers who may know that a job reports somewhere but not where exactly.
pub fn origin_of(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => format!("{}/…", u.origin().ascii_serialization()),
        Err(_) => "…".into(),
    }
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
        assert!(validate_url("https://hooks.example.com/q", false).is_ok());
        assert!(validate_url("http://hooks.example.com/q", false).is_err());
        assert!(validate_url("https://127.0.0.1/q", false).is_err());
        assert!(validate_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(validate_url("http://localhost:9000/hook", true).is_ok());
        assert!(validate_url("http://[::1]:9000/hook", true).is_ok());
        assert!(validate_url("http://10.0.0.1/hook", true).is_err());
        assert!(validate_url("ftp://x", true).is_err());
        assert!(validate_url("not a url", true).is_err());
    }

    #[test]
    fn every_spelling_of_a_local_address_is_refused() {
        for url in [
            r"http://127.0.0.2:9999\@localhost/x",
            "https://2130706433/",
            "https://127.1/",
            "https://0x7f.0.0.1/",
            "https://0177.0.0.1/",
            "https://LOCALHOST./",
            "https://foo.localhost/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://169.254.169.254/latest",
            "https://[fe80::1]/",
            "https://192.168.1.1/",
            "https://printer.local/",
            "https://metadata.google.internal/",
            "https://intranet/",
            "https://user:pw@hooks.example.com/",
            "https://1.1.1.1/",
        ] {
            for local_allowed in [false, true] {
                assert!(
                    validate_url(url, local_allowed).is_err(),
                    "{url} accepted (local_allowed: {local_allowed})"
                );
            }
        }
        // The one spelling of loopback the development allowance takes.
        assert!(validate_url("http://127.0.0.1:8080/x", true).is_ok());
        assert!(validate_url("http://127.0.0.1:8080/x", false).is_err());
        assert!(validate_url("https://localhost/", false).is_err());
        assert!(validate_url("https://Hooks.Example.com./x", false).is_ok());
    }

    #[test]
    fn retries_back_off_then_stop() {
        assert_eq!(retry_delay_seconds(1), Some(5));
        assert_eq!(retry_delay_seconds(2), Some(30));
        assert_eq!(retry_delay_seconds(5), Some(1800));
        assert_eq!(retry_delay_seconds(MAX_ATTEMPTS), None);
    }
}
