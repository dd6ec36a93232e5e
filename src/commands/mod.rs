//! Commands a job runs on a document's extraction. Pure: each takes the
//! extraction and its options and returns a JSON result. Commands that need
//! an LLM are part of the schema; they run through [`crate::llm`].

pub mod chunk;
pub mod keywords;
pub mod pii;
pub mod stats;
pub mod summary;
pub mod text;

use crate::extract::{parse_pages, Extraction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Options of `extract`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractOptions {
    /// Page range such as `"2-5"`, `"3"` or `"4-"`; all pages by default.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::strict::some"
    )]
    pub pages: Option<String>,
    /// The languages OCR reads images and scanned pages in (Tesseract
    /// codes such as `eng`, `deu`, `chi_sim`): English is built in, others
    /// need their model installed by the operator. With several, each page
    /// is read in each and the most confident reading kept. Governs the
    /// job's extraction, which every command of the job reads.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::strict::some"
    )]
    pub languages: Option<Vec<String>>,
}

/// The OCR language every engine has.
pub const BUILT_IN_LANGUAGE: &str = "eng";

/// Most OCR languages a job may ask for (each costs a reading per page).
pub const MAX_LANGUAGES: usize = 3;

/// Whether `code` is shaped like a Tesseract language code: three
/// letters, maybe a script or variant (`chi_sim`, `deu_latf`).
pub fn language_code(code: &str) -> bool {
    let (base, variant) = code.split_once('_').unwrap_or((code, ""));
    base.len() == 3
        && base.bytes().all(|b| b.is_ascii_lowercase())
        && (variant.is_empty()
            || ((3..=4).contains(&variant.len())
                && variant.bytes().all(|b| b.is_ascii_lowercase())))
}

impl ExtractOptions {
    fn validate(&self) -> Result<(), String> {
        if let Some(p) = &self.pages {
            if parse_pages(p).is_none() {
                return Err(format!("extract pages '{p}' is not a range such as '2-5'"));
            }
        }
        let Some(languages) = &self.languages else {
            return Ok(());
        };
        if languages.is_empty() || languages.len() > MAX_LANGUAGES {
            return Err(format!(
                "extract languages takes 1 to {MAX_LANGUAGES} language codes"
            ));
        }
        if let Some(bad) = languages.iter().find(|l| !language_code(l)) {
            return Err(format!(
                "extract languages: '{bad}' is not a Tesseract language code such as 'eng' or 'chi_sim'"
            ));
        }
        let mut seen = languages.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != languages.len() {
            return Err("extract languages names a language twice".into());
        }
        Ok(())
    }
}

/// The OCR languages of a job: its `extract` command's, else English.
pub fn ocr_languages(commands: &[Command]) -> Vec<String> {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Extract { options } => options.languages.clone(),
            _ => None,
        })
        .unwrap_or_else(|| vec![BUILT_IN_LANGUAGE.to_string()])
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CountOptions {
    /// How many keywords / summary sentences.
    pub count: usize,
}

impl Default for CountOptions {
    fn default() -> CountOptions {
        CountOptions { count: 10 }
    }
}

/// Options of the LLM commands; checked by the LLM layer.
pub type LlmOptions = serde_json::Map<String, Value>;

/// A command with its options, as clients send it:
/// `{"name": "chunk", "options": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    Extract {
        #[serde(default)]
        options: ExtractOptions,
    },
    Chunk {
        #[serde(default)]
        options: chunk::ChunkOptions,
    },
    // Written as empty struct variants, not unit ones: serde lets a unit
    // variant of an internally tagged enum carry any other fields.
    Stats {},
    DetectPii {},
    RedactPii {},
    Keywords {
        #[serde(default)]
        options: CountOptions,
    },
    SummarizeExtractive {
        #[serde(default = "three_sentences")]
        options: CountOptions,
    },
    Summarize {
        #[serde(default)]
        options: LlmOptions,
    },
    Translate {
        #[serde(default)]
        options: LlmOptions,
    },
    Classify {
        #[serde(default)]
        options: LlmOptions,
    },
    ExtractFields {
        #[serde(default)]
        options: LlmOptions,
    },
    Ask {
        #[serde(default)]
        options: LlmOptions,
    },
}

fn three_sentences() -> CountOptions {
    CountOptions { count: 3 }
}

/// Why a command could not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    InvalidOptions(String),
    #[error("command '{0}' needs an LLM provider, and none is configured")]
    LlmNotConfigured(&'static str),
}

impl CommandError {
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::InvalidOptions(_) => "invalid_options",
            CommandError::LlmNotConfigured(_) => "llm_not_configured",
        }
    }
}

impl Command {
    /// The command's name, as in requests and result URLs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Extract { .. } => "extract",
            Command::Chunk { .. } => "chunk",
            Command::Stats {} => "stats",
            Command::DetectPii {} => "detect_pii",
            Command::RedactPii {} => "redact_pii",
            Command::Keywords { .. } => "keywords",
            Command::SummarizeExtractive { .. } => "summarize_extractive",
            Command::Summarize { .. } => "summarize",
            Command::Translate { .. } => "translate",
            Command::Classify { .. } => "classify",
            Command::ExtractFields { .. } => "extract_fields",
            Command::Ask { .. } => "ask",
        }
    }

    /// Whether the command calls an LLM.
    pub fn needs_llm(&self) -> bool {
        matches!(
            self,
            Command::Summarize { .. }
                | Command::Translate { .. }
                | Command::Classify { .. }
                | Command::ExtractFields { .. }
                | Command::Ask { .. }
        )
    }

    /// Whether `name` names a command (what `?command=` may ask for).
    pub fn is_name(name: &str) -> bool {
        serde_json::from_value::<Command>(serde_json::json!({ "name": name }))
            .is_ok_and(|c| c.name() == name)
    }

    /// Checks options before a job is accepted, so a bad request is a 422,
    /// not a failed job.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Command::Extract { options } => options.validate(),
            Command::Chunk { options } => options.validate(),
            Command::Keywords { options } | Command::SummarizeExtractive { options } => {
                if (1..=100).contains(&options.count) {
                    Ok(())
                } else {
                    Err(format!("{} count must be between 1 and 100", self.name()))
                }
            }
            // LLM commands' options are the LLM task's to check
            // (`llm::tasks::Task::of`, called by the job's validation).
            _ => Ok(()),
        }
    }

    /// Runs a command that needs no LLM.
    pub fn run(&self, ex: &Extraction, media_type: &str) -> Result<Value, CommandError> {
        let text = ex.text();
        Ok(match self {
            Command::Extract { options } => extract_result(ex, media_type, options)?,
            Command::Chunk { options } => {
                let chunks = chunk::chunk(&ex.elements, options);
                json!({ "strategy": options.strategy, "count": chunks.len(), "chunks": chunks })
            }
            Command::Stats {} => serde_json::to_value(stats::stats(&ex.elements, &text, ex.pages))
                .unwrap_or(Value::Null),
            Command::DetectPii {} => {
                let findings = pii::detect(&text);
                json!({ "count": findings.len(), "findings": findings })
            }
            Command::RedactPii {} => {
                let (redacted, findings) = pii::redact(&text);
                json!({ "text": redacted, "count": findings.len(), "findings": findings })
            }
            Command::Keywords { options } => {
                json!({ "keywords": keywords::keywords(&text, options.count) })
            }
            Command::SummarizeExtractive { options } => {
                let sentences = summary::summarize(&text, options.count);
                json!({ "summary": sentences.join(" "), "sentences": sentences })
            }
            other => return Err(CommandError::LlmNotConfigured(other.name())),
        })
    }
}

fn extract_result(
    ex: &Extraction,
    media_type: &str,
    options: &ExtractOptions,
) -> Result<Value, CommandError> {
    let mut ex = ex.clone();
    if let Some(spec) = &options.pages {
        let (first, last) = parse_pages(spec)
            .ok_or_else(|| CommandError::InvalidOptions(format!("bad page range '{spec}'")))?;
        ex.select_pages(first, last);
    }
    let text = ex.text();
    Ok(json!({
        "text": text,
        "markdown": ex.markdown(),
        "elements": ex.elements,
        "media_type": media_type,
        "pages": ex.pages,
        "characters": text.chars().count(),
        "warnings": ex.warnings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Command, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn commands_parse_with_and_without_options() {
        assert_eq!(
            parse(r#"{"name":"extract"}"#).unwrap(),
            Command::Extract {
                options: ExtractOptions::default()
            }
        );
        let c = parse(r#"{"name":"chunk","options":{"strategy":"page","max_size":500}}"#).unwrap();
        assert!(
            matches!(c, Command::Chunk { ref options } if options.max_size == 500 && options.overlap == 100)
        );
        assert_eq!(parse(r#"{"name":"stats"}"#).unwrap(), Command::Stats {});
        assert!(parse(r#"{"name":"teleport"}"#).is_err());
        assert!(parse(r#"{"name":"chunk","options":{"size":5}}"#).is_err());
        assert!(Command::is_name("summarize_extractive") && Command::is_name("ask"));
        assert!(!Command::is_name("teleport") && !Command::is_name(""));
        // Commands without options take no other field either.
        for name in ["stats", "detect_pii", "redact_pii"] {
            assert!(
                parse(&format!(r#"{{"name":"{name}","x":1}}"#)).is_err(),
                "{name}"
            );
            assert!(
                parse(&format!(r#"{{"name":"{name}","options":{{}}}}"#)).is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn llm_commands_say_they_need_a_provider() {
        let c = parse(r#"{"name":"summarize","options":{"length":"short"}}"#).unwrap();
        assert!(c.needs_llm());
        let ex = Extraction {
            elements: vec![],
            pages: 1,
            warnings: vec![],
        };
        assert_eq!(
            c.run(&ex, "text/plain").unwrap_err().code(),
            "llm_not_configured"
        );
    }

    #[test]
    fn options_are_validated_before_running() {
        let bad = parse(r#"{"name":"extract","options":{"pages":"9-2"}}"#).unwrap();
        assert!(bad.validate().is_err());
        let bad = parse(r#"{"name":"keywords","options":{"count":0}}"#).unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn an_option_is_left_out_not_null() {
        assert!(parse(r#"{"name":"extract","options":{"pages":null}}"#).is_err());
        assert!(parse(r#"{"name":"extract","options":{}}"#).is_ok());
    }
}
