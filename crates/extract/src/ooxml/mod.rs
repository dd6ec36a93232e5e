//! Office Open XML (DOCX, PPTX, XLSX) and OpenDocument text (ODT): zip
//! containers of XML parts, read through one small XML walker.

mod docx;
mod odt;
mod pptx;
mod shapes;
mod sheet_box;
mod xlsx;

pub use docx::extract as docx;
pub use odt::extract as odt;
pub use pptx::extract as pptx;
pub use xlsx::extract as xlsx;

use super::ExtractError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Attributes of an element, by local name (namespace prefixes dropped).
pub struct Attrs(Vec<(String, String)>);

impl Attrs {
    pub fn get(&self, local: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == local)
            .map(|(_, v)| v.as_str())
    }

    fn of(e: &BytesStart) -> Attrs {
        Attrs(
            e.attributes()
                .flatten()
                .map(|a| {
                    let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    let value = a
                        .unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned());
                    (key, value)
                })
                .collect(),
        )
    }
}

/// A simplified XML event: empty elements arrive as `Start` then `End`.
pub enum Ev<'a> {
    Start(&'a str, &'a Attrs),
    End(&'a str),
    Text(&'a str),
}

/// Walks an XML document, calling `f` for each event. Local names only.
/// Markup-compatibility fallbacks (`mc:Fallback`) are skipped: they repeat
/// the `mc:Choice` content for older readers.
pub fn walk(xml: &[u8], mut f: impl FnMut(Ev)) -> Result<(), ExtractError> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut fallback_depth = 0u32;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| ExtractError::Malformed(format!("XML: {e}")))?;
        if fallback_depth > 0 {
            match &event {
                Event::Start(e) if e.local_name().as_ref() == b"Fallback" => fallback_depth += 1,
                Event::End(e) if e.local_name().as_ref() == b"Fallback" => fallback_depth -= 1,
                Event::Eof => return Ok(()),
                _ => {}
            }
            buf.clear();
            continue;
        }
        match event {
            Event::Start(e) if e.name().as_ref() == b"mc:Fallback" => fallback_depth = 1,
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                f(Ev::Start(&name, &Attrs::of(&e)));
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                f(Ev::Start(&name, &Attrs::of(&e)));
                f(Ev::End(&name));
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                f(Ev::End(&name));
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(&t).into_owned());
                f(Ev::Text(&text));
            }
            Event::CData(t) => f(Ev::Text(&String::from_utf8_lossy(&t))),
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Builds table rows from cells, tolerating cells outside rows.
#[derive(Default)]
pub struct TableBuilder {
    pub rows: Vec<Vec<String>>,
    row: Vec<String>,
    pub cell: Option<String>,
}

impl TableBuilder {
    pub fn start_row(&mut self) {
        self.row = Vec::new();
    }

    pub fn start_cell(&mut self) {
        self.cell = Some(String::new());
    }

    /// Appends a paragraph's text to the open cell (one line per paragraph).
    pub fn push_text(&mut self, text: &str) {
        if let Some(cell) = self.cell.as_mut() {
            if !cell.is_empty() && !text.is_empty() {
                cell.push('\n');
            }
            cell.push_str(text.trim());
        }
    }

    pub fn end_cell(&mut self) {
        let cell = self.cell.take().unwrap_or_default();
        self.row.push(cell.trim().to_string());
    }

    pub fn end_row(&mut self) {
        let mut row = std::mem::take(&mut self.row);
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
        if !row.is_empty() {
            self.rows.push(row);
        }
    }
}

/// Sorts part names such as `ppt/slides/slide10.xml` by their number.
pub fn numbered_parts(names: &[String], prefix: &str, suffix: &str) -> Vec<String> {
    let mut parts: Vec<(u32, String)> = names
        .iter()
        .filter_map(|n| {
            let num = n.strip_prefix(prefix)?.strip_suffix(suffix)?;
            Some((num.parse().ok()?, n.clone()))
        })
        .collect();
    parts.sort();
    parts.into_iter().map(|(_, n)| n).collect()
}
