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
    decrypt, decrypt_with, encrypt, encrypt_with, is_encrypted, key_id_of, open_header, rewrap,
    segment_span, CryptoError, MasterKeys, Opened, MAX_HEADER,
};

/// Plaintext bytes per segment.
pub const SEGMENT: usize = 64 * 1024;

/// AES-256-GCM for object bodies, segment by segment. In Wasm the edge
/// uses WebCrypto (`crypto.subtle`: about 70 times the aes-gcm crate's
/// speed inside workerd, `npm run bench:crypto`); natively and in tests,
/// the aes-gcm crate ([`RustCipher`]). Both produce the same bytes.
pub trait SegmentCipher {
    type Key;
    async fn key(&self, raw: &[u8; 32]) -> Result<Self::Key, CryptoError>;
    async fn seal(
        &self,
        key: &Self::Key,
        nonce: &[u8; 12],
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;
    /// Fails with `Corrupt` when the tag does not verify.
    async fn open(
        &self,
        key: &Self::Key,
        nonce: &[u8; 12],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;
}

/// The aes-gcm crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct RustCipher;

impl SegmentCipher for RustCipher {
    type Key = aes_gcm::Aes256Gcm;
    async fn key(&self, raw: &[u8; 32]) -> Result<Self::Key, CryptoError> {
        use aes_gcm::KeyInit;
        Ok(aes_gcm::Aes256Gcm::new(
            aes_gcm::Key::<aes_gcm::Aes256Gcm>::from_slice(raw),
        ))
    }
    async fn seal(
        &self,
        key: &Self::Key,
        nonce: &[u8; 12],
        plain: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        use aes_gcm::aead::Aead;
        key.encrypt(aes_gcm::Nonce::from_slice(nonce), plain)
            .map_err(|_| CryptoError::Corrupt)
    }
    async fn open(
        &self,
        key: &Self::Key,
        nonce: &[u8; 12],
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        use aes_gcm::aead::Aead;
        key.decrypt(aes_gcm::Nonce::from_slice(nonce), sealed)
            .map_err(|_| CryptoError::Corrupt)
    }
}
