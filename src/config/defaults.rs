//! Defaults of the settings that have one.

/// Default monthly budgets per tenant: 5 M requests, 100 GiB stored,
/// 1 M processed pages, 50 M LLM tokens.
pub const DEFAULT_BUDGETS: &str =
    "requests=5000000,stored_bytes=107374182400,pages=1000000,llm_tokens=50000000";

/// Default unit prices (USD) for cost estimates; LLM tokens are priced by
/// model in `LLM_PRICES` instead, so they are not here.
pub const DEFAULT_USAGE_PRICES: &str = "requests=0.0000005,pages=0.001";

/// Default limits per key (and per IP for `public`), per minute.
pub const DEFAULT_RATE_LIMITS: &str = "read=1200/60,upload=120/60,jobs=240/60,public=120/60";
pub const DEFAULT_TENANT_RATE_LIMIT: &str = "tenant=6000/60";

/// 100 MB, the Workers request-body limit; raw bodies over one upload
/// part stream to storage, so this costs no memory.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100_000_000;
