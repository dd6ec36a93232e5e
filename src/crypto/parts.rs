//! Multipart objects (resumable uploads), encrypted part by part so that
//! every part but the last has the same size, as R2 requires.
//!
//! Part layout: `QENC2` | segments per part (u32 BE) | nonce prefix (7,
//! fresh per part upload, so a re-sent part never reuses a nonce) |
//! segments (64 KiB + 16 tag; nonce = prefix | global segment index |
//! last-of-object flag). The data key lives in a small companion object
//! `<key>.hdr`, itself an ordinary envelope, so re-wrapping a master key
//! rewrites only that.

use super::{CryptoError, RustCipher, SegmentCipher, SEGMENT};

pub const MAGIC2: &[u8] = b"QENC2";
pub const PART_HEADER: u64 = 16;
const TAG: u64 = 16;

/// The companion object holding a multipart object's data key.
pub fn header_key(key: &str) -> String {
    format!("{key}.hdr")
}

/// Whether an object is a multipart envelope.
pub fn is_multipart(head: &[u8]) -> bool {
    head.starts_with(MAGIC2)
}

/// Where things are in a multipart object of `size` plaintext bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub size: u64,
    pub segs_per_part: u64,
}

impl Layout {
    pub fn part_plain(&self) -> u64 {
        self.segs_per_part * SEGMENT as u64
    }
    pub fn part_sealed(&self) -> u64 {
        PART_HEADER + self.segs_per_part * (SEGMENT as u64 + TAG)
    }
    pub fn segments(&self) -> u64 {
        self.size.div_ceil(SEGMENT as u64).max(1)
    }
    /// Start of part `p` (0-based) in the object.
    pub fn part_offset(&self, p: u64) -> u64 {
        p * self.part_sealed()
    }
    /// Ciphertext offset and length of global segments `first..=last`,
    /// which must lie in one part.
    pub fn segments_span(&self, first: u64, last: u64) -> (u64, u64) {
        let p = first / self.segs_per_part;
        let local = first % self.segs_per_part;
        let start = self.part_offset(p) + PART_HEADER + local * (SEGMENT as u64 + TAG);
        let plain_end = ((last + 1) * SEGMENT as u64).min(self.size);
        let plain_len = plain_end - first * SEGMENT as u64;
        let count = last - first + 1;
        (start, plain_len + count * TAG)
    }
}

fn nonce(prefix: &[u8; 7], index: u64, last: bool) -> Result<[u8; 12], CryptoError> {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    let index = u32::try_from(index).map_err(|_| CryptoError::Corrupt)?;
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Ok(n)
}

/// Seals part `p` (0-based) of an object: `plain` must be exactly the
/// part's bytes (a full part, or the remainder for the last).
pub fn seal_part(
    data_key: &[u8; 32],
    prefix: [u8; 7],
    layout: Layout,
    p: u64,
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    super::envelope::ready(seal_part_with(
        &RustCipher,
        data_key,
        prefix,
        layout,
        p,
        plain,
    ))
}

/// [`seal_part`] with the segments sealed by `c`.
pub async fn seal_part_with<C: SegmentCipher>(
    c: &C,
    data_key: &[u8; 32],
    prefix: [u8; 7],
    layout: Layout,
    p: u64,
    plain: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = c.key(data_key).await?;
    let mut out = Vec::with_capacity(plain.len() + PART_HEADER as usize + plain.len() / 4096 + 64);
    out.extend_from_slice(MAGIC2);
    out.extend_from_slice(&(layout.segs_per_part as u32).to_be_bytes());
    out.extend_from_slice(&prefix);
    let total = layout.segments();
    for (i, chunk) in plain.chunks(SEGMENT).enumerate() {
        let index = p * layout.segs_per_part + i as u64;
        let sealed = c
            .seal(&key, &nonce(&prefix, index, index + 1 == total)?, chunk)
            .await?;
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// Reads a part header: (segments per part, nonce prefix).
pub fn part_header(head: &[u8]) -> Result<(u64, [u8; 7]), CryptoError> {
    if !is_multipart(head) || head.len() < PART_HEADER as usize {
        return Err(CryptoError::Corrupt);
    }
    let segs = u32::from_be_bytes(head[5..9].try_into().map_err(|_| CryptoError::Corrupt)?);
    let prefix: [u8; 7] = head[9..16].try_into().map_err(|_| CryptoError::Corrupt)?;
    if segs == 0 {
        return Err(CryptoError::Corrupt);
    }
    Ok((u64::from(segs), prefix))
}

/// Decrypts consecutive sealed segments from index `first` (global).
pub fn open_segments(
    data_key: &[u8; 32],
    prefix: &[u8; 7],
    layout: Layout,
    first: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    super::envelope::ready(open_segments_with(
        &RustCipher,
        data_key,
        prefix,
        layout,
        first,
        sealed,
    ))
}

/// [`open_segments`] with `c`.
pub async fn open_segments_with<C: SegmentCipher>(
    c: &C,
    data_key: &[u8; 32],
    prefix: &[u8; 7],
    layout: Layout,
    first: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = c.key(data_key).await?;
    let total = layout.segments();
    let mut out = Vec::with_capacity(sealed.len());
    for (i, chunk) in sealed.chunks(SEGMENT + TAG as usize).enumerate() {
        let index = first + i as u64;
        let plain = c
            .open(&key, &nonce(prefix, index, index + 1 == total)?, chunk)
            .await?;
        out.extend_from_slice(&plain);
    }
    Ok(out)
}

/// Decrypts a whole multipart object (sizes follow from its length).
pub async fn open_whole_with<C: SegmentCipher>(
    c: &C,
    data_key: &[u8; 32],
    object: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (segs_per_part, _) = part_header(object)?;
    let part_sealed = PART_HEADER + segs_per_part * (SEGMENT as u64 + TAG);
    let len = object.len() as u64;
    let (full, rest) = (len / part_sealed, len % part_sealed);
    let tail_plain = if rest == 0 {
        0
    } else {
        let body = rest.checked_sub(PART_HEADER).ok_or(CryptoError::Corrupt)?;
        let segs = body.div_ceil(SEGMENT as u64 + TAG);
        body.checked_sub(segs * TAG).ok_or(CryptoError::Corrupt)?
    };
    let layout = Layout {
        size: full * segs_per_part * SEGMENT as u64 + tail_plain,
        segs_per_part,
    };
    let mut out = Vec::with_capacity(layout.size as usize);
    for (p, part) in object.chunks(part_sealed as usize).enumerate() {
        let (_, prefix) = part_header(part)?;
        let first = p as u64 * segs_per_part;
        out.extend(
            open_segments_with(
                c,
                data_key,
                &prefix,
                layout,
                first,
                &part[PART_HEADER as usize..],
            )
            .await?,
        );
    }
    Ok(out)
}

/// SHA-256 kept across requests: the state after whole 64-byte blocks,
/// so parts hashed in order as they arrive need no re-reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Midstate {
    pub state: [u32; 8],
    pub bytes: u64,
}

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

impl Default for Midstate {
    fn default() -> Self {
        Midstate {
            state: H0,
            bytes: 0,
        }
    }
}

impl Midstate {
    /// Adds whole blocks (`data.len()` a multiple of 64).
    pub fn update(&mut self, data: &[u8]) -> Result<(), CryptoError> {
        if !data.len().is_multiple_of(64) {
            return Err(CryptoError::Corrupt);
        }
        let blocks: Vec<sha2::digest::generic_array::GenericArray<u8, sha2::digest::consts::U64>> =
            data.chunks(64)
                .map(sha2::digest::generic_array::GenericArray::clone_from_slice)
                .collect();
        sha2::compress256(&mut self.state, &blocks);
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// The digest of everything added plus `tail` (any length).
    pub fn finish(mut self, tail: &[u8]) -> [u8; 32] {
        let whole = tail.len() / 64 * 64;
        let _ = self.update(&tail[..whole]);
        let rest = &tail[whole..];
        let bits = (self.bytes + rest.len() as u64) * 8;
        let mut last = rest.to_vec();
        last.push(0x80);
        while last.len() % 64 != 56 {
            last.push(0);
        }
        last.extend_from_slice(&bits.to_be_bytes());
        let _ = self.update(&last);
        let mut out = [0u8; 32];
        for (i, word) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// `bytes:hex(state)`, for storage between requests.
    pub fn encode(&self) -> String {
        let words: String = self.state.iter().map(|w| format!("{w:08x}")).collect();
        format!("{}:{words}", self.bytes)
    }

    pub fn decode(s: &str) -> Option<Midstate> {
        let (bytes, words) = s.split_once(':')?;
        if words.len() != 64 {
            return None;
        }
        let mut state = [0u32; 8];
        for (i, w) in state.iter_mut().enumerate() {
            *w = u32::from_str_radix(words.get(i * 8..i * 8 + 8)?, 16).ok()?;
        }
        Some(Midstate {
            state,
            bytes: bytes.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_midstate_hash_equals_sha256() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        for (parts, tail) in [
            (0usize, 0usize),
            (0, 55),
            (0, 56),
            (0, 64),
            (2, 1000),
            (3, 0),
        ] {
            let part = 64 * 1024;
            let whole = &data[..parts * part + tail];
            let mut m = Midstate::default();
            for p in 0..parts {
                m.update(&whole[p * part..(p + 1) * part]).unwrap();
                // Stored and read back between requests.
                m = Midstate::decode(&m.encode()).unwrap();
            }
            let got = m.finish(&whole[parts * part..]);
            assert_eq!(
                got.as_slice(),
                Sha256::digest(whole).as_slice(),
                "{parts} {tail}"
            );
        }
        assert!(Midstate::default().update(&[0; 10]).is_err());
        assert_eq!(Midstate::decode("x"), None);
    }

    #[test]
    fn parts_seal_to_equal_sizes_and_open_by_segment() {
        let key = [7u8; 32];
        let layout = Layout {
            size: 5 * SEGMENT as u64 + 100,
            segs_per_part: 2,
        };
        let plain: Vec<u8> = (0..layout.size).map(|i| (i % 253) as u8).collect();
        let parts: Vec<Vec<u8>> = plain
            .chunks(layout.part_plain() as usize)
            .enumerate()
            .map(|(p, c)| seal_part(&key, [p as u8; 7], layout, p as u64, c).unwrap())
            .collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].len() as u64, layout.part_sealed());
        assert_eq!(parts[0].len(), parts[1].len(), "R2 wants equal parts");
        let object: Vec<u8> = parts.concat();
        for (first, last) in [(0, 0), (1, 1), (2, 3), (4, 5), (5, 5)] {
            let (at, len) = layout.segments_span(first, last);
            let p = first / layout.segs_per_part;
            let (segs, prefix) =
                part_header(&object[layout.part_offset(p) as usize..][..16]).unwrap();
            assert_eq!(segs, 2);
            let got = open_segments(
                &key,
                &prefix,
                layout,
                first,
                &object[at as usize..(at + len) as usize],
            )
            .unwrap();
            let from = (first * SEGMENT as u64) as usize;
            assert_eq!(got, &plain[from..from + got.len()]);
        }
        // The final segment is sealed as the last: cut short, it fails.
        let (at, len) = layout.segments_span(4, 4);
        let p4 = part_header(&object[layout.part_offset(2) as usize..][..16])
            .unwrap()
            .1;
        assert!(open_segments(
            &key,
            &p4,
            Layout {
                size: 5 * SEGMENT as u64,
                ..layout
            },
            4,
            &object[at as usize..(at + len) as usize]
        )
        .is_err());
    }
}
