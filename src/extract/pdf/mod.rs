//! PDF: the text layer, page by page. lopdf parses the file, decrypts it
//! when the user password is empty, and decodes fonts; our content walker
//! ([`walker`]) turns text operators into lines, with a fallback ToUnicode
//! reader ([`cmap`]) for maps lopdf refuses. Lines are joined into
//! paragraphs when a line does not end a sentence and the next continues it
//! in lower case. Documents that need a password are a typed error; pages
//! without text are reported (scanned pages would need OCR, which Quire
//! does not do).

mod cmap;
mod fonts;
mod walker;

use super::model::{Builder, Element, Kind};
use super::{ExtractError, Extraction, Limits};
use lopdf::Document;

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ExtractError::Malformed("no %PDF header".into()));
    }
    let doc = Document::load_mem(bytes).map_err(|e| match e {
        lopdf::Error::Decryption(_) => ExtractError::Encrypted,
        other => ExtractError::Malformed(format!("PDF could not be parsed: {other}")),
    })?;
    if doc.is_encrypted() && doc.authenticate_password("").is_err() {
        return Err(ExtractError::Encrypted);
    }
    let pages = doc.get_pages();
    if pages.len() > limits.max_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "{} pages, more than {}",
            pages.len(),
            limits.max_pages
        )));
    }
    let mut b = Builder::default();
    let mut warnings = Vec::new();
    let mut empty_pages = Vec::new();
    for (&number, &page_id) in &pages {
        if number > 1 {
            b.push(Element::new(Kind::PageBreak, "").on_page(number));
        }
        b.set_page(number);
        let text = match walker::page_text(&doc, page_id) {
            Ok(t) => t,
            Err(e) => {
                warnings.push(format!("page {number}: text could not be read: {e}"));
                String::new()
            }
        };
        if text.trim().is_empty() {
            empty_pages.push(number);
        }
        for para in paragraphs(&text) {
            b.paragraph(&para);
        }
    }
    if !empty_pages.is_empty() {
        warnings.push(format!(
            "no_text_layer: {} of {} pages have no text (scanned? OCR is not supported)",
            empty_pages.len(),
            pages.len()
        ));
    }
    Ok(Extraction {
        elements: b.finish(),
        pages: pages.len().max(1) as u32,
        warnings,
    })
}

/// Joins a page's lines into paragraphs.
fn paragraphs(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        let continues = out.last().is_some_and(|prev| {
            !prev.ends_with(['.', '!', '?', ':', ';'])
                && line.starts_with(|c: char| c.is_lowercase())
        });
        match out.last_mut() {
            Some(prev) if continues => {
                if prev.ends_with('-') {
                    prev.pop(); // re-join a hyphenated word
                } else {
                    prev.push(' ');
                }
                prev.push_str(&line);
            }
            _ => out.push(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continued_lines_join_and_sentences_split() {
        let text = "The quick brown fox\njumps over the lazy dog.\nA new para-\ngraph starts here\nTitle Line\n";
        assert_eq!(
            paragraphs(text),
            vec![
                "The quick brown fox jumps over the lazy dog.",
                "A new paragraph starts here",
                "Title Line"
            ]
        );
    }

    #[test]
    fn non_pdf_bytes_are_malformed() {
        assert!(matches!(
            extract(b"hello", &Limits::default()),
            Err(ExtractError::Malformed(_))
        ));
    }
}
