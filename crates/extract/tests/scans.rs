//! Scanned PDFs as a scanner and tiff2pdf make them (fixtures/scanned.pdf,
//! written by fixtures/make_scanned_pdf.py): the text layer is read, and
//! the pages without one are handed back as images, decoded upright.

use quire_extract::{extract, extract_with_scans, Limits};

const SCANNED: &[u8] = include_bytes!("fixtures/scanned.pdf");

#[test]
fn a_scanned_pdfs_pages_without_text_are_handed_over_as_upright_images() {
    let (ex, scans) = extract_with_scans("application/pdf", SCANNED).unwrap();
    assert_eq!(ex.pages, 3);
    assert_eq!(ex.text().trim(), "A cover page with a text layer.");
    assert!(ex.warnings.is_empty(), "{:?}", ex.warnings);
    let pages: Vec<u32> = scans.iter().map(|s| s.page).collect();
    assert_eq!(pages, vec![2, 3]);
    for scan in &scans {
        // Page 2 is a Group 4 scan; page 3 a JPEG stored sideways under
        // /Rotate 90: both come out 1700 × 700, dark text on white.
        let r = scan.raster(&Limits::default()).unwrap();
        assert_eq!((r.width, r.height), (1700, 700), "page {}", scan.page);
        let dark = r.gray.iter().filter(|&&g| g < 128).count();
        assert!(
            dark > 2_000 && dark < r.gray.len() / 10,
            "page {}: {dark} dark pixels",
            scan.page
        );
    }
}

#[test]
fn without_an_ocr_engine_the_scanned_pages_are_named_in_a_warning() {
    let ex = extract("application/pdf", SCANNED).unwrap();
    assert_eq!(ex.text().trim(), "A cover page with a text layer.");
    assert!(
        ex.warnings[0].starts_with("no_text_layer: 2 pages are images without text (page 2, 3)"),
        "{:?}",
        ex.warnings
    );
}

/// A scan stored as JPEG 2000 (fixtures/scanned-jpx.pdf, written by
/// fixtures/make_jpx_pdf.py): 1275 × 1650 grey with three lines of text.
#[test]
fn a_jpeg_2000_page_image_is_decoded_for_ocr() {
    let pdf = include_bytes!("fixtures/scanned-jpx.pdf");
    let (ex, scans) = extract_with_scans("application/pdf", pdf).unwrap();
    assert_eq!(ex.pages, 1);
    assert_eq!(scans.len(), 1);
    let r = scans[0].raster(&Limits::default()).unwrap();
    assert_eq!((r.width, r.height), (1275, 1650));
    let dark = r.gray.iter().filter(|&&g| g < 96).count();
    // Text in the top quarter only: dark there, white below.
    let top = (r.width * r.height / 4) as usize;
    let dark_top = r.gray[..top].iter().filter(|&&g| g < 96).count();
    assert!(
        dark > 5_000 && dark_top == dark,
        "{dark} dark, {dark_top} in the top quarter"
    );
}
