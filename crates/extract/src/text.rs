//! Plain text: encoding detection and whitespace tidying.
//!
//! Order of evidence: a byte-order mark (UTF-8, UTF-16 or UTF-32, either
//! byte order); then the NUL-byte pattern of BOM-less UTF-32 and UTF-16;
//! then valid UTF-8; then a charset the document declares (`<?xml
//! encoding>`, `<meta charset>`, a MIME part's); last, windows-1252
//! (which decodes any byte), flagged with a warning.

use super::model::{Builder, Element, Kind};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Decoded text and what the caller should know about how.
pub struct Decoded {
    pub text: String,
    pub warnings: Vec<String>,
}

/// The Unicode encoding forms that put NUL bytes in ordinary text.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wide {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

impl Wide {
    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Wide::Utf16Le => UTF_16LE.decode_without_bom_handling(bytes).0.into_owned(),
            Wide::Utf16Be => UTF_16BE.decode_without_bom_handling(bytes).0.into_owned(),
            Wide::Utf32Le | Wide::Utf32Be => bytes
                .chunks(4)
                .map(|u| {
                    let mut unit = [0u8; 4];
                    unit[..u.len()].copy_from_slice(u);
                    let n = if self == Wide::Utf32Le {
                        u32::from_le_bytes(unit)
                    } else {
                        u32::from_be_bytes(unit)
                    };
                    // A short last unit or a value that is no scalar
                    // is shown as such, never dropped.
                    match u.len() {
                        4 => char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER),
                        _ => char::REPLACEMENT_CHARACTER,
                    }
                })
                .collect(),
        }
    }
}

/// The wide form and BOM length a byte-order mark announces. UTF-32LE's
/// mark begins like UTF-16LE's, so it is looked for first.
fn wide_bom(bytes: &[u8]) -> Option<(Wide, usize)> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) && bytes.len().is_multiple_of(4) {
        Some((Wide::Utf32Le, 4))
    } else if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some((Wide::Utf32Be, 4))
    } else if bytes.starts_with(&[0xFF, 0xFE]) {
        Some((Wide::Utf16Le, 2))
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        Some((Wide::Utf16Be, 2))
    } else {
        None
    }
}

/// Decodes bytes of unknown encoding into a string. `declared` is a
/// charset the document itself names; it counts only when the bytes are
/// neither marked nor valid UTF-8.
pub fn decode(bytes: &[u8], declared: Option<&str>) -> Decoded {
    let mut warnings = Vec::new();
    let text = if let Some((wide, bom)) = wide_bom(bytes) {
        wide.decode(&bytes[bom..])
    } else if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        String::from_utf8_lossy(rest).into_owned()
    } else if let Some(wide) = sniff_wide(bytes) {
        wide.decode(bytes)
    } else if let Ok(s) = std::str::from_utf8(bytes) {
        s.to_string()
    } else {
        let named = declared.and_then(|h| Encoding::for_label(h.trim().as_bytes()));
        // A declaration of UTF-16 or UTF-8 that the bytes have just
        // disproved is no evidence.
        let enc = named
            .filter(|e| *e != UTF_16LE && *e != UTF_16BE && *e != encoding_rs::UTF_8)
            .unwrap_or(WINDOWS_1252);
        if enc == WINDOWS_1252 && named != Some(WINDOWS_1252) {
            warnings.push("encoding_guessed: not valid UTF-8, decoded as windows-1252".into());
        }
        enc.decode_without_bom_handling(bytes).0.into_owned()
    };
    Decoded { text, warnings }
}

/// Whether bytes are UTF-16 or UTF-32 (by BOM or NUL pattern), without
/// decoding them: the upload scan asks only this, to tell such text from
/// binary, and so links no decoder.
pub fn is_wide(bytes: &[u8]) -> bool {
    wide_bom(bytes).is_some() || sniff_wide(bytes).is_some()
}

/// The text of bytes that are UTF-16 or UTF-32 (by BOM or NUL pattern),
/// else `None`.
pub fn wide_text(bytes: &[u8]) -> Option<String> {
    match wide_bom(bytes) {
        Some((wide, bom)) => Some(wide.decode(&bytes[bom..])),
        None => sniff_wide(bytes).map(|w| w.decode(bytes)),
    }
}

/// Recognises BOM-less UTF-32 and UTF-16 by their NUL bytes. Text never
/// holds NUL characters, so NULs that keep to one position of every unit
/// are the high bytes of characters: in three of four bytes for UTF-32;
/// in every other byte for UTF-16 Latin text, in fewer for other scripts
/// (whose markup, digits and spaces still put them there).
fn sniff_wide(bytes: &[u8]) -> Option<Wide> {
    let sample = &bytes[..bytes.len().min(4096)];
    let quads = &sample[..sample.len() & !3];
    if quads.len() >= 8 {
        let units = quads.len() / 4;
        let high_zero =
            |lo: usize, hi: usize| quads.chunks(4).filter(|u| u[lo] == 0 && u[hi] == 0).count();
        let scalar = |le: bool| {
            quads.chunks(4).all(|u| {
                let unit = [u[0], u[1], u[2], u[3]];
                let n = if le {
                    u32::from_le_bytes(unit)
                } else {
                    u32::from_be_bytes(unit)
                };
                char::from_u32(n).is_some()
            })
        };
        if high_zero(2, 3) * 10 >= units * 9 && scalar(true) {
            return Some(Wide::Utf32Le);
        }
        if high_zero(0, 1) * 10 >= units * 9 && scalar(false) {
            return Some(Wide::Utf32Be);
        }
    }
    let pairs = &sample[..sample.len() & !1];
    if pairs.len() < 4 {
        return None;
    }
    let units = pairs.len() / 2;
    let even = pairs.iter().step_by(2).filter(|b| **b == 0).count();
    let odd = pairs.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    // At least one unit in twenty has a NUL on one side, and the other
    // side has almost none.
    let one_sided = |this: usize, other: usize| this * 20 >= units && other * 10 <= this;
    if one_sided(odd, even) {
        Some(Wide::Utf16Le)
    } else if one_sided(even, odd) {
        Some(Wide::Utf16Be)
    } else {
        None
    }
}

/// The share of a text's characters, in percent, that no text holds:
/// NUL and other control characters (tabs and line breaks aside),
/// replacement characters, and the noncharacters. What a wrong encoding or
/// a font without a usable map leaves behind.
pub fn garbled_percent(text: &str) -> u32 {
    let (mut all, mut bad) = (0u64, 0u64);
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        all += 1;
        let noncharacter = matches!(c as u32, 0xFDD0..=0xFDEF) || (c as u32) & 0xFFFE == 0xFFFE;
        if c.is_control() || c == char::REPLACEMENT_CHARACTER || noncharacter {
            bad += 1;
        }
    }
    (bad * 100)
        .checked_div(all)
        .map_or(0, |p| u32::try_from(p).unwrap_or(100))
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

    fn utf32(s: &str, le: bool) -> Vec<u8> {
        s.chars()
            .flat_map(|c| {
                let n = c as u32;
                if le {
                    n.to_le_bytes()
                } else {
                    n.to_be_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn is_wide_says_what_wide_text_would_find() {
        let mut bom_be = vec![0xFE, 0xFF];
        bom_be.extend(utf16("Grüße", false));
        let samples = [
            bom_be,
            utf16("plain text, little-endian", true),
            utf16("plain text, big-endian", false),
            utf32("plain text, UTF-32", true),
            b"\xEF\xBB\xBFutf-8 with a BOM".to_vec(),
            b"ascii".to_vec(),
            vec![0, 0, 0, 0, 7, 0, 0, 0],
        ];
        for s in samples {
            assert_eq!(is_wide(&s), wide_text(&s).is_some(), "{s:?}");
        }
        assert!(is_wide(&utf16("plain text", true)));
        assert!(!is_wide(b"plain text"));
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
    fn bomless_utf16_of_other_scripts_is_found_by_its_markup_and_spaces() {
        // Cyrillic and Greek put no NUL in their high bytes; the markup,
        // spaces and digits between the words do.
        for page in [
            "<html><body><p>Привет, мир! Это проверка 123.</p></body></html>",
            "<p>Καλημέρα κόσμε, αυτό είναι ένα τεστ</p>",
        ] {
            for le in [true, false] {
                assert_eq!(decode(&utf16(page, le), None).text, page);
            }
        }
    }

    #[test]
    fn utf32_is_read_with_and_without_bom_in_either_byte_order() {
        let text = "Grüße, 世界 and 🎉";
        for le in [true, false] {
            let mut marked = if le {
                vec![0xFF, 0xFE, 0, 0]
            } else {
                vec![0, 0, 0xFE, 0xFF]
            };
            marked.extend(utf32(text, le));
            assert_eq!(decode(&marked, None).text, text);
            assert_eq!(decode(&utf32(text, le), None).text, text);
        }
        // A unit that is no Unicode scalar shows as a replacement
        // character, never vanishes.
        let mut bad = vec![0xFF, 0xFE, 0, 0];
        bad.extend([b'a', 0, 0, 0, 0, 0xD8, 0, 0]);
        assert_eq!(decode(&bad, None).text, "a\u{FFFD}");
    }

    #[test]
    fn a_declared_charset_decodes_what_is_not_utf8() {
        let d = decode(
            b"\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd",
            Some("Shift_JIS"),
        );
        assert_eq!(d.text, "こんにちは");
        assert!(d.warnings.is_empty());
        // Valid UTF-8 wins over a stale declaration.
        assert_eq!(decode("café".as_bytes(), Some("iso-8859-1")).text, "café");
        // A UTF-16 declaration the bytes disprove is no evidence.
        assert_eq!(decode(b"caf\xe9", Some("utf-16")).warnings.len(), 1);
    }

    #[test]
    fn garbled_text_is_measured_not_whitespace() {
        assert_eq!(garbled_percent("plain words\n\tand tabs"), 0);
        assert_eq!(garbled_percent("a\0b\0"), 50);
        assert_eq!(garbled_percent("\u{FFFD}\u{FFFD}ab"), 50);
        assert_eq!(garbled_percent("\u{1}\u{2}\u{3}x"), 75);
        assert_eq!(garbled_percent(""), 0);
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
