//! Operations: metrics rollups, SLOs and alerts, D1 backups, and the
//! fault-injection switch. Pure parts; the app and edge use them.

pub mod backup;
pub mod faults;
pub mod jobstats;
pub mod metrics;
pub mod slo;

use crate::config::error::ConfigError;

/// Operations settings (see docs/OPERATIONS.md, "Configuration").
#[derive(Debug, Clone)]
pub struct OpsConfig {
    pub slos: Vec<slo::Slo>,
    /// Days of history `GET /v1/admin/slo` reports the budget over.
    pub slo_period_days: u64,
    /// Where alerts are POSTed, signed with `ALERT_WEBHOOK_SECRET`.
    pub alert_url: Option<String>,
    pub alert_secret: Option<String>,
    /// Un-replayed dead letters from the last 24 h above this alert.
    pub dlq_alert_depth: u64,
    pub backup_retention_days: u64,
    pub metrics_retention_days: u64,
    /// How often an isolate writes its counted metrics to D1.
    pub metrics_flush_ms: u64,
    /// One log line per D1/R2/queue/LLM/webhook call.
    pub log_calls: bool,
    pub faults: faults::Faults,
}

impl OpsConfig {
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        environment: &str,
    ) -> Result<OpsConfig, ConfigError> {
        let num = |name: &'static str, default: u64| crate::config::read::whole(get, name, default);
        let slos = slo::parse_slos(&get("SLOS").unwrap_or_else(|| slo::DEFAULT_SLOS.into()))
            .map_err(|e| ConfigError::Invalid("SLOS", e))?;
        let faults = faults::Faults::parse(&get("FAULTS").unwrap_or_default())
            .map_err(|e| ConfigError::Invalid("FAULTS", e))?;
        if !faults.is_off() && environment == "production" {
            return Err(ConfigError::Invalid(
                "FAULTS",
                "fault injection is refused in production".into(),
            ));
        }
        let alert_url = get("ALERT_WEBHOOK_URL");
        if let Some(url) = &alert_url {
            if !(url.starts_with("https://")
                || (environment != "production" && url.starts_with("http://")))
            {
                return Err(ConfigError::Invalid(
                    "ALERT_WEBHOOK_URL",
                    "must be an https:// URL".into(),
                ));
            }
        }
        let slo_period_days = num("SLO_PERIOD_DAYS", 30)?;
        Ok(OpsConfig {
            slos,
            slo_period_days: slo_period_days.clamp(1, 90),
            alert_url,
            alert_secret: get("ALERT_WEBHOOK_SECRET"),
            dlq_alert_depth: num("DLQ_ALERT_DEPTH", 0)?,
            backup_retention_days: num("BACKUP_RETENTION_DAYS", 30)?,
            // Enough history for the SLO period.
            metrics_retention_days: num("METRICS_RETENTION_DAYS", 35)?.max(slo_period_days),
            metrics_flush_ms: num("METRICS_FLUSH_SECONDS", 10)? * 1000,
            log_calls: get("LOG_CALLS").is_none_or(|v| v != "off"),
            faults,
        })
    }
}

/// A short, value-free name for a SQL statement: its verb and table.
pub fn sql_op(sql: &str) -> String {
    let words: Vec<&str> = sql.split_whitespace().take(40).collect();
    let verb = words.first().map_or("SQL", |w| w).to_ascii_uppercase();
    let after = |kw: &str| {
        words
            .iter()
            .position(|w| w.eq_ignore_ascii_case(kw))
            .and_then(|i| words.get(i + 1))
            .map(|t| t.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
    };
    let table = match verb.as_str() {
        "INSERT" | "REPLACE" => after("INTO"),
        "UPDATE" => words.get(1).copied(),
        _ => after("FROM"),
    };
    match table {
        Some(t) if !t.is_empty() => format!("{verb} {t}"),
        _ => verb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_ops_name_verb_and_table_only() {
        assert_eq!(
            sql_op("SELECT id, x FROM jobs WHERE id = ?1"),
            "SELECT jobs"
        );
        assert_eq!(
            sql_op("INSERT INTO \"tenants\" (id) VALUES ('x')"),
            "INSERT tenants"
        );
        assert_eq!(
            sql_op("update api_keys SET last_used_at = ?1"),
            "UPDATE api_keys"
        );
        assert_eq!(
            sql_op("DELETE FROM metrics_minute WHERE minute < ?1"),
            "DELETE metrics_minute"
        );
        assert_eq!(sql_op("PRAGMA x"), "PRAGMA");
    }

    fn cfg(pairs: &[(&str, &str)], env: &str) -> Result<OpsConfig, ConfigError> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OpsConfig::from_lookup(&|k: &str| map.get(k).cloned(), env)
    }

    #[test]
    fn defaults_and_refusals() {
        let c = cfg(&[], "development").unwrap();
        assert_eq!(c.slos.len(), 3);
        assert_eq!((c.slo_period_days, c.metrics_retention_days), (30, 35));
        assert!(c.log_calls && c.faults.is_off());
        assert!(cfg(&[("FAULTS", "d1=0.1")], "development").is_ok());
        assert!(matches!(
            cfg(&[("FAULTS", "d1=0.1")], "production"),
            Err(ConfigError::Invalid("FAULTS", _))
        ));
        assert!(cfg(&[("ALERT_WEBHOOK_URL", "http://x")], "production").is_err());
        assert!(cfg(&[("ALERT_WEBHOOK_URL", "ftp://x")], "development").is_err());
        assert!(cfg(&[("SLOS", "uptime=1")], "development").is_err());
        assert!(cfg(&[("DLQ_ALERT_DEPTH", "x")], "development").is_err());
    }
}
