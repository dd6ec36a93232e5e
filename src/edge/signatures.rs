//! JWS signature checks through workerd's WebCrypto (`crypto.subtle`):
//! RSASSA-PKCS1-v1_5, ECDSA P-256 and Ed25519 are native there, so the
//! API worker's module carries no big-number or curve arithmetic (the
//! pure-Rust verifiers it replaced were about a tenth of the module).
//! What is checked before a key gets here (its strength, the signature's
//! length) is pure code in `auth::jwt::keys`, shared with the native
//! verifier.

use crate::auth::jwt::PublicKey;
use crate::ports::SignatureCheck;
use worker::js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, JSON};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;

/// Verifies with the runtime's WebCrypto.
pub struct WebCryptoSignatures;

fn object(members: &[(&str, &str)]) -> Result<JsValue, JsValue> {
    let o = Object::new();
    for (name, value) in members {
        Reflect::set(&o, &(*name).into(), &(*value).into())?;
    }
    Ok(o.into())
}

/// The algorithm as `importKey` and as `verify` want it.
fn algorithms(key: &PublicKey) -> Result<(JsValue, JsValue), JsValue> {
    Ok(match key {
        PublicKey::Rsa { .. } => (
            object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?,
            object(&[("name", "RSASSA-PKCS1-v1_5")])?,
        ),
        PublicKey::P256 { .. } => (
            object(&[("name", "ECDSA"), ("namedCurve", "P-256")])?,
            object(&[("name", "ECDSA"), ("hash", "SHA-256")])?,
        ),
        PublicKey::Ed25519(_) => (
            object(&[("name", "Ed25519")])?,
            object(&[("name", "Ed25519")])?,
        ),
    })
}

async fn call(subtle: &JsValue, name: &str, args: &Array) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(subtle, &name.into())?.dyn_into()?;
    let promise: Promise = f.apply(subtle, args)?.dyn_into()?;
    JsFuture::from(promise).await
}

async fn verify(key: &PublicKey, message: &[u8], signature: &[u8]) -> Result<bool, JsValue> {
    let crypto = Reflect::get(&worker::js_sys::global(), &"crypto".into())?;
    let subtle = Reflect::get(&crypto, &"subtle".into())?;
    let (import_as, verify_as) = algorithms(key)?;
    let jwk = JSON::parse(&key.to_jwk().to_string())?;
    let usages = Array::of1(&"verify".into());
    let args = Array::of5(&"jwk".into(), &jwk, &import_as, &false.into(), &usages);
    let imported = call(&subtle, "importKey", &args).await?;
    let args = Array::of4(
        &verify_as,
        &imported,
        &Uint8Array::from(signature),
        &Uint8Array::from(message),
    );
    Ok(call(&subtle, "verify", &args).await?.as_bool() == Some(true))
}

impl SignatureCheck for WebCryptoSignatures {
    async fn verify(&self, key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
        // A key WebCrypto will not import is no key: the token is refused.
        verify(key, message, signature).await.unwrap_or(false)
    }
}
