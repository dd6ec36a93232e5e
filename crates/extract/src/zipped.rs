//! ZIP containers: a size-guarded reader used by every zip-based format
//! (OOXML, ODT, EPUB), and the extractor for plain `.zip` uploads, whose
//! members are extracted recursively.
//!
//! Guards against zip bombs: every member read draws from the document's
//! one decompression budget ([`Limits`], shared with nested archives and
//! attachments), a compression-ratio cap per member, and reads capped at
//! the declared size (a lying header cannot make us read more).

use super::model::{Element, Kind};
use super::{extract_nested, ExtractError, Extraction, Limits};
use crate::media::media_type_for_filename;
use std::io::{Cursor, Read};
use zip::result::ZipError;
use zip::ZipArchive;

/// A zip archive being read under limits.
pub struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    limits: &'a Limits,
}

impl<'a> Archive<'a> {
    pub fn open(bytes: &'a [u8], limits: &'a Limits) -> Result<Archive<'a>, ExtractError> {
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ExtractError::Malformed(format!("not a readable ZIP container: {e}")))?;
        Ok(Archive { zip, limits })
    }

    /// Names of the file entries, in archive order.
    pub fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter(|n| !n.ends_with('/'))
            .map(str::to_string)
            .collect()
    }

    /// Reads one member; `None` when absent.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let mut file = match self.zip.by_name(name) {
            Ok(f) => f,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(ZipError::UnsupportedArchive(msg)) if msg.contains("assword") => {
                return Err(ExtractError::Encrypted)
            }
            Err(e) => return Err(ExtractError::Malformed(format!("ZIP member {name}: {e}"))),
        };
        if file.encrypted() {
            return Err(ExtractError::Encrypted);
        }
        let size = file.size();
        let packed = file.compressed_size().max(1);
        let max_ratio = self.limits.max_compression_ratio;
        if size > 1024 * 1024 && size / packed > max_ratio {
            return Err(ExtractError::TooLarge(format!(
                "member {name} has a compression ratio above {max_ratio}:1"
            )));
        }
        // Charged before the read, at the declared size, which also caps
        // the read: a lying header cannot make it hold more.
        self.limits
            .take_inflated(size, &format!("ZIP member {name}"))?;
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(16 << 20));
        (&mut file)
            .take(size)
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::Malformed(format!("ZIP member {name}: {e}")))?;
        Ok(Some(out))
    }

    /// Reads a member that must exist.
    pub fn require(&mut self, name: &str) -> Result<Vec<u8>, ExtractError> {
        self.read(name)?
            .ok_or_else(|| ExtractError::Malformed(format!("missing {name}")))
    }
}

/// Extracts every member whose type we know, each under a heading with its
/// path; others are listed in warnings.
pub fn extract(bytes: &[u8], limits: &Limits, depth: u32) -> Result<Extraction, ExtractError> {
    let mut archive = Archive::open(bytes, limits)?;
    let mut out = Extraction {
        elements: Vec::new(),
        pages: 0,
        warnings: Vec::new(),
    };
    for name in archive.names() {
        let Some(media_type) = media_type_for_filename(&name) else {
            out.warnings.push(format!("skipped {name}: unknown type"));
            continue;
        };
        let data = match archive.read(&name) {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(ExtractError::Encrypted) => {
                out.warnings.push(format!("skipped {name}: encrypted"));
                continue;
            }
            Err(e) => return Err(e),
        };
        match extract_nested(media_type, &data, limits, depth + 1) {
            Ok(inner) => {
                out.elements
                    .push(Element::new(Kind::Heading { level: 2 }, name.clone()));
                out.elements.extend(inner.elements);
                out.pages += inner.pages;
                out.warnings
                    .extend(inner.warnings.into_iter().map(|w| format!("{name}: {w}")));
            }
            Err(e @ ExtractError::TooLarge(_)) => return Err(e),
            Err(e) => out.warnings.push(format!("skipped {name}: {e}")),
        }
    }
    out.pages = out.pages.max(1);
    Ok(out)
}

/// Builds a stored-in-memory ZIP of the given files (tests only; shared
/// with the upload scanner's tests).
#[cfg(test)]
pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_extracted_under_their_names() {
        let z = zip_of(&[("a.txt", b"alpha"), ("b.md", b"# Beta"), ("c.bin", b"\0\0")]);
        let ex = extract(&z, &Limits::default(), 0).unwrap();
        assert_eq!(ex.text(), "a.txt\n\nalpha\n\nb.md\n\nBeta");
        assert_eq!(ex.warnings, vec!["skipped c.bin: unknown type"]);
    }

    #[test]
    fn a_zip_bomb_is_refused() {
        let z = zip_of(&[("big.txt", &vec![b'a'; 8 * 1024 * 1024])]);
        let err = extract(&z, &Limits::default(), 0).unwrap_err();
        assert!(matches!(err, ExtractError::TooLarge(_)), "{err:?}");
        let tight = Limits {
            max_decompressed_bytes: 1000,
            ..Limits::default()
        };
        let z = zip_of(&[("a.txt", &[b'a'; 2000])]);
        assert!(matches!(
            extract(&z, &tight, 0),
            Err(ExtractError::TooLarge(_))
        ));
    }

    #[test]
    fn nested_archives_share_one_budget() {
        // Each inner archive fits alone; together they do not. Before, every
        // archive had a budget of its own, so nesting multiplied it.
        let inner = zip_of(&[("a.txt", &vec![b'a'; 600 * 1024])]);
        let outer = zip_of(&[("one.zip", &inner), ("two.zip", &inner)]);
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024 + 3 * inner.len() as u64,
            ..Limits::default()
        };
        let err = extract(&outer, &limits, 0).unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("in all")),
            "{err:?}"
        );
        let one = zip_of(&[("one.zip", &inner)]);
        assert!(extract(&one, &limits.clone(), 0).is_ok());
    }

    #[test]
    fn nesting_beyond_the_depth_limit_is_refused() {
        let mut z = zip_of(&[("x.txt", b"deep")]);
        for i in 0..4 {
            z = zip_of(&[(&format!("l{i}.zip"), &z)]);
        }
        let ex = extract(&z, &Limits::default(), 0).unwrap_err();
        assert!(matches!(ex, ExtractError::TooLarge(_)));
    }
}
