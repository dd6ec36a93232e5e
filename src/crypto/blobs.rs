//! A blob store that encrypts everything it writes and decrypts what it
//! reads, over any other blob store: the edge wraps R2 with it, tests wrap
//! the in-memory fake, so both see only ciphertext underneath.

use super::{decrypt, encrypt, open_header, segment_span, MasterKeys, MAX_HEADER, SEGMENT};
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

    /// Plaintext bytes `offset .. offset + len` of an object of `size`
    /// plaintext bytes: the header, then only the segments that hold them.
    async fn read_range(
        &self,
        key: &str,
        size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        let end = offset.saturating_add(len).min(size);
        if end <= offset {
            return Ok(Some(Vec::new()));
        }
        // One segment or less: one read of the whole object costs the same.
        if size <= SEGMENT as u64 {
            return Ok(self.get(key).await?.map(|all| {
                all[(offset as usize).min(all.len())..(end as usize).min(all.len())].to_vec()
            }));
        }
        let corrupt = |e: super::CryptoError| StoreError::Permanent(format!("{key}: {e}"));
        let Some(head) = self.inner.read_range(key, 0, 0, MAX_HEADER as u64).await? else {
            return Ok(None);
        };
        if !super::is_encrypted(&head) {
            // Stored before encryption was enabled: read it as it is.
            return self.inner.read_range(key, size, offset, end - offset).await;
        }
        let opened = open_header(&self.keys, &head).map_err(corrupt)?;
        let (first, _, at, span) = segment_span(size, offset, end - 1);
        let Some(sealed) = self
            .inner
            .read_range(key, 0, opened.header_len as u64 + at, span)
            .await?
        else {
            return Ok(None);
        };
        let total = size.div_ceil(SEGMENT as u64).max(1);
        let plain = opened
            .decrypt_segments(first, total, &sealed)
            .map_err(corrupt)?;
        let from = (offset - first * SEGMENT as u64) as usize;
        let to = from + (end - offset) as usize;
        plain
            .get(from..to)
            .map(|p| Some(p.to_vec()))
            .ok_or_else(|| StoreError::Permanent(format!("{key}: shorter than its size")))
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
