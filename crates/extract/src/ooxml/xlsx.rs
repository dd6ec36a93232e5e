//! XLSX: one page per worksheet, each a heading (the sheet's name) and a
//! table with the box its used range takes on the sheet ([`SheetBox`]).
//! Shared and inline strings are resolved; numbers stay as stored.

use super::sheet_box::SheetBox;
use super::{walk, Ev, TableBuilder};
use crate::model::{Element, Kind};
use crate::zipped::Archive;
use crate::{ExtractError, Extraction, Limits};

/// Maximum columns we will pad a row to (guards `XFD1048576`-style refs).
const MAX_COLUMNS: usize = 1_000;

fn shared_strings(xml: &[u8]) -> Result<Vec<String>, ExtractError> {
    let mut out = Vec::new();
    let (mut in_si, mut in_t, mut in_ph) = (false, false, false);
    let mut cur = String::new();
    walk(xml, |ev| match ev {
        Ev::Start("si", _) => {
            in_si = true;
            cur.clear();
        }
        Ev::Start("rPh", _) => in_ph = true, // phonetic hints: not content
        Ev::End("rPh") => in_ph = false,
        Ev::Start("t", _) => in_t = true,
        Ev::End("t") => in_t = false,
        Ev::Text(t) if in_si && in_t && !in_ph => cur.push_str(t),
        Ev::End("si") => {
            in_si = false;
            out.push(std::mem::take(&mut cur));
        }
        _ => {}
    })?;
    Ok(out)
}

/// (sheet name, part path) in workbook order.
fn sheets(zip: &mut Archive) -> Result<Vec<(String, String)>, ExtractError> {
    let workbook = zip.require("xl/workbook.xml")?;
    let mut declared: Vec<(String, String)> = Vec::new();
    walk(&workbook, |ev| {
        if let Ev::Start("sheet", a) = ev {
            let name = a.get("name").unwrap_or("Sheet").to_string();
            declared.push((name, a.get("id").unwrap_or("").to_string()));
        }
    })?;
    let rels = zip.read("xl/_rels/workbook.xml.rels")?.unwrap_or_default();
    let mut targets: Vec<(String, String)> = Vec::new();
    walk(&rels, |ev| {
        if let Ev::Start("Relationship", a) = ev {
            if let (Some(id), Some(t)) = (a.get("Id"), a.get("Target")) {
                let path = match t.strip_prefix('/') {
                    Some(abs) => abs.to_string(),
                    None => format!("xl/{t}"),
                };
                targets.push((id.to_string(), path));
            }
        }
    })?;
    Ok(declared
        .into_iter()
        .filter_map(|(name, rid)| {
            let path = targets.iter().find(|(id, _)| *id == rid)?.1.clone();
            Some((name, path))
        })
        .collect())
}

/// Zero-based column of a cell reference such as `AB12`.
fn column(reference: &str) -> usize {
    reference
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .fold(0usize, |acc, b| {
            acc.saturating_mul(26)
                .saturating_add(usize::from(b.to_ascii_uppercase() - b'A') + 1)
        })
        .saturating_sub(1)
}

/// A sheet's rows of cells, and where its used range stands.
fn sheet_rows(
    xml: &[u8],
    strings: &[String],
) -> Result<(Vec<Vec<String>>, SheetBox), ExtractError> {
    let mut t = TableBuilder::default();
    let mut place = SheetBox::default();
    let mut row: Vec<String> = Vec::new();
    let mut at_row = 0usize;
    let (mut col, mut kind, mut value, mut in_v) = (0usize, String::new(), String::new(), false);
    walk(xml, |ev| match ev {
        Ev::Start("sheetFormatPr", a) => place.format(a),
        Ev::Start("col", a) => place.col(a),
        Ev::Start("row", a) => {
            row.clear();
            let r = a.get("r").and_then(|r| r.trim().parse::<usize>().ok());
            at_row = r.map_or(at_row + 1, |r| r.max(1));
            place.row(at_row - 1, a);
        }
        Ev::Start("c", a) => {
            col = a.get("r").map_or(row.len(), column).min(MAX_COLUMNS);
            kind = a.get("t").unwrap_or("n").to_string();
            value.clear();
        }
        Ev::Start("v" | "t", _) => in_v = true,
        Ev::End("v" | "t") => in_v = false,
        Ev::Text(s) if in_v => value.push_str(s),
        Ev::End("c") => {
            let text = match kind.as_str() {
                "s" => value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| strings.get(i).cloned())
                    .unwrap_or_default(),
                "b" => if value.trim() == "1" { "TRUE" } else { "FALSE" }.to_string(),
                _ => value.clone(),
            };
            if row.len() <= col {
                row.resize(col + 1, String::new());
            }
            row[col] = text.trim().to_string();
            if !row[col].is_empty() {
                place.cell(col, at_row.saturating_sub(1));
            }
        }
        Ev::End("row") => {
            t.start_row();
            for cell in row.drain(..) {
                t.start_cell();
                t.push_text(&cell);
                t.end_cell();
            }
            t.end_row();
        }
        _ => {}
    })?;
    Ok((t.rows, place))
}

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut zip = Archive::open(bytes, limits)?;
    let strings = match zip.read("xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let sheets = sheets(&mut zip)?;
    if sheets.len() > limits.max_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "more than {} sheets",
            limits.max_pages
        )));
    }
    let mut elements = Vec::new();
    for (i, (name, path)) in sheets.iter().enumerate() {
        let page = i as u32 + 1;
        let Some(xml) = zip.read(path)? else { continue };
        let (rows, place) = sheet_rows(&xml, &strings)?;
        elements.push(Element::new(Kind::Heading { level: 2 }, name.clone()).on_page(page));
        if !rows.is_empty() {
            let mut table = Element::table(rows).on_page(page);
            table.bbox = place.bbox();
            elements.push(table);
        }
    }
    Ok(Extraction {
        elements,
        pages: sheets.len().max(1) as u32,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references_map_to_columns() {
        assert_eq!(column("A1"), 0);
        assert_eq!(column("Z9"), 25);
        assert_eq!(column("AA3"), 26);
        assert_eq!(column("AB12"), 27);
    }

    #[test]
    fn rows_resolve_shared_strings_and_leave_gaps() {
        let strings = vec!["Team".to_string(), "Cups".to_string()];
        let xml = br#"<worksheet><sheetData>
            <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>
            <row r="2"><c r="A2" t="inlineStr"><is><t>Blues</t></is></c><c r="C2"><v>1</v></c></row>
            </sheetData></worksheet>"#;
        let (rows, place) = sheet_rows(xml, &strings).unwrap();
        assert_eq!(rows, vec![vec!["Team", "", "Cups"], vec!["Blues", "", "1"]]);
        // A1:C2 at the defaults: three 8.43-character columns (64 px,
        // 48 pt each), two 15 pt rows.
        assert_eq!(place.bbox(), Some([0.0, 0.0, 144.0, 30.0]));
    }

    #[test]
    fn a_tables_box_follows_the_sheets_widths_heights_and_hidden_columns() {
        // Used range B3:D4. Column A is 20 characters (145 px, 108.75 pt),
        // B hidden, C and D at the sheet's 10-character default (75 px);
        // row 2 is 30 pt high, row 1 hidden, the others 12 pt.
        let xml = br#"<worksheet><sheetFormatPr defaultColWidth="10" defaultRowHeight="12"/>
            <cols><col min="1" max="1" width="20"/><col min="2" max="2" width="9" hidden="1"/></cols>
            <sheetData>
            <row r="1" hidden="1"><c r="A1"><v></v></c></row>
            <row r="2" ht="30"/>
            <row r="3"><c r="B3" t="inlineStr"><is><t>Name</t></is></c><c r="D3" t="inlineStr"><is><t>Cups</t></is></c></row>
            <row r="4"><c r="C4"><v>3</v></c></row>
            </sheetData></worksheet>"#;
        let (_, place) = sheet_rows(xml, &[]).unwrap();
        let x_b = 108.8; // A's 108.75 pt, to a tenth
        assert_eq!(place.bbox(), Some([x_b, 30.0, x_b + 2.0 * 56.25, 54.0]));
    }
}
