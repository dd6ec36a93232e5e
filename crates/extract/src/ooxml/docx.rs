//! DOCX: paragraphs with their styles (title, headings, lists), tables
//! (nested ones flattened into their cell), images by description, page
//! breaks, and headers/footers.

use super::{walk, Ev, TableBuilder};
use crate::model::{Builder, Element, Kind};
use crate::zipped::Archive;
use crate::{ExtractError, Extraction, Limits};

#[derive(Default)]
struct Para {
    text: String,
    style: Option<String>,
    list_level: Option<u8>,
}

#[derive(Default)]
struct State {
    b: Builder,
    para: Option<Para>,
    /// Paragraphs interrupted by a text box's own paragraphs.
    outer: Vec<Para>,
    tables: Vec<TableBuilder>,
    in_text: bool,
    in_num: bool,
    page: u32,
    /// Whether Word recorded where pages broke when it last laid out.
    rendered_breaks: bool,
}

impl State {
    fn start(&mut self, name: &str, attrs: &super::Attrs) {
        match name {
            "p" => {
                if let Some(p) = self.para.take() {
                    self.outer.push(p);
                }
                self.para = Some(Para::default());
            }
            "pStyle" => {
                if let (Some(p), Some(v)) = (self.para.as_mut(), attrs.get("val")) {
                    p.style = Some(v.to_ascii_lowercase());
                }
            }
            "numPr" => self.in_num = true,
            "ilvl" if self.in_num => {
                if let Some(p) = self.para.as_mut() {
                    p.list_level = attrs.get("val").and_then(|v| v.parse().ok()).or(Some(0));
                }
            }
            "t" => self.in_text = true,
            "tab" if self.para.is_some() => self.text("\t"),
            "br" | "cr" => {
                if attrs.get("type") == Some("page") && !self.rendered_breaks {
                    self.page_break();
                } else {
                    self.text("\n");
                }
            }
            "lastRenderedPageBreak" if self.rendered_breaks => self.page_break(),
            "docPr" => {
                let alt = attrs.get("descr").filter(|d| !d.trim().is_empty());
                if let Some(alt) = alt {
                    self.b
                        .push(Element::new(Kind::Image { alt: alt.into() }, alt));
                }
            }
            "tbl" => self.tables.push(TableBuilder::default()),
            "tr" => self.table(TableBuilder::start_row),
            "tc" => self.table(TableBuilder::start_cell),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "t" => self.in_text = false,
            "numPr" => {
                self.in_num = false;
                if let Some(p) = self.para.as_mut() {
                    p.list_level.get_or_insert(0);
                }
            }
            "p" => self.end_paragraph(),
            "tc" => self.table(TableBuilder::end_cell),
            "tr" => self.table(TableBuilder::end_row),
            "tbl" => {
                if let Some(t) = self.tables.pop() {
                    let el = Element::table(t.rows);
                    match self.tables.last_mut() {
                        Some(outer) => outer.push_text(&el.text),
                        None if !el.text.is_empty() => self.b.push(el),
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, s: &str) {
        if let Some(p) = self.para.as_mut() {
            p.text.push_str(s);
        }
    }

    fn table(&mut self, f: impl FnOnce(&mut TableBuilder)) {
        if let Some(t) = self.tables.last_mut() {
            f(t);
        }
    }

    fn page_break(&mut self) {
        self.page += 1;
        self.b.set_page(self.page);
    }

    fn end_paragraph(&mut self) {
        let Some(p) = self.para.take() else { return };
        self.para = self.outer.pop();
        if let Some(t) = self.tables.last_mut().filter(|t| t.cell.is_some()) {
            t.push_text(&p.text);
            return;
        }
        let kind = match (p.style.as_deref(), p.list_level) {
            (Some("title"), _) => Kind::Title,
            (Some(s), _) if heading_level(s).is_some() => Kind::Heading {
                level: heading_level(s).unwrap_or(1),
            },
            (_, Some(depth)) => Kind::ListItem { depth },
            (Some(s), None) if s.starts_with("list") => Kind::ListItem { depth: 0 },
            _ => Kind::Paragraph,
        };
        self.b.push(Element::new(kind, p.text));
    }
}

fn heading_level(style: &str) -> Option<u8> {
    let n = style.strip_prefix("heading")?.trim();
    n.parse::<u8>()
        .ok()
        .filter(|l| (1..=9).contains(l))
        .map(|l| l.min(6))
}

fn parse_part(xml: &[u8], rendered_breaks: bool) -> Result<(Vec<Element>, u32), ExtractError> {
    let mut st = State {
        page: 1,
        rendered_breaks,
        ..State::default()
    };
    st.b.set_page(1);
    walk(xml, |ev| match ev {
        Ev::Start(n, a) => st.start(n, a),
        Ev::End(n) => st.end(n),
        Ev::Text(t) if st.in_text => st.text(t),
        Ev::Text(_) => {}
    })?;
    Ok((st.b.finish(), st.page))
}

/// Text of header or footer parts, once each, as one element per part.
fn margins(zip: &mut Archive, prefix: &str, kind: Kind) -> Result<Vec<Element>, ExtractError> {
    let mut out: Vec<Element> = Vec::new();
    let names: Vec<String> = zip
        .names()
        .into_iter()
        .filter(|n| n.starts_with(prefix) && n.ends_with(".xml"))
        .collect();
    for name in names {
        let Some(xml) = zip.read(&name)? else {
            continue;
        };
        let (els, _) = parse_part(&xml, false)?;
        let text = crate::model::to_text(&els);
        if !text.trim().is_empty() && !out.iter().any(|e| e.text == text) {
            out.push(Element::new(kind.clone(), text));
        }
    }
    Ok(out)
}

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut zip = Archive::open(bytes, limits)?;
    let body = zip.require("word/document.xml")?;
    let rendered = contains(&body, b"lastRenderedPageBreak");
    let (elements, pages) = parse_part(&body, rendered)?;
    let mut all = margins(&mut zip, "word/header", Kind::Header)?;
    all.extend(elements);
    all.extend(margins(&mut zip, "word/footer", Kind::Footer)?);
    Ok(Extraction {
        elements: all,
        pages,
        warnings: Vec::new(),
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;

    #[test]
    fn styles_lists_and_tables_are_recognised() {
        let xml = format!(
            r#"<w:document {NS}><w:body>
            <w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Doc</w:t></w:r></w:p>
            <w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Part</w:t></w:r></w:p>
            <w:p><w:pPr><w:numPr><w:ilvl w:val="1"/></w:numPr></w:pPr><w:r><w:t>item</w:t></w:r></w:p>
            <w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>b</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
            <w:p><w:r><w:t xml:space="preserve">Body </w:t></w:r><w:r><w:br w:type="page"/><w:t>next</w:t></w:r></w:p>
            </w:body></w:document>"#
        );
        let (els, pages) = parse_part(xml.as_bytes(), false).unwrap();
        let kinds: Vec<&Kind> = els.iter().map(|e| &e.kind).collect();
        assert_eq!(kinds[0], &Kind::Title);
        assert_eq!(kinds[1], &Kind::Heading { level: 2 });
        assert_eq!(kinds[2], &Kind::ListItem { depth: 1 });
        assert_eq!(els[3].text, "a\tb");
        assert_eq!(els[4].text, "Body next");
        assert_eq!(pages, 2);
    }
}
