//! MemBreakers and ScriptedLlm: circuit breakers and a scripted LLM provider.

use super::*;

/// Circuit breakers in memory (one isolate's view; the edge shares them).
#[derive(Default)]
pub struct MemBreakers {
    pub breakers: RefCell<BTreeMap<String, quire::llm::breaker::Breaker>>,
    pub now_ms: Cell<u64>,
}

impl quire::llm::BreakerStore for MemBreakers {
    async fn allow(&self, target: &str, policy: quire::llm::breaker::Policy) -> bool {
        let now = self.now_ms.get();
        self.breakers
            .borrow_mut()
            .entry(target.to_string())
            .or_default()
            .allow(now, policy)
    }
    async fn record(&self, target: &str, ok: bool, policy: quire::llm::breaker::Policy) {
        let now = self.now_ms.get();
        self.breakers
            .borrow_mut()
            .entry(target.to_string())
            .or_default()
            .record(ok, now, policy);
    }
    async fn state(&self, target: &str) -> Option<quire::llm::breaker::Breaker> {
        self.breakers.borrow().get(target).cloned()
    }
}

/// One scripted answer of [`ScriptedLlm`].
#[derive(Debug, Clone)]
pub enum LlmScript {
    /// Answer with this text (usage reported as given).
    Answer(String, Option<(u32, u32)>),
    /// Fail: retryable or not.
    Fail(bool),
    /// Answer cut off (`finish_reason: length`).
    Truncated,
}

/// An LLM provider that answers from a script per `provider/model` (the
/// last entry repeats), and records every request.
#[derive(Default)]
pub struct ScriptedLlm {
    pub scripts: RefCell<HashMap<String, Vec<LlmScript>>>,
    pub calls: RefCell<Vec<(String, quire::llm::LlmRequest)>>,
}

impl ScriptedLlm {
    pub fn script(&self, target: &str, steps: Vec<LlmScript>) {
        self.scripts.borrow_mut().insert(target.to_string(), steps);
    }
}

impl quire::llm::LlmProvider for ScriptedLlm {
    async fn complete(
        &self,
        target: &quire::llm::Target,
        req: &quire::llm::LlmRequest,
    ) -> Result<quire::llm::LlmResponse, quire::llm::LlmError> {
        let id = target.id();
        self.calls.borrow_mut().push((id.clone(), req.clone()));
        let step = {
            let mut scripts = self.scripts.borrow_mut();
            let steps = scripts.entry(id.clone()).or_default();
            match steps.len() {
                0 => LlmScript::Fail(false),
                1 => steps[0].clone(),
                _ => steps.remove(0),
            }
        };
        let ok = |text: String, usage: Option<(u32, u32)>, reason: &str| quire::llm::LlmResponse {
            text,
            input_tokens: usage.map(|u| u.0),
            output_tokens: usage.map(|u| u.1),
            finish_reason: reason.into(),
        };
        match step {
            LlmScript::Answer(text, usage) => Ok(ok(text, usage, "stop")),
            LlmScript::Truncated => Ok(ok("{\"summ".into(), Some((10, 1)), "length")),
            LlmScript::Fail(retryable) => Err(quire::llm::LlmError {
                message: format!("scripted failure of {id}"),
                retryable,
            }),
        }
    }
}
