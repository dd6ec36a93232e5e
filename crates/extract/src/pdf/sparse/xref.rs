//! The cross-reference sections of a PDF read by ranges: `startxref` from
//! the file's tail, then each section (a classic table or a
//! cross-reference stream) and the ones it points back to (`/Prev`,
//! `/XRefStm`), newest first, so that a newer entry hides an older one.

use super::{parse_indirect, Entry};
use crate::pdf::inflate;
use crate::{ExtractError, Limits};
use lopdf::{Dictionary, Object};

/// Sections one document may chain: past this it is a loop or an attack.
const MAX_SECTIONS: usize = 64;
/// The largest window a section is looked for in (a table of about three
/// million entries).
const MAX_WINDOW: u64 = 64 * 1024 * 1024;

/// One section read.
pub(super) struct Section {
    pub entries: Vec<(u32, Entry)>,
    pub trailer: Dictionary,
}

/// Where `startxref` says the newest section is, from the file's tail.
pub(super) fn startxref(tail: &[u8]) -> Option<u64> {
    let at = memchr::memmem::rfind(tail, b"startxref")?;
    let mut t = Tokens::new(&tail[at + 9..]);
    t.int()
}

/// The section at the start of `buf`: `Ok(None)` when `buf` ends before
/// it does (ask again with more bytes).
pub(super) fn section(
    buf: &[u8],
    at_end: bool,
    limits: &Limits,
) -> Result<Option<Section>, ExtractError> {
    let mut t = Tokens::new(buf);
    t.skip_space();
    if t.rest().starts_with(b"xref") {
        t.pos += 4;
        return Ok(classic(&mut t));
    }
    let Some(id) = t.object_header() else {
        return Err(malformed(
            "startxref points at neither a table nor a stream",
        ));
    };
    let Some(Object::Stream(stream)) = parse_indirect(&buf[t.start..], id) else {
        return match at_end {
            true => Err(malformed("its cross-reference stream could not be parsed")),
            false => Ok(None),
        };
    };
    let data = inflate::decoded(&stream, limits, "a cross-reference stream")?;
    let entries = stream_entries(&stream.dict, &data)?;
    Ok(Some(Section {
        entries,
        trailer: stream.dict,
    }))
}

/// The window to read a section in, after one of `len` bytes was short.
pub(super) fn grown(len: u64) -> Result<u64, ExtractError> {
    match len.saturating_mul(4) {
        n if n <= MAX_WINDOW => Ok(n),
        _ => Err(ExtractError::TooLarge(
            "a cross-reference section larger than 64 MiB".into(),
        )),
    }
}

pub(super) fn too_many(sections: usize) -> bool {
    sections >= MAX_SECTIONS
}

/// A classic table: subsections of `first count` and 20-byte entries,
/// then `trailer` and its dictionary.
fn classic(t: &mut Tokens) -> Option<Section> {
    let mut entries = Vec::new();
    loop {
        t.skip_space();
        if t.rest().starts_with(b"trailer") {
            t.pos += 7;
            break;
        }
        let first: u32 = t.int()?.try_into().ok()?;
        let count = t.int()?;
        for i in 0..count {
            let offset = t.int()?;
            let generation = t.int()?;
            let kind = t.word()?;
            let id = first.checked_add(u32::try_from(i).ok()?)?;
            if kind == b"n" {
                entries.push((id, Entry::At(offset, generation.try_into().ok()?)));
            }
        }
    }
    let trailer = parse_dictionary(t.rest())?;
    Some(Section { entries, trailer })
}

/// A dictionary at the start of `bytes`, parsed as the body of an object.
fn parse_dictionary(bytes: &[u8]) -> Option<Dictionary> {
    let mut wrapped = b"1 0 obj\n".to_vec();
    wrapped.extend_from_slice(&bytes[..bytes.len().min(64 * 1024)]);
    wrapped.extend_from_slice(b"\nendobj\n");
    match parse_indirect(&wrapped, (1, 0))? {
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// The rows of a cross-reference stream, as its `/W` and `/Index` lay
/// them out.
fn stream_entries(dict: &Dictionary, data: &[u8]) -> Result<Vec<(u32, Entry)>, ExtractError> {
    let ints = |key: &[u8]| -> Vec<i64> {
        dict.get(key)
            .and_then(Object::as_array)
            .map(|a| a.iter().filter_map(|o| o.as_i64().ok()).collect())
            .unwrap_or_default()
    };
    let widths: Vec<usize> = ints(b"W").iter().map(|&w| w.clamp(0, 8) as usize).collect();
    let [w0, w1, w2] = widths[..] else {
        return Err(malformed(
            "a cross-reference stream's /W is not three widths",
        ));
    };
    let row = w0 + w1 + w2;
    if row == 0 {
        return Err(malformed("a cross-reference stream's rows are empty"));
    }
    let mut index = ints(b"Index");
    if index.is_empty() {
        index = vec![0, dict.get(b"Size").and_then(Object::as_i64).unwrap_or(0)];
    }
    let mut rows = data.chunks_exact(row);
    let mut entries = Vec::new();
    for pair in index.chunks_exact(2) {
        let (Ok(first), Ok(count)) = (u32::try_from(pair[0]), u64::try_from(pair[1])) else {
            return Err(malformed("a cross-reference stream's /Index is negative"));
        };
        for i in 0..count {
            let Some(r) = rows.next() else {
                return Ok(entries);
            };
            let field = |from: usize, width: usize| {
                r[from..from + width]
                    .iter()
                    .fold(0u64, |n, &b| (n << 8) | u64::from(b))
            };
            let kind = if w0 == 0 { 1 } else { field(0, w0) };
            let Some(id) = u32::try_from(i).ok().and_then(|i| first.checked_add(i)) else {
                break;
            };
            match kind {
                1 => entries.push((id, Entry::At(field(w0, w1), field(w0 + w1, w2) as u16))),
                2 => match u32::try_from(field(w0, w1)) {
                    Ok(container) => entries.push((id, Entry::In(container))),
                    Err(_) => continue,
                },
                _ => {}
            }
        }
    }
    Ok(entries)
}

fn malformed(what: &str) -> ExtractError {
    ExtractError::Malformed(format!("PDF cross-reference: {what}"))
}

/// Whitespace-separated tokens of a section.
struct Tokens<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where the last object header began.
    start: usize,
}

impl<'a> Tokens<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Tokens {
            buf,
            pos: 0,
            start: 0,
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos.min(self.buf.len())..]
    }

    fn skip_space(&mut self) {
        while self
            .buf
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == 0)
        {
            self.pos += 1;
        }
    }

    /// The next token; `None` at the end of the buffer (it may go on).
    fn word(&mut self) -> Option<&'a [u8]> {
        self.skip_space();
        let from = self.pos;
        while self
            .buf
            .get(self.pos)
            .is_some_and(|b| !b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
        // A token that touches the end may be cut short.
        (self.pos > from && self.pos < self.buf.len()).then(|| &self.buf[from..self.pos])
    }

    fn int(&mut self) -> Option<u64> {
        let w = self.word()?;
        std::str::from_utf8(w).ok()?.parse().ok()
    }

    /// `n g obj` at the cursor.
    fn object_header(&mut self) -> Option<(u32, u16)> {
        self.skip_space();
        self.start = self.pos;
        let n = u32::try_from(self.int()?).ok()?;
        let g = u16::try_from(self.int()?).ok()?;
        (self.word()? == b"obj").then_some((n, g))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classic_table_cut_short_asks_for_more_and_whole_reads() {
        let table = b"xref\n0 3\n0000000000 65535 f \n0000000015 00000 n \n0000000079 00001 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n120\n%%EOF\n";
        let limits = Limits::default();
        for cut in [10, 40, 90] {
            assert!(section(&table[..cut], false, &limits).unwrap().is_none());
        }
        let s = section(table, true, &limits).unwrap().unwrap();
        assert_eq!(s.entries.len(), 2);
        assert!(matches!(s.entries[1], (2, Entry::At(79, 1))));
        assert!(s.trailer.get(b"Root").is_ok());
        assert_eq!(startxref(table), Some(120));
    }

    #[test]
    fn a_stream_row_layout_reads_offsets_and_containers() {
        let mut dict = Dictionary::new();
        dict.set("W", vec![1.into(), 2.into(), 1.into()]);
        dict.set("Index", vec![5.into(), 2.into()]);
        let data = [1, 0x01, 0x00, 0, 2, 0x00, 0x07, 3];
        let e = stream_entries(&dict, &data).unwrap();
        assert!(matches!(e[0], (5, Entry::At(256, 0))));
        assert!(matches!(e[1], (6, Entry::In(7))));
    }
}
