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
    let mut flags = Vec::new();
    let mut total: u64 = 0;
    let mut names = Vec::new();
    let mut nested = Vec::new();
    for i in 0..zip.len() {
        let Ok(f) = zip.by_index_raw(i) else { continue };
        let name = f.name().to_string();
        total = total.saturating_add(f.size());
        if total > limits.max_total_uncompressed {
            return Err(bomb(format!(
                "more than {} bytes uncompressed",
                limits.max_total_uncompressed
            )));
        }
        if f.size() > 1024 * 1024 && f.size() / f.compressed_size().max(1) > limits.max_ratio {
            return Err(bomb(format!(
                "{name} expands more than {}:1",
                limits.max_ratio
            )));
        }
        if f.encrypted() && !flags.iter().any(|x| x == "encrypted_archive") {
            flags.push("encrypted_archive".to_string());
        }
        if name.ends_with("vbaProject.bin") && !flags.iter().any(|x| x == "macros") {
            flags.push("macros".to_string());
        }
        if name.to_ascii_lowercase().ends_with(".zip") && !f.encrypted() {
            nested.push(i);
        }
        names.push(name);
    }
    for i in nested {
        let mut inner = Vec::new();
        if let Ok(f) = zip.by_index(i) {
            let size = f.size();
            let _ = f.take(size).read_to_end(&mut inner);
        }
        let facts = inspect(&inner, limits, depth + 1)?;
        flags.extend(facts.flags.into_iter().filter(|f| f == "macros"));
    }
    let kind = kind_of(&mut zip, &names);
    Ok(ZipFacts { kind, flags })
}

fn kind_of(zip: &mut ZipArchive<Cursor<&[u8]>>, names: &[String]) -> String {
    let has = |p: &str| names.iter().any(|n| n.starts_with(p));
    if has("[Content_Types].xml") {
        if has("word/") {
            return super::OOXML_DOCX.into();
        }
        if has("ppt/") {
            return super::OOXML_PPTX.into();
        }
        if has("xl/") {
            return super::OOXML_XLSX.into();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::zipped::zip_of;

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
