//! What each code of a simple font (Type 1, Type 1C, TrueType, Type 3)
//! stands for, as PDF readers resolve it: the base encoding the dictionary
//! names (`/Encoding` or its `/BaseEncoding`), else the font program's own
//! (built-in) encoding, else the standard one (Symbol and ZapfDingbats
//! have theirs); then the `/Differences` glyph names; then, code by code,
//! the `ToUnicode` map, which is the PDF's own word on it.

use super::embedded::{self, Codes, Program};
use super::glyphs;
use super::inflate::decoded;
use crate::{ExtractError, Limits};
use lopdf::{Dictionary, Document, Object};
use pdf_encoding::ForwardMap;
use std::collections::HashMap;

/// Code → text for a simple font; `to_unicode` is its parsed map, if any.
pub(super) fn simple(
    doc: &Document,
    font: &Dictionary,
    to_unicode: Option<&HashMap<u32, String>>,
    limits: &Limits,
) -> Result<HashMap<u32, String>, ExtractError> {
    let encoding = font
        .get(b"Encoding")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .map(|(_, o)| o);
    let (named, differences) = match encoding {
        Some(Object::Name(n)) => (Some(n.as_slice()), None),
        Some(Object::Dictionary(d)) => (
            d.get(b"BaseEncoding").and_then(Object::as_name).ok(),
            d.get(b"Differences")
                .ok()
                .and_then(|o| doc.dereference(o).ok())
                .and_then(|(_, o)| o.as_array().ok()),
        ),
        _ => (None, None),
    };
    let mut codes = match named.and_then(table) {
        Some(t) => from_table(t),
        None => match builtin(doc, font, limits)? {
            Some(codes) => codes,
            None => from_table(fallback(font)),
        },
    };
    if let Some(differences) = differences {
        apply_differences(&mut codes, differences);
    }
    let mut map: HashMap<u32, String> = codes
        .into_iter()
        .enumerate()
        .filter_map(|(code, text)| Some((code as u32, text?)))
        .collect();
    for (code, text) in to_unicode.into_iter().flatten() {
        if *code < 256 && !text.is_empty() && !text.contains('\0') {
            map.insert(*code, text.clone());
        }
    }
    Ok(map)
}

/// The standard encodings a font dictionary may name.
fn table(name: &[u8]) -> Option<&'static ForwardMap> {
    match name {
        b"WinAnsiEncoding" => Some(&pdf_encoding::WINANSI),
        b"MacRomanEncoding" => Some(&pdf_encoding::MACROMAN),
        b"StandardEncoding" => Some(&pdf_encoding::STANDARD),
        b"MacExpertEncoding" => Some(&pdf_encoding::MACEXPERT),
        _ => None,
    }
}

fn from_table(t: &ForwardMap) -> Codes {
    (0..=255u8)
        .map(|code| t.get(code).map(String::from))
        .collect()
}

/// The encoding of a font without one and without a program that has
/// one: Symbol and ZapfDingbats have their own, every other the standard.
fn fallback(font: &Dictionary) -> &'static ForwardMap {
    let base = font
        .get(b"BaseFont")
        .and_then(Object::as_name)
        .unwrap_or(b"");
    let base = String::from_utf8_lossy(base);
    if base.contains("Symbol") {
        &pdf_encoding::SYMBOL
    } else if base.contains("Dingbats") {
        &pdf_encoding::ZDINGBAT
    } else {
        &pdf_encoding::STANDARD
    }
}

/// The built-in encoding of the program the font's descriptor embeds,
/// decoded under the document's budget. A program that does not parse is
/// no error: the font falls back like one with no program.
fn builtin(
    doc: &Document,
    font: &Dictionary,
    limits: &Limits,
) -> Result<Option<Codes>, ExtractError> {
    let Some((program, data)) = program_of(doc, font, limits)? else {
        return Ok(None);
    };
    let mut codes = embedded::simple_codes(program, &data);
    // A program whose encoding is StandardEncoding, or that encodes some
    // codes only, leaves the rest to the standard table.
    if let Some(codes) = codes.as_mut() {
        let standard = from_table(&pdf_encoding::STANDARD);
        for (code, text) in codes.iter_mut().enumerate() {
            if text.is_none() {
                text.clone_from(&standard[code]);
            }
        }
    }
    Ok(codes)
}

/// The font program a font (or, for a composite font, its descendant)
/// embeds, decoded.
pub(super) fn program_of(
    doc: &Document,
    font: &Dictionary,
    limits: &Limits,
) -> Result<Option<(Program, Vec<u8>)>, ExtractError> {
    let Some(descriptor) = font
        .get(b"FontDescriptor")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok())
    else {
        return Ok(None);
    };
    for (key, program) in [
        (&b"FontFile"[..], Program::Type1),
        (b"FontFile2", Program::OpenType),
        (b"FontFile3", Program::Cff),
    ] {
        let Some(stream) = descriptor
            .get(key)
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_stream().ok())
        else {
            continue;
        };
        let program = match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"OpenType") => Program::OpenType,
            _ => program,
        };
        return match decoded(stream, limits, "an embedded font") {
            Ok(data) => Ok(Some((program, data))),
            Err(e @ ExtractError::TooLarge(_)) => Err(e),
            Err(_) => Ok(None),
        };
    }
    Ok(None)
}

/// `/Differences [code /name /name … code /name …]`: each name is the
/// glyph of the code after the one before. A name that stands for no
/// character leaves the code as the base encoding had it.
fn apply_differences(codes: &mut Codes, differences: &[Object]) {
    let mut code: Option<usize> = None;
    for item in differences {
        match item {
            Object::Integer(n) => code = usize::try_from(*n).ok(),
            Object::Name(name) => {
                if let Some(c) = code.filter(|c| *c < 256) {
                    if let Some(text) = glyphs::text_of(&String::from_utf8_lossy(name)) {
                        codes[c] = Some(text);
                    }
                }
                code = code.map(|c| c + 1);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::dictionary;

    fn codes_of(font: Dictionary) -> HashMap<u32, String> {
        simple(&Document::new(), &font, None, &Limits::default()).unwrap()
    }

    #[test]
    fn differences_rename_codes_of_the_base_encoding() {
        let font = dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times-Roman",
            "Encoding" => dictionary! {
                "BaseEncoding" => "WinAnsiEncoding",
                "Differences" => vec![
                    1.into(), "H".into(), "eacute".into(), "fi".into(),
                    65.into(), "g17".into(), "uni20AC".into(),
                ],
            },
        };
        let m = codes_of(font);
        assert_eq!(m[&1], "H");
        assert_eq!(m[&2], "é");
        assert_eq!(m[&3], "ﬁ");
        // An unknown name keeps the base encoding's character.
        assert_eq!(m[&65], "A");
        assert_eq!(m[&66], "€");
        assert_eq!(m[&0xE9], "é");
    }

    #[test]
    fn the_tounicode_map_wins_code_by_code() {
        let font = dictionary! { "Type" => "Font", "Encoding" => "WinAnsiEncoding" };
        let to_unicode = HashMap::from([(65, "Ω".to_string()), (66, String::new())]);
        let m = simple(
            &Document::new(),
            &font,
            Some(&to_unicode),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!((m[&65].as_str(), m[&66].as_str()), ("Ω", "B"));
    }

    #[test]
    fn fonts_without_encoding_use_the_standard_or_their_own() {
        let plain = dictionary! { "Type" => "Font", "BaseFont" => "Helvetica" };
        assert_eq!(codes_of(plain)[&0xAE], "ﬁ");
        let symbol = dictionary! { "Type" => "Font", "BaseFont" => "Symbol" };
        assert_eq!(codes_of(symbol)[&0x61], "α");
    }
}
