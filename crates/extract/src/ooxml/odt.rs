//! ODT (OpenDocument text): headings by outline level, paragraphs, list
//! items by nesting, tables; annotations are left out.

use super::{walk, Attrs, Ev, TableBuilder};
use crate::model::{Builder, Element, Kind};
use crate::zipped::Archive;
use crate::{ExtractError, Extraction, Limits};

#[derive(Default)]
struct State {
    b: Builder,
    para: Option<(String, Kind)>,
    list_depth: u8,
    in_item: bool,
    tables: Vec<TableBuilder>,
    hidden: u32,
}

impl State {
    fn start(&mut self, name: &str, a: &Attrs) {
        match name {
            "annotation" | "note-citation" => self.hidden += 1,
            _ if self.hidden > 0 => {}
            "h" => {
                let level = a
                    .get("outline-level")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(1);
                self.para = Some((String::new(), Kind::Heading { level }));
            }
            "p" => {
                let kind = if self.in_item {
                    Kind::ListItem {
                        depth: self.list_depth.saturating_sub(1),
                    }
                } else {
                    Kind::Paragraph
                };
                self.para = Some((String::new(), kind));
            }
            "s" => {
                let n = a.get("c").and_then(|c| c.parse().ok()).unwrap_or(1usize);
                self.text(&" ".repeat(n.min(64)));
            }
            "tab" => self.text("\t"),
            "line-break" => self.text("\n"),
            "list" => self.list_depth = self.list_depth.saturating_add(1),
            "list-item" => self.in_item = true,
            "table" => self.tables.push(TableBuilder::default()),
            "table-row" => self.table(TableBuilder::start_row),
            "table-cell" => self.table(TableBuilder::start_cell),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "annotation" | "note-citation" => self.hidden = self.hidden.saturating_sub(1),
            _ if self.hidden > 0 => {}
            "h" | "p" => self.end_paragraph(),
            "list" => self.list_depth = self.list_depth.saturating_sub(1),
            "list-item" => self.in_item = self.list_depth > 1,
            "table-cell" => self.table(TableBuilder::end_cell),
            "table-row" => self.table(TableBuilder::end_row),
            "table" => {
                if let Some(t) = self.tables.pop() {
                    let el = Element::table(t.rows);
                    match self.tables.last_mut() {
                        Some(outer) => outer.push_text(&el.text),
                        None => self.b.push(el),
                    }
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, s: &str) {
        if let Some((text, _)) = self.para.as_mut() {
            text.push_str(s);
        }
    }

    fn table(&mut self, f: impl FnOnce(&mut TableBuilder)) {
        if let Some(t) = self.tables.last_mut() {
            f(t);
        }
    }

    fn end_paragraph(&mut self) {
        let Some((text, kind)) = self.para.take() else {
            return;
        };
        match self.tables.last_mut().filter(|t| t.cell.is_some()) {
            Some(t) => t.push_text(&text),
            None => self.b.push(Element::new(kind, text)),
        }
    }
}

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut zip = Archive::open(bytes, limits)?;
    let xml = zip.require("content.xml")?;
    let mut st = State::default();
    walk(&xml, |ev| match ev {
        Ev::Start(n, a) => st.start(n, a),
        Ev::End(n) => st.end(n),
        Ev::Text(t) if st.hidden == 0 => st.text(t),
        Ev::Text(_) => {}
    })?;
    Ok(Extraction {
        elements: st.b.finish(),
        pages: 1,
        warnings: Vec::new(),
    })
}
