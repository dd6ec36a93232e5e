use super::*;
use std::collections::HashMap;

const TEST_KEYS: &str = "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_apply_when_only_the_pepper_is_set() {
    let c = Config::from_lookup(lookup(&[
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
    ]))
    .unwrap();
    assert_eq!(c.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
    assert!(c
        .accepted_media_types
        .contains(&"application/pdf".to_string()));
    assert_eq!(c.key_environment(), "test");
}

#[test]
fn openings_for_local_work_are_refused_in_every_deployed_environment() {
    let with = |env: &str, name: &str| {
        Config::from_lookup(lookup(&[
            ("API_KEY_PEPPER", "0123456789abcdef"),
            ("MASTER_KEYS", TEST_KEYS),
            ("ENVIRONMENT", env),
            (name, "true"),
        ]))
    };
    for name in ["ENABLE_TEST_ROUTES", "ALLOW_LOCAL_URLS"] {
        for env in ["dev", "staging", "production", "prod", "anything"] {
            assert!(with(env, name).is_err(), "{name} accepted in {env}");
        }
        for env in ["development", "test"] {
            assert!(with(env, name).is_ok(), "{name} refused in {env}");
        }
    }
}

#[test]
fn missing_pepper_and_bad_numbers_are_reported() {
    assert_eq!(
        Config::from_lookup(lookup(&[])).unwrap_err(),
        ConfigError::Missing("API_KEY_PEPPER")
    );
    let err = Config::from_lookup(lookup(&[
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
        ("MAX_UPLOAD_BYTES", "ten"),
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid("MAX_UPLOAD_BYTES", _)));
}

#[test]
fn plans_override_limits_and_budgets() {
    let c = Config::from_lookup(lookup(&[
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
        (
            "PLAN_RATE_LIMITS",
            "free:read=10/60;pro:read=9000/60,upload=900/60",
        ),
        ("PLAN_BUDGETS", "free:pages=100"),
    ]))
    .unwrap();
    assert_eq!(c.plan_rate_limits["pro"][1].limit, 900);
    assert_eq!(c.budget("free", "pages"), Some(100));
    assert_eq!(c.budget("standard", "pages"), Some(1_000_000));
    let bad = Config::from_lookup(lookup(&[
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
        ("PLAN_BUDGETS", "free=1"),
    ]));
    assert!(matches!(bad, Err(ConfigError::Invalid("PLAN_BUDGETS", _))));
}

#[test]
fn test_routes_are_refused_in_production() {
    let err = Config::from_lookup(lookup(&[
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
        ("ENVIRONMENT", "production"),
        ("ENABLE_TEST_ROUTES", "true"),
    ]))
    .unwrap_err();
    assert!(matches!(err, ConfigError::Invalid("ENABLE_TEST_ROUTES", _)));
}

#[test]
fn unencrypted_storage_and_odd_part_sizes_are_refused() {
    let base = [
        ("API_KEY_PEPPER", "0123456789abcdef"),
        ("MASTER_KEYS", TEST_KEYS),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        Config::from_lookup(lookup(&all))
    };
    assert!(with(&[]).unwrap().encrypt_at_rest);
    assert!(
        !with(&[("ENCRYPTION_AT_REST", "off")])
            .unwrap()
            .encrypt_at_rest
    );
    assert!(matches!(
        with(&[("ENCRYPTION_AT_REST", "off"), ("ENVIRONMENT", "production")]),
        Err(ConfigError::Invalid("ENCRYPTION_AT_REST", _))
    ));
    assert_eq!(with(&[]).unwrap().upload_part_bytes, 8 * 1024 * 1024);
    for bad in ["0", "100000", "x", "134217728"] {
        assert!(with(&[("UPLOAD_PART_BYTES", bad)]).is_err(), "{bad}");
    }
}
