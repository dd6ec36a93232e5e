//! Extraction: document bytes in, a [`model`] of elements out, rendered as
//! text and Markdown. Pure and synchronous, so every extractor is tested
//! natively against the shared corpus.
//!
//! Each format has its own module; [`extract`] picks one by media type and
//! refuses, with a typed error, the types that have no extractor.
//! Container formats (ZIP, e-mail attachments) recurse through
//! [`extract_nested`] under [`Limits`], so one hostile file cannot exhaust
//! the isolate.

mod csv;
mod email;
mod epub;
mod html;
mod json;
mod markdown;
pub mod model;
pub(crate) mod ooxml;
mod pdf;
mod rtf;
pub mod text;
mod xml;
pub(crate) mod zipped;

use model::{Element, Kind};
use serde::{Deserialize, Serialize};

/// Bumped whenever extractors change what they produce; part of the
/// extraction cache key, so an upgrade never serves stale extractions.
pub const EXTRACTOR_VERSION: u32 = 1;

/// Text and structure taken from a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub elements: Vec<Element>,
    /// Pages in the source (slides for presentations, sheets for
    /// workbooks, spine documents for EPUB); 1 for formats without pages.
    pub pages: u32,
    /// Things the caller should know (a guessed encoding, no text, skipped
    /// attachments).
    pub warnings: Vec<String>,
}

impl Extraction {
    pub fn text(&self) -> String {
        model::to_text(&self.elements)
    }

    pub fn markdown(&self) -> String {
        model::to_markdown(&self.elements)
    }

    /// Keeps only the elements of pages `first..=last` (elements without a
    /// page number belong to page 1).
    pub fn select_pages(&mut self, first: u32, last: u32) {
        self.elements
            .retain(|e| (first..=last).contains(&e.page.unwrap_or(1)));
    }
}

/// Why a document could not be extracted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("no extractor for media type '{0}'")]
    Unsupported(String),
    #[error("the document is malformed: {0}")]
    Malformed(String),
    #[error("the document is encrypted or password-protected")]
    Encrypted,
    #[error("the document exceeds a processing limit: {0}")]
    TooLarge(String),
}

impl ExtractError {
    /// The job error code for this failure.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::Unsupported(_) => "unsupported_media_type",
            ExtractError::Malformed(_) => "malformed_document",
            ExtractError::Encrypted => "encrypted_document",
            ExtractError::TooLarge(_) => "document_too_large",
        }
    }
}

/// Guards against hostile documents.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes a document may decompress to (all archive members).
    pub max_decompressed_bytes: u64,
    /// Largest ratio of decompressed to compressed size for one member.
    pub max_compression_ratio: u64,
    /// How deep archives and attachments may nest.
    pub max_depth: u32,
    pub max_pages: u32,
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_decompressed_bytes: 200 * 1024 * 1024,
            max_compression_ratio: 200,
            max_depth: 3,
            max_pages: 2_000,
            max_elements: 200_000,
        }
    }
}

/// Extracts a document of the given media type under default limits.
pub fn extract(media_type: &str, bytes: &[u8]) -> Result<Extraction, ExtractError> {
    extract_nested(media_type, bytes, &Limits::default(), 0)
}

/// Extracts a document found at nesting `depth` (0 for the upload itself).
pub fn extract_nested(
    media_type: &str,
    bytes: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<Extraction, ExtractError> {
    if depth > limits.max_depth {
        return Err(ExtractError::TooLarge(format!(
            "nested deeper than {} levels",
            limits.max_depth
        )));
    }
    let mut ex = dispatch(media_type, bytes, limits, depth)?;
    if ex.elements.len() > limits.max_elements {
        return Err(ExtractError::TooLarge(format!(
            "more than {} elements",
            limits.max_elements
        )));
    }
    let has_text = ex
        .elements
        .iter()
        .any(|e| !matches!(e.kind, Kind::Image { .. }) && !e.text.trim().is_empty());
    if !has_text {
        ex.warnings
            .push("no_text: the document contains no extractable text".into());
    }
    Ok(ex)
}

fn dispatch(
    media_type: &str,
    bytes: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<Extraction, ExtractError> {
    const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    // Password-protected OOXML is stored inside an OLE compound file.
    let ooxml = media_type.starts_with("application/vnd.openxmlformats-officedocument.");
    if ooxml && bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ExtractError::Encrypted);
    }
    match media_type {
        "application/pdf" => pdf::extract(bytes, limits),
        DOCX => ooxml::docx(bytes, limits),
        PPTX => ooxml::pptx(bytes, limits),
        XLSX => ooxml::xlsx(bytes, limits),
        "application/vnd.oasis.opendocument.text" => ooxml::odt(bytes, limits),
        "application/epub+zip" => epub::extract(bytes, limits),
        "application/zip" => zipped::extract(bytes, limits, depth),
        "message/rfc822" => email::extract(bytes, limits, depth),
        "application/rtf" => single(rtf::extract(bytes)?),
        "text/html" => single_warned(html::extract(bytes)),
        "text/xml" | "application/xml" => single(xml::extract(bytes)?),
        _ => decoded(media_type, bytes),
    }
}

/// Formats read as decoded text first.
fn decoded(media_type: &str, bytes: &[u8]) -> Result<Extraction, ExtractError> {
    let d = text::decode(bytes, None);
    let elements = match media_type {
        "text/plain" | "text/x-rst" | "text/org" => text::elements(&d.text),
        "application/yaml" => vec![Element::new(Kind::CodeBlock, text::tidy(&d.text))],
        "text/markdown" => markdown::elements(&d.text),
        "text/csv" => csv::elements(&d.text, None)?,
        "text/tab-separated-values" => csv::elements(&d.text, Some(b'\t'))?,
        "application/json" => json::elements(&d.text)?,
        "application/x-ndjson" => json::ndjson_elements(&d.text)?,
        other => return Err(ExtractError::Unsupported(other.to_string())),
    };
    Ok(Extraction {
        elements,
        pages: 1,
        warnings: d.warnings,
    })
}

fn single(elements: Vec<Element>) -> Result<Extraction, ExtractError> {
    Ok(Extraction {
        elements,
        pages: 1,
        warnings: Vec::new(),
    })
}

fn single_warned(
    result: Result<(Vec<Element>, Vec<String>), ExtractError>,
) -> Result<Extraction, ExtractError> {
    let (elements, warnings) = result?;
    Ok(Extraction {
        elements,
        pages: 1,
        warnings,
    })
}

/// Parses a page range such as `"3"`, `"2-5"` or `"4-"` (1-based, inclusive).
pub fn parse_pages(spec: &str) -> Option<(u32, u32)> {
    let spec = spec.trim();
    let (a, b) = match spec.split_once('-') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (spec, spec),
    };
    let first: u32 = a.parse().ok().filter(|n| *n >= 1)?;
    let last: u32 = if b.is_empty() {
        u32::MAX
    } else {
        b.parse().ok()?
    };
    (last >= first).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_binary_formats_are_a_typed_error() {
        assert_eq!(
            extract("application/msword", b"\xd0\xcf\x11\xe0"),
            Err(ExtractError::Unsupported("application/msword".into()))
        );
    }

    #[test]
    fn whitespace_only_text_is_flagged_not_silent() {
        let e = extract("text/plain", b"   \n\t ").unwrap();
        assert_eq!(e.text(), "");
        assert!(e.warnings[0].starts_with("no_text"));
    }

    #[test]
    fn page_ranges_parse_and_refuse_nonsense() {
        assert_eq!(parse_pages("2-5"), Some((2, 5)));
        assert_eq!(parse_pages("3"), Some((3, 3)));
        assert_eq!(parse_pages("4-"), Some((4, u32::MAX)));
        assert_eq!(parse_pages("0-2"), None);
        assert_eq!(parse_pages("5-2"), None);
        assert_eq!(parse_pages("x"), None);
    }
}
