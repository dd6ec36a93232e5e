//! Content scanning before a document is accepted: the real type from
//! magic bytes and structure must agree with the declared one; executables
//! and scripts, the EICAR test file and zip bombs are refused; macros,
//! active PDF content and encrypted archives are flagged (and refused when
//! configured). Pure: bytes in, a report or a typed refusal out.

pub mod markers;
pub mod zipscan;

use serde::{Deserialize, Serialize};

/// What the scan found, stored with the document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ScanReport {
    /// The type the content really has (family for text).
    pub sniffed_type: String,
    /// Risky features found: `macros`, `pdf_javascript`, `pdf_launch`,
    /// `pdf_embedded_files`, `encrypted`, `encrypted_archive`.
    pub flags: Vec<String>,
}

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScanError {
    #[error("declared as {declared} but the content is {sniffed}")]
    Mismatch { declared: String, sniffed: String },
    #[error("the content is {0}, which is never accepted")]
    Executable(&'static str),
    #[error("the content matches the EICAR anti-malware test signature")]
    Eicar,
    #[error("the archive looks like a zip bomb: {0}")]
    ZipBomb(String),
    #[error("the document contains {0}, which this deployment refuses")]
    Refused(String),
    /// Scanning would need more work or memory than one document may take.
    #[error("{0}")]
    Budget(String),
}

/// Limits for archives at upload.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    pub max_total_uncompressed: u64,
    pub max_ratio: u64,
    pub max_depth: u32,
    /// What nested archives may inflate to in memory, all of them together.
    pub max_inflated: u64,
}

impl Default for ScanLimits {
    fn default() -> ScanLimits {
        ScanLimits {
            max_total_uncompressed: 1024 * 1024 * 1024,
            max_ratio: 200,
            max_depth: 3,
            max_inflated: 32 * 1024 * 1024,
        }
    }
}

const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
const OOXML_DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const OOXML_PPTX: &str =
    "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const OOXML_XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const OLE: &str = "application/x-ole-storage";

fn find(hay: &[u8], needle: &[u8]) -> bool {
    // Parts of uploads are searched whole (8 MiB each): memchr's searcher,
    // not a comparison at every offset.
    memchr::memmem::find(hay, needle).is_some()
}

/// Scans an upload declared as `declared`; `refuse` lists flags to refuse.
pub fn scan(
    declared: &str,
    bytes: &[u8],
    limits: &ScanLimits,
    refuse: &[String],
) -> Result<ScanReport, ScanError> {
    if let Some(kind) = executable(bytes) {
        return Err(ScanError::Executable(kind));
    }
    if find(bytes, EICAR) {
        return Err(ScanError::Eicar);
    }
    let mut report = ScanReport::default();
    let sniffed = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let z = zipscan::inspect(bytes, limits, 0)?;
        report.flags.extend(z.flags);
        z.kind
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        OLE.to_string()
    } else if find(&bytes[..bytes.len().min(1024)], b"%PDF-") {
        report.flags.extend(pdf_flags(bytes));
        "application/pdf".to_string()
    } else if bytes.starts_with(b"{\\rtf") {
        "application/rtf".to_string()
    } else if let Some(image) = image(bytes) {
        image.to_string()
    } else if looks_textual(bytes) {
        "text".to_string()
    } else {
        "application/octet-stream".to_string()
    };
    if !compatible(declared, &sniffed) {
        return Err(ScanError::Mismatch {
            declared: declared.to_string(),
            sniffed,
        });
    }
    if let Some(flag) = report.flags.iter().find(|f| refuse.contains(f)) {
        return Err(ScanError::Refused(flag.replace('_', " ")));
    }
    report.sniffed_type = sniffed;
    Ok(report)
}

fn executable(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"MZ") && b.len() > 0x40 {
        return Some("a Windows executable");
    }
    if b.starts_with(b"\x7fELF") {
        return Some("an ELF executable");
    }
    let magic = b
        .get(..4)
        .map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    if matches!(
        magic,
        Some(0xFEED_FACE | 0xFEED_FACF | 0xCEFA_EDFE | 0xCFFA_EDFE)
    ) {
        return Some("a Mach-O executable");
    }
    if b.starts_with(b"#!") {
        return Some("a script");
    }
    None
}

fn image(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF8") {
        Some("image/gif")
    } else if b.starts_with(b"BM") && bmp_header(b) {
        Some("image/bmp")
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
        Some("image/webp")
    } else {
        None
    }
}

/// A BMP's file header: reserved zeros, then a known DIB header size.
/// (Text may well start with "BM"; it has no NULs there.)
fn bmp_header(b: &[u8]) -> bool {
    let dib = b
        .get(14..18)
        .map(|d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]));
    b.get(6..10) == Some(&[0, 0, 0, 0]) && matches!(dib, Some(12 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// Text of any encoding we read: no NUL bytes, or the NUL pattern of UTF-16 or UTF-32.
fn looks_textual(b: &[u8]) -> bool {
    let sample = &b[..b.len().min(8192)];
    !sample.contains(&0) || crate::text::is_wide(sample)
}

/// PDF names that mark active or hidden content, and the flag of each.
const PDF_MARKERS: [(&[u8], &str); 6] = [
    (b"/JavaScript", "pdf_javascript"),
    (b"/JS ", "pdf_javascript"),
    (b"/JS(", "pdf_javascript"),
    (b"/Launch", "pdf_launch"),
    (b"/EmbeddedFile", "pdf_embedded_files"),
    (b"/Encrypt", "encrypted"),
];

fn pdf_flags(b: &[u8]) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    for (needle, flag) in PDF_MARKERS {
        if !flags.iter().any(|f| f == flag) && find(b, needle) {
            flags.push(flag.to_string());
        }
    }
    flags
}

/// Scans a document too large to hold: its type from its first part
/// (`head`); an archive's members from its central directory (`archive`,
/// read from its end; `None` when it could not be read: then taken as
/// declared and flagged `not_scanned_large_archive`); and the signatures
/// [`markers`] found
/// through the whole of it (`hits`).
pub fn scan_large(
    declared: &str,
    head: &[u8],
    archive: Option<&[zipscan::Entry]>,
    hits: &[String],
    refuse: &[String],
) -> Result<ScanReport, ScanError> {
    if hits.iter().any(|h| h == markers::EICAR_HIT) {
        return Err(ScanError::Eicar);
    }
    let mut report = if head.starts_with(b"PK") {
        let (sniffed, flags) = match archive {
            Some(entries) => {
                let facts = zipscan::inspect_directory(head, entries, &ScanLimits::default())?;
                (facts.kind, facts.flags)
            }
            // Unread: taken as declared, and flagged.
            None => (
                declared.to_string(),
                vec!["not_scanned_large_archive".into()],
            ),
        };
        if !compatible(declared, &sniffed) {
            return Err(ScanError::Mismatch {
                declared: declared.to_string(),
                sniffed,
            });
        }
        ScanReport {
            sniffed_type: sniffed,
            flags,
        }
    } else {
        scan(declared, head, &ScanLimits::default(), &[])?
    };
    for hit in hits {
        if !report.flags.contains(hit) {
            report.flags.push(hit.clone());
        }
    }
    if let Some(flag) = report.flags.iter().find(|f| refuse.contains(f)) {
        return Err(ScanError::Refused(flag.replace('_', " ")));
    }
    Ok(report)
}

/// Whether content of type `sniffed` may be accepted as `declared`.
fn compatible(declared: &str, sniffed: &str) -> bool {
    let ooxml = declared.starts_with("application/vnd.openxmlformats-officedocument.");
    match declared {
        "application/pdf" | "application/rtf" | "application/epub+zip" => sniffed == declared,
        "application/vnd.oasis.opendocument.text" => sniffed == declared,
        // Password-protected OOXML is stored inside an OLE container.
        _ if ooxml => sniffed == declared || sniffed == OLE,
        "application/zip" => {
            sniffed.contains("zip")
                || [OOXML_DOCX, OOXML_PPTX, OOXML_XLSX].contains(&sniffed)
                || sniffed.contains("opendocument")
        }
        "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.ms-outlook" => sniffed == OLE,
        d if d.starts_with("image/") => sniffed == d,
        // Text formats: any text; an .eml may carry 8-bit bytes too.
        _ => sniffed == "text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(declared: &str, bytes: &[u8]) -> Result<ScanReport, ScanError> {
        scan(declared, bytes, &ScanLimits::default(), &[])
    }

    #[test]
    fn text_that_starts_like_a_bitmap_is_still_text() {
        let csv = b"BMW,Munich,1916\nAudi,Ingolstadt,1909\nOpel,Russelsheim,1862\n";
        assert!(ok("text/csv", csv).is_ok());
        let mut bmp = b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        bmp.resize(70, 0);
        assert_eq!(ok("image/bmp", &bmp).unwrap().sniffed_type, "image/bmp");
    }

    #[test]
    fn a_png_declared_as_text_is_a_mismatch_naming_both() {
        let err = ok("text/plain", b"\x89PNG\r\n\x1a\n....").unwrap_err();
        assert_eq!(
            err,
            ScanError::Mismatch {
                declared: "text/plain".into(),
                sniffed: "image/png".into()
            }
        );
        assert!(err.to_string().contains("image/png"));
    }

    #[test]
    fn executables_scripts_and_eicar_are_refused() {
        let mut pe = b"MZ".to_vec();
        pe.resize(100, 0);
        assert!(matches!(
            ok("application/pdf", &pe),
            Err(ScanError::Executable(_))
        ));
        assert!(matches!(
            ok("text/plain", b"#!/bin/sh\nrm -rf /"),
            Err(ScanError::Executable("a script"))
        ));
        assert!(matches!(
            ok("text/plain", b"\x7fELF\x02"),
            Err(ScanError::Executable(_))
        ));
        assert_eq!(ok("text/plain", EICAR), Err(ScanError::Eicar));
    }

    #[test]
    fn active_pdf_content_is_flagged_and_refused_on_request() {
        let pdf = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>";
        assert_eq!(
            ok("application/pdf", pdf).unwrap().flags,
            vec!["pdf_javascript"]
        );
        let refuse = vec!["pdf_javascript".to_string()];
        let err = scan("application/pdf", pdf, &ScanLimits::default(), &refuse).unwrap_err();
        assert!(matches!(err, ScanError::Refused(_)));
    }

    #[test]
    fn a_large_archive_whose_directory_was_not_read_is_taken_as_declared() {
        let docx = OOXML_DOCX;
        let report = scan_large(docx, b"PK\x03\x04 rest", None, &[], &[]).unwrap();
        assert_eq!(report.sniffed_type, docx);
        assert_eq!(report.flags, vec!["not_scanned_large_archive"]);
        let eicar = vec![markers::EICAR_HIT.to_string()];
        assert_eq!(
            scan_large(docx, b"PK", None, &eicar, &[]),
            Err(ScanError::Eicar)
        );
    }

    #[test]
    fn text_types_accept_text_and_utf16() {
        assert_eq!(ok("text/csv", b"a,b\n1,2").unwrap().sniffed_type, "text");
        let utf16: Vec<u8> = "hello world"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(ok("text/plain", &utf16).is_ok());
        assert!(ok(
            "application/json",
            b"\x00\x01\x02\x03binary\x00\x00\x00\x07"
        )
        .is_err());
    }
}
