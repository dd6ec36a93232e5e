//! Envelope encryption at rest. Every object gets a fresh 256-bit data key;
//! the data key is wrapped (AES-256-GCM) by a master key named by id, so
//! master keys can rotate while old objects stay readable. The body is
//! encrypted in 64 KiB segments (AES-256-GCM, STREAM-style nonces: a random
//! 7-byte prefix, the segment index, and a last-segment flag), so a
//! truncated, reordered or extended object fails to decrypt.
//!
//! Layout: `QENC1` | key-id length (u8) | key id | wrapped-key nonce (12) |
//! wrapped key (48) | nonce prefix (7) | segments (each ≤ 64 KiB + 16 tag).

pub mod blobs;
mod envelope;
pub mod parts;

pub use envelope::{
    decrypt, encrypt, is_encrypted, key_id_of, open_header, rewrap, segment_span, CryptoError,
    MasterKeys, Opened, MAX_HEADER,
};

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;
