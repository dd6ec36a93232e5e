//! The public keys a tenant configures (JWKS entries), parsed into the
//! three shapes JWT verification accepts. Pure: the arithmetic that checks
//! a signature with one of them is behind [`SignatureCheck`], a port
//! (WebCrypto at the edge) defined here beside the keys it takes and named
//! in `crate::ports` with the others; every rule about which key may be used,
//! how large it may be and how long its signatures are lives here, so the
//! edge and the native verifier cannot disagree on them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// RSA moduli below this are refused (NIST SP 800-131A); above the upper
/// bound a configured key would make every verification slow.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;
const MAX_KID_LEN: usize = 128;

/// A public key, parsed: each kind verifies exactly one `alg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RS256: modulus and public exponent, big-endian, no leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// ES256: an uncompressed P-256 point.
    P256 { x: [u8; 32], y: [u8; 32] },
    /// EdDSA over Ed25519.
    Ed25519([u8; 32]),
}

fn member<'a>(jwk: &'a Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

fn bytes(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(member(jwk, name)?).ok()
}

fn fixed(jwk: &Value, name: &str) -> Option<[u8; 32]> {
    bytes(jwk, name)?.try_into().ok()
}

fn unsigned(mut b: Vec<u8>) -> Vec<u8> {
    let zeros = b.iter().take_while(|&&x| x == 0).count();
    b.drain(..zeros);
    b
}

fn bit_length(n: &[u8]) -> usize {
    n.first()
        .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize)
}

impl PublicKey {
    /// The key `jwk` holds for tokens of `alg`, if it fits that algorithm
    /// (see [`fits`]) and its material is well formed and strong enough.
    pub fn parse(jwk: &Value, alg: &str) -> Option<PublicKey> {
        if !fits(jwk, alg, None) {
            return None;
        }
        match alg {
            "RS256" => {
                let n = unsigned(bytes(jwk, "n")?);
                let e = unsigned(bytes(jwk, "e")?);
                let bits = bit_length(&n);
                // An even or tiny exponent is no RSA public key; more than
                // 32 bits is beyond what WebCrypto implementations accept.
                let e_ok =
                    (1..=4).contains(&e.len()) && e.last().is_some_and(|l| l & 1 == 1) && e != [1];
                ((RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) && e_ok)
                    .then_some(PublicKey::Rsa { n, e })
            }
            "ES256" => Some(PublicKey::P256 {
                x: fixed(jwk, "x")?,
                y: fixed(jwk, "y")?,
            }),
            "EdDSA" => Some(PublicKey::Ed25519(fixed(jwk, "x")?)),
            _ => None,
        }
    }

    /// The length every signature made with this key has.
    pub fn signature_len(&self) -> usize {
        match self {
            PublicKey::Rsa { n, .. } => n.len(),
            // r || s (JWS, RFC 7518 §3.4) and R || S (RFC 8032).
            PublicKey::P256 { .. } | PublicKey::Ed25519(_) => 64,
        }
    }

    /// The key as a minimal public JWK: only the members that define it,
    /// so nothing else a tenant put in its JWKS (`key_ops`, `ext`, a
    /// private `d`) reaches the importer.
    pub fn to_jwk(&self) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match self {
            PublicKey::Rsa { n, e } => json!({"kty": "RSA", "n": b64(n), "e": b64(e)}),
            PublicKey::P256 { x, y } => {
                json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)})
            }
            PublicKey::Ed25519(x) => json!({"kty": "OKP", "crv": "Ed25519", "x": b64(x)}),
        }
    }
}

/// Checks one signature with one key; the key's kind names the algorithm
/// (RS256, ES256 or EdDSA). The caller has already checked the key's
/// strength and the signature's length (above).
pub trait SignatureCheck {
    /// Whether `signature` is valid over `message` under `key`. An error
    /// (a key the implementation cannot import) is `false`.
    async fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool;
}

/// The keys of a JWKS document.
pub fn jwks_keys(jwks: &Value) -> Option<&Vec<Value>> {
    jwks.get("keys").and_then(Value::as_array)
}

/// Whether a JWK may verify tokens of `alg` (and carries `kid`, if given).
pub fn fits(jwk: &Value, alg: &str, kid: Option<&str>) -> bool {
    let s = |name: &str| member(jwk, name);
    let type_ok = match alg {
        "RS256" => s("kty") == Some("RSA"),
        "ES256" => s("kty") == Some("EC") && s("crv") == Some("P-256"),
        "EdDSA" => s("kty") == Some("OKP") && s("crv") == Some("Ed25519"),
        _ => false,
    };
    type_ok
        && s("alg").is_none_or(|a| a == alg)
        && s("use").is_none_or(|u| u == "sig")
        && kid.is_none_or(|k| s("kid") == Some(k))
}

/// Whether a token's `kid` is one we would look up at all.
pub fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:=+/".contains(&b))
        && !kid.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(n_bytes: usize, e: &[u8]) -> Value {
        let mut n = vec![0xC5; n_bytes];
        n.insert(0, 0); // a leading zero, as some encoders write
        json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(&n), "e": URL_SAFE_NO_PAD.encode(e)})
    }

    #[test]
    fn rsa_keys_under_2048_bits_or_with_a_bad_exponent_are_not_keys() {
        assert!(PublicKey::parse(&rsa(256, &[1, 0, 1]), "RS256").is_some());
        assert!(PublicKey::parse(&rsa(128, &[1, 0, 1]), "RS256").is_none());
        assert!(PublicKey::parse(&rsa(1025, &[1, 0, 1]), "RS256").is_none());
        for e in [&[1][..], &[2], &[1, 0, 0, 0, 1], &[]] {
            assert!(PublicKey::parse(&rsa(256, e), "RS256").is_none(), "{e:?}");
        }
    }

    #[test]
    fn a_key_is_only_used_with_the_algorithm_its_type_names() {
        let k = rsa(256, &[1, 0, 1]);
        assert!(PublicKey::parse(&k, "ES256").is_none());
        let mut tagged = k.clone();
        tagged["alg"] = json!("RS512");
        assert!(PublicKey::parse(&tagged, "RS256").is_none());
        let ec = json!({"kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode([1; 32]), "y": URL_SAFE_NO_PAD.encode([2; 31])});
        assert!(PublicKey::parse(&ec, "ES256").is_none(), "short y");
    }

    #[test]
    fn the_jwk_handed_on_carries_no_private_or_usage_members() {
        let mut k = rsa(256, &[1, 0, 1]);
        k["d"] = json!("c2VjcmV0");
        k["key_ops"] = json!(["sign"]);
        let key = PublicKey::parse(&k, "RS256").unwrap();
        let jwk = key.to_jwk();
        assert_eq!(jwk.as_object().unwrap().len(), 3);
        assert_eq!(PublicKey::parse(&jwk, "RS256"), Some(key.clone()));
        assert_eq!(key.signature_len(), 256);
    }
}
