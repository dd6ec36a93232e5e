//! PPTX: one page per slide, in slide order. Title placeholders become
//! headings, explicit bullets list items, tables tables, pictures their
//! descriptions; slide numbers, dates and footers are left out. Each
//! element carries its shape's box in points from the slide's top-left
//! corner ([`shapes`]), a placeholder's inherited from its layout or
//! master when it has none of its own.

use super::shapes::{self, Geometry, Placeholder};
use super::{numbered_parts, walk, Attrs, Ev, TableBuilder};
use crate::model::{Builder, Element, Kind};
use crate::zipped::Archive;
use crate::{ExtractError, Extraction, Limits};
use std::collections::HashMap;

#[derive(Default)]
struct Slide<'a> {
    b: Builder,
    geo: Geometry,
    /// The placeholders of the slide's layout and master.
    inherits: (&'a [Placeholder], &'a [Placeholder]),
    /// Placeholder type of the current shape (`title`, `body`, `sldNum`…).
    placeholder: Option<String>,
    /// Its index, which ties it to its layout's placeholder.
    placeholder_idx: Option<String>,
    /// A picture's description, pushed with its box at its end.
    picture: Option<String>,
    para: Option<(String, Option<u8>)>,
    table: Option<TableBuilder>,
    in_text: bool,
    in_picture: bool,
}

impl Slide<'_> {
    fn start(&mut self, name: &str, a: &Attrs) {
        self.geo.start(name, a);
        match name {
            "sp" | "graphicFrame" => {
                self.placeholder = None;
                self.placeholder_idx = None;
            }
            "ph" => {
                self.placeholder = Some(a.get("type").unwrap_or("body").to_string());
                self.placeholder_idx = a.get("idx").map(str::to_string);
            }
            "pic" => self.in_picture = true,
            "cNvPr" if self.in_picture => {
                self.picture = Some(a.get("descr").unwrap_or("").trim().to_string());
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
        self.geo.end(name);
        match name {
            "t" => self.in_text = false,
            "pic" => {
                self.in_picture = false;
                if let Some(alt) = self.picture.take() {
                    self.push(Element::new(Kind::Image { alt: alt.clone() }, alt));
                }
            }
            "p" => self.end_paragraph(),
            "tc" => self.with_table(TableBuilder::end_cell),
            "tr" => self.with_table(TableBuilder::end_row),
            "tbl" => {
                if let Some(t) = self.table.take() {
                    self.push(Element::table(t.rows));
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
        self.push(Element::new(kind, text));
    }

    /// Pushes an element with its shape's box.
    fn push(&mut self, mut el: Element) {
        el.bbox = self.geo.shape_box().or_else(|| {
            let kind = self.placeholder.as_deref()?;
            let (layout, master) = self.inherits;
            shapes::inherited(kind, self.placeholder_idx.as_deref(), layout, master)
        });
        self.b.push(el);
    }
}

/// The part a part's relationship of `kind` (`slideLayout`,
/// `slideMaster`) points at, as a path in the package.
fn related(zip: &mut Archive, part: &str, kind: &str) -> Result<Option<String>, ExtractError> {
    let (dir, file) = part.rsplit_once('/').unwrap_or(("", part));
    let Some(rels) = zip.read(&format!("{dir}/_rels/{file}.rels"))? else {
        return Ok(None);
    };
    let suffix = format!("/{kind}");
    let mut target = None;
    walk(&rels, |ev| {
        if let Ev::Start("Relationship", a) = ev {
            if target.is_none() && a.get("Type").is_some_and(|t| t.ends_with(&suffix)) {
                target = a.get("Target").map(str::to_string);
            }
        }
    })?;
    Ok(target.map(|t| resolve(dir, &t)))
}

/// A relationship's target, relative to `dir`, as a package path.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = match target.strip_prefix('/') {
        Some(_) => Vec::new(),
        None => dir.split('/').filter(|p| !p.is_empty()).collect(),
    };
    for piece in target.trim_start_matches('/').split('/') {
        match piece {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The placeholders of each layout and master, read once.
#[derive(Default)]
struct Inherited {
    parsed: HashMap<String, Vec<Placeholder>>,
}

impl Inherited {
    /// The slide's layout and master names, their placeholders parsed.
    fn of(
        &mut self,
        zip: &mut Archive,
        slide: &str,
    ) -> Result<(Option<String>, Option<String>), ExtractError> {
        let layout = related(zip, slide, "slideLayout")?;
        let master = match &layout {
            Some(l) => related(zip, l, "slideMaster")?,
            None => None,
        };
        for part in layout.iter().chain(master.iter()) {
            if !self.parsed.contains_key(part) {
                let found = match zip.read(part)? {
                    Some(xml) => shapes::placeholders(&xml)?,
                    None => Vec::new(),
                };
                self.parsed.insert(part.clone(), found);
            }
        }
        Ok((layout, master))
    }

    fn get(&self, part: &Option<String>) -> &[Placeholder] {
        part.as_ref()
            .and_then(|p| self.parsed.get(p))
            .map_or(&[], Vec::as_slice)
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
    let mut inherited = Inherited::default();
    for (i, name) in slides.iter().enumerate() {
        let xml = zip.require(name)?;
        let (layout, master) = inherited.of(&mut zip, name)?;
        let mut slide = Slide {
            inherits: (inherited.get(&layout), inherited.get(&master)),
            ..Slide::default()
        };
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
