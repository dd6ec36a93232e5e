//! A blob store that encrypts everything it writes and decrypts what it
//! reads, over any other blob store: the edge wraps R2 with it, tests wrap
//! the in-memory fake, so both see only ciphertext underneath.

use super::{decrypt, encrypt, MasterKeys};
use crate::ports::{BlobStore, Entropy, StoreError, StoreResult};

pub struct EncryptedBlobs<B, E> {
    pub inner: B,
    pub keys: MasterKeys,
    pub entropy: E,
}

impl<B: BlobStore, E: Entropy> BlobStore for EncryptedBlobs<B, E> {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        let mut random = [0u8; 51];
        self.entropy.fill(&mut random);
        let sealed = encrypt(&self.keys, &bytes, random)
            .map_err(|e| StoreError::Permanent(e.to_string()))?;
        // The stored type says nothing about the content.
        let _ = content_type;
        self.inner
            .put(key, sealed, "application/octet-stream")
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        match self.inner.get(key).await? {
            Some(sealed) => decrypt(&self.keys, &sealed)
                .map(Some)
                .map_err(|e| StoreError::Permanent(format!("{key}: {e}"))),
            None => Ok(None),
        }
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)> {
        self.inner.list(prefix, cursor, limit).await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn rewrap(&self, key: &str) -> StoreResult<bool> {
        let Some(sealed) = self.inner.get(key).await? else {
            return Ok(false);
        };
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        match crate::crypto::rewrap(&self.keys, &sealed, nonce)
            .map_err(|e| StoreError::Permanent(format!("{key}: {e}")))?
        {
            Some(moved) => {
                self.inner
                    .put(key, moved, "application/octet-stream")
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
