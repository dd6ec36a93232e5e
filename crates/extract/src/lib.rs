//! Quire's document engine, with no worker, port or HTTP type in it:
//! content scanning at upload ([`scan`]), media types ([`media`]) and
//! extraction: document bytes in, a [`model`] of elements out, rendered as
//! text and Markdown. Pure and synchronous, so every extractor is tested,
//! fuzzed and benchmarked natively against the shared corpus.
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
mod legacy;
mod markdown;
pub mod media;
pub mod model;
pub mod ocr;
pub(crate) mod ooxml;
mod pdf;
pub mod raster;
mod rtf;
pub mod scan;
pub mod text;
mod xml;
pub(crate) mod zipped;

use model::{Element, Kind};
use serde::{Deserialize, Serialize};

/// Bumped whenever extractors change what they produce; part of the
/// extraction cache key, so an upgrade never serves stale extractions.
pub const EXTRACTOR_VERSION: u32 = 6;

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

/// Guards against hostile documents: fixed caps, and one budget per
/// document that every nested member, archive read, PDF stream inflation
/// and content-stream walk draws from, so a file cannot multiply its cost
/// by nesting, repeating or fanning out. Passed by reference down the whole
/// extraction, so nested calls share the same budget.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Total bytes a document may decompress to: all archive members at
    /// every depth and all PDF streams, together.
    pub max_decompressed_bytes: u64,
    /// What one archive member or one PDF stream may decompress to (what
    /// one inflation holds in memory at once).
    pub max_stream_bytes: u64,
    /// Largest ratio of decompressed to compressed size for one member.
    pub max_compression_ratio: u64,
    /// How deep archives and attachments may nest.
    pub max_depth: u32,
    pub max_pages: u32,
    pub max_elements: usize,
    /// Content-stream operators walked, all pages and forms together.
    pub max_operators: u64,
    /// Form XObjects run (`Do`), all pages together: bounds fan-out.
    pub max_form_runs: u64,
    spent: Spent,
}

/// What a document has used of its [`Limits`] so far.
#[derive(Debug, Default)]
struct Spent {
    inflated: std::cell::Cell<u64>,
    operators: std::cell::Cell<u64>,
    form_runs: std::cell::Cell<u64>,
}

/// A copy of the limits is for another document: it starts unspent.
impl Clone for Spent {
    fn clone(&self) -> Spent {
        Spent::default()
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_decompressed_bytes: 256 * 1024 * 1024,
            max_stream_bytes: 32 * 1024 * 1024,
            max_compression_ratio: 200,
            max_depth: 3,
            max_pages: 2_000,
            max_elements: 200_000,
            max_operators: 20_000_000,
            max_form_runs: 50_000,
            spent: Spent::default(),
        }
    }
}

impl Limits {
    /// How many bytes the next inflation may produce: what one stream may
    /// hold, or what is left of the document's budget if that is less.
    pub fn inflation_cap(&self) -> u64 {
        let left = self
            .max_decompressed_bytes
            .saturating_sub(self.spent.inflated.get());
        self.max_stream_bytes.min(left)
    }

    /// Charges `n` decompressed bytes; refused past either cap.
    pub fn take_inflated(&self, n: u64, what: &str) -> Result<(), ExtractError> {
        if n > self.inflation_cap() {
            return Err(self.past_inflation_cap(what));
        }
        self.spent.inflated.set(self.spent.inflated.get() + n);
        Ok(())
    }

    /// The refusal for an inflation that went past [`Self::inflation_cap`].
    pub fn past_inflation_cap(&self, what: &str) -> ExtractError {
        ExtractError::TooLarge(if self.inflation_cap() == self.max_stream_bytes {
            format!(
                "{what} decompresses to more than {} bytes",
                self.max_stream_bytes
            )
        } else {
            format!(
                "the document decompresses to more than {} bytes in all",
                self.max_decompressed_bytes
            )
        })
    }

    /// Charges `n` content-stream operators.
    pub fn take_operators(&self, n: u64) -> Result<(), ExtractError> {
        let used = self.spent.operators.get().saturating_add(n);
        self.spent.operators.set(used);
        if used > self.max_operators {
            return Err(ExtractError::TooLarge(format!(
                "more than {} content operators",
                self.max_operators
            )));
        }
        Ok(())
    }

    /// Charges one run of a form XObject.
    pub fn take_form_run(&self) -> Result<(), ExtractError> {
        let used = self.spent.form_runs.get() + 1;
        self.spent.form_runs.set(used);
        if used > self.max_form_runs {
            return Err(ExtractError::TooLarge(format!(
                "more than {} form XObject runs",
                self.max_form_runs
            )));
        }
        Ok(())
    }
}

/// From this share of control and replacement characters (in percent)
/// an extraction carries a `garbled_text` warning: real text has next to
/// none, so a tenth is already far more than any document means.
const GARBLED_PERCENT: u32 = 10;

/// Extracts a document of the given media type under default limits.
/// Scanned PDF pages are named in a warning, unread: see
/// [`extract_with_scans`] for a caller that has an OCR engine.
pub fn extract(media_type: &str, bytes: &[u8]) -> Result<Extraction, ExtractError> {
    extract_nested(media_type, bytes, &Limits::default(), 0)
}

/// A scanned page's image, for the OCR engine.
pub use pdf::images::PageImage;
pub use pdf::MAX_OCR_PAGES;
/// PDFs read by byte ranges, in parts of pages (large documents, split jobs).
pub use pdf::{sparse, split};

/// Extracts a document, handing back the images of its scanned pages (a
/// PDF's pages without text) for the caller to read by OCR. Once their
/// elements are in, [`checked`] completes the extraction.
pub fn extract_with_scans(
    media_type: &str,
    bytes: &[u8],
) -> Result<(Extraction, Vec<PageImage>), ExtractError> {
    let limits = Limits::default();
    match media_type {
        "application/pdf" => pdf::extract(bytes, &limits),
        _ => Ok((extract_nested(media_type, bytes, &limits, 0)?, Vec::new())),
    }
}

/// A PDF whose scanned pages nobody will read says which they are.
fn unread(mut ex: Extraction, scans: &[PageImage]) -> Extraction {
    if !scans.is_empty() {
        let pages: Vec<u32> = scans.iter().map(|s| s.page).collect();
        ex.warnings.push(format!(
            "no_text_layer: {} pages are images without text ({}); OCR reads them in a \
             PDF uploaded as a document, not inside an archive or attachment",
            pages.len(),
            pdf::page_list(&pages)
        ));
    }
    ex
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
    checked(dispatch(media_type, bytes, limits, depth)?, limits)
}

/// An extraction's last checks: the element cap, and warnings for a
/// result with no text or with garbled text.
pub fn checked(mut ex: Extraction, limits: &Limits) -> Result<Extraction, ExtractError> {
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
    let garbled = text::garbled_percent(&ex.text());
    if garbled >= GARBLED_PERCENT {
        ex.warnings.push(format!(
            "garbled_text: {garbled}% of the characters are control or replacement \
             characters (a wrong encoding, or a font without a usable map)"
        ));
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
    if let Some(twin) = legacy::office_twin(media_type, bytes) {
        return dispatch(twin, bytes, limits, depth);
    }
    // Password-protected OOXML is stored inside an OLE compound file.
    let ooxml = media_type.starts_with("application/vnd.openxmlformats-officedocument.");
    if ooxml && legacy::encrypted_package(bytes) {
        return Err(ExtractError::Encrypted);
    }
    match media_type {
        "application/pdf" => pdf::extract(bytes, limits).map(|(ex, scans)| unread(ex, &scans)),
        DOCX => ooxml::docx(bytes, limits),
        PPTX => ooxml::pptx(bytes, limits),
        XLSX => ooxml::xlsx(bytes, limits),
        "application/vnd.oasis.opendocument.text" => ooxml::odt(bytes, limits),
        "application/epub+zip" => epub::extract(bytes, limits),
        "application/zip" => zipped::extract(bytes, limits, depth),
        "message/rfc822" => email::extract(bytes, limits, depth),
        "application/msword" => legacy::doc(bytes, limits),
        "application/vnd.ms-excel" => legacy::xls(bytes, limits),
        "application/vnd.ms-powerpoint" => legacy::ppt(bytes, limits),
        "application/vnd.ms-outlook" => legacy::msg(bytes, limits, depth),
        "application/rtf" => single(rtf::extract(bytes)?),
        "text/html" => single_warned(html::extract(bytes)),
        "text/xml" | "application/xml" => single_warned(xml::extract(bytes)),
        // Images are read by OCR, which the jobs worker runs (the engine
        // is not in this crate); here they have no extractor.
        t if raster::is_image(t) => Err(ExtractError::Unsupported(format!(
            "{t} (read by OCR in jobs, not here)"
        ))),
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
    fn a_cut_off_compound_file_is_malformed_in_every_legacy_format() {
        for media_type in [
            "application/msword",
            "application/vnd.ms-excel",
            "application/vnd.ms-powerpoint",
            "application/vnd.ms-outlook",
        ] {
            assert!(
                matches!(
                    extract(media_type, b"\xd0\xcf\x11\xe0"),
                    Err(ExtractError::Malformed(_))
                ),
                "{media_type}"
            );
        }
    }

    #[test]
    fn whitespace_only_text_is_flagged_not_silent() {
        let e = extract("text/plain", b"   \n\t ").unwrap();
        assert_eq!(e.text(), "");
        assert!(e.warnings[0].starts_with("no_text"));
    }

    #[test]
    fn text_of_control_characters_is_flagged_as_garbled() {
        let e = extract("text/plain", b"\x01\x02\x03\x04\x05\x06 abc").unwrap();
        assert!(e
            .warnings
            .iter()
            .any(|w| w.starts_with("garbled_text: 66%")));
        let clean = extract("text/plain", "Grüße\tand\x0cpages".as_bytes()).unwrap();
        assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    }

    #[test]
    fn every_text_format_reads_utf16_and_utf32() {
        let samples = [
            ("text/plain", "Grüße aus Köln"),
            ("text/markdown", "# Grüße aus Köln"),
            ("text/csv", "Stadt,Gruß\nKöln,Grüße"),
            ("text/tab-separated-values", "Stadt\tGruß\nKöln\tGrüße"),
            ("application/json", "{\"Gruß\": \"Grüße aus Köln\"}"),
            ("text/html", "<p>Grüße aus <b>Köln</b></p>"),
            ("application/xml", "<a>Grüße aus Köln</a>"),
        ];
        for (media_type, source) in samples {
            let want = extract(media_type, source.as_bytes()).unwrap().text();
            let mut utf16_le = vec![0xFF, 0xFE];
            utf16_le.extend(source.encode_utf16().flat_map(u16::to_le_bytes));
            let utf16_be: Vec<u8> = source.encode_utf16().flat_map(u16::to_be_bytes).collect();
            let utf32: Vec<u8> = source
                .chars()
                .flat_map(|c| (c as u32).to_be_bytes())
                .collect();
            for bytes in [utf16_le, utf16_be, utf32] {
                let got = extract(media_type, &bytes).unwrap();
                assert_eq!(got.text(), want, "{media_type}");
                assert!(got.warnings.is_empty(), "{media_type}: {:?}", got.warnings);
            }
        }
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
