//! The LLM commands as tasks: option checks, prompts, answer parsing and
//! validation, batch prompts, and the degraded answers used when every
//! model is unreachable. Pure.

use super::compress::Compressed;
use super::schema;
use super::LlmRequest;
use crate::commands::Command;
use serde_json::{json, Map, Value};

/// Version of the prompts; part of every cache key, so changing a prompt
/// never serves an answer to the old one.
pub const PROMPT_VERSION: u32 = 1;

/// One LLM command with its checked options.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    Summarize { length: String, style: String },
    Translate { target: String },
    Classify { labels: Vec<String> },
    ExtractFields { schema: Value },
    Ask { question: String },
}

fn text_option(o: &Map<String, Value>, key: &str, max: usize) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
            Ok(Some(s.trim().to_string()))
        }
        Some(_) => Err(format!(
            "option '{key}' must be a string of 1 to {max} characters"
        )),
    }
}

fn only(o: &Map<String, Value>, allowed: &[&str], name: &str) -> Result<(), String> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{name} has no option '{k}' (it takes {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

impl Task {
    /// The task of an LLM command, its options checked; `None` for others.
    pub fn of(command: &Command) -> Option<Result<Task, String>> {
        Some(match command {
            Command::Summarize { options: o } => (|| {
                only(o, &["length", "style"], "summarize")?;
                let length = text_option(o, "length", 10)?.unwrap_or_else(|| "medium".into());
                if !["short", "medium", "long"].contains(&length.as_str()) {
                    return Err("summarize length must be short, medium or long".into());
                }
                let style = text_option(o, "style", 40)?.unwrap_or_else(|| "neutral".into());
                Ok(Task::Summarize { length, style })
            })(),
            Command::Translate { options: o } => (|| {
                only(o, &["target_language"], "translate")?;
                let target = text_option(o, "target_language", 40)?
                    .ok_or("translate needs option 'target_language', e.g. \"fr\" or \"German\"")?;
                Ok(Task::Translate { target })
            })(),
            Command::Classify { options: o } => (|| {
                only(o, &["labels"], "classify")?;
                let labels: Vec<String> = o
                    .get("labels")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let count = o
                    .get("labels")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if labels.len() < 2 || labels.len() != count || labels.len() > 100 {
                    return Err("classify needs option 'labels': 2 to 100 strings".into());
                }
                Ok(Task::Classify { labels })
            })(),
            Command::ExtractFields { options: o } => (|| {
                only(o, &["schema"], "extract_fields")?;
                let schema = o
                    .get("schema")
                    .cloned()
                    .ok_or("extract_fields needs option 'schema', a JSON Schema object")?;
                schema::check_schema(&schema)?;
                Ok(Task::ExtractFields { schema })
            })(),
            Command::Ask { options: o } => (|| {
                only(o, &["question"], "ask")?;
                let question =
                    text_option(o, "question", 2000)?.ok_or("ask needs option 'question'")?;
                Ok(Task::Ask { question })
            })(),
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Task::Summarize { .. } => "summarize",
            Task::Translate { .. } => "translate",
            Task::Classify { .. } => "classify",
            Task::ExtractFields { .. } => "extract_fields",
            Task::Ask { .. } => "ask",
        }
    }

    /// The question compression ranks chunks against, if any.
    pub fn query(&self) -> Option<&str> {
        match self {
            Task::Ask { question } => Some(question),
            _ => None,
        }
    }

    /// Options in a canonical form, for cache keys.
    pub fn canonical(&self) -> Value {
        match self {
            Task::Summarize { length, style } => json!({"length": length, "style": style}),
            Task::Translate { target } => json!({"target_language": target}),
            Task::Classify { labels } => json!({"labels": labels}),
            Task::ExtractFields { schema } => json!({"schema": schema}),
            Task::Ask { question } => json!({"question": question}),
        }
    }

    /// Tasks that may share one call (translation answers are as long as
    /// the document, so translations go alone).
    pub fn batchable(&self) -> bool {
        !matches!(self, Task::Translate { .. })
    }

    /// Output tokens to allow for the answer.
    pub fn max_output_tokens(&self, input_tokens: u32) -> u32 {
        match self {
            Task::Summarize { length, .. } => match length.as_str() {
                "short" => 200,
                "long" => 1200,
                _ => 500,
            },
            Task::Translate { .. } => (input_tokens * 2).clamp(256, 8000),
            Task::Classify { .. } => 100,
            Task::ExtractFields { .. } | Task::Ask { .. } => 1000,
        }
    }

    /// What the task asks, as a sentence, and the shape of its JSON answer.
    fn instruction(&self) -> (String, &'static str) {
        match self {
            Task::Summarize { length, style } => (
                format!("Summarise the document: {length} length, {style} style."),
                r#"{"summary": string}"#,
            ),
            Task::Translate { target } => (
                format!("Translate the document into {target}, keeping its structure."),
                r#"{"translation": string}"#,
            ),
            Task::Classify { labels } => (
                format!(
                    "Classify the document into exactly one of these labels: {}.",
                    json!(labels)
                ),
                r#"{"label": one of the labels, "confidence": number from 0 to 1}"#,
            ),
            Task::ExtractFields { schema } => (
                format!(
                    "Extract fields from the document. The answer must match this JSON Schema: {schema}. Use null for absent fields."
                ),
                r#"{"fields": object matching the schema}"#,
            ),
            Task::Ask { question } => (
                format!(
                    "Answer the question from the numbered passages only, and cite the passages you used. Question: {question}"
                ),
                r#"{"answer": string, "citations": [passage numbers]}"#,
            ),
        }
    }

    /// The prompt of this task alone.
    pub fn request(&self, doc: &Compressed) -> LlmRequest {
        let (what, shape) = self.instruction();
        LlmRequest {
            system: format!(
                "You process documents for an API. {what} Answer with one JSON object only, of the form {shape}."
            ),
            user: document_text(doc),
            json: true,
            max_output_tokens: self.max_output_tokens(doc.tokens),
        }
    }

    /// Checks and shapes the model's answer; the reason when it is invalid.
    pub fn parse(&self, answer: &str, doc: &Compressed) -> Result<Value, String> {
        let v = parse_object(answer)?;
        self.shape(&v, doc)
    }

    fn shape(&self, v: &Value, doc: &Compressed) -> Result<Value, String> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("the answer has no '{k}' string"))
        };
        Ok(match self {
            Task::Summarize { .. } => json!({ "summary": text("summary")? }),
            Task::Translate { target } => {
                json!({ "translation": text("translation")?, "target_language": target })
            }
            Task::Classify { labels } => {
                let label = text("label")?;
                if !labels.contains(&label) {
                    return Err(format!("label '{label}' is not one of {}", json!(labels)));
                }
                let confidence = v
                    .get("confidence")
                    .and_then(Value::as_f64)
                    .filter(|c| (0.0..=1.0).contains(c));
                json!({ "label": label, "confidence": confidence })
            }
            Task::ExtractFields { schema } => {
                let fields = v.get("fields").ok_or("the answer has no 'fields'")?;
                let errors = schema::validate(schema, fields);
                if !errors.is_empty() {
                    return Err(format!(
                        "fields do not match the schema: {}",
                        errors.join("; ")
                    ));
                }
                json!({ "fields": fields })
            }
            Task::Ask { .. } => {
                let answer = text("answer")?;
                let citations: Vec<Value> = v
                    .get("citations")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_u64).collect::<Vec<_>>())
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|n| {
                        let chunk = doc.chunks.get((n as usize).checked_sub(1)?)?;
                        Some(json!({ "passage": n, "text": excerpt(chunk) }))
                    })
                    .collect();
                json!({ "answer": answer, "citations": citations })
            }
        })
    }

    /// The answer when every model is down: an extractive summary for
    /// `summarize`, the best-matching passages for `ask`; `None` for tasks
    /// that have no honest substitute.
    pub fn degraded(&self, full_text: &str, doc: &Compressed) -> Option<Value> {
        match self {
            Task::Summarize { length, .. } => {
                let n = match length.as_str() {
                    "short" => 2,
                    "long" => 8,
                    _ => 4,
                };
                let sentences = crate::commands::summary::summarize(full_text, n);
                Some(json!({ "summary": sentences.join(" ") }))
            }
            Task::Ask { .. } => {
                // `doc` was ranked against the question: its first passages
                // are the best matches, in document order.
                let citations: Vec<Value> = doc
                    .chunks
                    .iter()
                    .take(3)
                    .enumerate()
                    .map(|(i, c)| json!({ "passage": i + 1, "text": excerpt(c) }))
                    .collect();
                Some(json!({ "answer": null, "citations": citations }))
            }
            _ => None,
        }
    }
}

/// The document as the prompt shows it: numbered passages.
fn document_text(doc: &Compressed) -> String {
    doc.chunks
        .iter()
        .enumerate()
        .map(|(i, c)| format!("[{}] {c}", i + 1))
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// The JSON object in an answer, tolerating a Markdown code fence around it.
pub fn parse_object(answer: &str) -> Result<Value, String> {
    let t = answer.trim();
    let t = t
        .strip_prefix("```json")
        .or_else(|| t.strip_prefix("```"))
        .and_then(|r| r.strip_suffix("```"))
        .unwrap_or(t)
        .trim();
    match serde_json::from_str::<Value>(t) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("the answer is not a JSON object".into()),
        Err(e) => Err(format!("the answer is not valid JSON: {e}")),
    }
}

/// One prompt for several tasks on the same document: the answer is one
/// JSON object with a member per task.
pub fn batch_request(tasks: &[&Task], doc: &Compressed) -> LlmRequest {
    let mut parts = Vec::new();
    for t in tasks {
        let (what, shape) = t.instruction();
        parts.push(format!("- \"{}\": {what} Form: {shape}", t.name()));
    }
    LlmRequest {
        system: format!(
            "You process documents for an API. Do each task below on the document and answer with one JSON object whose members are the task names:\n{}",
            parts.join("\n")
        ),
        user: document_text(doc),
        json: true,
        max_output_tokens: tasks.iter().map(|t| t.max_output_tokens(doc.tokens)).sum(),
    }
}

/// Splits a batch answer back into each task's result; any invalid part
/// makes the whole batch invalid (the caller then calls separately).
pub fn split_batch(tasks: &[&Task], answer: &str, doc: &Compressed) -> Result<Vec<Value>, String> {
    let v = parse_object(answer)?;
    tasks
        .iter()
        .map(|t| {
            let part = v
                .get(t.name())
                .ok_or_else(|| format!("the batch answer has no '{}'", t.name()))?;
            t.shape(part, doc).map_err(|e| format!("{}: {e}", t.name()))
        })
        .collect()
}

/// Shares of a batch call's tokens, by each task's expected output size.
pub fn apportion(tasks: &[&Task], total: u32, input_tokens: u32) -> Vec<u32> {
    let weights: Vec<u32> = tasks
        .iter()
        .map(|t| t.max_output_tokens(input_tokens))
        .collect();
    let sum: u32 = weights.iter().sum::<u32>().max(1);
    let mut shares: Vec<u32> = weights
        .iter()
        .map(|w| (u64::from(total) * u64::from(*w) / u64::from(sum)) as u32)
        .collect();
    // Rounding leftovers go to the first task, so shares add up exactly.
    let given: u32 = shares.iter().sum();
    if let Some(first) = shares.first_mut() {
        *first += total - given;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::compress::compress;

    fn task(json: &str) -> Result<Task, String> {
        let c: Command = serde_json::from_str(json).unwrap();
        Task::of(&c).unwrap()
    }

    #[test]
    fn options_are_checked_before_a_job_exists() {
        assert!(task(r#"{"name":"summarize"}"#).is_ok());
        assert!(task(r#"{"name":"summarize","options":{"length":"epic"}}"#).is_err());
        assert!(task(r#"{"name":"translate"}"#).is_err());
        assert!(task(r#"{"name":"classify","options":{"labels":["a"]}}"#).is_err());
        assert!(task(r#"{"name":"classify","options":{"labels":["a",2]}}"#).is_err());
        assert!(
            task(r#"{"name":"extract_fields","options":{"schema":{"type":"string"}}}"#).is_err()
        );
        assert!(task(r#"{"name":"ask","options":{"question":"why?","x":1}}"#).is_err());
        let stats: Command = serde_json::from_str(r#"{"name":"stats"}"#).unwrap();
        assert!(Task::of(&stats).is_none());
    }

    #[test]
    fn answers_are_validated_per_task() {
        let doc = compress("[alpha]\n\nbeta passage", 1000, None, true);
        let classify =
            task(r#"{"name":"classify","options":{"labels":["invoice","letter"]}}"#).unwrap();
        assert_eq!(
            classify
                .parse(
                    r#"```json
{"label":"letter","confidence":0.8}
```"#,
                    &doc
                )
                .unwrap(),
            json!({"label": "letter", "confidence": 0.8})
        );
        assert!(classify.parse(r#"{"label":"memo"}"#, &doc).is_err());
        assert!(classify.parse("letter", &doc).is_err());
        let fields = task(r#"{"name":"extract_fields","options":{"schema":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}}}"#).unwrap();
        assert!(fields.parse(r#"{"fields":{"n":3}}"#, &doc).is_ok());
        assert!(fields
            .parse(r#"{"fields":{"n":"3"}}"#, &doc)
            .unwrap_err()
            .contains("/n"));
        let ask = task(r#"{"name":"ask","options":{"question":"q"}}"#).unwrap();
        let a = ask
            .parse(r#"{"answer":"yes","citations":[1,9]}"#, &doc)
            .unwrap();
        assert_eq!(
            a["citations"].as_array().unwrap().len(),
            1,
            "unknown passages dropped"
        );
    }

    #[test]
    fn a_batch_splits_per_task_and_its_tokens_add_up() {
        let doc = compress("some text", 1000, None, true);
        let s = task(r#"{"name":"summarize","options":{"length":"short"}}"#).unwrap();
        let c = task(r#"{"name":"classify","options":{"labels":["a","b"]}}"#).unwrap();
        let req = batch_request(&[&s, &c], &doc);
        assert!(req.system.contains("\"summarize\"") && req.system.contains("\"classify\""));
        let parts = split_batch(
            &[&s, &c],
            r#"{"summarize":{"summary":"S"},"classify":{"label":"b","confidence":1}}"#,
            &doc,
        )
        .unwrap();
        assert_eq!(parts[0]["summary"], "S");
        assert!(split_batch(&[&s, &c], r#"{"summarize":{"summary":"S"}}"#, &doc).is_err());
        let shares = apportion(&[&s, &c], 301, 10);
        assert_eq!(shares.iter().sum::<u32>(), 301);
        assert!(shares[0] > shares[1]);
    }

    #[test]
    fn degraded_answers_exist_only_where_honest() {
        let text = "Quire reads documents. It extracts text. It answers questions. It is fast.";
        let doc = compress(text, 1000, Some("questions"), true);
        let s = task(r#"{"name":"summarize"}"#).unwrap();
        assert!(
            s.degraded(text, &doc).unwrap()["summary"]
                .as_str()
                .unwrap()
                .len()
                > 10
        );
        let a = task(r#"{"name":"ask","options":{"question":"what?"}}"#).unwrap();
        assert!(a.degraded(text, &doc).unwrap()["answer"].is_null());
        let t = task(r#"{"name":"translate","options":{"target_language":"fr"}}"#).unwrap();
        assert!(t.degraded(text, &doc).is_none());
    }
}
