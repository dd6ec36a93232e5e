//! JWS signature checks with the pure-Rust crates (jwt-compact over rsa,
//! p256 and ed25519-compact), for native builds and tests. The edge uses
//! WebCrypto instead; the end-to-end JWT tests hold the two to the same
//! tokens.

use crate::auth::jwt::PublicKey;
use crate::ports::SignatureCheck;
use jwt_compact::alg::{Ed25519, Es256, Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmSignature};

/// Verifies in Rust what the edge verifies with WebCrypto.
#[derive(Default)]
pub struct PureSignatures;

fn check<A: Algorithm>(alg: &A, key: &A::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    A::Signature::try_from_slice(signature)
        .is_ok_and(|sig| alg.verify_signature(&sig, key, message))
}

impl SignatureCheck for PureSignatures {
    async fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        let value = key.to_jwk();
        let Ok(jwk) = serde_json::from_value::<JsonWebKey<'_>>(value) else {
            return false;
        };
        match key {
            PublicKey::Rsa { .. } => RsaPublicKey::try_from(&jwk)
                .is_ok_and(|k| check(&Rsa::rs256(), &k, message, signature)),
            PublicKey::P256 { .. } => p256::ecdsa::VerifyingKey::try_from(&jwk)
                .is_ok_and(|k| check(&Es256, &k, message, signature)),
            PublicKey::Ed25519(_) => ed25519_compact::PublicKey::try_from(&jwk)
                .is_ok_and(|k| check(&Ed25519, &k, message, signature)),
        }
    }
}
