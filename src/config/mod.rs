//! Runtime configuration, parsed once per isolate from Worker vars and
//! secrets (see the table in docs/OPERATIONS.md). Parsing is pure: the edge passes a
//! lookup function.

mod defaults;
pub mod error;
pub mod read;
pub mod split;

pub use defaults::*;
pub use error::ConfigError;

use crate::documents::DEFAULT_MEDIA_TYPES;
use crate::ratelimit::parse_policies;
use crate::usage::{parse_budgets, parse_prices};
use read::whole;
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
    /// A ceiling on the runs of one job (against one that fails fast for
    /// ever); retries are budgeted by `job_retry_window_ms`.
    pub job_max_attempts: u32,
    /// How long after its first start a job's transient failures are retried.
    pub job_retry_window_ms: u64,
    /// A tenant's jobs in the queue at once; the rest wait their turn in D1.
    pub tenant_jobs_in_flight: u32,
    /// Shards in a data region (`SHARD_REGIONS`).
    pub shard_regions: crate::tenants::shards::ShardRegions,
    /// Immutable objects (results, extractions) are read through the edge
    /// cache (`EDGE_CACHE`, on unless `off`).
    pub edge_cache: bool,
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
    /// Which documents jobs read in parts, and how.
    pub split: split::Split,
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
        let pepper = pepper(&get)?;
        let environment = get("ENVIRONMENT").unwrap_or_else(|| "development".into());
        // Everything but local development and the test harness is held
        // to production's rules for what can open the service up.
        let local = is_local(&environment);
        let test_routes = local_only(&get, "ENABLE_TEST_ROUTES", local)?;
        let local_urls_allowed = local_only(&get, "ALLOW_LOCAL_URLS", local)?;
        let (rate_limits, tenant_rate_limit) = rate_limits(&get)?;
        let budgets = parsed(&get, "USAGE_BUDGETS", DEFAULT_BUDGETS, parse_budgets)?;
        let master_keys = master_keys(&get)?;
        let llm = crate::llm::LlmConfig::from_lookup(&get)
            .map_err(|e| ConfigError::Invalid("LLM_*", e))?;
        let usage_prices = parsed(&get, "USAGE_PRICES", DEFAULT_USAGE_PRICES, parse_prices)?;
        let ops = crate::ops::OpsConfig::from_lookup(&get, &environment)?;
        let (per_tenant_jobs, total_jobs) = job_caps(&get)?;
        Ok(Config {
            encrypt_at_rest: encryption(&get, &environment)?,
            upload_part_bytes: part_bytes(&get)?,
            // Processing holds the sealed and the plain document at once.
            max_process_bytes: whole(&get, "MAX_PROCESS_BYTES", 25 * 1024 * 1024)?,
            split: split::Split::from_lookup(&get)?,
            ops,
            llm,
            usage_prices,
            operator_api_key: get("OPERATOR_API_KEY"),
            default_retention_days: whole(&get, "DEFAULT_RETENTION_DAYS", 0)?,
            master_keys,
            scan_refuse: list(&get, "SCAN_REFUSE").unwrap_or_default(),
            plan_rate_limits: plan_setting(&get, "PLAN_RATE_LIMITS", parse_policies)?,
            plan_budgets: plan_setting(&get, "PLAN_BUDGETS", parse_budgets)?,
            budgets,
            rate_limits,
            tenant_rate_limit,
            max_active_jobs_per_tenant: per_tenant_jobs,
            max_active_jobs_total: total_jobs,
            environment,
            max_upload_bytes: number(&get, "MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)?,
            accepted_media_types: list(&get, "ACCEPTED_MEDIA_TYPES")
                .map(|l| l.iter().map(|s| s.to_ascii_lowercase()).collect())
                .unwrap_or_else(|| DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect()),
            api_key_pepper: pepper,
            job_max_attempts: number(&get, "JOB_MAX_ATTEMPTS", 25)? as u32,
            job_retry_window_ms: number(&get, "JOB_RETRY_SECONDS", 3600)? * 1000,
            tenant_jobs_in_flight: number(&get, "TENANT_JOBS_IN_FLIGHT", 10)?.clamp(1, 1000) as u32,
            shard_regions: crate::tenants::shards::ShardRegions::parse(
                &get("SHARD_REGIONS").unwrap_or_default(),
            )
            .map_err(|e| ConfigError::Invalid("SHARD_REGIONS", e))?,
            edge_cache: get("EDGE_CACHE").is_none_or(|v| v.trim() != "off"),
            job_lease_ms: number(&get, "JOB_LEASE_SECONDS", 300)? * 1000,
            job_stall_ms: number(&get, "JOB_STALL_SECONDS", 900)? * 1000,
            enable_test_routes: test_routes,
            local_urls_allowed,
        })
    }

    /// Local development or the test harness (`wrangler dev`), where some
    /// platform features do not exist (Durable Object jurisdictions).
    pub fn is_local(&self) -> bool {
        is_local(&self.environment)
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
/// The pepper API keys are hashed with: required, at least 16 characters.
fn pepper(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let pepper = get("API_KEY_PEPPER").ok_or(ConfigError::Missing("API_KEY_PEPPER"))?;
    if pepper.len() < 16 {
        return Err(ConfigError::Invalid(
            "API_KEY_PEPPER",
            "must be at least 16 characters".into(),
        ));
    }
    Ok(pepper)
}

/// The master keys objects are encrypted under, and which is active.
fn master_keys(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::crypto::MasterKeys, ConfigError> {
    crate::crypto::MasterKeys::parse(
        &get("MASTER_KEYS").ok_or(ConfigError::Missing("MASTER_KEYS"))?,
        get("MASTER_KEY_ID").as_deref(),
    )
    .map_err(|e| ConfigError::Invalid("MASTER_KEYS", e.to_string()))
}

/// A setting read by its own parser, `default` when unset.
fn parsed<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    parse(&get(name).unwrap_or_else(|| default.to_string()))
        .map_err(|e| ConfigError::Invalid(name, e))
}

/// A per-plan setting (`plan:settings;…`), empty when unset.
fn plan_setting<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<BTreeMap<String, T>, ConfigError> {
    per_plan(&get(name).unwrap_or_default(), parse).map_err(|e| ConfigError::Invalid(name, e))
}

/// A switch that may only be on in local development and tests.
fn local_only(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    local: bool,
) -> Result<bool, ConfigError> {
    let on = get(name).is_some_and(|v| v == "true");
    if on && !local {
        return Err(ConfigError::Invalid(
            name,
            "is for local development and tests only (ENVIRONMENT development or test)".into(),
        ));
    }
    Ok(on)
}

/// The per-key policies and the tenant-wide one; none when
/// `RATE_LIMITING=off`.
fn rate_limits(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<
    (
        Vec<crate::ratelimit::Policy>,
        Option<crate::ratelimit::Policy>,
    ),
    ConfigError,
> {
    if get("RATE_LIMITING").is_some_and(|v| v == "off") {
        return Ok((Vec::new(), None));
    }
    let parse = |name: &'static str, default: &str| {
        crate::ratelimit::parse_policies(&get(name).unwrap_or_else(|| default.to_string()))
            .map_err(|e| ConfigError::Invalid(name, e))
    };
    let tenant = parse("TENANT_RATE_LIMIT", DEFAULT_TENANT_RATE_LIMIT)?;
    Ok((
        parse("RATE_LIMITS", DEFAULT_RATE_LIMITS)?,
        tenant.into_iter().next(),
    ))
}

/// A comma-separated list, items trimmed, empty ones dropped.
fn list(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<Vec<String>> {
    let items = get(name)?
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    Some(items)
}

/// The part size of streamed and resumable uploads: whole cipher segments.
fn part_bytes(get: &impl Fn(&str) -> Option<String>) -> Result<u64, ConfigError> {
    let size = whole(get, "UPLOAD_PART_BYTES", crate::uploads::DEFAULT_PART_SIZE)?;
    if size == 0 || !size.is_multiple_of(crate::crypto::SEGMENT as u64) || size > 64 * 1024 * 1024 {
        return Err(ConfigError::Invalid(
            "UPLOAD_PART_BYTES",
            "must be a multiple of 65536, at most 64 MiB (R2 also wants at least 5 MiB)".into(),
        ));
    }
    Ok(size)
}

/// Encryption at rest: on unless turned off, and never off in production.
fn encryption(
    get: &impl Fn(&str) -> Option<String>,
    environment: &str,
) -> Result<bool, ConfigError> {
    let on = get("ENCRYPTION_AT_REST").is_none_or(|v| v != "off");
    if !on && environment == "production" {
        return Err(ConfigError::Invalid(
            "ENCRYPTION_AT_REST",
            "must not be off in production".into(),
        ));
    }
    Ok(on)
}

/// The active-job caps, per tenant and service-wide: one tenant alone must
/// never fill the service-wide cap.
fn job_caps(get: &impl Fn(&str) -> Option<String>) -> Result<(u64, u64), ConfigError> {
    let per_tenant_jobs = number(get, "MAX_ACTIVE_JOBS_PER_TENANT", 100)?;
    let total_jobs = number(get, "MAX_ACTIVE_JOBS_TOTAL", 10_000)?;
    if per_tenant_jobs >= total_jobs {
        return Err(ConfigError::Invalid(
            "MAX_ACTIVE_JOBS_PER_TENANT",
            format!("{per_tenant_jobs} must be below MAX_ACTIVE_JOBS_TOTAL ({total_jobs})"),
        ));
    }
    Ok((per_tenant_jobs, total_jobs))
}

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
