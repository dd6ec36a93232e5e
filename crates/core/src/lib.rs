//! Quire's pure core: identifiers, time, strict JSON bodies, trace context,
//! and the policy the request gate applies (rate limits, idempotency,
//! usage, the audit chain, and the per-tenant gate state that combines
//! them), and how a storage dependency fails (`store`). Storage, HTTP and
//! the Workers runtime stay in the service crate, which re-exports these
//! modules under their old paths (`quire::time`, …).

pub mod audit;
pub mod entropy;
pub mod gate;
pub mod idempotency;
pub mod ids;
pub mod ratelimit;
pub mod store;
pub mod strict;
pub mod time;
pub mod trace;
pub mod usage;
