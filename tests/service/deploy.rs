//! The deployment configuration: every environment of the two workers'
//! configs (wrangler.toml, the API; wrangler.jobs.toml, the jobs worker;
//! the top level for local development, then dev, staging and production)
//! has the bindings, queues and crons the code expects, resources of its
//! own, and vars that the real configuration parser accepts, the same for
//! both workers.

use quire::config::Config;
use std::collections::{BTreeMap, BTreeSet};
use toml::{Table, Value};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "production"];
/// Set as secrets, never in wrangler.toml; stand-ins to parse the vars.
const SECRETS: [(&str, &str); 2] = [
    ("API_KEY_PEPPER", "0123456789abcdef0123"),
    (
        "MASTER_KEYS",
        "k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    ),
];

fn config_file(name: &str) -> Table {
    let path = format!("{}/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect(name);
    text.parse()
        .unwrap_or_else(|e: toml::de::Error| panic!("{name}: {}", e.message()))
}

/// The API worker's configuration.
fn wrangler() -> Table {
    config_file("wrangler.toml")
}

/// The jobs worker's configuration.
fn jobs_wrangler() -> Table {
    config_file("wrangler.jobs.toml")
}

/// The environment's own section, or the top level for `None`.
fn section<'a>(top: &'a Table, env: Option<&str>) -> &'a Table {
    match env {
        None => top,
        Some(name) => top["env"][name]
            .as_table()
            .unwrap_or_else(|| panic!("[env.{name}] missing")),
    }
}

fn array<'a>(t: &'a Table, key: &str) -> &'a [Value] {
    t.get(key)
        .and_then(Value::as_array)
        .map_or(&[], |a| a.as_slice())
}

fn string<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} missing in {v:?}"))
}

/// What the code binds to, by binding name (resource names aside).
#[derive(Debug, PartialEq)]
struct Shape {
    /// (binding, class, the worker that holds the class if not this one).
    durable_objects: BTreeSet<(String, String, Option<String>)>,
    d1: BTreeSet<(String, String)>,
    r2: BTreeSet<String>,
    producers: BTreeSet<String>,
    analytics: BTreeSet<String>,
    crons: Vec<String>,
    /// Service bindings: (binding, worker).
    services: BTreeSet<(String, String)>,
    /// Consumers: (has a dead-letter queue, is that of another consumer).
    consumers: Vec<(bool, bool)>,
}

/// `[[queues.consumers]]` or `[[queues.producers]]`.
fn queues<'a>(t: &'a Table, which: &str) -> &'a [Value] {
    t.get("queues")
        .and_then(|q| q.get(which))
        .and_then(Value::as_array)
        .map_or(&[], |a| a.as_slice())
}

fn shape(t: &Table) -> Shape {
    let consumers = queues(t, "consumers");
    let consumer_queues: BTreeSet<&str> = consumers.iter().map(|c| string(c, "queue")).collect();
    let producers = queues(t, "producers");
    Shape {
        durable_objects: t
            .get("durable_objects")
            .and_then(|d| d.get("bindings"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|b| {
                let script = b.get("script_name").and_then(Value::as_str);
                (
                    string(b, "name").into(),
                    string(b, "class_name").into(),
                    script.map(String::from),
                )
            })
            .collect(),
        d1: array(t, "d1_databases")
            .iter()
            .map(|d| {
                let dir = d.get("migrations_dir").and_then(Value::as_str);
                (string(d, "binding").into(), dir.unwrap_or("").into())
            })
            .collect(),
        r2: array(t, "r2_buckets")
            .iter()
            .map(|b| string(b, "binding").into())
            .collect(),
        producers: producers
            .iter()
            .map(|p| string(p, "binding").into())
            .collect(),
        analytics: array(t, "analytics_engine_datasets")
            .iter()
            .map(|a| string(a, "binding").into())
            .collect(),
        crons: t
            .get("triggers")
            .map(|tr| array(tr.as_table().unwrap(), "crons"))
            .unwrap_or(&[])
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect(),
        services: array(t, "services")
            .iter()
            .map(|s| (string(s, "binding").into(), string(s, "service").into()))
            .collect(),
        consumers: consumers
            .iter()
            .map(|c| {
                let dlq = c.get("dead_letter_queue").and_then(Value::as_str);
                (
                    dlq.is_some(),
                    dlq.is_some_and(|d| consumer_queues.contains(d)),
                )
            })
            .collect(),
    }
}

/// The resources an environment uses: they must not be another's.
fn resources(t: &Table) -> Vec<String> {
    let mut out = vec![format!(
        "worker {}",
        string(&Value::Table(t.clone()), "name")
    )];
    out.extend(
        array(t, "d1_databases")
            .iter()
            .map(|d| format!("d1 {}", string(d, "database_name"))),
    );
    out.extend(
        array(t, "r2_buckets")
            .iter()
            .map(|b| format!("r2 {}", string(b, "bucket_name"))),
    );
    out.extend(
        array(t, "analytics_engine_datasets")
            .iter()
            .map(|a| format!("dataset {}", string(a, "dataset"))),
    );
    out.extend(
        queues(t, "producers")
            .iter()
            .map(|c| format!("queue {}", string(c, "queue"))),
    );
    out
}

fn vars(t: &Table) -> BTreeMap<String, String> {
    t.get("vars")
        .and_then(Value::as_table)
        .expect("[vars]")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("vars are strings").to_string()))
        .collect()
}

/// The worker name of an environment's section.
fn name(t: &Table) -> &str {
    t["name"].as_str().expect("name")
}

/// `shape`, with the names of the other worker (which differ per
/// environment) left out, so the environments can be compared.
fn comparable(t: &Table) -> Shape {
    let mut s = shape(t);
    s.durable_objects = (s.durable_objects.into_iter())
        .map(|(b, c, w)| (b, c, w.map(|_| String::new())))
        .collect();
    s.services = (s.services.into_iter())
        .map(|(b, _)| (b, String::new()))
        .collect();
    s
}

#[test]
fn every_environment_binds_what_the_local_one_does() {
    let (api, jobs) = (wrangler(), jobs_wrangler());
    let local = comparable(&api);
    assert_eq!(local.durable_objects.len(), 5);
    assert!(
        local.consumers.is_empty(),
        "the API worker consumes no queue"
    );
    assert_eq!(local.crons.len(), 4);
    let local_jobs = comparable(&jobs);
    assert_eq!(local_jobs.consumers, vec![(true, true), (false, false)]);
    assert!(
        local_jobs.crons.is_empty(),
        "the crons are the API worker's"
    );
    for env in [None, Some("dev"), Some("staging"), Some("production")] {
        let (a, j) = (section(&api, env), section(&jobs, env));
        if env.is_some() {
            assert_eq!(comparable(a), local, "[env.{env:?}]");
            assert_eq!(comparable(j), local_jobs, "jobs [env.{env:?}]");
            // Workers AI is remote-only: each deployed jobs worker has it.
            assert!(j.contains_key("ai"), "jobs [env.{env:?}.ai]");
        }
        let (sa, sj) = (shape(a), shape(j));
        // The jobs worker's objects are the API worker's of the same
        // environment, and the API's service binding is that jobs worker.
        for (binding, class, script) in &sj.durable_objects {
            assert_eq!(script.as_deref(), Some(name(a)), "{binding} in {env:?}");
            assert!(
                sa.durable_objects
                    .contains(&(binding.clone(), class.clone(), None)),
                "{binding} is the API's class {class} in {env:?}"
            );
        }
        let jobs_service = ("JOBS_WORKER".to_string(), name(j).to_string());
        assert!(sa.services.contains(&jobs_service), "{env:?}");
        // Both send to the queue the jobs worker consumes, and read one
        // database and bucket.
        let consumed: BTreeSet<&str> = (queues(j, "consumers").iter())
            .map(|c| string(c, "queue"))
            .collect();
        for p in queues(a, "producers").iter().chain(queues(j, "producers")) {
            assert!(consumed.contains(string(p, "queue")), "{p:?} is consumed");
        }
        for key in ["d1_databases", "r2_buckets"] {
            let names = |t: &Table| -> Vec<String> {
                array(t, key)
                    .iter()
                    .map(|d| format!("{:?}", d.get("database_name").or(d.get("bucket_name"))))
                    .collect()
            };
            assert_eq!(names(a), names(j), "{key} in {env:?}");
        }
        assert_eq!(vars(a), vars(j), "the two workers' vars in {env:?}");
    }
}

#[test]
fn environments_do_not_share_resources() {
    let (top, jobs) = (wrangler(), jobs_wrangler());
    let mut seen = BTreeMap::new();
    for env in ENVIRONMENTS {
        let api = resources(section(&top, Some(env)));
        let worker = format!("worker {}", name(section(&jobs, Some(env))));
        for r in api.into_iter().chain([worker]) {
            if let Some(other) = seen.insert(r.clone(), env) {
                panic!("{r} is used by both {other} and {env}");
            }
        }
    }
    assert_eq!(
        seen.len(),
        3 * 9,
        "two workers, three D1 databases (shards 0, 1 and the EU one), two R2 buckets \
         (the EU one), a dataset and a queue each: {seen:?}"
    );
}

#[test]
fn every_environment_has_vars_the_configuration_accepts() {
    let top = wrangler();
    let local_keys: BTreeSet<String> = vars(&top).into_keys().collect();
    for env in [None, Some("dev"), Some("staging"), Some("production")] {
        let mut all = vars(section(&top, env));
        let keys: BTreeSet<String> = all.keys().cloned().collect();
        assert!(
            keys.is_superset(&local_keys),
            "{env:?} lacks {:?}",
            local_keys.difference(&keys).collect::<Vec<_>>()
        );
        all.extend(SECRETS.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_lookup(|k| all.get(k).cloned())
            .unwrap_or_else(|e| panic!("{env:?}: {e:?}"));
        let expected = env.unwrap_or("development");
        assert_eq!(config.environment, expected);
        if env.is_some() {
            assert!(config.llm.is_configured(), "{env:?} has LLM tiers");
            // Deployed is production as far as openings go, dev included.
            assert!(!config.local_urls_allowed, "{env:?} allows local URLs");
            assert!(!config.enable_test_routes, "{env:?} enables test routes");
        }
    }
    // What only tests and drills may use is never set for real customers.
    for env in ["staging", "production"] {
        let set = vars(section(&top, Some(env)));
        for forbidden in [
            "FAULTS",
            "ENABLE_TEST_ROUTES",
            "ENCRYPTION_AT_REST",
            "RATE_LIMITING",
        ] {
            assert!(
                !set.contains_key(forbidden),
                "{forbidden} in [env.{env}.vars]"
            );
        }
    }
}

#[test]
fn the_crons_are_the_schedules_the_scheduled_handler_matches() {
    let top = wrangler();
    let code = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/edge/crons.rs"))
        .expect("src/edge/crons.rs");
    let crons = shape(&top).crons;
    for needed in ["HEAL_CRON", "SLO_CRON", "DAILY_CRON"] {
        let line = code
            .lines()
            .find(|l| l.starts_with(&format!("pub const {needed}")))
            .unwrap_or_else(|| panic!("{needed} in src/edge/crons.rs"));
        let schedule = line.split('"').nth(1).unwrap();
        assert!(crons.iter().any(|c| c == schedule), "{schedule} is a cron");
    }
}

#[test]
fn every_jobs_environment_defines_the_ocr_loaders_base_url() {
    // `define` is not inherited by environments: an environment without it
    // would bundle tesseract-wasm's loader with an unusable import.meta.url.
    let jobs = jobs_wrangler();
    for env in [None, Some("dev"), Some("staging"), Some("production")] {
        let define = section(&jobs, env)
            .get("define")
            .and_then(Value::as_table)
            .unwrap_or_else(|| panic!("{env:?}: no [define]"));
        assert!(
            define
                .get("import.meta.url")
                .and_then(Value::as_str)
                .is_some(),
            "{env:?}"
        );
    }
}

#[test]
fn every_data_region_has_a_bucket_in_its_jurisdiction_in_every_environment() {
    for (file, top) in [
        ("wrangler.toml", wrangler()),
        ("wrangler.jobs.toml", jobs_wrangler()),
    ] {
        for env in [None, Some("dev"), Some("staging"), Some("production")] {
            let t = section(&top, env);
            let vars = t.get("vars").and_then(Value::as_table).expect("vars");
            let spec = vars
                .get("SHARD_REGIONS")
                .and_then(Value::as_str)
                .unwrap_or("");
            let regions = quire::tenants::shards::ShardRegions::parse(spec).unwrap();
            let d1 = array(t, "d1_databases").len() as u32;
            for (shard, region) in regions.iter() {
                assert!(
                    shard < d1,
                    "{file} {env:?}: shard {shard} of SHARD_REGIONS is not bound"
                );
                let binding = format!("DOCUMENTS_{}", region.to_ascii_uppercase());
                let bucket = array(t, "r2_buckets")
                    .iter()
                    .find(|b| string(b, "binding") == binding)
                    .unwrap_or_else(|| panic!("{file} {env:?}: no {binding}"));
                assert_eq!(
                    bucket.get("jurisdiction").and_then(Value::as_str),
                    Some(region),
                    "{file} {env:?}: {binding} must be bound with jurisdiction {region}"
                );
            }
        }
    }
}
