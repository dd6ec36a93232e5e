//! LLM configuration, from Worker vars: providers, model tiers with their
//! fallback chains, routing thresholds, prices and the optimisation switch.
//! Tiers and models are configuration, not code.

use std::collections::BTreeMap;

/// How a provider is called.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderKind {
    /// Any OpenAI-compatible `/chat/completions` endpoint (OpenAI, AI
    /// Gateway, vLLM, Ollama, llama.cpp server).
    OpenAi { base_url: String },
    /// The Workers AI binding (`[ai]` in wrangler.toml).
    WorkersAi,
}

/// One model of one provider: a step in a fallback chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub provider: String,
    pub kind: ProviderKind,
    pub model: String,
    /// The provider's API key (secret `LLM_API_KEY_<PROVIDER>`), if any.
    pub api_key: Option<String>,
    /// Its step in the tier's fallback chain; targets of one step share
    /// the load by `weight` (see [`super::deps::balanced`]).
    pub group: u32,
    pub weight: u32,
}

impl Target {
    /// `provider/model`: the key of prices, circuit breakers and caches.
    pub fn id(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Configured providers by name, with their API keys.
    pub providers: BTreeMap<String, (ProviderKind, Option<String>)>,
    /// Fallback chain per tier (`small`, `large`, …), first choice first.
    pub tiers: BTreeMap<String, Vec<Target>>,
    /// Inputs above this many tokens go to the `large` tier.
    pub small_max_tokens: u32,
    /// Commands that always go to the `large` tier.
    pub large_commands: Vec<String>,
    pub prices: BTreeMap<String, Price>,
    /// Token budget of one prompt's document text (compression target).
    pub max_input_tokens: u32,
    pub cache_ttl_ms: u64,
    /// Retries of one target on retryable errors, before the next target.
    pub retries: u32,
    /// Consecutive failures that open a target's circuit, and for how long.
    pub breaker_failures: u32,
    pub breaker_cooldown_ms: u64,
    /// Longest wait for one completion.
    pub timeout_ms: u64,
    /// `false` is the naive baseline of the benchmark: no cache, no
    /// compression, no batching, no routing (always `large`).
    pub optimize: bool,
}

/// `LLM_PROVIDERS` (`name=openai:<url>` or `name=workers-ai`, comma
/// separated), each with its `LLM_API_KEY_<NAME>` secret.
fn parse_providers(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, (ProviderKind, Option<String>)>, String> {
    let mut providers = BTreeMap::new();
    for item in list(&get("LLM_PROVIDERS").unwrap_or_default(), ',') {
        let (name, spec) = item
            .split_once('=')
            .ok_or_else(|| format!("LLM_PROVIDERS: '{item}' is not name=kind[:url]"))?;
        let kind = match spec.split_once(':') {
            Some(("openai", url)) if url.starts_with("http") => ProviderKind::OpenAi {
                base_url: url.trim_end_matches('/').to_string(),
            },
            None if spec == "workers-ai" => ProviderKind::WorkersAi,
            _ => {
                return Err(format!(
                    "LLM_PROVIDERS: '{spec}' is not openai:<base url> or workers-ai"
                ))
            }
        };
        let name = name.trim().to_string();
        let key = get(&format!(
            "LLM_API_KEY_{}",
            name.to_ascii_uppercase().replace('-', "_")
        ));
        providers.insert(name, (kind, key));
    }
    Ok(providers)
}

/// `LLM_PRICES`: `provider/model=in:out` in USD per million tokens.
fn parse_prices(spec: &str) -> Result<BTreeMap<String, Price>, String> {
    let mut prices = BTreeMap::new();
    for item in list(spec, ',') {
        let (model, rates) = item
            .rsplit_once('=')
            .ok_or_else(|| format!("LLM_PRICES: '{item}' is not provider/model=in:out"))?;
        let (i, o) = rates
            .split_once(':')
            .ok_or_else(|| format!("LLM_PRICES: '{rates}' is not in:out"))?;
        let num = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("LLM_PRICES: '{s}' is not a price"))
        };
        prices.insert(
            model.trim().to_string(),
            Price {
                input: num(i)?,
                output: num(o)?,
            },
        );
    }
    Ok(prices)
}

impl LlmConfig {
    /// Whether any model is configured at all.
    pub fn is_configured(&self) -> bool {
        self.tiers.values().any(|chain| !chain.is_empty())
    }

    /// Every target of every tier, once (for `/ready`).
    pub fn targets(&self) -> Vec<&Target> {
        let mut seen = Vec::new();
        let mut out: Vec<&Target> = Vec::new();
        for t in self.tiers.values().flatten() {
            if !seen.contains(&t.id()) {
                seen.push(t.id());
                out.push(t);
            }
        }
        out
    }

    /// Parses the `LLM_*` settings (see docs/OPERATIONS.md, "Configuration").
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<LlmConfig, String> {
        let providers = parse_providers(get)?;
        let tiers = parse_tiers(&get("LLM_TIERS").unwrap_or_default(), &providers)?;
        let prices = parse_prices(&get("LLM_PRICES").unwrap_or_default())?;
        let n = |name: &str, default: u64| -> Result<u64, String> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name}: '{v}' is not a number")),
            }
        };
        Ok(LlmConfig {
            providers,
            tiers,
            small_max_tokens: n("LLM_SMALL_MAX_TOKENS", 3000)? as u32,
            large_commands: list(
                &get("LLM_LARGE_COMMANDS").unwrap_or_else(|| "extract_fields".into()),
                ',',
            )
            .map(str::to_string)
            .collect(),
            prices,
            max_input_tokens: n("LLM_MAX_INPUT_TOKENS", 6000)?.max(256) as u32,
            cache_ttl_ms: n("LLM_CACHE_TTL_SECONDS", 7 * 86_400)? * 1000,
            retries: n("LLM_RETRIES", 2)?.min(5) as u32,
            breaker_failures: n("LLM_BREAKER_FAILURES", 5)?.max(1) as u32,
            breaker_cooldown_ms: n("LLM_BREAKER_COOLDOWN_SECONDS", 30)? * 1000,
            timeout_ms: n("LLM_TIMEOUT_SECONDS", 60)?.max(1) * 1000,
            optimize: get("LLM_OPTIMIZE").is_none_or(|v| v != "off"),
        })
    }

    /// This configuration with other tiers over the same providers (a
    /// tenant's override).
    pub fn with_tiers(&self, spec: &str) -> Result<LlmConfig, String> {
        let tiers = parse_tiers(spec, &self.providers)?;
        if tiers.is_empty() {
            return Err("LLM_TIERS names no tier".into());
        }
        Ok(LlmConfig {
            tiers,
            ..self.clone()
        })
    }

    /// The cost of a call in USD (0 when the model has no price).
    pub fn cost(&self, target: &str, input_tokens: u32, output_tokens: u32) -> f64 {
        self.prices.get(target).map_or(0.0, |p| {
            (f64::from(input_tokens) * p.input + f64::from(output_tokens) * p.output) / 1e6
        })
    }
}

/// Parses `small=prov/model|prov/model;large=…` over known providers.
fn parse_tiers(
    spec: &str,
    providers: &BTreeMap<String, (ProviderKind, Option<String>)>,
) -> Result<BTreeMap<String, Vec<Target>>, String> {
    let mut tiers = BTreeMap::new();
    for item in list(spec, ';') {
        let (tier, chain) = item
            .split_once('=')
            .ok_or_else(|| format!("LLM_TIERS: '{item}' is not tier=provider/model|…"))?;
        let mut targets = Vec::new();
        for (group, step) in list(chain, '|').enumerate() {
            for member in list(step, '+') {
                targets.push(parse_target(member, providers, group as u32)?);
            }
        }
        if targets.is_empty() {
            return Err(format!("LLM_TIERS: tier '{tier}' names no model"));
        }
        tiers.insert(tier.trim().to_string(), targets);
    }
    if !tiers.is_empty() && !tiers.contains_key("large") {
        return Err("LLM_TIERS must define a 'large' tier".into());
    }
    Ok(tiers)
}

/// `provider/model` or `provider/model*weight` (1 to 1000; default 1).
fn parse_target(
    spec: &str,
    providers: &BTreeMap<String, (ProviderKind, Option<String>)>,
    group: u32,
) -> Result<Target, String> {
    let (step, weight) = match spec.rsplit_once('*') {
        Some((step, w)) => {
            let weight = w
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|w| (1..=1000).contains(w))
                .ok_or_else(|| format!("LLM_TIERS: weight '{w}' is not from 1 to 1000"))?;
            (step.trim(), weight)
        }
        None => (spec, 1),
    };
    let (provider, model) = step
        .split_once('/')
        .ok_or_else(|| format!("LLM_TIERS: '{step}' is not provider/model"))?;
    let (kind, api_key) = providers
        .get(provider)
        .ok_or_else(|| format!("LLM_TIERS: provider '{provider}' is not in LLM_PROVIDERS"))?;
    Ok(Target {
        provider: provider.to_string(),
        kind: kind.clone(),
        model: model.to_string(),
        api_key: api_key.clone(),
        group,
        weight,
    })
}

fn list(s: &str, sep: char) -> impl Iterator<Item = &str> {
    s.split(sep).map(str::trim).filter(|x| !x.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<LlmConfig, String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LlmConfig::from_lookup(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn tiers_chain_models_across_providers() {
        let c = parse(&[
            (
                "LLM_PROVIDERS",
                "local=openai:http://127.0.0.1:8790/v1/,ai=workers-ai",
            ),
            (
                "LLM_TIERS",
                "small=local/mini|ai/@cf/meta/llama-3.1-8b-instruct;large=local/big|local/mini",
            ),
            ("LLM_API_KEY_LOCAL", "sk-test"),
            ("LLM_PRICES", "local/big=2.5:10,local/mini=0.15:0.6"),
        ])
        .unwrap();
        let small = &c.tiers["small"];
        assert_eq!(small[1].model, "@cf/meta/llama-3.1-8b-instruct");
        assert_eq!(small[1].kind, ProviderKind::WorkersAi);
        assert_eq!(
            small[0].kind,
            ProviderKind::OpenAi {
                base_url: "http://127.0.0.1:8790/v1".into()
            }
        );
        assert_eq!(small[0].api_key.as_deref(), Some("sk-test"));
        assert_eq!(c.targets().len(), 3);
        assert!((c.cost("local/big", 1_000_000, 100_000) - 3.5).abs() < 1e-9);
        assert_eq!(c.cost("ai/unpriced", 10, 10), 0.0);
        assert!(c.optimize);
    }

    #[test]
    fn nothing_configured_is_valid_and_reported() {
        let c = parse(&[]).unwrap();
        assert!(!c.is_configured());
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse(&[("LLM_PROVIDERS", "x=ftp:host")]).is_err());
        assert!(parse(&[
            ("LLM_PROVIDERS", "a=workers-ai"),
            ("LLM_TIERS", "large=b/m")
        ])
        .is_err());
        assert!(parse(&[
            ("LLM_PROVIDERS", "a=workers-ai"),
            ("LLM_TIERS", "small=a/m")
        ])
        .is_err());
        assert!(parse(&[("LLM_PRICES", "a/m=cheap")]).is_err());
    }

    #[test]
    fn a_step_may_share_its_load_by_weight() {
        let c = parse(&[
            (
                "LLM_PROVIDERS",
                "a=openai:http://a.test,b=openai:http://b.test",
            ),
            ("LLM_TIERS", "large=a/m*3+b/m|b/big"),
        ])
        .unwrap();
        let chain = &c.tiers["large"];
        let shape: Vec<(String, u32, u32)> =
            chain.iter().map(|t| (t.id(), t.group, t.weight)).collect();
        assert_eq!(
            shape,
            vec![
                ("a/m".into(), 0, 3),
                ("b/m".into(), 0, 1),
                ("b/big".into(), 1, 1)
            ]
        );
        for bad in ["large=a/m*0", "large=a/m*x", "large=a/m*1001", "large=a/m*"] {
            let r = parse(&[
                ("LLM_PROVIDERS", "a=openai:http://a.test"),
                ("LLM_TIERS", bad),
            ]);
            assert!(r.is_err(), "{bad}");
        }
    }
}
