//! Excel 97–2003 (`.xls`, BIFF8; BIFF5 sheets as well): one page per
//! worksheet, each a heading (its name) and a table of its cells in row
//! order. Strings come from the shared string table (which runs on across
//! CONTINUE records), labels and cached formula results; numbers are shown
//! as stored, like the XLSX extractor does. A workbook with a FILEPASS
//! record is encrypted.

use super::{codepage, records, u16_at, u32_at, Container};
use crate::model::{Element, Kind};
use crate::{ExtractError, Extraction, Limits};

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const FILEPASS: u16 = 0x002F;
const CODEPAGE: u16 = 0x0042;
const BOUNDSHEET: u16 = 0x0085;
const SST: u16 = 0x00FC;
const CONTINUE: u16 = 0x003C;
const LABELSST: u16 = 0x00FD;
const LABEL: u16 = 0x0204;
const RSTRING: u16 = 0x00D6;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const FORMULA: u16 = 0x0006;
const STRING: u16 = 0x0207;
const BOOLERR: u16 = 0x0205;

/// Cells a sheet may hold before the workbook is refused: each is a few
/// bytes in the file, so this bounds memory, not real workbooks.
const MAX_CELLS: usize = 2_000_000;

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut c = Container::open(bytes, "an Excel workbook")?;
    let book = match c.stream("Workbook", limits)? {
        Some(b) => b,
        None => c.require("Book", limits)?,
    };
    let globals = Globals::read(&book)?;
    if globals.sheets.len() > limits.max_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "more than {} sheets",
            limits.max_pages
        )));
    }
    let mut elements = Vec::new();
    for (i, (name, at)) in globals.sheets.iter().enumerate() {
        let page = i as u32 + 1;
        elements.push(Element::new(Kind::Heading { level: 2 }, name.clone()).on_page(page));
        let rows = rows(sheet_cells(&book, *at, &globals, limits)?);
        if !rows.is_empty() {
            elements.push(Element::table(rows).on_page(page));
        }
    }
    Ok(Extraction {
        pages: globals.sheets.len().max(1) as u32,
        elements,
        warnings: Vec::new(),
    })
}

/// What the workbook globals say: the worksheets (name, offset of their
/// BOF), the shared strings and the code page of 8-bit strings.
struct Globals {
    sheets: Vec<(String, usize)>,
    strings: Vec<String>,
    codepage: u16,
    biff8: bool,
}

impl Globals {
    fn read(book: &[u8]) -> Result<Globals, ExtractError> {
        let mut g = Globals {
            sheets: Vec::new(),
            strings: Vec::new(),
            codepage: 1252,
            biff8: true,
        };
        let mut recs = records(book, 0).peekable();
        match recs.next() {
            Some((_, kind, data)) if kind & 0xFF == 0x09 => {
                g.biff8 = kind == BOF && u16_at(data, 0) == Some(0x0600);
            }
            _ => {
                return Err(ExtractError::Malformed(
                    "the workbook has no BOF record".into(),
                ))
            }
        }
        while let Some((_, kind, data)) = recs.next() {
            match kind {
                EOF => break,
                FILEPASS => return Err(ExtractError::Encrypted),
                CODEPAGE => g.codepage = u16_at(data, 0).unwrap_or(1252),
                BOUNDSHEET => {
                    let at = u32_at(data, 0).unwrap_or(0) as usize;
                    // Worksheets only: charts, macro sheets and modules aside.
                    if data.get(5) == Some(&0) {
                        let len = usize::from(*data.get(6).unwrap_or(&0));
                        let name = g.short_string(data.get(7..).unwrap_or(&[]), len);
                        g.sheets.push((name, at));
                    }
                }
                SST => {
                    let mut parts = vec![data];
                    while let Some((_, CONTINUE, more)) = recs.peek() {
                        parts.push(more);
                        recs.next();
                    }
                    g.strings = shared_strings(&parts);
                }
                _ => {}
            }
        }
        Ok(g)
    }

    /// A sheet name: `len` characters, after a flags byte in BIFF8.
    fn short_string(&self, b: &[u8], len: usize) -> String {
        if self.biff8 {
            let wide = b.first().is_some_and(|f| f & 1 == 1);
            chars(b.get(1..).unwrap_or(&[]), len, wide)
        } else {
            codepage(&b[..len.min(b.len())], self.codepage)
        }
    }

    /// A label's string: a 16-bit length, then (BIFF8) a flags byte.
    fn string(&self, b: &[u8]) -> String {
        let len = usize::from(u16_at(b, 0).unwrap_or(0));
        let rest = b.get(2..).unwrap_or(&[]);
        if self.biff8 {
            let wide = rest.first().is_some_and(|f| f & 1 == 1);
            chars(rest.get(1..).unwrap_or(&[]), len, wide)
        } else {
            codepage(&rest[..len.min(rest.len())], self.codepage)
        }
    }
}

/// `len` characters, 16-bit or compressed to 8 (Latin-1), as far as the
/// bytes go.
fn chars(b: &[u8], len: usize, wide: bool) -> String {
    if wide {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .take(len)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        b.iter().take(len).map(|&c| char::from(c)).collect()
    }
}

/// The shared string table: strings that may break across the SST record
/// and its CONTINUEs; where a string's characters break, the next part
/// starts with a flags byte saying whether the rest is 8- or 16-bit.
fn shared_strings(parts: &[&[u8]]) -> Vec<String> {
    let mut r = Parts {
        parts,
        part: 0,
        at: 8,
    };
    let unique = parts.first().and_then(|p| u32_at(p, 4)).unwrap_or(0) as usize;
    let mut out = Vec::with_capacity(unique.min(65_536));
    while out.len() < unique {
        let Some(s) = r.rich_string() else { break };
        out.push(s);
    }
    out
}

struct Parts<'a> {
    parts: &'a [&'a [u8]],
    part: usize,
    at: usize,
}

impl Parts<'_> {
    fn byte(&mut self) -> Option<u8> {
        loop {
            let p = self.parts.get(self.part)?;
            if let Some(b) = p.get(self.at) {
                self.at += 1;
                return Some(*b);
            }
            self.part += 1;
            self.at = 0;
        }
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.byte()?,
            self.byte()?,
            self.byte()?,
            self.byte()?,
        ]))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        (0..n).try_for_each(|_| self.byte().map(drop))
    }

    /// An XLUnicodeRichExtendedString.
    fn rich_string(&mut self) -> Option<String> {
        let len = usize::from(self.u16()?);
        let flags = self.byte()?;
        let runs = if flags & 0x08 != 0 { self.u16()? } else { 0 };
        let ext = if flags & 0x04 != 0 { self.u32()? } else { 0 };
        let mut wide = flags & 1 == 1;
        let mut units = Vec::with_capacity(len.min(32_768));
        while units.len() < len {
            if self.at >= self.parts.get(self.part)?.len() {
                // The characters go on in the next record, which says
                // afresh how wide they are.
                self.part += 1;
                self.at = 0;
                wide = self.byte()? & 1 == 1;
                continue;
            }
            units.push(if wide {
                self.u16()?
            } else {
                u16::from(self.byte()?)
            });
        }
        self.skip(usize::from(runs) * 4)?;
        self.skip(ext as usize)?;
        Some(String::from_utf16_lossy(&units))
    }
}

/// A cell: row, column, text.
type Cell = (u16, u16, String);

/// The cells of the sheet whose BOF is at `at`. Every cell's text is
/// charged to the document's budget: a few bytes of LABELSST can name a
/// long shared string many times over.
fn sheet_cells(
    book: &[u8],
    at: usize,
    g: &Globals,
    limits: &Limits,
) -> Result<Vec<Cell>, ExtractError> {
    let mut cells = Vec::new();
    let mut formula_at = None;
    let mut recs = records(book, at);
    if !matches!(recs.next(), Some((_, kind, _)) if kind & 0xFF == 0x09) {
        return Ok(cells);
    }
    for (_, kind, d) in recs {
        if matches!(kind, EOF | BOF) {
            break;
        }
        for cell in cell_record(kind, d, g, &mut formula_at) {
            limits.take_inflated(cell.2.len() as u64, "a sheet's cells")?;
            cells.push(cell);
        }
        if cells.len() > MAX_CELLS {
            return Err(ExtractError::TooLarge(format!(
                "a sheet has more than {MAX_CELLS} cells"
            )));
        }
    }
    Ok(cells)
}

/// The cells one record holds. A formula whose result is a string leaves
/// its place in `formula_at` for the STRING record that follows it.
fn cell_record(kind: u16, d: &[u8], g: &Globals, formula_at: &mut Option<(u16, u16)>) -> Vec<Cell> {
    let (row, col) = (u16_at(d, 0).unwrap_or(0), u16_at(d, 2).unwrap_or(0));
    let float = |v: &[u8]| number(f64::from_le_bytes(v.try_into().unwrap_or_default()));
    let text = match kind {
        LABELSST => u32_at(d, 6).and_then(|i| g.strings.get(i as usize).cloned()),
        LABEL | RSTRING => Some(g.string(d.get(6..).unwrap_or(&[]))),
        NUMBER => d.get(6..14).map(float),
        RK => u32_at(d, 6).map(rk),
        MULRK => {
            let n = d.len().saturating_sub(6) / 6;
            return (0..n)
                .filter_map(|i| {
                    let v = u32_at(d, 4 + i * 6 + 2)?;
                    Some((row, col.saturating_add(i as u16), rk(v)))
                })
                .collect();
        }
        FORMULA => {
            let v = d.get(6..14).unwrap_or(&[0; 8]);
            match (v[6], v[7], v[0]) {
                (0xFF, 0xFF, 0) => {
                    *formula_at = Some((row, col));
                    None
                }
                (0xFF, 0xFF, 1) => Some(bool_text(v[2])),
                (0xFF, 0xFF, _) => None,
                _ => Some(float(v)),
            }
        }
        STRING => {
            return formula_at
                .take()
                .map(|(r, c)| (r, c, g.string(d)))
                .into_iter()
                .collect()
        }
        BOOLERR if d.get(7) == Some(&0) => Some(bool_text(*d.get(6).unwrap_or(&0))),
        _ => None,
    };
    text.map(|t| (row, col, t)).into_iter().collect()
}

fn bool_text(v: u8) -> String {
    if v == 0 { "FALSE" } else { "TRUE" }.to_string()
}

/// An RK number: 30 bits of an integer or of an IEEE double's top, maybe
/// divided by 100.
fn rk(v: u32) -> String {
    let n = if v & 2 != 0 {
        f64::from((v as i32) >> 2)
    } else {
        f64::from_bits(u64::from(v & 0xFFFF_FFFC) << 32)
    };
    number(if v & 1 != 0 { n / 100.0 } else { n })
}

/// A number as a spreadsheet shows it unformatted: integers without a
/// fraction, others in their shortest exact form.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Cells to rows: sorted by row then column, gaps inside a row left empty.
fn rows(mut cells: Vec<Cell>) -> Vec<Vec<String>> {
    cells.sort_by_key(|(r, c, _)| (*r, *c));
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut current: Option<u16> = None;
    for (r, c, text) in cells {
        if current != Some(r) {
            rows.push(Vec::new());
            current = Some(r);
        }
        let row = rows.last_mut().expect("a row was just pushed");
        let c = usize::from(c).min(255);
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = text.trim().to_string();
    }
    rows.retain(|r| r.iter().any(|c| !c.is_empty()));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rk_numbers_decode() {
        assert_eq!(rk((42 << 2) | 2), "42");
        assert_eq!(rk((1234 << 2) | 3), "12.34");
        let one_half = ((0.5f64.to_bits() >> 32) as u32) & 0xFFFF_FFFC;
        assert_eq!(rk(one_half), "0.5");
    }

    #[test]
    fn shared_strings_continue_across_records_changing_width() {
        // Two strings; the second ("Grüße") breaks after "Gr", and the
        // rest comes 16-bit in the CONTINUE.
        let mut sst = vec![0, 0, 0, 0, 2, 0, 0, 0];
        sst.extend([3, 0, 0]);
        sst.extend(b"abc");
        sst.extend([5, 0, 0]);
        sst.extend(b"Gr");
        let mut cont = vec![1];
        cont.extend("üße".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(shared_strings(&[&sst, &cont]), vec!["abc", "Grüße"]);
    }

    #[test]
    fn cells_become_rows_with_gaps() {
        let cells = vec![
            (1, 2, "c".to_string()),
            (0, 0, "a".to_string()),
            (1, 0, "b".to_string()),
        ];
        assert_eq!(rows(cells), vec![vec!["a"], vec!["b", "", "c"]]);
    }
}
