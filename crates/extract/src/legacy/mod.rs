//! Legacy Office and Outlook: Word, Excel and PowerPoint 97–2003 (`.doc`,
//! `.xls`, `.ppt`) and Outlook messages (`.msg`). All four are Compound
//! File Binary containers, opened with `cfb`; what is inside each is read
//! here, by the published formats ([MS-DOC], [MS-XLS], [MS-PPT],
//! [MS-OXMSG]), for text and structure only. Every stream read is charged
//! to the document's budget, and every count a file declares is checked
//! against the bytes it really has.

mod doc;
mod msg;
mod ppt;
mod xls;

pub use doc::extract as doc;
pub use msg::extract as msg;
pub use ppt::extract as ppt;
pub use xls::extract as xls;

use crate::{ExtractError, Limits};
use std::io::{Cursor, Read};

const OOXML_TWINS: [(&str, &str); 3] = [
    (
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
];

/// The type an Office document really is when its name or declared type
/// says the other generation: a `.doc` that is a ZIP is a `.docx` (Word
/// saves those when asked for the old name), and a `.docx` that is a
/// compound file is a `.doc` unless it is an encrypted package (which
/// OOXML encryption wraps in a compound file).
pub(crate) fn office_twin(media_type: &str, bytes: &[u8]) -> Option<&'static str> {
    let zip = bytes.starts_with(b"PK\x03\x04");
    let compound = bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    for (legacy, ooxml) in OOXML_TWINS {
        if media_type == legacy && zip {
            return Some(ooxml);
        }
        if media_type == ooxml && compound && !encrypted_package(bytes) {
            return Some(legacy);
        }
    }
    None
}

/// Whether a compound file is an encrypted OOXML package.
pub(crate) fn encrypted_package(bytes: &[u8]) -> bool {
    Container::open(bytes, "package").is_ok_and(|c| c.exists("EncryptedPackage"))
}

/// An opened compound file.
pub(crate) struct Container<'a> {
    cfb: cfb::CompoundFile<Cursor<&'a [u8]>>,
}

impl<'a> Container<'a> {
    pub(crate) fn open(bytes: &'a [u8], what: &str) -> Result<Container<'a>, ExtractError> {
        cfb::CompoundFile::open(Cursor::new(bytes))
            .map(|cfb| Container { cfb })
            .map_err(|e| ExtractError::Malformed(format!("not a {what} (compound file: {e})")))
    }

    /// A stream's bytes, or `None` when there is no such stream.
    pub(crate) fn stream(
        &mut self,
        path: &str,
        limits: &Limits,
    ) -> Result<Option<Vec<u8>>, ExtractError> {
        if !self.cfb.is_stream(path) {
            return Ok(None);
        }
        let mut s = self
            .cfb
            .open_stream(path)
            .map_err(|e| ExtractError::Malformed(format!("stream {path}: {e}")))?;
        let cap = limits.inflation_cap();
        let mut out = Vec::new();
        s.by_ref()
            .take(cap.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::Malformed(format!("stream {path}: {e}")))?;
        if out.len() as u64 > cap {
            return Err(limits.past_inflation_cap(&format!("the stream {path}")));
        }
        limits.take_inflated(out.len() as u64, "a stream")?;
        Ok(Some(out))
    }

    /// A stream that must be there.
    pub(crate) fn require(&mut self, path: &str, limits: &Limits) -> Result<Vec<u8>, ExtractError> {
        self.stream(path, limits)?
            .ok_or_else(|| ExtractError::Malformed(format!("the stream {path} is missing")))
    }

    pub(crate) fn exists(&self, path: &str) -> bool {
        self.cfb.exists(path)
    }

    /// Names of the storages directly inside `path`, sorted.
    pub(crate) fn storages(&self, path: &str) -> Vec<String> {
        let mut names: Vec<String> = match self.cfb.read_storage(path) {
            Ok(entries) => entries
                .filter(|e| e.is_storage())
                .map(|e| e.name().to_string())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

/// Little-endian readers that say `None` past the end instead of panicking.
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// UTF-16LE text, stopping at the first NUL.
pub(crate) fn utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Text of 8-bit characters in a Windows code page (1252 unless told).
pub(crate) fn codepage(b: &[u8], page: u16) -> String {
    let label = match page {
        874 => "windows-874".to_string(),
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        1250..=1258 => format!("windows-{page}"),
        10000 => "macintosh".to_string(),
        65001 => "utf-8".to_string(),
        _ => "windows-1252".to_string(),
    };
    let enc =
        encoding_rs::Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::WINDOWS_1252);
    enc.decode_without_bom_handling(b).0.into_owned()
}

/// Records of the form type (u16), length (u16), data: BIFF's. Stops at
/// the end or at a record that would run past it.
pub(crate) fn records(b: &[u8], from: usize) -> impl Iterator<Item = (usize, u16, &[u8])> {
    let mut at = from;
    std::iter::from_fn(move || {
        let kind = u16_at(b, at)?;
        let len = usize::from(u16_at(b, at + 2)?);
        let data = b.get(at + 4..at + 4 + len)?;
        let here = at;
        at += 4 + len;
        Some((here, kind, data))
    })
}
