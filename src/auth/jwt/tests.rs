//! Attack cases against the verifier, with tokens minted by hand the way
//! an attacker would (raw base64url segments, any header, any signature).

use super::*;
use ed25519_compact::{KeyPair, Seed};
use hmac::{Hmac, Mac};
use jwt_compact::jwk::JsonWebKey;
use p256::ecdsa::signature::Signer;
use serde_json::json;
use sha2::Sha256;

const NOW: u64 = 1_700_000_000_000;
const SECRET: &str = "an-hs256-secret-of-at-least-32-bytes!";
const ISS: &str = "https://idp.example.com";
const AUD: &str = "quire";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn es_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap()
}

fn es256(header: &Value, claims: &Value, key: &p256::ecdsa::SigningKey) -> String {
    let input = signing_input(header, claims);
    let sig: p256::ecdsa::Signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&sig.to_bytes()))
}

fn ed_pair() -> KeyPair {
    KeyPair::from_seed(Seed::new([9u8; 32]))
}

fn es_jwk(kid: &str) -> Value {
    let vk = *es_key().verifying_key();
    let mut v = serde_json::to_value(JsonWebKey::from(&vk)).unwrap();
    v["kid"] = json!(kid);
    v
}

fn ed_jwk(kid: &str) -> Value {
    let pair = ed_pair();
    let mut v = serde_json::to_value(JsonWebKey::from(&pair.pk)).unwrap();
    v["kid"] = json!(kid);
    v
}

fn cfg(algorithms: &[&str]) -> IdpConfig {
    IdpConfig {
        issuer: ISS.into(),
        audience: AUD.into(),
        algorithms: algorithms.iter().map(|s| s.to_string()).collect(),
        hs256_secret: Some(SECRET.into()),
        jwks: None,
        jwks_url: None,
        leeway_seconds: 30,
        jwks_ttl_seconds: 600,
        jwks_refetch_seconds: 60,
        claims: ClaimNames::default(),
        default_role: Role::Member,
        required_claim: None,
    }
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "auth0|alice",
        "exp": NOW / 1000 + 600, "iat": NOW / 1000 - 10,
        "role": "member", "email": "alice@example.com"
    })
}

fn check(token: &str, cfg: &IdpConfig, keys: &[Value]) -> Result<Verified, JwtFailure> {
    let p = peek(token)?;
    futures::executor::block_on(verify(&super::PureSignatures, &p, cfg, keys, NOW))
}

fn hs(claims: &Value) -> String {
    hs256(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        SECRET.as_bytes(),
    )
}

#[test]
fn a_good_hs256_token_maps_subject_role_and_scopes() {
    let v = check(&hs(&claims()), &cfg(&["HS256"]), &[]).unwrap();
    assert_eq!(v.subject, "auth0|alice");
    assert_eq!(v.role, Role::Member);
    assert_eq!(v.email.as_deref(), Some("alice@example.com"));
    assert_eq!(v.scopes, Role::Member.scopes().to_vec());
}

#[test]
fn good_es256_and_eddsa_tokens_verify_with_the_configured_keys() {
    let mut c = cfg(&["ES256", "EdDSA"]);
    c.hs256_secret = None;
    let keys = [es_jwk("es-1"), ed_jwk("ed-1")];
    let es = es256(
        &json!({"alg": "ES256", "kid": "es-1"}),
        &claims(),
        &es_key(),
    );
    assert!(check(&es, &c, &keys).is_ok());
    let header = json!({"alg": "EdDSA", "kid": "ed-1"});
    let input = signing_input(&header, &claims());
    let sig = ed_pair().sk.sign(input.as_bytes(), None);
    let ed = format!("{input}.{}", b64(sig.as_ref()));
    assert!(check(&ed, &c, &keys).is_ok());
    // Without kid the fitting keys are tried.
    let no_kid = es256(&json!({"alg": "ES256"}), &claims(), &es_key());
    assert!(check(&no_kid, &c, &keys).is_ok());
}

#[test]
fn alg_none_in_any_case_is_refused() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let input = signing_input(&json!({"alg": alg}), &claims());
        assert_eq!(
            check(&format!("{input}."), &cfg(&["HS256"]), &[]),
            Err(JwtFailure::Malformed)
        );
        assert_eq!(
            check(&format!("{input}.AAAA"), &cfg(&["HS256"]), &[]),
            Err(JwtFailure::AlgorithmNotAllowed)
        );
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let mut c = cfg(&["HS256", "ES256"]);
    c.jwks = Some(json!({"keys": [es_jwk("es-1")]}));
    let public = es_key().verifying_key().to_encoded_point(false);
    for secret in [
        public.as_bytes().to_vec(),
        es_jwk("es-1").to_string().into_bytes(),
    ] {
        let t = hs256(&json!({"alg": "HS256", "kid": "es-1"}), &claims(), &secret);
        assert_eq!(
            check(&t, &c, &[es_jwk("es-1")]),
            Err(JwtFailure::BadSignature)
        );
    }
}

#[test]
fn algorithms_outside_the_allow_list_are_refused() {
    let mut c = cfg(&["ES256"]);
    c.hs256_secret = Some(SECRET.into());
    assert_eq!(
        check(&hs(&claims()), &c, &[es_jwk("es-1")]),
        Err(JwtFailure::AlgorithmNotAllowed)
    );
    let hs512 = hs256(&json!({"alg": "HS512"}), &claims(), SECRET.as_bytes());
    assert_eq!(
        check(&hs512, &cfg(&["HS256"]), &[]),
        Err(JwtFailure::AlgorithmNotAllowed)
    );
}

#[test]
fn edited_payloads_and_damaged_signatures_are_refused() {
    let good = hs(&claims());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut edited_claims = claims();
    edited_claims["role"] = json!("admin");
    let edited = format!(
        "{}.{}.{sig}",
        input.split('.').next().unwrap(),
        b64(edited_claims.to_string().as_bytes())
    );
    let c = cfg(&["HS256"]);
    assert_eq!(check(&edited, &c, &[]), Err(JwtFailure::BadSignature));
    // Cut on a base64 quantum the rest decodes and the length is wrong;
    // cut elsewhere the encoding itself is broken. Both are refused.
    let truncated = format!("{input}.{}", &sig[..sig.len() - 3]);
    assert_eq!(check(&truncated, &c, &[]), Err(JwtFailure::BadSignature));
    let ragged = format!("{input}.{}", &sig[..sig.len() - 4]);
    assert_eq!(check(&ragged, &c, &[]), Err(JwtFailure::Malformed));
    let mut raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    raw[5] ^= 0x01;
    let flipped = format!("{input}.{}", b64(&raw));
    assert_eq!(check(&flipped, &c, &[]), Err(JwtFailure::BadSignature));
}

#[test]
fn time_claims_are_enforced_with_leeway() {
    let c = cfg(&["HS256"]);
    let with = |k: &str, v: Value| {
        let mut cl = claims();
        cl[k] = v;
        hs(&cl)
    };
    let now = NOW / 1000;
    assert_eq!(
        check(&with("exp", json!(now - 31)), &c, &[]),
        Err(JwtFailure::Expired)
    );
    assert!(check(&with("exp", json!(now - 29)), &c, &[]).is_ok());
    assert_eq!(
        check(&with("nbf", json!(now + 31)), &c, &[]),
        Err(JwtFailure::NotYetValid)
    );
    assert_eq!(
        check(&with("iat", json!(now + 31)), &c, &[]),
        Err(JwtFailure::NotYetValid)
    );
    let mut no_exp = claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_eq!(check(&hs(&no_exp), &c, &[]), Err(JwtFailure::MissingExpiry));
    assert!(check(&with("exp", json!("tomorrow")), &c, &[]).is_err());
}

#[test]
fn issuer_and_audience_must_match_exactly() {
    let c = cfg(&["HS256"]);
    let with = |k: &str, v: Value| {
        let mut cl = claims();
        cl[k] = v;
        hs(&cl)
    };
    for iss in [
        "https://IDP.example.com",
        "https://idp.example.com/",
        "https://evil.example",
        "",
    ] {
        assert_eq!(
            check(&with("iss", json!(iss)), &c, &[]),
            Err(JwtFailure::WrongIssuer)
        );
    }
    for aud in [
        json!("Quire"),
        json!("quire/"),
        json!(["other"]),
        json!(null),
        json!(7),
    ] {
        assert_eq!(
            check(&with("aud", aud), &c, &[]),
            Err(JwtFailure::WrongAudience)
        );
    }
    assert!(check(&with("aud", json!(["other", "quire"])), &c, &[]).is_ok());
    let mut no_iss = claims();
    no_iss.as_object_mut().unwrap().remove("iss");
    assert_eq!(check(&hs(&no_iss), &c, &[]), Err(JwtFailure::WrongIssuer));
}

#[test]
fn kid_injection_and_unknown_kids_find_no_key() {
    let mut c = cfg(&["ES256"]);
    c.hs256_secret = None;
    let keys = [es_jwk("es-1")];
    for kid in [
        "../../../../dev/null",
        "' OR '1'='1",
        "es-1; DROP TABLE api_keys",
        "es-2",
        "",
    ] {
        let t = es256(&json!({"alg": "ES256", "kid": kid}), &claims(), &es_key());
        assert_eq!(check(&t, &c, &keys), Err(JwtFailure::UnknownKey), "{kid}");
    }
}

#[test]
fn keys_carried_in_the_header_are_ignored() {
    let mut c = cfg(&["ES256"]);
    c.hs256_secret = None;
    let attacker = p256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
    let attacker_jwk = serde_json::to_value(JsonWebKey::from(attacker.verifying_key())).unwrap();
    for header in [
        json!({"alg": "ES256", "jwk": attacker_jwk}),
        json!({"alg": "ES256", "jku": "https://evil.example/jwks.json"}),
        json!({"alg": "ES256", "x5u": "https://evil.example/cert.pem"}),
    ] {
        let t = es256(&header, &claims(), &attacker);
        assert_eq!(
            check(&t, &c, &[es_jwk("es-1")]),
            Err(JwtFailure::BadSignature)
        );
    }
}

#[test]
fn unknown_crit_is_refused() {
    let t = hs256(
        &json!({"alg": "HS256", "crit": ["exp"], "exp": 1}),
        &claims(),
        SECRET.as_bytes(),
    );
    assert_eq!(
        check(&t, &cfg(&["HS256"]), &[]),
        Err(JwtFailure::CriticalHeader)
    );
}

#[test]
fn es256_with_zero_r_and_s_is_refused() {
    let mut c = cfg(&["ES256"]);
    c.hs256_secret = None;
    let input = signing_input(&json!({"alg": "ES256", "kid": "es-1"}), &claims());
    let t = format!("{input}.{}", b64(&[0u8; 64]));
    assert_eq!(
        check(&t, &c, &[es_jwk("es-1")]),
        Err(JwtFailure::BadSignature)
    );
}

#[test]
fn malformed_tokens_are_refused() {
    let good = hs(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let c = cfg(&["HS256"]);
    let two = format!("{}.{}", parts[0], parts[1]);
    let four = format!("{good}.{}", parts[2]);
    let big_header = hs256(
        &json!({"alg": "HS256", "pad": "x".repeat(2000)}),
        &claims(),
        SECRET.as_bytes(),
    );
    let bad_utf8 = format!(
        "{}.{}.{}",
        b64(&[0xff, 0xfe, b'{', b'}']),
        parts[1],
        parts[2]
    );
    let not_json = format!("{}.{}.{}", b64(b"[1,2]"), parts[1], parts[2]);
    let not_b64 = format!("{}.{}.{}", "eyJ*", parts[1], parts[2]);
    for t in [
        two,
        four,
        big_header,
        bad_utf8,
        not_json,
        not_b64,
        "..".into(),
    ] {
        assert_eq!(check(&t, &c, &[]), Err(JwtFailure::Malformed), "{t}");
    }
}

#[test]
fn roles_from_tokens_stop_at_admin_and_scopes_stay_within_the_role() {
    let c = cfg(&["HS256"]);
    let mut cl = claims();
    cl["role"] = json!(["viewer", "owner"]);
    assert_eq!(check(&hs(&cl), &c, &[]).unwrap().role, Role::Admin);
    cl["role"] = json!("viewer");
    cl["scope"] = json!("documents:read documents:write keys:admin");
    let v = check(&hs(&cl), &c, &[]).unwrap();
    assert_eq!(v.role, Role::Viewer);
    assert_eq!(v.scopes, vec![Scope::DocumentsRead]);
    cl.as_object_mut().unwrap().remove("role");
    assert_eq!(check(&hs(&cl), &c, &[]).unwrap().role, Role::Member);
    let mut no_sub = claims();
    no_sub["sub"] = json!("");
    assert_eq!(check(&hs(&no_sub), &c, &[]), Err(JwtFailure::NoSubject));
}

#[test]
fn a_required_claim_separates_tenants_sharing_an_issuer() {
    let mut c = cfg(&["HS256"]);
    c.required_claim = Some(RequiredClaim {
        name: "org_id".into(),
        value: "org_a".into(),
    });
    let mut cl = claims();
    assert_eq!(check(&hs(&cl), &c, &[]), Err(JwtFailure::RequiredClaim));
    cl["org_id"] = json!("org_b");
    assert_eq!(check(&hs(&cl), &c, &[]), Err(JwtFailure::RequiredClaim));
    cl["org_id"] = json!("org_a");
    assert!(check(&hs(&cl), &c, &[]).is_ok());
}

#[test]
fn the_shown_configuration_leaves_out_what_was_never_set_instead_of_null() {
    // The document types jwks, jwks_url and required_claim as objects or
    // strings: a null there is a schema violation a client's decoder trips on.
    let ok =
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET});
    let view = IdpConfig::parse(ok.to_string().as_bytes(), false)
        .unwrap()
        .view();
    for absent in ["jwks", "jwks_url", "required_claim", "hs256_secret"] {
        assert!(view.get(absent).is_none(), "{absent} shown as {view}");
    }
    assert!(view.as_object().unwrap().values().all(|v| !v.is_null()));
}

#[test]
fn configurations_are_checked_before_they_are_stored() {
    let ok =
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET});
    let parsed = IdpConfig::parse(ok.to_string().as_bytes(), false).unwrap();
    assert_eq!(parsed.view()["hs256_secret_set"], json!(true));
    assert!(parsed.view().get("hs256_secret").is_none());
    let bad = [
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["none"]}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": "short"}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["RS256"]}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["ES256"], "jwks": {"keys": []}}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["ES256"], "jwks_url": "http://idp.example/jwks"}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET, "default_role": "owner"}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET, "surprise": 1}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET, "jwks": null}),
        json!({"issuer": ISS, "audience": AUD, "algorithms": ["HS256"], "hs256_secret": SECRET, "required_claim": null}),
    ];
    for b in bad {
        assert!(
            IdpConfig::parse(b.to_string().as_bytes(), false).is_err(),
            "{b}"
        );
    }
    let es = json!({"issuer": ISS, "audience": AUD, "algorithms": ["ES256"], "jwks": {"keys": [es_jwk("a")]}});
    assert!(IdpConfig::parse(es.to_string().as_bytes(), false).is_ok());
}
