//! A blob store that encrypts everything it writes and decrypts what it
//! reads, over any other blob store: the edge wraps R2 with it, tests wrap
//! the in-memory fake, so both see only ciphertext underneath.

use super::{
    decrypt, decrypt_with, encrypt_with, open_header, parts, segment_span, MasterKeys,
    SegmentCipher, MAX_HEADER, SEGMENT,
};
use crate::ports::{BlobStore, Entropy, StoreError, StoreResult};

pub struct EncryptedBlobs<B, E, C = super::RustCipher> {
    pub inner: B,
    pub keys: MasterKeys,
    pub entropy: E,
    /// Writes stored as they are (`ENCRYPTION_AT_REST=off`, benchmarks
    /// only, refused in production). Reads handle both kinds.
    pub plain: bool,
    /// Seals and opens the segments (WebCrypto at the edge).
    pub cipher: C,
}

impl<B: BlobStore, E: Entropy, C: SegmentCipher> BlobStore for EncryptedBlobs<B, E, C> {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        if self.plain {
            return self.inner.put(key, bytes, content_type).await;
        }
        let mut random = [0u8; 51];
        self.entropy.fill(&mut random);
        let sealed = encrypt_with(&self.cipher, &self.keys, &bytes, random)
            .await
            .map_err(|e| StoreError::Permanent(e.to_string()))?;
        // The stored type says nothing about the content.
        let _ = content_type;
        self.inner
            .put(key, sealed, "application/octet-stream")
            .await
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        match self.inner.get(key).await? {
            Some(sealed) if parts::is_multipart(&sealed) => {
                let data_key = self.data_key(key).await?;
                parts::open_whole_with(&self.cipher, &data_key, &sealed)
                    .await
                    .map(Some)
                    .map_err(|e| StoreError::Permanent(format!("{key}: {e}")))
            }
            Some(sealed) => decrypt_with(&self.cipher, &self.keys, &sealed)
                .await
                .map(Some)
                .map_err(|e| StoreError::Permanent(format!("{key}: {e}"))),
            None => Ok(None),
        }
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await?;
        // A multipart object's data key, if it has one.
        if !key.ends_with(".hdr") && key.contains("/documents/") {
            self.inner.delete(&parts::header_key(key)).await?;
        }
        Ok(())
    }

    async fn start_multipart(&self, key: &str, size: u64, part_size: u64) -> StoreResult<String> {
        if part_size == 0 || !part_size.is_multiple_of(SEGMENT as u64) {
            return Err(StoreError::Permanent(
                "part size must be a multiple of 64 KiB".into(),
            ));
        }
        if self.plain {
            return self.inner.start_multipart(key, size, part_size).await;
        }
        let mut data_key = [0u8; 32];
        self.entropy.fill(&mut data_key);
        // The data key, in an ordinary envelope under the master key.
        self.put(&parts::header_key(key), data_key.to_vec(), "")
            .await?;
        self.inner.start_multipart(key, size, part_size).await
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String> {
        let (size, part_size) = layout;
        if self.plain {
            return self.inner.put_part(key, upload_id, layout, n, bytes).await;
        }
        let data_key = self.data_key(key).await?;
        let mut prefix = [0u8; 7];
        self.entropy.fill(&mut prefix);
        let layout = parts::Layout {
            size,
            segs_per_part: part_size / SEGMENT as u64,
        };
        let sealed = parts::seal_part_with(
            &self.cipher,
            &data_key,
            prefix,
            layout,
            u64::from(n) - 1,
            &bytes,
        )
        .await
        .map_err(|e| StoreError::Permanent(e.to_string()))?;
        self.inner
            .put_part(key, upload_id, (size, part_size), n, sealed)
            .await
    }

    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()> {
        self.inner.finish_multipart(key, upload_id, parts).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        self.inner.abort_multipart(key, upload_id).await?;
        self.inner.delete(&parts::header_key(key)).await
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

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        self.inner.exists(key).await
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
        if parts::is_multipart(&head) {
            return self
                .read_parts(key, &head, size, offset, end)
                .await
                .map(Some);
        }
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
            .decrypt_segments_with(&self.cipher, first, total, &sealed)
            .await
            .map_err(corrupt)?;
        let from = (offset - first * SEGMENT as u64) as usize;
        let to = from + (end - offset) as usize;
        plain
            .get(from..to)
            .map(|p| Some(p.to_vec()))
            .ok_or_else(|| StoreError::Permanent(format!("{key}: shorter than its size")))
    }

    async fn rewrap(&self, key: &str) -> StoreResult<bool> {
        // A multipart object keeps its data key in `<key>.hdr`, which is
        // re-wrapped on its own: never read the (large) object itself.
        let head = self.inner.read_range(key, 0, 0, 5).await?;
        if head.as_deref().is_some_and(parts::is_multipart) {
            return Ok(false);
        }
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

impl<B: BlobStore, E: Entropy, C: SegmentCipher> EncryptedBlobs<B, E, C> {
    /// A multipart object's data key, from its companion header object.
    async fn data_key(&self, key: &str) -> StoreResult<[u8; 32]> {
        let sealed = self
            .inner
            .get(&parts::header_key(key))
            .await?
            .ok_or_else(|| StoreError::Permanent(format!("{key}: its key header is missing")))?;
        let hdr = decrypt(&self.keys, &sealed)
            .map_err(|e| StoreError::Permanent(format!("{key}: {e}")))?;
        hdr.try_into()
            .map_err(|_| StoreError::Permanent(format!("{key}: its key header is corrupt")))
    }

    /// Plaintext `offset..end` of a multipart object whose first bytes are
    /// `head`: per part touched, its header and the segments needed.
    async fn read_parts(
        &self,
        key: &str,
        head: &[u8],
        size: u64,
        offset: u64,
        end: u64,
    ) -> StoreResult<Vec<u8>> {
        let corrupt = |e: super::CryptoError| StoreError::Permanent(format!("{key}: {e}"));
        let (segs_per_part, first_prefix) = parts::part_header(head).map_err(corrupt)?;
        let layout = parts::Layout {
            size,
            segs_per_part,
        };
        let data_key = self.data_key(key).await?;
        let seg = SEGMENT as u64;
        let (first, last) = (offset / seg, (end - 1) / seg);
        let mut plain = Vec::with_capacity((end - offset) as usize);
        let mut s = first;
        while s <= last {
            let part = s / segs_per_part;
            let upto = last.min((part + 1) * segs_per_part - 1);
            let prefix = if part == 0 {
                first_prefix
            } else {
                let h = self
                    .inner
                    .read_range(key, 0, layout.part_offset(part), parts::PART_HEADER)
                    .await?
                    .ok_or_else(|| StoreError::Permanent(format!("{key}: missing")))?;
                parts::part_header(&h).map_err(corrupt)?.1
            };
            let (at, len) = layout.segments_span(s, upto);
            let sealed = self
                .inner
                .read_range(key, 0, at, len)
                .await?
                .ok_or_else(|| StoreError::Permanent(format!("{key}: missing")))?;
            plain.extend(
                parts::open_segments_with(&self.cipher, &data_key, &prefix, layout, s, &sealed)
                    .await
                    .map_err(corrupt)?,
            );
            s = upto + 1;
        }
        let from = (offset - first * seg) as usize;
        plain
            .get(from..from + (end - offset) as usize)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| StoreError::Permanent(format!("{key}: shorter than its size")))
    }
}
