//! PPTX: one page per slide, in slide order. Title placeholders become
//! headings, explicit bullets list items, tables tables, pictures their
//! descriptions; slide numbers, dates and footers are left out.

use super::{numbered_parts, walk, Attrs, Ev, TableBuilder};
use crate::model::{Builder, Element, Kind};
use crate::zipped::Archive;
use crate::{ExtractError, Extraction, Limits};

#[derive(Default)]
struct Slide {
    b: Builder,
    /// Placeholder type of the current shape (`title`, `body`, `sldNum`…).
    placeholder: Option<String>,
    para: Option<(String, Option<u8>)>,
    table: Option<TableBuilder>,
    in_text: bool,
    in_picture: bool,
}

impl Slide {
    fn start(&mut self, name: &str, a: &Attrs) {
        match name {
            "sp" | "graphicFrame" => self.placeholder = None,
            "ph" => self.placeholder = Some(a.get("type").unwrap_or("body").to_string()),
            "pic" => self.in_picture = true,
            "cNvPr" if self.in_picture => {
                let alt = a.get("descr").unwrap_or("").trim();
                self.b
                    .push(Element::new(Kind::Image { alt: alt.into() }, alt));
            }
            "p" => self.para = Some((String::new(), None)),
            "pPr" => {
                if let Some((_, lvl)) = self.para.as_mut() {
                    *lvl = a.get("lvl").and_then(|l| l.parse().ok());
                }
            }
            "buChar" | "buAutoNum" => {
                if let Some((_, lvl)) = self.para.as_mut() {
                    lvl.get_or_insert(0);
                }
            }
            "t" => self.in_text = true,
            "br" => self.text("\n"),
            "tbl" => self.table = Some(TableBuilder::default()),
            "tr" => self.with_table(TableBuilder::start_row),
            "tc" => self.with_table(TableBuilder::start_cell),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "t" => self.in_text = false,
            "pic" => self.in_picture = false,
            "p" => self.end_paragraph(),
            "tc" => self.with_table(TableBuilder::end_cell),
            "tr" => self.with_table(TableBuilder::end_row),
            "tbl" => {
                if let Some(t) = self.table.take() {
                    self.b.push(Element::table(t.rows));
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

    fn with_table(&mut self, f: impl FnOnce(&mut TableBuilder)) {
        if let Some(t) = self.table.as_mut() {
            f(t);
        }
    }

    fn end_paragraph(&mut self) {
        let Some((text, level)) = self.para.take() else {
            return;
        };
        if let Some(t) = self.table.as_mut().filter(|t| t.cell.is_some()) {
            t.push_text(&text);
            return;
        }
        let kind = match self.placeholder.as_deref() {
            Some("sldNum" | "dt" | "ftr" | "hdr") => return,
            Some("ctrTitle") => Kind::Title,
            Some("title") => Kind::Heading { level: 2 },
            _ => match level {
                Some(depth) => Kind::ListItem { depth },
                None => Kind::Paragraph,
            },
        };
        self.b.push(Element::new(kind, text));
    }
}

pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Extraction, ExtractError> {
    let mut zip = Archive::open(bytes, limits)?;
    let slides = numbered_parts(&zip.names(), "ppt/slides/slide", ".xml");
    if slides.is_empty() && zip.read("ppt/presentation.xml")?.is_none() {
        return Err(ExtractError::Malformed("no presentation part".into()));
    }
    if slides.len() > limits.max_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "more than {} slides",
            limits.max_pages
        )));
    }
    let mut elements = Vec::new();
    for (i, name) in slides.iter().enumerate() {
        let xml = zip.require(name)?;
        let mut slide = Slide::default();
        let page = i as u32 + 1;
        slide.b.set_page(page);
        walk(&xml, |ev| match ev {
            Ev::Start(n, a) => slide.start(n, a),
            Ev::End(n) => slide.end(n),
            Ev::Text(t) if slide.in_text => slide.text(t),
            Ev::Text(_) => {}
        })?;
        if i > 0 {
            elements.push(Element::new(Kind::PageBreak, "").on_page(page));
        }
        elements.extend(slide.b.finish());
    }
    Ok(Extraction {
        elements,
        pages: slides.len().max(1) as u32,
        warnings: Vec::new(),
    })
}
