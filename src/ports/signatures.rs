//! Public-key signature checks, the one step of JWT verification that
//! needs RSA or elliptic-curve arithmetic. At the edge it is workerd's
//! WebCrypto, which does all three natively, so the API worker's module
//! carries none of that code; natively, the pure-Rust crates
//! ([`crate::fakes::PureSignatures`]).

use crate::auth::jwt::PublicKey;

/// Checks one signature with one key; the key's kind names the algorithm
/// (RS256, ES256 or EdDSA). The caller has already checked the key's
/// strength and the signature's length ([`crate::auth::jwt::keys`]).
pub trait SignatureCheck {
    /// Whether `signature` is valid over `message` under `key`. An error
    /// (a key the implementation cannot import) is `false`.
    async fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool;
}
