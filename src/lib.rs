//! Quire: an edge document-processing API.
//!
//! The crate is split into a pure core, which compiles and is tested natively
//! with `cargo test`, and a thin Cloudflare Workers edge (`edge`, wasm32 only)
//! that adapts the real bindings (D1, R2, Queues) to the core's ports.
//!
//! Core modules never read a clock, draw randomness or do I/O themselves:
//! time, ids and storage reach them through [`ports`].

// Async fns in our port traits are fine: the Workers runtime is single
// threaded, so no caller ever needs the futures to be `Send`.
#![allow(async_fn_in_trait)]

pub mod app;
pub use quire_core::audit;
pub mod auth;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod documents;
pub mod error;
pub use quire_core::gate;
/// The document engine, its own crate (`crates/extract`).
pub use quire_extract as extract;
pub mod http;
pub use quire_core::idempotency;
pub use quire_core::ids;
pub mod jobs;
pub mod llm;
pub mod openapi;
pub mod ops;
pub mod ports;
pub use quire_core::ratelimit;
pub use quire_core::strict;
pub use quire_extract::scan;
pub mod tenants;
pub use quire_core::time;
pub use quire_core::trace;
pub mod uploads;
pub use quire_core::usage;
pub mod webhooks;

#[cfg(target_arch = "wasm32")]
mod edge;
