//! A small ToUnicode CMap reader, used when lopdf's own parser refuses a
//! font's map: `bfchar` and `bfrange` sections and the code width from
//! `codespacerange`. Destinations are UTF-16BE.

use std::collections::HashMap;

/// Codes to text, with the width of a code in bytes.
#[derive(Debug, Default)]
pub struct CMap {
    pub map: HashMap<u32, String>,
    pub code_bytes: usize,
}

enum Tok {
    Hex(Vec<u8>),
    Word(String),
    Open,
    Close,
}

fn tokens(src: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'<' => {
                let end = src[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(src.len(), |p| i + p);
                let hex: Vec<u8> = src[i + 1..end]
                    .iter()
                    .copied()
                    .filter(u8::is_ascii_hexdigit)
                    .collect();
                let bytes = hex
                    .chunks(2)
                    .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
                    .collect();
                out.push(Tok::Hex(bytes));
                i = end + 1;
            }
            b'[' => {
                out.push(Tok::Open);
                i += 1;
            }
            b']' => {
                out.push(Tok::Close);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = i;
                while i < src.len() && !src[i].is_ascii_whitespace() && !b"<[]".contains(&src[i]) {
                    i += 1;
                }
                out.push(Tok::Word(
                    String::from_utf8_lossy(&src[start..i]).into_owned(),
                ));
            }
        }
    }
    out
}

fn code(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Parses a CMap stream; codes not covered are simply absent.
pub fn parse(src: &[u8]) -> CMap {
    let toks = tokens(src);
    let mut cmap = CMap {
        map: HashMap::new(),
        code_bytes: 0,
    };
    let mut i = 0;
    let mut section = "";
    while i < toks.len() {
        match &toks[i] {
            Tok::Word(w) if w.starts_with("begin") => section = section_name(w),
            Tok::Word(w) if w.starts_with("end") => section = "",
            Tok::Hex(lo) if section == "codespace" => {
                cmap.code_bytes = cmap.code_bytes.max(lo.len());
                i += 1; // skip the range's upper bound
            }
            Tok::Hex(src_code) if section == "bfchar" => {
                if let Some(Tok::Hex(dst)) = toks.get(i + 1) {
                    cmap.map.insert(code(src_code), utf16(dst));
                    i += 1;
                }
            }
            Tok::Hex(lo) if section == "bfrange" => {
                i += range(&toks[i..], lo, &mut cmap.map);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    if cmap.code_bytes == 0 {
        cmap.code_bytes = 2;
    }
    cmap
}

fn section_name(word: &str) -> &'static str {
    match word {
        "begincodespacerange" => "codespace",
        "beginbfchar" => "bfchar",
        "beginbfrange" => "bfrange",
        _ => "",
    }
}

/// Reads one `bfrange` entry at `toks[0]`; returns how many tokens it used.
fn range(toks: &[Tok], lo: &[u8], map: &mut HashMap<u32, String>) -> usize {
    let (Some(Tok::Hex(hi)), Some(dst)) = (toks.get(1), toks.get(2)) else {
        return 1;
    };
    let (lo, hi) = (code(lo), code(hi));
    if hi < lo || hi - lo > 65_535 {
        return 3;
    }
    match dst {
        Tok::Hex(start) => {
            let mut units: Vec<u16> = start
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]))
                .collect();
            for c in lo..=hi {
                map.insert(c, String::from_utf16_lossy(&units));
                if let Some(last) = units.last_mut() {
                    *last = last.wrapping_add(1);
                }
            }
            3
        }
        Tok::Open => {
            let mut used = 3;
            let mut c = lo;
            for t in &toks[3..] {
                used += 1;
                match t {
                    Tok::Hex(d) if c <= hi => {
                        map.insert(c, utf16(d));
                        c += 1;
                    }
                    Tok::Close => break,
                    _ => {}
                }
            }
            used
        }
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_and_ranges_are_mapped() {
        let src = b"1 begincodespacerange <0000> <FFFF> endcodespacerange
2 beginbfchar <0003> <0020> <0011> <0041> endbfchar
2 beginbfrange <0020> <0022> <0061> <0030> <0031> [<0078> <0079>] endbfrange";
        let c = parse(src);
        assert_eq!(c.code_bytes, 2);
        assert_eq!(c.map[&3], " ");
        assert_eq!(c.map[&0x11], "A");
        assert_eq!(c.map[&0x21], "b");
        assert_eq!(c.map[&0x31], "y");
    }
}
