//! Fonts as the content walker needs them: how string bytes decode to
//! text (a simple font's codes as [`encoding`] resolves them; a composite
//! font's through its ToUnicode map, a predefined UCS-2 CMap, or the glyphs
//! of its embedded program; else Latin-1), and
//! glyph widths, in thousandths of text space: `/Widths` of simple fonts,
//! `/W` and `/DW` of a composite font's descendant. Unknown glyphs count
//! as half an em, which is close enough for spacing decisions.

use super::cmap::{self, CMap};
use super::embedded;
use super::encoding::{self, program_of};
use super::inflate::decoded;
use crate::{ExtractError, Limits};
use lopdf::{Dictionary, Document, Encoding, Object};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Fonts already built, by their dictionary, for the whole document: pages
/// and forms share a handful of fonts, and building one (its encoding, its
/// ToUnicode map decoded and charged to the budget, its widths) costs far
/// more than a lookup. Keyed by the dictionary's address, which is stable:
/// the document is not changed while it is walked.
#[derive(Default)]
pub(super) struct FontCache<'a>(RefCell<HashMap<*const Dictionary, Rc<Font<'a>>>>);

impl<'a> FontCache<'a> {
    pub(super) fn font(
        &self,
        doc: &'a Document,
        dict: &'a Dictionary,
        limits: &Limits,
    ) -> Result<Rc<Font<'a>>, ExtractError> {
        let key = dict as *const Dictionary;
        if let Some(f) = self.0.borrow().get(&key) {
            return Ok(Rc::clone(f));
        }
        let f = Rc::new(font(doc, dict, limits)?);
        self.0.borrow_mut().insert(key, Rc::clone(&f));
        Ok(f)
    }
}

/// How one font's string bytes become text.
pub(super) enum Decoder<'a> {
    Lopdf(Encoding<'a>),
    CMap(CMap),
    /// A predefined Unicode CMap (`UniJIS-UCS2-H`, `UniGB-UTF16-H`, …):
    /// codes are UTF-16BE.
    Utf16Be,
    /// No usable encoding: bytes read as Latin-1, printable ones only.
    Raw,
}

impl Decoder<'_> {
    pub(super) fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Decoder::Lopdf(enc) => Document::decode_text(enc, bytes).unwrap_or_default(),
            Decoder::CMap(c) => bytes
                .chunks(c.code_bytes.max(1))
                .filter_map(|code| {
                    let key = code.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
                    c.map.get(&key).map(String::as_str)
                })
                .collect(),
            Decoder::Utf16Be => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|p| u16::from_be_bytes([p[0], p[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            }
            Decoder::Raw => bytes
                .iter()
                .map(|&b| b as char)
                .filter(|c| !c.is_control() || *c == ' ')
                .collect(),
        }
    }
}

/// A font as the walker needs it.
pub(super) struct Font<'a> {
    pub(super) decoder: Decoder<'a>,
    pub(super) widths: Widths,
    /// Bytes per character code: 2 for composite (Type0) fonts.
    pub(super) code_bytes: usize,
    /// A bold face, by its name, weight or ForceBold flag.
    pub(super) bold: bool,
}

/// Whether a font is bold: its name says so (`Arial-BoldMT`,
/// `ABCDEF+Roboto-Black`), its descriptor's weight is 600 or more, or its
/// ForceBold flag (bit 19) is set. A composite font's descriptor is its
/// descendant's.
fn is_bold(doc: &Document, dict: &Dictionary) -> bool {
    fn resolved<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
        doc.dereference(o).ok().map(|(_, o)| o)
    }
    let deref = |o| resolved(doc, o);
    let descendant = dict
        .get(b"DescendantFonts")
        .ok()
        .and_then(deref)
        .and_then(|a| a.as_array().ok()?.first())
        .and_then(deref)
        .and_then(|d| d.as_dict().ok());
    let font = descendant.unwrap_or(dict);
    let name = font
        .get(b"BaseFont")
        .and_then(Object::as_name)
        .unwrap_or(b"");
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let style = name.rsplit(['-', ',', '+']).next().unwrap_or("");
    // TeX's Computer Modern bold faces are CMBX and CMB (cmbx12, cmb10).
    let tex_bold = style.starts_with("cmb") && !style.starts_with("cmbsy");
    if tex_bold
        || ["bold", "black", "heavy", "semibold", "demi", "medi"]
            .iter()
            .any(|w| style.contains(w))
    {
        return true;
    }
    let descriptor = font
        .get(b"FontDescriptor")
        .ok()
        .and_then(deref)
        .and_then(|d| d.as_dict().ok());
    descriptor.is_some_and(|d| {
        let int = |k: &[u8]| d.get(k).ok().and_then(|o| o.as_float().ok()).unwrap_or(0.0);
        int(b"FontWeight") >= 600.0 || (int(b"Flags") as i64) & (1 << 18) != 0
    })
}

pub(super) fn font<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    limits: &Limits,
) -> Result<Font<'a>, ExtractError> {
    let composite = dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0");
    // The ToUnicode map is decoded under the budget first: lopdf's own
    // reading of it (below) is unbounded, so it only ever sees a map that
    // fits.
    let to_unicode = match dict
        .get(b"ToUnicode")
        .and_then(|o| doc.dereference(o))
        .and_then(|(_, o)| o.as_stream())
    {
        Ok(stream) => match decoded(stream, limits, "a font's ToUnicode map") {
            Ok(data) => Some(data),
            Err(e @ ExtractError::TooLarge(_)) => return Err(e),
            Err(_) => None,
        },
        Err(_) => None,
    };
    let decoder = if composite {
        composite_decoder(doc, dict, to_unicode, limits)?
    } else {
        let parsed = to_unicode.as_deref().map(cmap::parse);
        let map = encoding::simple(doc, dict, parsed.as_ref().map(|c| &c.map), limits)?;
        Decoder::CMap(CMap { map, code_bytes: 1 })
    };
    Ok(Font {
        decoder,
        widths: Widths::of(doc, dict, composite),
        code_bytes: if composite { 2 } else { 1 },
        bold: is_bold(doc, dict),
    })
}

/// A composite (Type 0) font's decoder: its ToUnicode map (lopdf reads
/// the ones of Identity fonts, our reader the rest); without one, a
/// predefined Unicode CMap is UTF-16BE, and an Identity font's codes are
/// glyphs of its embedded program, named or in its Unicode `cmap`.
fn composite_decoder<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    to_unicode: Option<Vec<u8>>,
    limits: &Limits,
) -> Result<Decoder<'a>, ExtractError> {
    let name = dict.get(b"Encoding").and_then(Object::as_name).ok();
    if let Some(data) = to_unicode {
        let lopdf_reads = matches!(name, None | Some(b"Identity-H" | b"Identity-V"));
        return Ok(match dict.get_font_encoding(doc) {
            Ok(enc) if lopdf_reads => Decoder::Lopdf(enc),
            _ => Decoder::CMap(cmap::parse(&data)),
        });
    }
    if let Some(n) = name {
        let n = String::from_utf8_lossy(n);
        if n.starts_with("Uni") && (n.contains("UCS2") || n.contains("UTF16")) {
            return Ok(Decoder::Utf16Be);
        }
    }
    let descendant = array(doc, dict.get(b"DescendantFonts").ok())
        .and_then(|a| a.first())
        .and_then(|d| doc.dereference(d).ok())
        .and_then(|(_, d)| d.as_dict().ok());
    let map = match descendant {
        Some(d) => cid_texts(doc, d, limits)?,
        None => HashMap::new(),
    };
    Ok(if map.is_empty() {
        Decoder::Raw
    } else {
        Decoder::CMap(CMap { map, code_bytes: 2 })
    })
}

/// CID → text through a descendant font's embedded program: its glyphs'
/// names or Unicode `cmap`, reached through `CIDToGIDMap` (Identity when
/// absent).
fn cid_texts(
    doc: &Document,
    descendant: &Dictionary,
    limits: &Limits,
) -> Result<HashMap<u32, String>, ExtractError> {
    let Some((program, data)) = program_of(doc, descendant, limits)? else {
        return Ok(HashMap::new());
    };
    let texts = embedded::glyph_texts(program, &data);
    let to_gid = match descendant
        .get(b"CIDToGIDMap")
        .ok()
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_stream().ok())
    {
        Some(stream) => match decoded(stream, limits, "a CIDToGIDMap") {
            Ok(table) => Some(table),
            Err(e @ ExtractError::TooLarge(_)) => return Err(e),
            Err(_) => None,
        },
        None => None,
    };
    Ok(match to_gid {
        Some(table) => table
            .chunks_exact(2)
            .enumerate()
            .filter_map(|(cid, g)| {
                let text = texts.get(&u16::from_be_bytes([g[0], g[1]]))?;
                Some((cid as u32, text.clone()))
            })
            .collect(),
        None => texts.into_iter().map(|(g, t)| (u32::from(g), t)).collect(),
    })
}

const FALLBACK: f32 = 500.0;

pub enum Widths {
    Simple {
        first: u32,
        widths: Vec<f32>,
        missing: f32,
    },
    Composite {
        widths: HashMap<u32, f32>,
        default: f32,
    },
    Unknown,
}

fn number(o: &Object) -> Option<f32> {
    o.as_float()
        .ok()
        .or_else(|| o.as_i64().ok().map(|i| i as f32))
}

fn array<'a>(doc: &'a Document, o: Option<&'a Object>) -> Option<&'a Vec<Object>> {
    let (_, o) = doc.dereference(o?).ok()?;
    o.as_array().ok()
}

impl Widths {
    pub fn of(doc: &Document, font: &Dictionary, composite: bool) -> Widths {
        if composite {
            return Self::composite(doc, font).unwrap_or(Widths::Unknown);
        }
        let Some(widths) = array(doc, font.get(b"Widths").ok()) else {
            return Widths::Unknown;
        };
        let first = font
            .get(b"FirstChar")
            .ok()
            .and_then(number)
            .map_or(0, |f| f.max(0.0) as u32);
        let missing = font
            .get(b"FontDescriptor")
            .ok()
            .and_then(|o| doc.dereference(o).ok())
            .and_then(|(_, o)| o.as_dict().ok())
            .and_then(|d| d.get(b"MissingWidth").ok())
            .and_then(number)
            .unwrap_or(FALLBACK);
        Widths::Simple {
            first,
            widths: widths
                .iter()
                .map(|w| {
                    doc.dereference(w)
                        .ok()
                        .and_then(|(_, o)| number(o))
                        .unwrap_or(missing)
                })
                .collect(),
            missing,
        }
    }

    fn composite(doc: &Document, font: &Dictionary) -> Option<Widths> {
        let descendant = array(doc, font.get(b"DescendantFonts").ok())?.first()?;
        let (_, d) = doc.dereference(descendant).ok()?;
        let d = d.as_dict().ok()?;
        let default = d.get(b"DW").ok().and_then(number).unwrap_or(1000.0);
        let mut widths = HashMap::new();
        if let Some(w) = array(doc, d.get(b"W").ok()) {
            let mut i = 0;
            while i < w.len() {
                let Some(start) = number(&w[i]) else { break };
                let start = start.max(0.0) as u32;
                match w.get(i + 1) {
                    Some(Object::Array(list)) => {
                        for (k, v) in list.iter().enumerate() {
                            widths.insert(start + k as u32, number(v).unwrap_or(default));
                        }
                        i += 2;
                    }
                    Some(end) => {
                        let end = number(end).unwrap_or(0.0).max(0.0) as u32;
                        let v = w.get(i + 2).and_then(number).unwrap_or(default);
                        for c in start..=end.min(start + 65_535) {
                            widths.insert(c, v);
                        }
                        i += 3;
                    }
                    None => break,
                }
            }
        }
        Some(Widths::Composite { widths, default })
    }

    pub fn width(&self, code: u32) -> f32 {
        match self {
            Widths::Simple {
                first,
                widths,
                missing,
            } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(i as usize))
                .copied()
                .unwrap_or(*missing),
            Widths::Composite { widths, default } => widths.get(&code).copied().unwrap_or(*default),
            Widths::Unknown => FALLBACK,
        }
    }
}
