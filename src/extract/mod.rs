//! Extraction: document bytes in, text out. Pure and synchronous, so every
//! extractor is tested natively against the shared corpus.
//!
//! Each format has its own module; [`extract`] picks one by media type and
//! refuses, with a typed error, the types that have no extractor yet.

mod csv;
mod html;
mod json;
mod markdown;
pub mod text;

/// Text taken from a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub text: String,
    /// Pages in the source; 1 for formats without pages.
    pub pages: u32,
    /// Things the caller should know (e.g. a guessed encoding, no text).
    pub warnings: Vec<String>,
}

/// Why a document could not be extracted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("no extractor for media type '{0}' yet")]
    Unsupported(String),
    #[error("the document is malformed: {0}")]
    Malformed(String),
}

/// Extracts the text of a document of the given media type.
pub fn extract(media_type: &str, bytes: &[u8]) -> Result<Extraction, ExtractError> {
    let decoded = text::decode(bytes, None);
    let mut warnings = decoded.warnings;
    let body = match media_type {
        "text/plain" | "text/x-rst" | "text/org" | "application/yaml" => decoded.text,
        "text/markdown" => markdown::to_text(&decoded.text),
        "text/html" => html::to_text(bytes)?,
        "text/csv" => csv::to_text(&decoded.text, None)?,
        "text/tab-separated-values" => csv::to_text(&decoded.text, Some(b'\t'))?,
        "application/json" => json::to_text(&decoded.text)?,
        "application/x-ndjson" => json::ndjson_to_text(&decoded.text)?,
        other => return Err(ExtractError::Unsupported(other.to_string())),
    };
    let text = text::tidy(&body);
    if text.trim().is_empty() {
        warnings.push("no_text: the document contains no text".into());
    }
    Ok(Extraction {
        text,
        pages: 1,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_without_an_extractor_are_a_typed_error() {
        assert_eq!(
            extract("application/pdf", b"%PDF-1.4"),
            Err(ExtractError::Unsupported("application/pdf".into()))
        );
    }

    #[test]
    fn whitespace_only_text_is_flagged_not_silent() {
        let e = extract("text/plain", b"   \n\t ").unwrap();
        assert_eq!(e.text, "");
        assert!(e.warnings[0].starts_with("no_text"));
    }
}
