//! Public-key signature checks, the one step of JWT verification that
//! needs RSA or elliptic-curve arithmetic. At the edge it is workerd's
//! WebCrypto, which does all three natively, so the API worker's module
//! carries none of that code; natively, the pure-Rust crates
//! ([`PureSignatures`](crate::auth::jwt::PureSignatures)). The trait is defined beside the
//! keys it checks with (`auth::jwt::keys`), so the verifier needs nothing
//! from the ports; it is named here with the other ports.

pub use crate::auth::jwt::keys::SignatureCheck;
