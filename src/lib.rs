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
pub mod audit;
pub mod auth;
pub mod commands;
pub mod config;
pub mod crypto;
pub mod documents;
pub mod error;
/// The document engine, its own crate (`crates/extract`).
pub use quire_extract as extract;
pub mod gate;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod jobs;
pub mod llm;
pub mod openapi;
pub mod ops;
pub mod ports;
pub mod ratelimit;
pub use quire_extract::scan;
pub mod strict;
pub mod tenants;
pub mod time;
pub mod trace;
pub mod uploads;
pub mod usage;
pub mod webhooks;

#[cfg(not(target_arch = "wasm32"))]
pub mod fakes;

#[cfg(target_arch = "wasm32")]
mod edge;
