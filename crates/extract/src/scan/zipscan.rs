//! ZIP structure at upload: which container it is (DOCX, PPTX, XLSX, ODT,
//! EPUB, plain ZIP), macros and encryption, and zip-bomb limits checked
//! from the central directory, with nested archives opened up to a depth.

use super::{ScanError, ScanLimits};
use std::io::{Cursor, Read};
use zip::ZipArchive;

pub struct ZipFacts {
    pub kind: String,
    pub flags: Vec<String>,
}

fn bomb(why: String) -> ScanError {
    ScanError::ZipBomb(why)
}

pub fn inspect(bytes: &[u8], limits: &ScanLimits, depth: u32) -> Result<ZipFacts, ScanError> {
    let mut budget = limits.max_inflated;
    inspect_within(bytes, limits, depth, &mut budget)
}

/// [`inspect`], with `budget` the bytes that nested members may still
/// inflate to, shared by every archive inside this document: a small
/// upload can never make the scan hold more than that.
fn inspect_within(
    bytes: &[u8],
    limits: &ScanLimits,
    depth: u32,
    budget: &mut u64,
) -> Result<ZipFacts, ScanError> {
    if depth > limits.max_depth {
        return Err(bomb(format!(
            "archives nested more than {} deep",
            limits.max_depth
        )));
    }
    let Ok(mut zip) = ZipArchive::new(Cursor::new(bytes)) else {
        // Not a readable archive: the extractor will report it as malformed.
        return Ok(ZipFacts {
            kind: "application/zip".into(),
            flags: vec![],
        });
    };
    let entries: Vec<Entry> = (0..zip.len())
        .filter_map(|i| {
            let f = zip.by_index_raw(i).ok()?;
            Some(Entry {
                name: f.name().to_string(),
                compressed: f.compressed_size(),
                uncompressed: f.size(),
                encrypted: f.encrypted(),
            })
        })
        .collect();
    let Checked {
        mut flags,
        names,
        nested,
    } = check(&entries, limits)?;
    for i in nested {
        let mut inner = Vec::new();
        if let Ok(f) = zip.by_index(i) {
            let size = f.size();
            if size > *budget {
                return Err(ScanError::Budget(format!(
                    "nested archive {} would inflate past the scan's budget of {} bytes",
                    f.name(),
                    limits.max_inflated
                )));
            }
            // The declared size bounds the read: a member that inflates
            // further than it says is cut there.
            let _ = f.take(size).read_to_end(&mut inner);
            *budget -= inner.len() as u64;
        }
        let facts = inspect_within(&inner, limits, depth + 1, budget)?;
        flags.extend(facts.flags.into_iter().filter(|f| f == "macros"));
    }
    let kind = kind_of(&mut zip, &names);
    Ok(ZipFacts { kind, flags })
}

/// One member of an archive, as its central directory describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub compressed: u64,
    pub uncompressed: u64,
    pub encrypted: bool,
}

struct Checked {
    flags: Vec<String>,
    names: Vec<String>,
    /// Indexes of the members that are archives themselves.
    nested: Vec<usize>,
}

/// The zip-bomb limits, encryption and macros, from the members alone.
fn check(entries: &[Entry], limits: &ScanLimits) -> Result<Checked, ScanError> {
    let mut out = Checked {
        flags: Vec::new(),
        names: Vec::new(),
        nested: Vec::new(),
    };
    let mut total: u64 = 0;
    let flag = |flags: &mut Vec<String>, f: &str| {
        if !flags.iter().any(|x| x == f) {
            flags.push(f.to_string());
        }
    };
    for (i, e) in entries.iter().enumerate() {
        total = total.saturating_add(e.uncompressed);
        if total > limits.max_total_uncompressed {
            return Err(bomb(format!(
                "more than {} bytes uncompressed",
                limits.max_total_uncompressed
            )));
        }
        if e.uncompressed > 1024 * 1024 && e.uncompressed / e.compressed.max(1) > limits.max_ratio {
            return Err(bomb(format!(
                "{} expands more than {}:1",
                e.name, limits.max_ratio
            )));
        }
        if e.encrypted {
            flag(&mut out.flags, "encrypted_archive");
        }
        if e.name.ends_with("vbaProject.bin") {
            flag(&mut out.flags, "macros");
        }
        if e.name.to_ascii_lowercase().ends_with(".zip") && !e.encrypted {
            out.nested.push(i);
        }
        out.names.push(e.name.clone());
    }
    Ok(out)
}

/// The container an archive is by its member names (Office Open XML).
fn ooxml_kind(names: &[String]) -> Option<&'static str> {
    let has = |p: &str| names.iter().any(|n| n.starts_with(p));
    if !has("[Content_Types].xml") {
        return None;
    }
    if has("word/") {
        Some(super::OOXML_DOCX)
    } else if has("ppt/") {
        Some(super::OOXML_PPTX)
    } else if has("xl/") {
        Some(super::OOXML_XLSX)
    } else {
        None
    }
}

fn kind_of(zip: &mut ZipArchive<Cursor<&[u8]>>, names: &[String]) -> String {
    if let Some(kind) = ooxml_kind(names) {
        return kind.into();
    }
    if let Ok(mut f) = zip.by_name("mimetype") {
        let mut m = String::new();
        if f.by_ref().take(100).read_to_string(&mut m).is_ok() {
            let m = m.trim();
            if m == "application/epub+zip" || m == "application/vnd.oasis.opendocument.text" {
                return m.to_string();
            }
        }
    }
    "application/zip".into()
}

/// Where an archive's central directory is, from its last bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Directory {
    /// At this offset, of this many bytes.
    At { offset: u64, size: u64 },
    /// Described by the ZIP64 end record at this offset (56 bytes).
    Zip64Record(u64),
    /// No end record: not a readable archive.
    Missing,
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(
        b.get(at..at + 4)?.try_into().ok()?,
    )))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Bytes from the end of an archive that hold its end record, whatever
/// its comment: 22 + 65,535, and 20 for a ZIP64 locator before it.
pub const TAIL_BYTES: u64 = 22 + 65_535 + 20;

/// Finds the central directory from the archive's last bytes (`tail`).
pub fn locate_directory(tail: &[u8]) -> Directory {
    let Some(end) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
    else {
        return Directory::Missing;
    };
    let (Some(size), Some(offset)) = (u32_at(tail, end + 12), u32_at(tail, end + 16)) else {
        return Directory::Missing;
    };
    if size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        // ZIP64: the locator sits just before the end record.
        let locator = end
            .checked_sub(20)
            .filter(|&l| tail[l..].starts_with(b"PK\x06\x07"));
        return match locator.and_then(|l| u64_at(tail, l + 8)) {
            Some(record) => Directory::Zip64Record(record),
            None => Directory::Missing,
        };
    }
    Directory::At { offset, size }
}

/// The directory's place from a ZIP64 end record.
pub fn zip64_directory(record: &[u8]) -> Directory {
    if !record.starts_with(b"PK\x06\x06") {
        return Directory::Missing;
    }
    match (u64_at(record, 40), u64_at(record, 48)) {
        (Some(size), Some(offset)) => Directory::At { offset, size },
        _ => Directory::Missing,
    }
}

/// The members a central directory lists (ZIP64 sizes included).
pub fn parse_directory(cd: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while cd.get(at..at + 4) == Some(b"PK\x01\x02") {
        let field = |o: usize, width: usize| match width {
            2 => u16_at(cd, at + o),
            _ => u32_at(cd, at + o),
        };
        let (Some(flags), Some(mut compressed), Some(mut uncompressed)) =
            (field(8, 2), field(20, 4), field(24, 4))
        else {
            return Err(format!("directory entry at {at} is cut short"));
        };
        let (Some(name_len), Some(extra_len), Some(comment_len)) =
            (field(28, 2), field(30, 2), field(32, 2))
        else {
            return Err(format!("directory entry at {at} is cut short"));
        };
        let name_start = at + 46;
        let extra_start = name_start + name_len as usize;
        let next = extra_start + extra_len as usize + comment_len as usize;
        let (Some(name), Some(extra)) = (
            cd.get(name_start..extra_start),
            cd.get(extra_start..extra_start + extra_len as usize),
        ) else {
            return Err(format!("directory entry at {at} is cut short"));
        };
        // ZIP64 extra field (0x0001): the 64-bit sizes that are maxed out.
        let mut e = 0;
        while e + 4 <= extra.len() {
            let (id, len) = (u16_at(extra, e), u16_at(extra, e + 2).unwrap_or(0) as usize);
            let body = extra.get(e + 4..e + 4 + len).unwrap_or(&[]);
            if id == Some(1) {
                let mut o = 0;
                for size in [&mut uncompressed, &mut compressed] {
                    if *size == 0xFFFF_FFFF {
                        *size = u64_at(body, o).unwrap_or(u64::MAX);
                        o += 8;
                    }
                }
            }
            e += 4 + len;
        }
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            compressed,
            uncompressed,
            encrypted: flags & 1 == 1,
        });
        at = next;
    }
    Ok(out)
}

/// What a large archive is, from its central directory (and its first
/// bytes for the `mimetype` member that EPUB and ODF put first, stored).
/// Members that are archives themselves are not opened: flagged.
pub fn inspect_directory(
    head: &[u8],
    entries: &[Entry],
    limits: &ScanLimits,
) -> Result<ZipFacts, ScanError> {
    let Checked {
        mut flags,
        names,
        nested,
    } = check(entries, limits)?;
    if !nested.is_empty() {
        flags.push("nested_archive_not_scanned".to_string());
    }
    let kind = match (ooxml_kind(&names), stored_mimetype(head)) {
        (Some(kind), _) => kind.to_string(),
        (None, Some(m @ ("application/epub+zip" | "application/vnd.oasis.opendocument.text"))) => {
            m.to_string()
        }
        _ => "application/zip".into(),
    };
    Ok(ZipFacts { kind, flags })
}

/// The content of a first member named `mimetype`, stored uncompressed
/// as EPUB and ODF require.
fn stored_mimetype(head: &[u8]) -> Option<&str> {
    if !head.starts_with(b"PK\x03\x04") || u16_at(head, 8)? != 0 {
        return None;
    }
    let (len, name_len, extra_len) = (u32_at(head, 18)?, u16_at(head, 26)?, u16_at(head, 28)?);
    if head.get(30..30 + name_len as usize)? != b"mimetype" {
        return None;
    }
    let start = 30 + (name_len + extra_len) as usize;
    let body = head.get(start..start + len.min(100) as usize)?;
    std::str::from_utf8(body).ok().map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zipped::zip_of;

    #[test]
    fn bombs_by_ratio_and_by_nesting_are_refused() {
        let bomb = zip_of(&[("zeros.txt", &vec![0u8; 4 * 1024 * 1024])]);
        assert!(matches!(
            inspect(&bomb, &ScanLimits::default(), 0),
            Err(ScanError::ZipBomb(_))
        ));
        let mut nested = zip_of(&[("a.txt", b"x")]);
        for i in 0..4 {
            nested = zip_of(&[(&format!("n{i}.zip"), &nested)]);
        }
        assert!(matches!(
            inspect(&nested, &ScanLimits::default(), 0),
            Err(ScanError::ZipBomb(_))
        ));
    }

    /// The facts of an archive read the way a large one is: its end and
    /// its directory only.
    fn by_directory(bytes: &[u8]) -> Result<ZipFacts, ScanError> {
        let tail = &bytes[bytes.len().saturating_sub(TAIL_BYTES as usize)..];
        let Directory::At { offset, size } = locate_directory(tail) else {
            panic!("no directory");
        };
        let cd = &bytes[offset as usize..(offset + size) as usize];
        inspect_directory(bytes, &parse_directory(cd).unwrap(), &ScanLimits::default())
    }

    #[test]
    fn the_directory_alone_tells_kind_macros_bombs_and_nesting() {
        let docm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
            ("word/vbaProject.bin", b"macro"),
        ]);
        let facts = by_directory(&docm).unwrap();
        assert_eq!(
            (facts.kind.as_str(), facts.flags),
            (crate::scan::OOXML_DOCX, vec!["macros".to_string()])
        );
        let bomb = zip_of(&[("zeros.txt", &vec![0u8; 4 * 1024 * 1024])]);
        assert!(matches!(by_directory(&bomb), Err(ScanError::ZipBomb(_))));
        let nested = zip_of(&[("inner.zip", &zip_of(&[("a.txt", b"x")]))]);
        assert_eq!(
            by_directory(&nested).unwrap().flags,
            vec!["nested_archive_not_scanned"]
        );
        let epub = {
            use std::io::Write;
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
            w.start_file("mimetype", stored).unwrap();
            w.write_all(b"application/epub+zip").unwrap();
            w.start_file("content.opf", stored).unwrap();
            w.write_all(b"<p/>").unwrap();
            w.finish().unwrap().into_inner()
        };
        assert_eq!(by_directory(&epub).unwrap().kind, "application/epub+zip");
        // The same facts as the whole-archive scan for what both see.
        for z in [&docm, &epub] {
            let whole = inspect(z, &ScanLimits::default(), 0).unwrap();
            assert_eq!(by_directory(z).unwrap().kind, whole.kind);
        }
    }

    #[test]
    fn every_corpus_archive_reads_the_same_by_its_directory_alone() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/example-docs");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("the shared corpus") {
            let path = entry.unwrap().path();
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !bytes.starts_with(b"PK") {
                continue;
            }
            seen += 1;
            let whole = inspect(&bytes, &ScanLimits::default(), 0);
            let sparse = by_directory(&bytes);
            match (whole, sparse) {
                (Ok(w), Ok(d)) => {
                    assert_eq!(w.kind, d.kind, "{path:?}");
                    assert_eq!(w.flags, d.flags, "{path:?}");
                }
                (w, d) => assert_eq!(w.is_ok(), d.is_ok(), "{path:?}"),
            }
        }
        assert!(seen >= 20, "{seen} archives");
    }

    #[test]
    fn a_missing_or_cut_directory_is_told_apart() {
        assert_eq!(locate_directory(b"no archive here"), Directory::Missing);
        let z = zip_of(&[("a.txt", b"hello")]);
        let Directory::At { offset, size } = locate_directory(&z) else {
            panic!()
        };
        let cd = &z[offset as usize..(offset + size) as usize];
        assert_eq!(parse_directory(cd).unwrap().len(), 1);
        assert!(parse_directory(&cd[..cd.len() - 3]).is_err());
        // A ZIP64 end record: located through its locator.
        let mut record = b"PK\x06\x06".to_vec();
        record.resize(56, 0);
        record[40..48].copy_from_slice(&100u64.to_le_bytes());
        record[48..56].copy_from_slice(&5_000_000_000u64.to_le_bytes());
        assert_eq!(
            zip64_directory(&record),
            Directory::At {
                offset: 5_000_000_000,
                size: 100
            }
        );
        let mut tail = b"PK\x06\x07\0\0\0\0".to_vec();
        tail.extend_from_slice(&7_000_000_000u64.to_le_bytes());
        tail.extend_from_slice(&[1, 0, 0, 0]);
        tail.extend_from_slice(b"PK\x05\x06");
        tail.extend_from_slice(&[0xFF; 18]);
        assert_eq!(
            locate_directory(&tail),
            Directory::Zip64Record(7_000_000_000)
        );
    }

    #[test]
    fn office_containers_and_macros_are_recognised() {
        let docm = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", b"<w:document/>"),
            ("word/vbaProject.bin", b"macro"),
        ]);
        let facts = inspect(&docm, &ScanLimits::default(), 0).unwrap();
        assert_eq!(facts.kind, crate::scan::OOXML_DOCX);
        assert_eq!(facts.flags, vec!["macros"]);
        let epub = zip_of(&[
            ("mimetype", b"application/epub+zip"),
            ("content.opf", b"<p/>"),
        ]);
        assert_eq!(
            inspect(&epub, &ScanLimits::default(), 0).unwrap().kind,
            "application/epub+zip"
        );
    }
}
