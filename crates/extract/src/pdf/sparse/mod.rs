//! A PDF read by byte ranges, for documents too large to hold at once:
//! the cross-reference sections from the end of the file, the page tree
//! down to the pages asked for, and the objects those pages draw with
//! (content, fonts, images, forms), nothing else.
//!
//! Sans-IO: a reading step either answers or says which byte spans it
//! still needs ([`Fault::Need`]); the caller fetches them (from R2, by
//! range), [`Sparse::supply`]s them and asks again. Objects parsed are
//! kept, so asking again repeats no fetch; raw bytes are dropped after
//! each pass. An object ends where the next one the cross-reference
//! sections know begins, so each is fetched exactly.

mod pages;
mod spans;
mod xref;

use spans::{fewest, joined};

use super::inflate;
use crate::{ExtractError, Limits};
use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, ObjectId, Reader};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What is read when an extent is not known yet.
const WINDOW: u64 = 64 * 1024;
/// Spans closer than this are fetched as one.
const JOIN_GAP: u64 = 16 * 1024;
/// Reads asked for in one round at most (each is a subrequest of the
/// Worker's invocation, which has a ceiling): past this, the spans with
/// the smallest gaps between them are fetched as one.
pub const MAX_SPANS: usize = 12;
/// Objects one document's cross-reference sections may name.
const MAX_OBJECTS: usize = 1_000_000;

/// Why a step stopped.
#[derive(Debug)]
pub enum Fault {
    /// Byte spans (offset, length) to supply before asking again.
    Need(Vec<(u64, u64)>),
    Failed(ExtractError),
}

impl From<ExtractError> for Fault {
    fn from(e: ExtractError) -> Fault {
        Fault::Failed(e)
    }
}

pub type Step<T> = Result<T, Fault>;

/// Where the cross-reference sections say an object is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry {
    /// At this offset, with this generation.
    At(u64, u16),
    /// Packed in this object stream.
    In(u32),
}

/// Whether an object is at hand.
enum Got {
    Here,
    /// Its bytes were asked for.
    Wanted,
    /// Not in the file, or unreadable: absent, as lopdf leaves it.
    Absent,
}

/// A PDF being read by ranges.
pub struct Sparse {
    size: u64,
    limits: Limits,
    bytes: BTreeMap<u64, Vec<u8>>,
    want: BTreeSet<(u64, u64)>,
    sections: Sections,
    objects: BTreeMap<ObjectId, Object>,
    absent: BTreeSet<ObjectId>,
    unpacked: BTreeSet<u32>,
    /// Where objects and sections begin, sorted: an object ends where the
    /// next begins.
    starts: Vec<u64>,
    fetched: u64,
}

/// The cross-reference sections read so far.
#[derive(Default)]
struct Sections {
    started: bool,
    queue: Vec<u64>,
    read: BTreeSet<u64>,
    window: BTreeMap<u64, u64>,
    entries: BTreeMap<u32, Entry>,
    trailer: Option<Dictionary>,
    done: bool,
}

impl Sparse {
    /// A PDF of `size` bytes, read under `limits`.
    pub fn new(size: u64, limits: Limits) -> Sparse {
        Sparse {
            size,
            limits,
            bytes: BTreeMap::new(),
            want: BTreeSet::new(),
            sections: Sections::default(),
            objects: BTreeMap::new(),
            absent: BTreeSet::new(),
            unpacked: BTreeSet::new(),
            starts: Vec::new(),
            fetched: 0,
        }
    }

    /// The bytes at `offset`, as asked for by a [`Fault::Need`].
    pub fn supply(&mut self, offset: u64, bytes: Vec<u8>) {
        self.fetched += bytes.len() as u64;
        self.bytes.insert(offset, bytes);
    }

    /// Bytes supplied so far, all passes together.
    pub fn fetched(&self) -> u64 {
        self.fetched
    }

    /// Runs one pass of a reading step: its answer, or the spans it needs
    /// (joined when close). Raw bytes are dropped when new ones are needed.
    fn pass<T>(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<Option<T>, ExtractError>,
    ) -> Step<T> {
        let out = step(self);
        if self.fetched > self.limits.max_decompressed_bytes {
            return Err(ExtractError::TooLarge(format!(
                "pages that need more than {} bytes of the file",
                self.limits.max_decompressed_bytes
            ))
            .into());
        }
        match out? {
            Some(t) if self.want.is_empty() => Ok(t),
            _ => {
                // What was supplied for the last need has been used.
                self.bytes.clear();
                let spans = joined(std::mem::take(&mut self.want));
                Err(Fault::Need(fewest(spans, MAX_SPANS)))
            }
        }
    }

    /// `len` bytes at `offset`, or `None` once they are asked for.
    fn bytes_at(&mut self, offset: u64, len: u64) -> Option<Vec<u8>> {
        let end = offset.checked_add(len)?;
        if let Some((&at, b)) = self.bytes.range(..=offset).next_back() {
            if at + b.len() as u64 >= end {
                let from = (offset - at) as usize;
                return Some(b[from..from + len as usize].to_vec());
            }
        }
        self.want.insert((offset, len));
        None
    }

    /// Reads the cross-reference sections; false while bytes are wanted.
    fn read_sections(&mut self) -> Result<bool, ExtractError> {
        if self.sections.done {
            return Ok(true);
        }
        if !self.sections.started {
            let len = self.size.min(1024);
            let Some(tail) = self.bytes_at(self.size - len, len) else {
                return Ok(false);
            };
            let start = xref::startxref(&tail)
                .ok_or_else(|| ExtractError::Malformed("PDF without startxref".into()))?;
            self.sections.queue.push(start);
            self.sections.started = true;
        }
        while let Some(&at) = self.sections.queue.last() {
            if at >= self.size || xref::too_many(self.sections.read.len()) {
                return Err(ExtractError::Malformed(
                    "PDF cross-reference sections out of the file or in a loop".into(),
                ));
            }
            let left = self.size - at;
            let len = self
                .sections
                .window
                .get(&at)
                .copied()
                .unwrap_or(WINDOW)
                .min(left);
            let Some(buf) = self.bytes_at(at, len) else {
                return Ok(false);
            };
            let Some(section) = xref::section(&buf, len == left, &self.limits)? else {
                self.sections.window.insert(at, xref::grown(len)?);
                continue;
            };
            self.sections.queue.pop();
            self.sections.read.insert(at);
            self.take_section(section)?;
        }
        self.finish_sections()?;
        Ok(true)
    }

    fn take_section(&mut self, section: xref::Section) -> Result<(), ExtractError> {
        let s = &mut self.sections;
        for (id, entry) in section.entries {
            s.entries.entry(id).or_insert(entry);
        }
        if s.entries.len() > MAX_OBJECTS {
            return Err(ExtractError::TooLarge(format!(
                "more than {MAX_OBJECTS} objects in its cross-reference sections"
            )));
        }
        let offset = |key: &[u8]| {
            section
                .trailer
                .get(key)
                .and_then(Object::as_i64)
                .ok()
                .and_then(|o| u64::try_from(o).ok())
        };
        // `/XRefStm` (a hybrid file's stream) before `/Prev`: popped first.
        for next in [offset(b"Prev"), offset(b"XRefStm")].into_iter().flatten() {
            if !s.read.contains(&next) {
                s.queue.push(next);
            }
        }
        if s.trailer.is_none() {
            s.trailer = Some(section.trailer);
        }
        Ok(())
    }

    fn finish_sections(&mut self) -> Result<(), ExtractError> {
        let trailer = self.sections.trailer.as_ref();
        if trailer.is_some_and(|t| t.get(b"Encrypt").is_ok()) {
            // Decryption works on the whole document (lopdf's).
            return Err(ExtractError::Unsupported(
                "an encrypted PDF is read whole, not by page ranges".into(),
            ));
        }
        let mut starts: Vec<u64> = self.sections.read.iter().copied().collect();
        starts.extend(self.sections.entries.values().filter_map(|e| match e {
            Entry::At(o, _) => Some(*o),
            Entry::In(_) => None,
        }));
        starts.push(self.size);
        starts.sort_unstable();
        starts.dedup();
        self.starts = starts;
        self.sections.done = true;
        Ok(())
    }

    /// The trailer's entry `key`, resolved to an object id.
    fn trailer_ref(&self, key: &[u8]) -> Option<ObjectId> {
        let trailer = self.sections.trailer.as_ref()?;
        trailer.get(key).and_then(Object::as_reference).ok()
    }

    /// Makes object `id` at hand if it can be.
    fn load(&mut self, id: ObjectId) -> Result<Got, ExtractError> {
        if self.objects.contains_key(&id) {
            return Ok(Got::Here);
        }
        if self.absent.contains(&id) {
            return Ok(Got::Absent);
        }
        match self.sections.entries.get(&id.0).copied() {
            Some(Entry::At(offset, gen)) if gen == id.1 => self.load_at(id, offset),
            Some(Entry::In(container)) if id.1 == 0 => self.load_packed(id, container),
            _ => {
                self.absent.insert(id);
                Ok(Got::Absent)
            }
        }
    }

    fn load_at(&mut self, id: ObjectId, offset: u64) -> Result<Got, ExtractError> {
        let next = self.starts.partition_point(|&s| s <= offset);
        let end = self.starts.get(next).copied().unwrap_or(self.size);
        let len = end.saturating_sub(offset);
        if len > self.limits.max_stream_bytes + WINDOW {
            return Err(ExtractError::TooLarge(format!(
                "object {} spans {len} bytes, more than one stream may",
                id.0
            )));
        }
        let Some(buf) = self.bytes_at(offset, len) else {
            return Ok(Got::Wanted);
        };
        match parse_indirect(&buf, id) {
            Some(object) => {
                self.objects.insert(id, object);
                Ok(Got::Here)
            }
            None => {
                self.absent.insert(id);
                Ok(Got::Absent)
            }
        }
    }

    /// An object packed in an object stream: the stream is fetched and
    /// unpacked (under the budget) once, its objects kept.
    fn load_packed(&mut self, id: ObjectId, container: u32) -> Result<Got, ExtractError> {
        if !self.unpacked.contains(&container) {
            match self.load((container, 0))? {
                Got::Here => {}
                other => return Ok(other),
            }
            self.unpacked.insert(container);
            if let Some(Object::Stream(stream)) = self.objects.remove(&(container, 0)) {
                let objects = inflate::unpack(&stream, &self.limits)?;
                for (oid, object) in objects {
                    let here = matches!(self.sections.entries.get(&oid.0), Some(Entry::In(c)) if *c == container);
                    if here && oid.1 == 0 {
                        self.objects.entry(oid).or_insert(object);
                    }
                }
            }
        }
        if self.objects.contains_key(&id) {
            return Ok(Got::Here);
        }
        self.absent.insert(id);
        Ok(Got::Absent)
    }

    /// A document of the objects taken out (and the trailer).
    fn document(&mut self, keep: &BTreeSet<ObjectId>) -> Document {
        let mut doc = Document::new();
        doc.version = "1.7".into();
        if let Some(t) = &self.sections.trailer {
            for key in [&b"Root"[..], b"Info", b"ID", b"Size"] {
                if let Ok(v) = t.get(key) {
                    doc.trailer.set(key, v.clone());
                }
            }
        }
        for id in keep {
            if let Some(object) = self.objects.remove(id) {
                doc.max_id = doc.max_id.max(id.0);
                doc.objects.insert(*id, object);
            }
        }
        doc
    }
}

/// An object at the start of `buf`, parsed by lopdf as if `buf` were the
/// file. A stream whose `/Length` is another object runs to its
/// `endstream` (the last one before the object's end).
pub(crate) fn parse_indirect(buf: &[u8], id: ObjectId) -> Option<Object> {
    let mut document = Document::new();
    document.reference_table.insert(
        id.0,
        XrefEntry::Normal {
            offset: 0,
            generation: id.1,
        },
    );
    let reader = Reader {
        buffer: buf,
        document,
    };
    let mut object = reader.get_object(id, &mut HashSet::new()).ok()?;
    if let Object::Stream(stream) = &mut object {
        if let (true, Some(from)) = (stream.content.is_empty(), stream.start_position) {
            let data = buf.get(from..)?;
            let mut end = memchr::memmem::rfind(data, b"endstream")?;
            for eol in [b'\n', b'\r'] {
                if end > 0 && data[end - 1] == eol {
                    end -= 1;
                }
            }
            stream.set_content(data[..end].to_vec());
            stream.start_position = None;
        }
    }
    Some(object)
}

#[cfg(test)]
mod tests;
