//! A PDF read in parts, each a range of pages read by byte ranges
//! ([`super::sparse`]) in its own bounded memory. A part gives its pages'
//! blocks, not yet elements: the parts merged in page order are laid out
//! as the whole document would be (headings ranked by the sizes of every
//! page, tables joined across pages, across parts too).

use super::layout::Block;
use super::sparse::{Sparse, Step};
use super::{fonts, Reading};
use crate::model::Element;
use crate::{ExtractError, Extraction, Limits, PageImage};
use serde::{Deserialize, Serialize};

/// What one part of a document read.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Part {
    pub first: u32,
    /// The last page read (a failed part: the last it was to read).
    pub last: u32,
    blocks: Vec<Block>,
    warnings: Vec<String>,
    /// Pages with neither text nor an image.
    empty: Vec<u32>,
    /// What the OCR engine read on the part's scanned pages, in page order.
    pub ocr: Vec<Element>,
    /// The scanned pages' images, for the OCR engine (not kept).
    #[serde(skip)]
    pub scans: Vec<PageImage>,
}

impl Part {
    /// A part that could not be read: its pages are named in a warning of
    /// the merged result, never silently missing.
    pub fn failed(first: u32, last: u32, why: &str) -> Part {
        Part {
            first,
            last,
            warnings: vec![format!(
                "pages_unread: pages {first}–{last} could not be read: {why}"
            )],
            ..Part::default()
        }
    }

    /// Adds warnings (the OCR engine's, for instance).
    pub fn warn(&mut self, warnings: impl IntoIterator<Item = String>) {
        self.warnings.extend(warnings);
    }

    /// Whether the part read nothing at all (it failed).
    pub fn is_failed(&self) -> bool {
        self.blocks.is_empty()
            && self.empty.is_empty()
            && self.ocr.is_empty()
            && self.warnings.iter().any(|w| w.starts_with("pages_unread"))
    }
}

/// Reads pages `first..=last` of the document `sparse` reads; its scanned
/// pages come back as images for OCR (at most [`super::MAX_OCR_PAGES`]
/// per part).
pub fn read_part(sparse: &mut Sparse, first: u32, last: u32, limits: &Limits) -> Step<Part> {
    if first == 0 || last < first || last - first >= limits.max_pages {
        return Err(ExtractError::TooLarge(format!("pages {first}–{last} as one part")).into());
    }
    let of = sparse.pages(first, last)?;
    let cache = fonts::FontCache::default();
    let mut read = Reading::default();
    for &page in &of.pages {
        read.page(&of.doc, page, &cache, limits)?;
    }
    read.cap_scans();
    // The last page actually found: a page tree whose count claims more
    // pages than it holds gives no empty pages past its end.
    let found = of.pages.last().map_or(first - 1, |p| p.0);
    Ok(Part {
        first,
        last: found,
        blocks: read.blocks,
        warnings: read.warnings,
        empty: read.empty,
        ocr: Vec::new(),
        scans: read.scans,
    })
}

/// The parts of a document of `pages` pages as one extraction, as if it
/// had been read whole.
pub fn merge(mut parts: Vec<Part>, pages: u32) -> Extraction {
    parts.sort_by_key(|p| p.first);
    let mut read = Reading::default();
    let mut ocr = Vec::new();
    for part in parts {
        read.blocks.extend(part.blocks);
        read.warnings.extend(part.warnings);
        read.empty.extend(part.empty);
        ocr.extend(part.ocr);
    }
    let (mut ex, _) = read.finish(pages as usize);
    for element in ocr {
        place(&mut ex, element);
    }
    ex
}

/// Puts an element at the end of its page.
pub fn place(ex: &mut Extraction, element: Element) {
    let page = element.page.unwrap_or(1);
    let at = ex
        .elements
        .iter()
        .position(|e| e.page.unwrap_or(1) > page)
        .unwrap_or(ex.elements.len());
    ex.elements.insert(at, element);
}

#[cfg(test)]
pub(crate) mod tests;
