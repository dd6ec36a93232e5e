//! Plain text: encoding detection and whitespace tidying.
//!
//! Order of evidence: a byte-order mark; then the NUL-byte pattern of
//! BOM-less UTF-16; then valid UTF-8; then a declared charset hint; last,
//! windows-1252 (which decodes any byte), flagged with a warning.

use super::model::{Builder, Element, Kind};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Decoded text and what the caller should know about how.
pub struct Decoded {
    pub text: String,
    pub warnings: Vec<String>,
}

/// Decodes bytes of unknown encoding into a string.
pub fn decode(bytes: &[u8], charset_hint: Option<&str>) -> Decoded {
    let mut warnings = Vec::new();
    let text = if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        enc.decode_without_bom_handling(&bytes[bom_len..])
            .0
            .into_owned()
    } else if let Some(enc) = sniff_utf16(bytes) {
        enc.decode_without_bom_handling(bytes).0.into_owned()
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        s.to_string()
    } else {
        let enc = charset_hint
            .and_then(|h| Encoding::for_label(h.as_bytes()))
            .unwrap_or(WINDOWS_1252);
        if charset_hint.is_none() {
            warnings.push("encoding_guessed: not valid UTF-8, decoded as windows-1252".into());
        }
        enc.decode_without_bom_handling(bytes).0.into_owned()
    };
    Decoded { text, warnings }
}

/// Whether bytes are UTF-16 (by BOM or NUL pattern), without decoding
/// them: the upload scan asks only this, and so links no decoder.
pub fn is_utf16(bytes: &[u8]) -> bool {
    match Encoding::for_bom(bytes) {
        Some((enc, _)) => enc == UTF_16LE || enc == UTF_16BE,
        None => sniff_utf16(bytes).is_some(),
    }
}

/// The text of bytes that are UTF-16 (by BOM or NUL pattern), else `None`.
pub fn utf16_text(bytes: &[u8]) -> Option<String> {
    let enc = match Encoding::for_bom(bytes) {
        Some((enc, _)) if enc == UTF_16LE || enc == UTF_16BE => enc,
        Some(_) => return None,
        None => sniff_utf16(bytes)?,
    };
    Some(enc.decode(bytes).0.into_owned())
}

/// Recognises BOM-less UTF-16 by its NUL bytes: ASCII-range text puts a
/// zero in every other byte, on the odd side for little-endian.
fn sniff_utf16(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    if sample.len() < 4 {
        return None;
    }
    let pairs = sample.len() / 2;
    let even = sample.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|b| **b == 0)
        .count();
    if odd * 10 >= pairs * 4 && even * 10 < pairs {
        Some(UTF_16LE)
    } else if even * 10 >= pairs * 4 && odd * 10 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Splits plain text into paragraphs at blank lines; a block whose every
/// line starts with a bullet or a number becomes list items.
pub fn elements(text: &str) -> Vec<Element> {
    let tidied = tidy(text);
    let mut b = Builder::default();
    for block in tidied.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        if !lines.is_empty() && lines.iter().all(|l| list_marker(l).is_some()) {
            for line in lines {
                if let Some((depth, rest)) = list_marker(line) {
                    b.push(Element::new(Kind::ListItem { depth }, rest));
                }
            }
        } else {
            b.paragraph(block);
        }
    }
    b.finish()
}

/// `(depth, text)` of a bulleted or numbered line.
fn list_marker(line: &str) -> Option<(u8, &str)> {
    let trimmed = line.trim_start();
    let indent = line.len() - trimmed.len();
    let depth = u8::try_from(indent / 4).unwrap_or(u8::MAX).min(5);
    for bullet in ["- ", "* ", "• ", "◦ ", "▪ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            return Some((depth, rest));
        }
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &trimmed[digits..];
        if let Some(rest) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some((depth, rest));
        }
    }
    None
}

/// Normalises line endings, drops NULs and trailing spaces, and collapses
/// runs of blank lines to one, so every extractor's output looks alike.
pub fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.replace("\r\n", "\n").replace('\r', "\n").lines() {
        let line = line.replace('\0', "");
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
            out.push('\n');
        } else {
            blank_run = 0;
            out.push_str(line);
            out.push('\n');
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, le: bool) -> Vec<u8> {
        s.encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect()
    }

    #[test]
    fn is_utf16_says_what_utf16_text_would_find() {
        let mut bom_be = vec![0xFE, 0xFF];
        bom_be.extend(utf16("Grüße", false));
        let samples = [
            bom_be,
            utf16("plain text, little-endian", true),
            utf16("plain text, big-endian", false),
            b"\xEF\xBB\xBFutf-8 with a BOM".to_vec(),
            b"ascii".to_vec(),
            vec![0, 0, 0, 0, 7, 0, 0, 0],
        ];
        for s in samples {
            assert_eq!(is_utf16(&s), utf16_text(&s).is_some(), "{s:?}");
        }
        assert!(is_utf16(&utf16("plain text", true)));
        assert!(!is_utf16(b"plain text"));
    }

    #[test]
    fn utf16_is_read_with_and_without_bom() {
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend(utf16("Grüße", true));
        assert_eq!(decode(&with_bom, None).text, "Grüße");
        assert_eq!(decode(&utf16("plain text", true), None).text, "plain text");
        assert_eq!(decode(&utf16("plain text", false), None).text, "plain text");
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252_with_a_warning() {
        let d = decode(b"caf\xe9", None);
        assert_eq!(d.text, "café");
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")).warnings.len(), 0);
    }

    #[test]
    fn blocks_become_paragraphs_and_bullets_list_items() {
        let els = elements("Intro line\ncontinued\n\n   - one\n   - two\n\n1. first\n2. second");
        let kinds: Vec<_> = els.iter().map(|e| (&e.kind, e.text.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (&Kind::Paragraph, "Intro line\ncontinued"),
                (&Kind::ListItem { depth: 0 }, "one"),
                (&Kind::ListItem { depth: 0 }, "two"),
                (&Kind::ListItem { depth: 0 }, "first"),
                (&Kind::ListItem { depth: 0 }, "second"),
            ]
        );
    }

    #[test]
    fn tidy_normalises_newlines_and_blank_runs() {
        assert_eq!(tidy("\n\na  \r\n\r\n\r\nb\rc\0\n\n"), "a\n\nb\nc");
    }
}
