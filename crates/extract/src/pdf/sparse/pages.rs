//! The page tree walked down to a range of pages, and the objects those
//! pages need gathered, without touching the rest of the document.

use super::{Got, Sparse, Step};
use crate::ExtractError;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeSet;

/// Page tree depth past which a tree is a loop.
const MAX_DEPTH: usize = 32;

/// Keys never followed when gathering a page's objects: links to other
/// pages, the document's structure, annotations (not read), metadata.
const NOT_FOLLOWED: &[&[u8]] = &[
    b"Parent",
    b"P",
    b"Annots",
    b"Thumb",
    b"B",
    b"Metadata",
    b"PieceInfo",
    b"Dest",
    b"A",
    b"AA",
    b"StructParents",
    b"Next",
    b"Prev",
];

/// A document holding some pages and what they draw with, and their
/// numbers and ids in order.
pub struct PagesOf {
    pub doc: Document,
    pub pages: Vec<(u32, ObjectId)>,
    /// The document's page count.
    pub total: u32,
}

impl Sparse {
    /// The document's page count (its page tree's `/Count`).
    pub fn page_count(&mut self) -> Step<u32> {
        self.pass(|s| s.tree_root().map(|r| r.map(|(_, count)| count)))
    }

    /// Pages `first..=last` (1-based, cut to the document's end) with
    /// every object they need.
    pub fn pages(&mut self, first: u32, last: u32) -> Step<PagesOf> {
        let found = self.pass(|s| {
            let Some((root, total)) = s.tree_root()? else {
                return Ok(None);
            };
            let last = last.min(total);
            let mut pages = Vec::new();
            if !s.walk(root, (0, first, last), &mut pages, 0)? {
                return Ok(None);
            }
            Ok(Some((pages, total)))
        })?;
        let (pages, total) = found;
        let keep = self.pass(|s| s.gather(&pages))?;
        let doc = self.document(&keep);
        Ok(PagesOf { doc, pages, total })
    }

    /// The page tree's root and its count.
    fn tree_root(&mut self) -> Result<Option<(ObjectId, u32)>, ExtractError> {
        if !self.read_sections()? {
            return Ok(None);
        }
        let catalog = self
            .trailer_ref(b"Root")
            .ok_or_else(|| malformed("the trailer names no catalog"))?;
        let Some(dict) = self.dict(catalog)? else {
            return Ok(None);
        };
        let root = dict
            .get(b"Pages")
            .and_then(Object::as_reference)
            .map_err(|_| malformed("the catalog names no page tree"))?;
        let Some(tree) = self.dict(root)? else {
            return Ok(None);
        };
        let count = tree.get(b"Count").and_then(Object::as_i64).unwrap_or(0);
        let count = u32::try_from(count).map_err(|_| malformed("a negative page count"))?;
        Ok(Some((root, count)))
    }

    /// A dictionary object (a stream's dictionary too); `None` while its
    /// bytes are wanted; an error when absent or not a dictionary.
    fn dict(&mut self, id: ObjectId) -> Result<Option<Dictionary>, ExtractError> {
        match self.load(id)? {
            Got::Wanted => Ok(None),
            Got::Absent => Err(malformed(&format!("object {} is missing", id.0))),
            Got::Here => match &self.objects[&id] {
                Object::Dictionary(d) => Ok(Some(d.clone())),
                Object::Stream(s) => Ok(Some(s.dict.clone())),
                _ => Err(malformed(&format!("object {} is not a dictionary", id.0))),
            },
        }
    }

    /// Walks node `id`, whose pages are numbered from `before + 1`,
    /// collecting those in `first..=last`; false while bytes are wanted.
    fn walk(
        &mut self,
        id: ObjectId,
        (before, first, last): (u32, u32, u32),
        out: &mut Vec<(u32, ObjectId)>,
        depth: usize,
    ) -> Result<bool, ExtractError> {
        if depth > MAX_DEPTH {
            return Err(malformed("a page tree deeper than 32 levels"));
        }
        let Some(node) = self.dict(id)? else {
            return Ok(false);
        };
        let kids: Vec<ObjectId> = node
            .get(b"Kids")
            .and_then(Object::as_array)
            .map(|a| a.iter().filter_map(|k| k.as_reference().ok()).collect())
            .unwrap_or_default();
        let count = node.get(b"Count").and_then(Object::as_i64).unwrap_or(-1);
        // Kids as many as the pages below: every kid is a page, so only
        // the ones in range are read (a flat tree of a thousand pages).
        if count == kids.len() as i64 {
            if let Some(done) = self.flat(&kids, (before, first, last), out)? {
                return Ok(done);
            }
        }
        let mut known = Vec::with_capacity(kids.len());
        for &kid in &kids {
            known.push(self.dict(kid)?);
        }
        let mut at = before;
        for (kid, node) in kids.into_iter().zip(known) {
            let Some(node) = node else { return Ok(false) };
            if at >= last {
                break;
            }
            if is_page(&node) {
                at += 1;
                if at >= first {
                    out.push((at, kid));
                }
                continue;
            }
            let below = node.get(b"Count").and_then(Object::as_i64).unwrap_or(0);
            let below = u32::try_from(below).map_err(|_| malformed("a negative page count"))?;
            if at + below >= first && !self.walk(kid, (at, first, last), out, depth + 1)? {
                return Ok(false);
            }
            at = at.saturating_add(below);
        }
        Ok(true)
    }

    /// A node whose kids are all pages: reads only those in range.
    /// `Ok(None)` when one of them is not a page after all.
    fn flat(
        &mut self,
        kids: &[ObjectId],
        (before, first, last): (u32, u32, u32),
        out: &mut Vec<(u32, ObjectId)>,
    ) -> Result<Option<bool>, ExtractError> {
        let mut found = Vec::new();
        let mut waiting = false;
        for (i, &kid) in kids.iter().enumerate() {
            let n = before + i as u32 + 1;
            if n < first || n > last {
                continue;
            }
            match self.dict(kid)? {
                None => waiting = true,
                Some(d) if is_page(&d) => found.push((n, kid)),
                Some(_) => return Ok(None),
            }
        }
        if waiting {
            return Ok(Some(false));
        }
        out.extend(found);
        Ok(Some(true))
    }

    /// Every object the pages need: the pages, their ancestors (inherited
    /// resources and boxes), and what their values lead to.
    fn gather(
        &mut self,
        pages: &[(u32, ObjectId)],
    ) -> Result<Option<BTreeSet<ObjectId>>, ExtractError> {
        let selected: BTreeSet<ObjectId> = pages.iter().map(|p| p.1).collect();
        let mut keep = BTreeSet::new();
        let mut todo: Vec<ObjectId> = selected.iter().copied().collect();
        todo.extend(self.trailer_ref(b"Root"));
        let mut waiting = false;
        while let Some(id) = todo.pop() {
            if !keep.insert(id) {
                continue;
            }
            match self.load(id)? {
                Got::Wanted => waiting = true,
                Got::Absent => {}
                Got::Here => follow(id, &self.objects[&id], &selected, &mut todo),
            }
        }
        Ok((!waiting).then_some(keep))
    }
}

fn is_page(node: &Dictionary) -> bool {
    match node.get(b"Type").and_then(Object::as_name) {
        Ok(t) => t == b"Page",
        Err(_) => node.get(b"Kids").is_err(),
    }
}

/// What an object refers to that a page may need. A page tree node is
/// followed only by its inherited attributes; a page not asked for, and
/// the catalog, are kept (a reference to them resolves) but not followed.
fn follow(id: ObjectId, object: &Object, selected: &BTreeSet<ObjectId>, todo: &mut Vec<ObjectId>) {
    let dict = match object {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        other => return refs(other, todo),
    };
    let only: Option<&[&[u8]]> = match dict.get(b"Type").and_then(Object::as_name).ok() {
        Some(b"Pages") => Some(&[b"Resources", b"MediaBox", b"CropBox", b"Rotate", b"Parent"]),
        Some(b"Page") if !selected.contains(&id) => Some(&[]),
        // The catalog is kept for the trailer's /Root; what it names
        // (structure tree, outlines, forms, name trees: whole-document
        // things, large in tagged PDFs) no page draws with.
        Some(b"Catalog") => Some(&[]),
        Some(b"Page") => {
            if let Ok(parent) = dict.get(b"Parent") {
                refs(parent, todo);
            }
            None
        }
        _ => None,
    };
    for (key, value) in dict.iter() {
        let followed = match only {
            Some(keys) => keys.contains(&key.as_slice()),
            None => !NOT_FOLLOWED.contains(&key.as_slice()),
        };
        if followed {
            refs(value, todo);
        }
    }
}

/// The references in a value, at any depth of arrays and dictionaries.
fn refs(value: &Object, todo: &mut Vec<ObjectId>) {
    match value {
        Object::Reference(id) => todo.push(*id),
        Object::Array(a) => a.iter().for_each(|v| refs(v, todo)),
        Object::Dictionary(d) => d
            .iter()
            .filter(|(k, _)| !NOT_FOLLOWED.contains(&k.as_slice()))
            .for_each(|(_, v)| refs(v, todo)),
        _ => {}
    }
}

fn malformed(what: &str) -> ExtractError {
    ExtractError::Malformed(format!("PDF page tree: {what}"))
}
