//! Word 97–2003 (`.doc`): the text is where the piece table (the CLX in
//! the table stream) says, each piece 8-bit (code page 1252) or UTF-16.
//! The character positions after the main text hold footnotes, headers,
//! comments, endnotes and text boxes, in that order. In the text, `\r`
//! ends a paragraph, `\x07` a table cell (and, twice, a row), and fields
//! are `\x13 code \x14 result \x15`, of which only the result is text.

use super::{codepage, u16_at, u32_at, Container};
use crate::model::{Builder, Element, Kind};
use crate::{ExtractError, Extraction, Limits};

const F_ENCRYPTED: u16 = 0x0100;
const F_WHICH_TABLE: u16 = 0x0200;
/// Word 97's FIB version; older ones (Word 6 and 95) are another format.
const NFIB_97: u16 = 0x00C1;

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut c = Container::open(bytes, "Word document")?;
    let word = c.require("WordDocument", limits)?;
    let malformed = |what: &str| ExtractError::Malformed(format!("Word document: {what}"));
    if u16_at(&word, 0) != Some(0xA5EC) {
        return Err(malformed("no FIB"));
    }
    let flags = u16_at(&word, 0x0A).unwrap_or(0);
    if flags & F_ENCRYPTED != 0 {
        return Err(ExtractError::Encrypted);
    }
    if u16_at(&word, 2).unwrap_or(0) < NFIB_97 {
        return Err(ExtractError::Unsupported(
            "application/msword (Word 95 or older)".into(),
        ));
    }
    let fib = Fib::read(&word).ok_or_else(|| malformed("the FIB is cut short"))?;
    let table_name = if flags & F_WHICH_TABLE != 0 {
        "1Table"
    } else {
        "0Table"
    };
    let table = c.require(table_name, limits)?;
    let clx = table
        .get(fib.fc_clx..fib.fc_clx.saturating_add(fib.lcb_clx))
        .ok_or_else(|| malformed("the piece table is outside the table stream"))?;
    let text = pieces_text(&word, clx).ok_or_else(|| malformed("no piece table"))?;
    // Pieces may point anywhere, overlapping: what they add up to is
    // charged like decompressed bytes.
    limits.take_inflated(text.len() as u64, "the document's pieces")?;
    let text: Vec<char> = text.chars().collect();
    let mut stories = fib.stories.iter().scan(0usize, |at, len| {
        let start = (*at).min(text.len());
        *at = at.saturating_add(*len as usize);
        Some(&text[start..(*at).min(text.len())])
    });
    let mut b = Builder::default();
    let main = stories.next().unwrap_or(&[]);
    let footnotes = stories.next().unwrap_or(&[]);
    let headers = stories.next().unwrap_or(&[]);
    let _macros = stories.next();
    let _comments = stories.next();
    let endnotes = stories.next().unwrap_or(&[]);
    let boxes = stories.next().unwrap_or(&[]);
    let mut seen = std::collections::HashSet::new();
    for para in Story::paragraphs(headers) {
        // Each section repeats its headers and footers; show each once.
        if !para.is_empty() && seen.insert(para.clone()) {
            b.push(Element::new(Kind::Header, para));
        }
    }
    for story in [main, boxes, footnotes, endnotes] {
        Story::default().read(story, &mut b);
    }
    Ok(Extraction {
        elements: b.finish(),
        pages: 1,
        warnings: Vec::new(),
    })
}

/// What of the FIB we need: where the CLX is, and the length in
/// characters of each story (main, footnotes, headers, macros, comments,
/// endnotes, text boxes).
struct Fib {
    fc_clx: usize,
    lcb_clx: usize,
    stories: Vec<u32>,
}

impl Fib {
    fn read(w: &[u8]) -> Option<Fib> {
        let csw = usize::from(u16_at(w, 32)?);
        let lw_at = 34 + csw * 2;
        let cslw = usize::from(u16_at(w, lw_at)?);
        let lw = lw_at + 2;
        let stories = (3..=9)
            .map(|i| u32_at(w, lw + i * 4))
            .collect::<Option<Vec<_>>>()?;
        let fc_at = lw + cslw * 4 + 2;
        // fcClx is the 34th pair of the FibRgFcLcb.
        Some(Fib {
            fc_clx: u32_at(w, fc_at + 33 * 8)? as usize,
            lcb_clx: u32_at(w, fc_at + 33 * 8 + 4)? as usize,
            stories,
        })
    }
}

/// The document's characters, piece by piece.
fn pieces_text(word: &[u8], clx: &[u8]) -> Option<String> {
    let mut at = 0;
    // Property runs (Prc) come first; the piece table (Pcdt) after them.
    while clx.get(at) == Some(&1) {
        at += 3 + usize::from(u16_at(clx, at + 1)?);
    }
    if clx.get(at) != Some(&2) {
        return None;
    }
    let len = u32_at(clx, at + 1)? as usize;
    let plc = clx.get(at + 5..at + 5 + len)?;
    let n = len.checked_sub(4)? / 12;
    let mut out = String::new();
    for i in 0..n {
        // No real document has more text than its stream has bytes.
        if out.len() > word.len().saturating_mul(3) {
            return None;
        }
        let (start, end) = (u32_at(plc, i * 4)?, u32_at(plc, i * 4 + 4)?);
        let chars = end.saturating_sub(start) as usize;
        let fc = u32_at(plc, (n + 1) * 4 + i * 8 + 2)?;
        if fc & 0x4000_0000 != 0 {
            let from = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let bytes = word.get(from..from.saturating_add(chars).min(word.len()))?;
            out.push_str(&codepage(bytes, 1252));
        } else {
            let from = fc as usize;
            let bytes = word.get(from..from.saturating_add(chars * 2).min(word.len()))?;
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect();
            out.push_str(&String::from_utf16_lossy(&units));
        }
    }
    Some(out)
}

/// Reads one story into elements: paragraphs and tables.
#[derive(Default)]
struct Story {
    para: String,
    /// Field nesting: for each open field, whether its result has begun.
    fields: Vec<bool>,
    /// The cells of the open row, and the rows of the open table.
    row: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Whether the last mark ended a cell (so a second one ends the row).
    after_cell: bool,
}

impl Story {
    fn paragraphs(chars: &[char]) -> Vec<String> {
        let mut b = Builder::default();
        Story::default().read(chars, &mut b);
        b.finish().into_iter().map(|e| e.text).collect()
    }

    fn read(mut self, chars: &[char], b: &mut Builder) {
        for &ch in chars {
            match ch {
                '\u{13}' => self.fields.push(false),
                '\u{14}' => {
                    if let Some(result) = self.fields.last_mut() {
                        *result = true;
                    }
                }
                '\u{15}' => {
                    self.fields.pop();
                }
                _ if self.fields.iter().any(|result| !result) => {}
                '\r' | '\u{0C}' => self.end_paragraph(b),
                '\u{07}' => self.end_cell(),
                '\u{0B}' => self.para.push('\n'),
                '\u{1E}' => self.para.push('-'),
                c if c.is_control() && c != '\t' => {}
                c => self.para.push(c),
            }
        }
        let last = std::mem::take(&mut self.para);
        if !last.trim().is_empty() {
            if self.row.is_empty() {
                self.end_table(b);
                b.paragraph(&last);
            } else {
                self.row.push(last.trim().to_string());
            }
        }
        self.end_table(b);
    }

    /// A paragraph mark: inside a row it separates paragraphs of the next
    /// cell; between rows or outside a table it ends a paragraph (and the
    /// table, if one was open: Word's marks alone cannot tell a row's
    /// first cell of several paragraphs from text after the table).
    fn end_paragraph(&mut self, b: &mut Builder) {
        self.after_cell = false;
        if !self.row.is_empty() {
            self.para.push('\n');
            return;
        }
        self.end_table(b);
        let para = std::mem::take(&mut self.para);
        b.paragraph(&para);
    }

    fn end_cell(&mut self) {
        let text = std::mem::take(&mut self.para);
        if self.after_cell && text.is_empty() {
            // The row's own end mark.
            let row = std::mem::take(&mut self.row);
            if row.iter().any(|c| !c.is_empty()) {
                self.rows.push(row);
            }
            self.after_cell = false;
            return;
        }
        self.row.push(text.trim().to_string());
        self.after_cell = true;
    }

    fn end_table(&mut self, b: &mut Builder) {
        let row = std::mem::take(&mut self.row);
        if row.iter().any(|c| !c.is_empty()) {
            self.rows.push(row);
        }
        let rows = std::mem::take(&mut self.rows);
        if !rows.is_empty() {
            b.push(Element::table(rows));
        }
        self.after_cell = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Element> {
        let mut b = Builder::default();
        let chars: Vec<char> = text.chars().collect();
        Story::default().read(&chars, &mut b);
        b.finish()
    }

    #[test]
    fn paragraphs_fields_and_tables_are_read() {
        let els = read(
            "Intro \u{13} HYPERLINK \"x\" \u{14}link\u{15} here\r\
             a\u{07}b\u{07}\u{07}c\u{07}d\u{07}\u{07}After\r",
        );
        assert_eq!(els[0].text, "Intro link here");
        assert_eq!(
            els[1].kind,
            Kind::Table {
                rows: vec![vec!["a".into(), "b".into()], vec!["c".into(), "d".into()]]
            }
        );
        assert_eq!(els[2].text, "After");
    }

    #[test]
    fn a_cell_of_two_paragraphs_keeps_both() {
        let els = read("x\u{07}one\rtwo\u{07}\u{07}");
        assert_eq!(
            els[0].kind,
            Kind::Table {
                rows: vec![vec!["x".into(), "one\ntwo".into()]]
            }
        );
    }
}
