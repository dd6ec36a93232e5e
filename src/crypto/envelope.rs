//! The envelope format: see the module above.

use super::{RustCipher, SegmentCipher, SEGMENT};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

const MAGIC: &[u8] = b"QENC1";
const TAG: usize = 16;

/// Why an object could not be encrypted or decrypted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CryptoError {
    #[error("no master key with id '{0}'")]
    UnknownKey(String),
    #[error("the object is corrupt or was tampered with")]
    Corrupt,
    #[error("master keys are misconfigured: {0}")]
    Config(String),
}

/// The master keys: the active one wraps new data keys; all unwrap.
#[derive(Clone)]
pub struct MasterKeys {
    active: String,
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("MasterKeys")
            .field("active", &self.active)
            .finish()
    }
}

impl MasterKeys {
    /// Parses `"id1:base64key,id2:base64key"`; the first is active unless
    /// `active` names another.
    pub fn parse(spec: &str, active: Option<&str>) -> Result<MasterKeys, CryptoError> {
        let mut keys = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, b64) = item
                .split_once(':')
                .ok_or_else(|| CryptoError::Config("entries are id:base64key".into()))?;
            let bytes = B64
                .decode(b64.trim())
                .map_err(|_| CryptoError::Config(format!("key '{id}' is not base64")))?;
            let key: [u8; 32] = bytes
                .try_into()
                .map_err(|_| CryptoError::Config(format!("key '{id}' is not 32 bytes")))?;
            if id.is_empty() || id.len() > 64 {
                return Err(CryptoError::Config("key ids are 1 to 64 characters".into()));
            }
            keys.push((id.trim().to_string(), key));
        }
        let active = match active {
            Some(a) => a.to_string(),
            None => keys
                .first()
                .map(|(id, _)| id.clone())
                .ok_or_else(|| CryptoError::Config("no master key".into()))?,
        };
        if !keys.iter().any(|(id, _)| *id == active) {
            return Err(CryptoError::UnknownKey(active));
        }
        Ok(MasterKeys { active, keys })
    }

    fn key(&self, id: &str) -> Result<&[u8; 32], CryptoError> {
        self.keys
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, key)| key)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))
    }

    pub fn active_id(&self) -> &str {
        &self.active
    }
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn segment_nonce(prefix: &[u8; 7], index: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Whether bytes are in our envelope format.
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Encrypts `plain` under a fresh data key; `random` supplies 32 + 12 + 7
/// random bytes (data key, wrap nonce, nonce prefix).
pub fn encrypt(keys: &MasterKeys, plain: &[u8], random: [u8; 51]) -> Result<Vec<u8>, CryptoError> {
    ready(encrypt_with(&RustCipher, keys, plain, random))
}

/// Runs a future of the Rust cipher, which never waits.
pub(super) fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
    use futures_util::FutureExt;
    f.now_or_never()
        .expect("the Rust cipher completes without waiting")
}

/// [`encrypt`] with the segments sealed by `c`.
pub async fn encrypt_with<C: SegmentCipher>(
    c: &C,
    keys: &MasterKeys,
    plain: &[u8],
    random: [u8; 51],
) -> Result<Vec<u8>, CryptoError> {
    let (data_key, rest) = random.split_at(32);
    let (wrap_nonce, prefix) = rest.split_at(12);
    let data_key: [u8; 32] = data_key.try_into().map_err(|_| CryptoError::Corrupt)?;
    let prefix: [u8; 7] = prefix.try_into().map_err(|_| CryptoError::Corrupt)?;
    let id = keys.active_id().as_bytes();
    let wrapped = cipher(keys.key(keys.active_id())?)
        .encrypt(
            Nonce::from_slice(wrap_nonce),
            Payload {
                msg: &data_key,
                aad: id,
            },
        )
        .map_err(|_| CryptoError::Corrupt)?;
    let segments = plain.len().div_ceil(SEGMENT).max(1);
    let mut out =
        Vec::with_capacity(MAGIC.len() + 1 + id.len() + 12 + 48 + 7 + plain.len() + segments * TAG);
    out.extend_from_slice(MAGIC);
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out.extend_from_slice(wrap_nonce);
    out.extend_from_slice(&wrapped);
    out.extend_from_slice(&prefix);
    let body = c.key(&data_key).await?;
    for i in 0..segments {
        let chunk = &plain[(i * SEGMENT).min(plain.len())..((i + 1) * SEGMENT).min(plain.len())];
        let nonce = segment_nonce(&prefix, i as u32, i + 1 == segments);
        let sealed = c.seal(&body, &nonce, chunk).await?;
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// Re-wraps an envelope's data key under the active master key, leaving the
/// encrypted body as it is (master-key rotation without re-encrypting
/// documents). `None` when the object already uses the active key or is not
/// an envelope. `wrap_nonce` must be fresh random bytes.
pub fn rewrap(
    keys: &MasterKeys,
    bytes: &[u8],
    wrap_nonce: [u8; 12],
) -> Result<Option<Vec<u8>>, CryptoError> {
    if !is_encrypted(bytes) {
        return Ok(None);
    }
    let mut pos = MAGIC.len();
    let id_len = usize::from(*bytes.get(pos).ok_or(CryptoError::Corrupt)?);
    pos += 1;
    let id = bytes.get(pos..pos + id_len).ok_or(CryptoError::Corrupt)?;
    let id = std::str::from_utf8(id).map_err(|_| CryptoError::Corrupt)?;
    if id == keys.active_id() {
        return Ok(None);
    }
    pos += id_len;
    let old_nonce = bytes.get(pos..pos + 12).ok_or(CryptoError::Corrupt)?;
    let wrapped = bytes.get(pos + 12..pos + 60).ok_or(CryptoError::Corrupt)?;
    let rest = bytes.get(pos + 60..).ok_or(CryptoError::Corrupt)?;
    let data_key = cipher(keys.key(id)?)
        .decrypt(
            Nonce::from_slice(old_nonce),
            Payload {
                msg: wrapped,
                aad: id.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Corrupt)?;
    let active = keys.active_id().as_bytes();
    let rewrapped = cipher(keys.key(keys.active_id())?)
        .encrypt(
            Nonce::from_slice(&wrap_nonce),
            Payload {
                msg: &data_key,
                aad: active,
            },
        )
        .map_err(|_| CryptoError::Corrupt)?;
    let mut out = Vec::with_capacity(bytes.len() + active.len());
    out.extend_from_slice(MAGIC);
    out.push(active.len() as u8);
    out.extend_from_slice(active);
    out.extend_from_slice(&wrap_nonce);
    out.extend_from_slice(&rewrapped);
    out.extend_from_slice(rest);
    Ok(Some(out))
}

/// The id of the master key an envelope's data key is wrapped with.
pub fn key_id_of(bytes: &[u8]) -> Option<&str> {
    if !is_encrypted(bytes) {
        return None;
    }
    let len = usize::from(*bytes.get(MAGIC.len())?);
    std::str::from_utf8(bytes.get(MAGIC.len() + 1..MAGIC.len() + 1 + len)?).ok()
}

/// The most bytes an envelope header can take (a 255-byte key id).
pub const MAX_HEADER: usize = 5 + 1 + 255 + 12 + 48 + 7;

/// An envelope's header, opened: what decrypting any of its segments needs.
pub struct Opened {
    data_key: [u8; 32],
    prefix: [u8; 7],
    /// Where the first segment starts.
    pub header_len: usize,
}

/// Opens the header at the start of `head` (at least the whole header).
pub fn open_header(keys: &MasterKeys, head: &[u8]) -> Result<Opened, CryptoError> {
    if !is_encrypted(head) {
        return Err(CryptoError::Corrupt);
    }
    let id_len = usize::from(*head.get(MAGIC.len()).ok_or(CryptoError::Corrupt)?);
    let mut pos = MAGIC.len() + 1;
    let id = head.get(pos..pos + id_len).ok_or(CryptoError::Corrupt)?;
    let id = std::str::from_utf8(id).map_err(|_| CryptoError::Corrupt)?;
    pos += id_len;
    let wrap_nonce = head.get(pos..pos + 12).ok_or(CryptoError::Corrupt)?;
    let wrapped = head.get(pos + 12..pos + 60).ok_or(CryptoError::Corrupt)?;
    let prefix: [u8; 7] = head
        .get(pos + 60..pos + 67)
        .ok_or(CryptoError::Corrupt)?
        .try_into()
        .map_err(|_| CryptoError::Corrupt)?;
    let data_key = cipher(keys.key(id)?)
        .decrypt(
            Nonce::from_slice(wrap_nonce),
            Payload {
                msg: wrapped,
                aad: id.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Corrupt)?;
    let data_key: [u8; 32] = data_key.try_into().map_err(|_| CryptoError::Corrupt)?;
    Ok(Opened {
        data_key,
        prefix,
        header_len: pos + 67,
    })
}

/// The segments holding plaintext bytes `start..=end` of an object of
/// `size` plaintext bytes, and where their ciphertext lies relative to the
/// first segment: (first index, last index, offset, length).
pub fn segment_span(size: u64, start: u64, end: u64) -> (u64, u64, u64, u64) {
    let seg = SEGMENT as u64;
    let total = size.div_ceil(seg).max(1);
    let first = start / seg;
    let last = (end / seg).min(total - 1);
    let offset = first * (seg + TAG as u64);
    let last_len = if last + 1 == total {
        size - last * seg + TAG as u64
    } else {
        seg + TAG as u64
    };
    let length = (last - first) * (seg + TAG as u64) + last_len;
    (first, last, offset, length)
}

impl Opened {
    /// Decrypts consecutive sealed segments starting at index `first` of
    /// an object with `total` segments.
    pub fn decrypt_segments(
        &self,
        first: u64,
        total: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        ready(self.decrypt_segments_with(&RustCipher, first, total, sealed))
    }

    /// [`Opened::decrypt_segments`] with `c`.
    pub async fn decrypt_segments_with<C: SegmentCipher>(
        &self,
        c: &C,
        first: u64,
        total: u64,
        sealed: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let body = c.key(&self.data_key).await?;
        let mut out = Vec::with_capacity(sealed.len());
        for (i, chunk) in sealed.chunks(SEGMENT + TAG).enumerate() {
            let index = first + i as u64;
            let nonce = segment_nonce(
                &self.prefix,
                u32::try_from(index).map_err(|_| CryptoError::Corrupt)?,
                index + 1 == total,
            );
            let plain = c.open(&body, &nonce, chunk).await?;
            out.extend_from_slice(&plain);
        }
        Ok(out)
    }
}

/// Decrypts an envelope; bytes without the envelope header are returned as
/// they are (objects stored before encryption was enabled).
pub fn decrypt(keys: &MasterKeys, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
    ready(decrypt_with(&RustCipher, keys, bytes))
}

/// [`decrypt`] with the segments opened by `c`.
pub async fn decrypt_with<C: SegmentCipher>(
    c: &C,
    keys: &MasterKeys,
    bytes: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if !is_encrypted(bytes) {
        return Ok(bytes.to_vec());
    }
    let mut pos = MAGIC.len();
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], CryptoError> {
        let s = bytes.get(*pos..*pos + n).ok_or(CryptoError::Corrupt)?;
        *pos += n;
        Ok(s)
    };
    let id_len = usize::from(*take(&mut pos, 1)?.first().ok_or(CryptoError::Corrupt)?);
    let id = std::str::from_utf8(take(&mut pos, id_len)?).map_err(|_| CryptoError::Corrupt)?;
    let wrap_nonce = take(&mut pos, 12)?;
    let wrapped = take(&mut pos, 48)?;
    let prefix: [u8; 7] = take(&mut pos, 7)?
        .try_into()
        .map_err(|_| CryptoError::Corrupt)?;
    let data_key = cipher(keys.key(id)?)
        .decrypt(
            Nonce::from_slice(wrap_nonce),
            Payload {
                msg: wrapped,
                aad: id.as_bytes(),
            },
        )
        .map_err(|_| CryptoError::Corrupt)?;
    let data_key: [u8; 32] = data_key.try_into().map_err(|_| CryptoError::Corrupt)?;
    let body = c.key(&data_key).await?;
    let sealed = &bytes[pos..];
    let segments = sealed.len().div_ceil(SEGMENT + TAG).max(1);
    let mut out = Vec::with_capacity(sealed.len());
    for i in 0..segments {
        let chunk = sealed
            .get(i * (SEGMENT + TAG)..((i + 1) * (SEGMENT + TAG)).min(sealed.len()))
            .ok_or(CryptoError::Corrupt)?;
        let nonce = segment_nonce(&prefix, i as u32, i + 1 == segments);
        let plain = c.open(&body, &nonce, chunk).await?;
        out.extend_from_slice(&plain);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_decrypt_from_their_segments_alone() {
        let keys = keys();
        let plain: Vec<u8> = (0..(3 * SEGMENT + 1000)).map(|i| (i % 251) as u8).collect();
        let sealed = encrypt(&keys, &plain, [9u8; 51]).unwrap();
        let opened = open_header(&keys, &sealed[..MAX_HEADER.min(sealed.len())]).unwrap();
        let size = plain.len() as u64;
        let total = size.div_ceil(SEGMENT as u64);
        for (start, end) in [
            (0, 0),
            (10, 20),
            (SEGMENT as u64 - 1, SEGMENT as u64),
            (2 * SEGMENT as u64 + 5, size - 1),
            (0, size - 1),
            (size - 1, size - 1),
        ] {
            let (first, last, off, len) = segment_span(size, start, end);
            let at = opened.header_len + off as usize;
            let part = &sealed[at..at + len as usize];
            let got = opened.decrypt_segments(first, total, part).unwrap();
            let from = (start - first * SEGMENT as u64) as usize;
            assert_eq!(
                &got[from..=from + (end - start) as usize],
                &plain[start as usize..=end as usize]
            );
            assert!(last >= first && len <= (last - first + 1) * (SEGMENT + TAG) as u64);
        }
        // The last segment only decrypts as the last: a range cannot be
        // passed off as the end of the object.
        let (_, _, off, _) = segment_span(size, 0, 0);
        let at = opened.header_len + off as usize;
        assert!(opened
            .decrypt_segments(0, 1, &sealed[at..at + SEGMENT + TAG])
            .is_err());
        // A one-segment object: its only segment is the last.
        assert_eq!(segment_span(10, 0, 9), (0, 0, 0, 10 + TAG as u64));
    }

    fn keys() -> MasterKeys {
        let k1 = B64.encode([1u8; 32]);
        let k2 = B64.encode([2u8; 32]);
        MasterKeys::parse(&format!("k2:{k2},k1:{k1}"), None).unwrap()
    }

    #[test]
    fn rewrapping_moves_an_object_to_the_active_key_and_keeps_its_body() {
        let k1 = B64.encode([1u8; 32]);
        let k2 = B64.encode([2u8; 32]);
        let old = MasterKeys::parse(&format!("k1:{k1}"), None).unwrap();
        let plain = vec![7u8; SEGMENT + 100];
        let sealed = encrypt(&old, &plain, [3; 51]).unwrap();
        assert_eq!(key_id_of(&sealed), Some("k1"));
        let both = MasterKeys::parse(&format!("k2:{k2},k1:{k1}"), None).unwrap();
        let moved = rewrap(&both, &sealed, [4; 12]).unwrap().unwrap();
        assert_eq!(key_id_of(&moved), Some("k2"));
        assert_eq!(decrypt(&both, &moved).unwrap(), plain);
        assert_eq!(
            &moved[moved.len() - 500..],
            &sealed[sealed.len() - 500..],
            "body untouched"
        );
        // Once k1 is retired the moved object still opens; the old one does not.
        let only_k2 = MasterKeys::parse(&format!("k2:{k2}"), None).unwrap();
        assert_eq!(decrypt(&only_k2, &moved).unwrap(), plain);
        assert!(decrypt(&only_k2, &sealed).is_err());
        assert_eq!(
            rewrap(&both, &moved, [5; 12]).unwrap(),
            None,
            "already current"
        );
        assert_eq!(rewrap(&both, b"plain bytes", [5; 12]).unwrap(), None);
    }

    #[test]
    fn round_trips_empty_small_and_multi_segment_bodies_without_plaintext() {
        for len in [0, 10, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7] {
            let plain: Vec<u8> = (0..len).map(|i| b"secret text "[i % 12]).collect();
            let sealed = encrypt(&keys(), &plain, [9; 51]).unwrap();
            assert!(is_encrypted(&sealed));
            if len > 0 {
                assert!(
                    !sealed.windows(6).any(|w| w == b"secret"),
                    "plaintext leaked at {len}"
                );
            }
            assert_eq!(decrypt(&keys(), &sealed).unwrap(), plain);
        }
    }

    #[test]
    fn truncation_reordering_and_tampering_are_detected() {
        let plain = vec![7u8; 2 * SEGMENT + 100];
        let sealed = encrypt(&keys(), &plain, [3; 51]).unwrap();
        let header = sealed.len() - (plain.len() + 3 * TAG);
        // Drop the last segment: the new last one is not flagged as last.
        let truncated = &sealed[..header + 2 * (SEGMENT + TAG)];
        assert_eq!(decrypt(&keys(), truncated), Err(CryptoError::Corrupt));
        let mut flipped = sealed.clone();
        flipped[header + 5] ^= 1;
        assert_eq!(decrypt(&keys(), &flipped), Err(CryptoError::Corrupt));
    }

    #[test]
    fn old_master_keys_still_decrypt_after_rotation() {
        let k1 = B64.encode([1u8; 32]);
        let old = MasterKeys::parse(&format!("k1:{k1}"), None).unwrap();
        let sealed = encrypt(&old, b"written before rotation", [5; 51]).unwrap();
        assert_eq!(
            decrypt(&keys(), &sealed).unwrap(),
            b"written before rotation"
        );
        let without = MasterKeys::parse(&format!("k9:{}", B64.encode([9u8; 32])), None).unwrap();
        assert_eq!(
            decrypt(&without, &sealed),
            Err(CryptoError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn unencrypted_objects_pass_through_and_bad_config_is_reported() {
        assert_eq!(decrypt(&keys(), b"legacy").unwrap(), b"legacy");
        assert!(MasterKeys::parse("k1:notbase64!", None).is_err());
        assert!(MasterKeys::parse(&format!("k1:{}", B64.encode([1u8; 16])), None).is_err());
        assert!(
            format!("{:?}", keys()).find("[1").is_none(),
            "no key material in Debug"
        );
    }
}
