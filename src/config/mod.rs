//! Runtime configuration, parsed once per isolate from Worker vars and
//! secrets (see the table in README.md). Parsing is pure: the edge passes a
//! lookup function.

mod defaults;
pub mod error;

pub use defaults::*;
pub use error::ConfigError;

use crate::documents::DEFAULT_MEDIA_TYPES;
use std::collections::BTreeMap;

/// Parsed settings with their defaults applied.
#[derive(Debug, Clone)]
pub struct Config {
    /// `development`, `test`, `staging` or `production`.
    pub environment: String,
    /// Largest document accepted by `POST /v1/documents`, in bytes.
    pub max_upload_bytes: u64,
    /// Media types accepted for upload (essence only, lower-case).
    pub accepted_media_types: Vec<String>,
    /// Server-side secret mixed into API-key hashes.
    pub api_key_pepper: String,
    /// How many times a job may be started before it is failed for good.
    pub job_max_attempts: u32,
    /// How long a running job's claim lasts before another delivery may take over.
    pub job_lease_ms: u64,
    /// A queued job unchanged this long has lost its message: the sweep
    /// sends it again.
    pub job_stall_ms: u64,
    /// Enables `/__test/*` routes. Never set in production.
    pub enable_test_routes: bool,
    /// Webhook and JWKS URLs may point at this machine (`localhost`,
    /// `127.0.0.1`, `[::1]`): `ALLOW_LOCAL_URLS=true`, local only.
    pub local_urls_allowed: bool,
    /// Per-key limits by route class (`read`, `upload`, `jobs`) and the
    /// per-IP `public` limit; empty when rate limiting is off.
    pub rate_limits: Vec<crate::ratelimit::Policy>,
    /// Limit over all of a tenant's keys together.
    pub tenant_rate_limit: Option<crate::ratelimit::Policy>,
    /// Cap on a tenant's queued + running jobs (backpressure).
    pub max_active_jobs_per_tenant: u64,
    /// Cap on queued + running jobs over all tenants (503 beyond).
    pub max_active_jobs_total: u64,
    /// Hard monthly budgets per tenant, by metric.
    pub budgets: crate::usage::Budgets,
    /// Per-plan overrides of the default rate limits (`PLAN_RATE_LIMITS`).
    pub plan_rate_limits: BTreeMap<String, Vec<crate::ratelimit::Policy>>,
    /// The platform operator's credential for `/v1/tenants` (a secret).
    pub operator_api_key: Option<String>,
    /// Days a document is kept when the upload names no expiry (0: forever).
    pub default_retention_days: u64,
    /// Master keys for encryption at rest (`MASTER_KEYS`, `MASTER_KEY_ID`).
    pub master_keys: crate::crypto::MasterKeys,
    /// Scan flags that make an upload refused (`SCAN_REFUSE`), e.g. `macros`.
    pub scan_refuse: Vec<String>,
    /// Per-plan overrides of the default budgets (`PLAN_BUDGETS`).
    pub plan_budgets: BTreeMap<String, crate::usage::Budgets>,
    /// LLM providers, tiers and optimisations (`LLM_*`).
    pub llm: crate::llm::LlmConfig,
    /// Unit prices in USD per metric, for the usage report's cost estimate.
    pub usage_prices: BTreeMap<String, f64>,
    /// Metrics, SLOs, alerts, backups, call logs and fault injection.
    pub ops: crate::ops::OpsConfig,
    /// Content bytes per part of a resumable upload (all but the last).
    pub upload_part_bytes: u64,
    /// Largest document a job will process (it is read into memory).
    pub max_process_bytes: u64,
    /// `ENCRYPTION_AT_REST=off` stores new objects unencrypted: for the
    /// storage benchmark's baseline only; refused in production.
    pub encrypt_at_rest: bool,
}

impl Config {
    /// The budget of a metric for a tenant on `plan`.
    pub fn budget(&self, plan: &str, metric: &str) -> Option<u64> {
        self.plan_budgets
            .get(plan)
            .and_then(|b| b.get(metric))
            .or_else(|| self.budgets.get(metric))
            .copied()
    }
}

/// Parses `"free:read=100/60,upload=10/60;pro:read=6000/60"` into
/// per-plan settings with `parse` applied to each plan's part.
fn per_plan<T>(
    spec: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<BTreeMap<String, T>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (plan, rest) = item
                .split_once(':')
                .ok_or_else(|| format!("'{item}' is not plan:settings"))?;
            Ok((plan.trim().to_string(), parse(rest)?))
        })
        .collect()
}

impl Config {
    /// Builds the configuration from a lookup of Worker vars/secrets.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let pepper = get("API_KEY_PEPPER").ok_or(ConfigError::Missing("API_KEY_PEPPER"))?;
        if pepper.len() < 16 {
            return Err(ConfigError::Invalid(
                "API_KEY_PEPPER",
                "must be at least 16 characters".into(),
            ));
        }
        let accepted = match get("ACCEPTED_MEDIA_TYPES") {
            Some(list) => list
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            None => DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect(),
        };
        let environment = get("ENVIRONMENT").unwrap_or_else(|| "development".into());
        // Everything but local development and the test harness is held
        // to production's rules for what can open the service up.
        let local = is_local(&environment);
        let test_routes = get("ENABLE_TEST_ROUTES").is_some_and(|v| v == "true");
        if test_routes && !local {
            return Err(ConfigError::Invalid(
                "ENABLE_TEST_ROUTES",
                "is for local development and tests only (ENVIRONMENT development or test)".into(),
            ));
        }
        let local_urls_allowed = get("ALLOW_LOCAL_URLS").is_some_and(|v| v == "true");
        if local_urls_allowed && !local {
            return Err(ConfigError::Invalid(
                "ALLOW_LOCAL_URLS",
                "is for local development and tests only (ENVIRONMENT development or test)".into(),
            ));
        }
        let limiting = get("RATE_LIMITING").is_none_or(|v| v != "off");
        let parse = |name: &'static str, default: &str| {
            crate::ratelimit::parse_policies(&get(name).unwrap_or_else(|| default.to_string()))
                .map_err(|e| ConfigError::Invalid(name, e))
        };
        let rate_limits = if limiting {
            parse("RATE_LIMITS", DEFAULT_RATE_LIMITS)?
        } else {
            Vec::new()
        };
        let tenant_rate_limit = if limiting {
            parse("TENANT_RATE_LIMIT", DEFAULT_TENANT_RATE_LIMIT)?
                .into_iter()
                .next()
        } else {
            None
        };
        let budgets = crate::usage::parse_budgets(
            &get("USAGE_BUDGETS").unwrap_or_else(|| DEFAULT_BUDGETS.to_string()),
        )
        .map_err(|e| ConfigError::Invalid("USAGE_BUDGETS", e))?;
        let plan_rate_limits = per_plan(
            &get("PLAN_RATE_LIMITS").unwrap_or_default(),
            crate::ratelimit::parse_policies,
        )
        .map_err(|e| ConfigError::Invalid("PLAN_RATE_LIMITS", e))?;
        let plan_budgets = per_plan(
            &get("PLAN_BUDGETS").unwrap_or_default(),
            crate::usage::parse_budgets,
        )
        .map_err(|e| ConfigError::Invalid("PLAN_BUDGETS", e))?;
        let scan_refuse: Vec<String> = get("SCAN_REFUSE")
            .unwrap_or_default()
            .split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect();
        let master_keys = crate::crypto::MasterKeys::parse(
            &get("MASTER_KEYS").ok_or(ConfigError::Missing("MASTER_KEYS"))?,
            get("MASTER_KEY_ID").as_deref(),
        )
        .map_err(|e| ConfigError::Invalid("MASTER_KEYS", e.to_string()))?;
        let default_retention_days = match get("DEFAULT_RETENTION_DAYS") {
            Some(v) => v.trim().parse().map_err(|_| {
                ConfigError::Invalid("DEFAULT_RETENTION_DAYS", format!("'{v}' is not a number"))
            })?,
            None => 0,
        };
        let llm = crate::llm::LlmConfig::from_lookup(&get)
            .map_err(|e| ConfigError::Invalid("LLM_*", e))?;
        let usage_prices = crate::usage::parse_prices(
            &get("USAGE_PRICES").unwrap_or_else(|| DEFAULT_USAGE_PRICES.to_string()),
        )
        .map_err(|e| ConfigError::Invalid("USAGE_PRICES", e))?;
        let ops = crate::ops::OpsConfig::from_lookup(&get, &environment)?;
        let bytes = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(name) {
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::Invalid(name, format!("'{v}' is not a number"))),
                None => Ok(default),
            }
        };
        let upload_part_bytes = bytes("UPLOAD_PART_BYTES", crate::uploads::DEFAULT_PART_SIZE)?;
        if upload_part_bytes == 0
            || !upload_part_bytes.is_multiple_of(crate::crypto::SEGMENT as u64)
            || upload_part_bytes > 64 * 1024 * 1024
        {
            return Err(ConfigError::Invalid(
                "UPLOAD_PART_BYTES",
                "must be a multiple of 65536, at most 64 MiB (R2 also wants at least 5 MiB)".into(),
            ));
        }
        // Processing holds the sealed and the plain document at once.
        let max_process_bytes = bytes("MAX_PROCESS_BYTES", 25 * 1024 * 1024)?;
        let encrypt_at_rest = get("ENCRYPTION_AT_REST").is_none_or(|v| v != "off");
        if !encrypt_at_rest && environment == "production" {
            return Err(ConfigError::Invalid(
                "ENCRYPTION_AT_REST",
                "must not be off in production".into(),
            ));
        }
        Ok(Config {
            encrypt_at_rest,
            upload_part_bytes,
            max_process_bytes,
            ops,
            llm,
            usage_prices,
            operator_api_key: get("OPERATOR_API_KEY"),
            default_retention_days,
            master_keys,
            scan_refuse,
            plan_rate_limits,
            plan_budgets,
            budgets,
            rate_limits,
            tenant_rate_limit,
            max_active_jobs_per_tenant: number(&get, "MAX_ACTIVE_JOBS_PER_TENANT", 100)?,
            max_active_jobs_total: number(&get, "MAX_ACTIVE_JOBS_TOTAL", 10_000)?,
            environment,
            max_upload_bytes: number(&get, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)?,
            accepted_media_types: accepted,
            api_key_pepper: pepper,
            job_max_attempts: number(&get, "JOB_MAX_ATTEMPTS", 5)? as u32,
            job_lease_ms: number(&get, "JOB_LEASE_SECONDS", 300)? * 1000,
            job_stall_ms: number(&get, "JOB_STALL_SECONDS", 900)? * 1000,
            enable_test_routes: test_routes,
            local_urls_allowed,
        })
    }

    /// `live` in production, `test` elsewhere: the environment part of key prefixes.
    pub fn key_environment(&self) -> &'static str {
        if self.environment == "production" {
            "live"
        } else {
            "test"
        }
    }
}

/// Local development (`npm run dev`) and the test harness; every other
/// environment, deployed ones named `dev` or `staging` included, is
/// treated as production where safety is concerned.
fn is_local(environment: &str) -> bool {
    matches!(environment, "development" | "test")
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError::Invalid(name, format!("'{v}' is not a positive integer"))),
    }
}

#[cfg(test)]
mod tests;
