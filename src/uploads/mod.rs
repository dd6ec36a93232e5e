//! Resumable multipart uploads: the record kept between requests and the
//! pure rules of parts (numbering, sizes) and of the running SHA-256.

use crate::crypto::parts::Midstate;
use crate::error::ApiError;
use crate::time::rfc3339;

/// Largest object a multipart upload may build (5 GiB).
pub const MAX_UPLOAD_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Default content bytes per part (all but the last): 8 MiB.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// An upload untouched this long is aborted by the sweep.
pub const IDLE_MS: u64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub id: String,
    pub tenant_id: String,
    /// The document it becomes on completion (id reserved now).
    pub document_id: String,
    pub blob_key: String,
    /// The object store's multipart upload id.
    pub store_upload_id: String,
    pub filename: Option<String>,
    pub media_type: String,
    pub size_bytes: u64,
    /// Declared by the client, lower-case hex; checked on completion.
    pub sha256: Option<String>,
    pub part_size: u64,
    /// SHA-256 over the parts received in order so far, and how many.
    pub hash_state: String,
    pub hashed_parts: u32,
    pub owner: Option<String>,
    pub expires_at_ms: Option<u64>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
}

/// A part received: its number, the store's etag and its content bytes,
/// and what the scan found in it (none for parts stored before scanning).
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub number: u32,
    pub etag: String,
    pub size_bytes: u64,
    pub marks: Option<crate::scan::markers::PartMarks>,
}

impl Upload {
    pub fn parts(&self) -> u32 {
        parts_for(self.size_bytes, self.part_size)
    }

    /// Content bytes part `n` (1-based) must have.
    pub fn part_len(&self, n: u32) -> u64 {
        let start = u64::from(n - 1) * self.part_size;
        (self.size_bytes - start).min(self.part_size)
    }

    /// Checks a part number and its length.
    pub fn check_part(&self, n: u32, len: u64) -> Result<(), ApiError> {
        if n == 0 || n > self.parts() {
            return Err(ApiError::Invalid(
                "invalid_part_number",
                format!("part numbers run from 1 to {}", self.parts()),
            ));
        }
        let want = self.part_len(n);
        if len != want {
            return Err(ApiError::Invalid(
                "invalid_part_size",
                format!("part {n} must be exactly {want} bytes, not {len}"),
            ));
        }
        Ok(())
    }

    pub fn view(&self, received: &[Part]) -> serde_json::Value {
        let mut numbers: Vec<u32> = received.iter().map(|p| p.number).collect();
        numbers.sort_unstable();
        let missing: Vec<u32> = (1..=self.parts())
            .filter(|n| numbers.binary_search(n).is_err())
            .collect();
        serde_json::json!({
            "id": self.id,
            "document_id": self.document_id,
            "filename": self.filename,
            "media_type": self.media_type,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "part_size": self.part_size,
            "parts": self.parts(),
            "parts_received": numbers,
            "parts_missing": missing,
            "bytes_received": received.iter().map(|p| p.size_bytes).sum::<u64>(),
            "created_at": rfc3339(self.created_at_ms),
            "expires_at": rfc3339(self.updated_at_ms + IDLE_MS),
        })
    }
}

pub fn parts_for(size: u64, part_size: u64) -> u32 {
    size.div_ceil(part_size).max(1) as u32
}

/// The hash state after part `n` arrives in order (`None` if it is not
/// the next one): the last part finishes the digest.
pub fn hash_after(upload: &Upload, n: u32, plain: &[u8]) -> Option<String> {
    if n != upload.hashed_parts + 1 {
        return None;
    }
    let mut m = Midstate::decode(&upload.hash_state)?;
    if n == upload.parts() {
        Some(format!("done:{}", hex::encode(m.finish(plain))))
    } else {
        m.update(plain).ok()?;
        Some(m.encode())
    }
}

/// The finished digest, when every part was hashed in order.
pub fn digest_of(hash_state: &str) -> Option<&str> {
    hash_state.strip_prefix("done:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn upload(size: u64) -> Upload {
        Upload {
            id: "upl_1".into(),
            tenant_id: "t".into(),
            document_id: "doc_1".into(),
            blob_key: "k".into(),
            store_upload_id: "u".into(),
            filename: None,
            media_type: "text/plain".into(),
            size_bytes: size,
            sha256: None,
            part_size: 128,
            hash_state: Midstate::default().encode(),
            hashed_parts: 0,
            owner: None,
            expires_at_ms: None,
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn parts_are_numbered_and_sized() {
        let u = upload(300);
        assert_eq!(u.parts(), 3);
        assert_eq!((u.part_len(1), u.part_len(3)), (128, 44));
        assert!(u.check_part(1, 128).is_ok());
        assert!(u.check_part(3, 44).is_ok());
        assert!(u.check_part(3, 128).is_err());
        assert!(u.check_part(0, 128).is_err());
        assert!(u.check_part(4, 1).is_err());
        let v = u.view(&[Part {
            number: 2,
            etag: "e".into(),
            size_bytes: 128,
            marks: None,
        }]);
        assert_eq!(v["parts_missing"], serde_json::json!([1, 3]));
    }

    #[test]
    fn parts_in_order_hash_to_the_whole_digest() {
        let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let mut u = upload(300);
        for n in 1..=3u32 {
            let part = &data[(n as usize - 1) * 128..(n as usize * 128).min(300)];
            // Out of order: not hashed.
            assert_eq!(hash_after(&u, n + 1, part), None);
            u.hash_state = hash_after(&u, n, part).unwrap();
            u.hashed_parts = n;
        }
        assert_eq!(
            digest_of(&u.hash_state),
            Some(hex::encode(Sha256::digest(&data)).as_str())
        );
    }
}
