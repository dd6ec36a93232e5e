//! Identifiers: a type prefix plus 26 Crockford base32 characters encoding
//! 48 bits of milliseconds and 80 random bits (ULID layout), so ids sort by
//! creation time, which is what cursor pagination relies on.

use crate::entropy::Entropy;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Builds a new id such as `doc_01jg…`. Pure given its inputs.
pub fn make_id(prefix: &str, now_ms: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(now_ms & 0xFFFF_FFFF_FFFF) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (8 * (9 - i));
    }
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        let idx = ((value >> (5 * i)) & 0x1F) as usize;
        out.push(ALPHABET[idx] as char);
    }
    out
}

/// Draws a new id from the given entropy source.
pub fn new_id(prefix: &str, now_ms: u64, entropy: &impl Entropy) -> String {
    let mut random = [0u8; 10];
    entropy.fill(&mut random);
    make_id(prefix, now_ms, random)
}

/// Whether `s` is shaped like an id with this prefix. Used to refuse
/// junk early; lookups of well-formed but unknown ids still return 404.
pub fn looks_like_id(prefix: &str, s: &str) -> bool {
    s.len() <= 64
        && s.strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('_'))
            .is_some_and(|r| {
                !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time() {
        let a = make_id("doc", 1_000, [255; 10]);
        let b = make_id("doc", 1_001, [0; 10]);
        assert!(a < b, "{a} < {b}");
        assert_eq!(a.len(), 4 + 26);
    }

    #[test]
    fn id_shape_is_checked() {
        assert!(looks_like_id("doc", &make_id("doc", 5, [7; 10])));
        assert!(!looks_like_id("doc", "job_123"));
        assert!(!looks_like_id("doc", "doc_"));
        assert!(!looks_like_id("doc", "doc_a'b"));
    }
}
