//! What the font programs a PDF embeds say about their characters, for
//! fonts whose dictionary does not: a Type 1 program's built-in
//! `/Encoding`, a CFF (Type 1C) program's encoding and charset, a TrueType
//! program's `cmap` and `post` glyph names. Each code is taken to a glyph
//! and each glyph to text by its name ([`glyphs::text_of`]) or, for
//! TrueType, by the Unicode `cmap` read backwards. `ttf-parser` reads the
//! binary programs; it is made for untrusted fonts and never panics.

use super::glyphs;
use std::collections::HashMap;
use ttf_parser::{cff, Face, GlyphId, PlatformId};

/// Text for each of a simple font's 256 codes, where the program says.
pub(super) type Codes = Vec<Option<String>>;

/// Glyphs a Unicode `cmap` is read back for, at most: more than any real
/// font has, and a bound on a hostile format 12 table.
const MAX_REVERSE: usize = 65_536;

/// Which program a font descriptor holds.
#[derive(Clone, Copy)]
pub(super) enum Program {
    /// `/FontFile`: Type 1, whose cleartext part holds the encoding.
    Type1,
    /// `/FontFile3` of subtype `Type1C` or `CIDFontType0C`: bare CFF.
    Cff,
    /// `/FontFile2`, or `/FontFile3` of subtype `OpenType`.
    OpenType,
}

/// The built-in encoding of a simple font's program, if it has one.
pub(super) fn simple_codes(program: Program, data: &[u8]) -> Option<Codes> {
    match program {
        Program::Type1 => type1(data),
        Program::Cff => cff_codes(&cff::Table::parse(data)?),
        Program::OpenType => {
            let face = Face::parse(data, 0).ok()?;
            match face.tables().cff {
                Some(table) => cff_codes(&table),
                None => truetype_codes(&face),
            }
        }
    }
}

/// Text for each glyph of a composite font's program, by glyph id: what
/// a `CIDToGIDMap` leads to.
pub(super) fn glyph_texts(program: Program, data: &[u8]) -> HashMap<u16, String> {
    let named = |count: u16, name: &dyn Fn(GlyphId) -> Option<String>| {
        (1..count)
            .filter_map(|g| Some((g, name(GlyphId(g))?)))
            .collect::<HashMap<_, _>>()
    };
    match program {
        Program::Type1 => HashMap::new(),
        Program::Cff => match cff::Table::parse(data) {
            Some(t) => named(t.number_of_glyphs(), &|g| glyphs::text_of(t.glyph_name(g)?)),
            None => HashMap::new(),
        },
        Program::OpenType => match Face::parse(data, 0) {
            Ok(face) => {
                let mut texts = reverse_unicode(&face);
                let by_name = named(face.number_of_glyphs(), &|g| {
                    glyphs::text_of(face.glyph_name(g)?)
                });
                for (g, text) in by_name {
                    texts.entry(g).or_insert(text);
                }
                texts
            }
            Err(_) => HashMap::new(),
        },
    }
}

fn cff_codes(table: &cff::Table) -> Option<Codes> {
    let codes: Codes = (0..=255u8)
        .map(|code| {
            let glyph = table.glyph_index(code).filter(|g| g.0 != 0)?;
            glyphs::text_of(table.glyph_name(glyph)?)
        })
        .collect();
    codes.iter().any(Option::is_some).then_some(codes)
}

/// A TrueType program's codes: through the symbol `cmap` (3,0), whose
/// codes sit at U+F000, U+F100 or U+F200 plus the byte, else the Mac Roman
/// one (1,0), else the Unicode one read as Latin-1; each glyph then named
/// by `post` or by the Unicode `cmap` backwards.
fn truetype_codes(face: &Face) -> Option<Codes> {
    let cmap = face.tables().cmap?;
    let find = |platform: PlatformId, encoding: u16| {
        cmap.subtables
            .into_iter()
            .find(|s| s.platform_id == platform && s.encoding_id == encoding)
    };
    let symbol = find(PlatformId::Windows, 0);
    let mac = find(PlatformId::Macintosh, 0);
    let unicode = cmap.subtables.into_iter().find(|s| s.is_unicode());
    let reverse = reverse_unicode(face);
    let codes: Codes = (0..=255u32)
        .map(|code| {
            let glyph = symbol
                .and_then(|s| {
                    [code, 0xF000 | code, 0xF100 | code, 0xF200 | code]
                        .into_iter()
                        .find_map(|c| s.glyph_index(c))
                })
                .or_else(|| mac.and_then(|s| s.glyph_index(code)))
                .or_else(|| unicode.and_then(|s| s.glyph_index(code)))
                .filter(|g| g.0 != 0)?;
            face.glyph_name(glyph)
                .and_then(glyphs::text_of)
                .or_else(|| reverse.get(&glyph.0).cloned())
        })
        .collect();
    codes.iter().any(Option::is_some).then_some(codes)
}

/// Glyph → text from the Unicode `cmap`: the lowest code point of each
/// glyph, private-use ones aside (they name no character).
fn reverse_unicode(face: &Face) -> HashMap<u16, String> {
    let mut reverse = HashMap::new();
    let Some(cmap) = face.tables().cmap else {
        return reverse;
    };
    for sub in cmap.subtables.into_iter().filter(|s| s.is_unicode()) {
        sub.codepoints(|cp| {
            let private = (0xE000..=0xF8FF).contains(&cp) || cp >= 0xF0000;
            if reverse.len() >= MAX_REVERSE || private {
                return;
            }
            if let (Some(g), Some(c)) = (sub.glyph_index(cp), char::from_u32(cp)) {
                let entry = reverse.entry(g.0).or_insert_with(|| c.to_string());
                if entry.chars().next().is_some_and(|old| c < old) {
                    *entry = c.to_string();
                }
            }
        });
    }
    reverse
}

/// A Type 1 program's `/Encoding` from its cleartext part: either
/// `StandardEncoding` (left to the caller, which knows that table) or an
/// array filled by `dup <code> /<name> put`.
fn type1(data: &[u8]) -> Option<Codes> {
    let clear = &data[..memchr::memmem::find(data, b"eexec").unwrap_or(data.len())];
    let at = memchr::memmem::find(clear, b"/Encoding")? + b"/Encoding".len();
    let text = String::from_utf8_lossy(&clear[at..]);
    let mut codes: Codes = vec![None; 256];
    let words: Vec<&str> = text.split_ascii_whitespace().take(4 * 1024).collect();
    if words.first() == Some(&"StandardEncoding") {
        return None;
    }
    for (i, w) in words.iter().enumerate() {
        if *w == "readonly" || *w == "def" {
            break;
        }
        if *w != "dup" {
            continue;
        }
        let (Some(code), Some(name), Some(&"put")) =
            (words.get(i + 1), words.get(i + 2), words.get(i + 3))
        else {
            continue;
        };
        let (Ok(code), Some(name)) = (code.parse::<u8>(), name.strip_prefix('/')) else {
            continue;
        };
        codes[usize::from(code)] = glyphs::text_of(name);
    }
    codes.iter().any(Option::is_some).then_some(codes)
}

/// Builds fonts for tests.
#[cfg(test)]
pub(super) mod build {
    /// A bare CFF font whose glyphs 1.. are the standard strings `sids`,
    /// encoded (custom encoding, format 0) at `codes`; every glyph empty.
    pub(in crate::pdf) fn cff(codes: &[u8], sids: &[u16]) -> Vec<u8> {
        fn index(items: &[Vec<u8>]) -> Vec<u8> {
            let mut out = (items.len() as u16).to_be_bytes().to_vec();
            if items.is_empty() {
                return out;
            }
            out.push(1);
            let mut at = 1u8;
            out.push(at);
            for item in items {
                at += item.len() as u8;
                out.push(at);
            }
            items.iter().for_each(|i| out.extend(i));
            out
        }
        // Operands as 5-byte integers, so the Top DICT's size is fixed.
        let int = |n: usize| {
            let mut v = vec![29];
            v.extend((n as i32).to_be_bytes());
            v
        };
        let name = index(&[b"Test".to_vec()]);
        let top_len = index(&[vec![0; 29]]).len();
        let head = 4 + name.len() + top_len + 2 + 2;
        let charset = {
            let mut v = vec![0];
            sids.iter().for_each(|s| v.extend(s.to_be_bytes()));
            v
        };
        let mut encoding = vec![0, codes.len() as u8];
        encoding.extend(codes);
        let glyphs = vec![vec![14u8]; sids.len() + 1];
        let strings = index(&glyphs);
        let (charset_at, encoding_at) = (head, head + charset.len());
        let strings_at = encoding_at + encoding.len();
        let private_at = strings_at + strings.len();
        let mut top = Vec::new();
        for (operand, op) in [(charset_at, 15), (encoding_at, 16), (strings_at, 17)] {
            top.extend(int(operand));
            top.push(op);
        }
        top.extend(int(0));
        top.extend(int(private_at));
        top.push(18);
        let mut out = vec![1, 0, 4, 1];
        out.extend(name);
        out.extend(index(&[top]));
        out.extend([0, 0, 0, 0]); // no strings, no global subroutines
        out.extend(charset);
        out.extend(encoding);
        out.extend(strings);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cff_programs_custom_encoding_and_charset_are_read() {
        // Codes 1..4 are H, e, l, o (standard strings 41, 70, 77, 80).
        let font = build::cff(&[1, 2, 3, 4], &[41, 70, 77, 80]);
        let codes = simple_codes(Program::Cff, &font).unwrap();
        let text: String = [1, 2, 3, 3, 4]
            .iter()
            .map(|c| codes[*c].clone().unwrap())
            .collect();
        assert_eq!(text, "Hello");
        assert_eq!(glyph_texts(Program::Cff, &font)[&2], "e");
    }

    #[test]
    fn a_type1_programs_own_encoding_is_read_from_its_cleartext() {
        let program = b"%!PS-AdobeFont-1.0: Test 001\n/FontName /Test def\n\
/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\n\
dup 1 /H put\ndup 2 /eacute put\ndup 3 /fi put\ndup 300 /x put\nreadonly def\n\
currentfile eexec\n\x8f\x00dup 4 /Z put";
        let codes = simple_codes(Program::Type1, program).unwrap();
        assert_eq!(codes[1].as_deref(), Some("H"));
        assert_eq!(codes[2].as_deref(), Some("é"));
        assert_eq!(codes[3].as_deref(), Some("ﬁ"));
        assert_eq!(codes[4], None);
        let standard = b"/Encoding StandardEncoding def\ncurrentfile eexec";
        assert_eq!(simple_codes(Program::Type1, standard), None);
    }

    #[test]
    fn programs_that_do_not_parse_say_nothing() {
        for program in [Program::Type1, Program::Cff, Program::OpenType] {
            assert_eq!(simple_codes(program, b"\x00\x01garbage"), None);
            assert!(glyph_texts(program, b"\x00\x01garbage").is_empty());
        }
    }
}
