//! Every document of the shared corpus goes through extraction: none may
//! panic, every supported one must yield text (unless it truly has none),
//! and every other one must be refused with a typed error.

use quire::documents::{resolve_media_type, DEFAULT_MEDIA_TYPES};
use quire::extract::extract;
use std::path::{Path, PathBuf};

/// Files that hold no text at all, where an empty result is the truth.
/// (The PDFs are scans or outlined text: no font, no text layer, checked
/// with `pdffonts`; the PPTX holds one undescribed picture.)
const NO_TEXT: &[&str] = &[
    "empty.txt",
    "fake-text-all-whitespace.txt",
    "empty.eml",
    "empty.xlsx",
    "loremipsum-flat.pdf",
    "single_table.pdf",
    "table-multi-row-column-cells.pdf",
    "test-image-jpg-mime.pptx",
];

/// Files whose typed error is the right answer, with that error's code.
const EXPECTED_ERRORS: &[(&str, &str)] = &[
    ("password.pdf", "encrypted_document"),
    ("password_protected.xlsx", "encrypted_document"),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/example-docs")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_document_is_extracted_or_refused_with_a_typed_error() {
    let dir = corpus_dir();
    if !dir.exists() {
        panic!("corpus not found at {}", dir.display());
    }
    let accepted: Vec<String> = DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect();
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    assert!(
        all.len() >= 150,
        "expected the full corpus, found {}",
        all.len()
    );
    let (mut extracted, mut refused_upload, mut typed_errors, mut decoded) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for path in &all {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Ok(media_type) = resolve_media_type(None, Some(&name), &accepted) else {
            refused_upload += 1; // images and unknown types: 415 at upload
            continue;
        };
        let bytes = std::fs::read(path).unwrap();
        if quire::extract::raster::is_image(&media_type) {
            // Read by OCR in the jobs worker; natively they must decode.
            let limits = quire::extract::Limits::default();
            match quire::extract::raster::decode(&media_type, &bytes, &limits) {
                Ok(r) if r.width > 0 && r.height > 0 => decoded += 1,
                Ok(_) => failures.push(format!("{name}: an empty image")),
                Err(e) => failures.push(format!("{name} ({media_type}): {e}")),
            }
            continue;
        }
        match extract(&media_type, &bytes) {
            Ok(e) => {
                extracted += 1;
                let text = e.text();
                if NO_TEXT.contains(&name.as_str()) {
                    let no_text = e.warnings.iter().any(|w| w.starts_with("no_text"));
                    let alnum = text.chars().filter(|c| c.is_alphanumeric()).count();
                    assert!(no_text || alnum < 10, "{name}: {text:?} {:?}", e.warnings);
                } else {
                    let alnum = text.chars().filter(|c| c.is_alphanumeric()).count();
                    if alnum < 10 {
                        failures.push(format!(
                            "{name} ({media_type}): almost no text: {text:?} {:?}",
                            e.warnings
                        ));
                    }
                }
            }
            Err(e) => {
                if EXPECTED_ERRORS
                    .iter()
                    .any(|(n, code)| *n == name && *code == e.code())
                {
                    typed_errors += 1;
                } else {
                    failures.push(format!("{name} ({media_type}): {e}"));
                }
            }
        }
    }
    eprintln!(
        "corpus: {extracted} extracted, {typed_errors} expected typed errors, \
         {decoded} images decoded for OCR, {refused_upload} refused at upload"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(extracted >= 140, "only {extracted} extracted");
    assert!(decoded >= 14, "only {decoded} images decoded");
}

#[test]
fn utf16_corpus_files_read_the_same_words_as_their_utf8_twin() {
    let dir = corpus_dir();
    let words = |name: &str| {
        let e = extract("text/plain", &std::fs::read(dir.join(name)).unwrap()).unwrap();
        e.text()
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let utf8 = words("fake-text.txt");
    assert_eq!(utf8.len(), 29);
    for twin in [
        "fake-text-utf-16.txt",
        "fake-text-utf-16-le.txt",
        "fake-text-utf-16-be.txt",
    ] {
        assert_eq!(words(twin), utf8, "{twin}");
    }
}

#[test]
fn every_element_of_every_corpus_presentation_has_its_slide_and_a_box_on_it() {
    let mut all = Vec::new();
    files(&corpus_dir(), &mut all);
    let pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    let mut boxed = 0;
    for path in all
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pptx"))
    {
        let ex = extract(pptx, &std::fs::read(path).unwrap()).unwrap();
        for el in ex
            .elements
            .iter()
            .filter(|e| !matches!(e.kind, quire::extract::model::Kind::PageBreak))
        {
            let page = el.page.unwrap_or(0);
            assert!((1..=ex.pages).contains(&page), "{path:?}: {el:?}");
            let [l, t, r, b] = el
                .bbox
                .unwrap_or_else(|| panic!("{path:?}: no box: {el:?}"));
            // Points from the slide's top-left corner (a shape may stand
            // partly off the slide).
            assert!(
                l <= r && t <= b && l.is_finite() && b.is_finite(),
                "{path:?}: {el:?}"
            );
            boxed += 1;
        }
    }
    assert!(boxed >= 50, "{boxed} elements");
}

#[test]
fn html_corpus_text_excludes_scripts_and_styles() {
    let dir = corpus_dir();
    for name in ["example-10k-1p.html", "fake-html.html", "ideas-page.html"] {
        let e = extract("text/html", &std::fs::read(dir.join(name)).unwrap()).unwrap();
        assert!(!e.text().contains("<script"), "{name}");
        assert!(!e.text().contains("function("), "{name}");
        assert!(
            !e.text().contains('{') || name != "fake-html.html",
            "{name}"
        );
    }
}

#[test]
fn every_accepted_corpus_document_passes_the_upload_scan_as_its_own_type() {
    use quire::scan::{scan, ScanLimits};
    let accepted: Vec<String> = DEFAULT_MEDIA_TYPES.iter().map(|s| s.to_string()).collect();
    let mut all = Vec::new();
    files(&corpus_dir(), &mut all);
    let mut refused = Vec::new();
    let mut scanned = 0;
    for path in &all {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Ok(media_type) = resolve_media_type(None, Some(&name), &accepted) else {
            continue;
        };
        scanned += 1;
        let bytes = std::fs::read(path).unwrap();
        match scan(&media_type, &bytes, &ScanLimits::default(), &[]) {
            // These two are DOCX and PPTX files named .doc and .ppt: the
            // scan is right to refuse the declared type.
            Err(quire::scan::ScanError::Mismatch { .. })
                if ["eng_spa_mult.doc", "eng_spa_mult.ppt"].contains(&name.as_str()) => {}
            Err(e) => refused.push(format!("{name}: {e}")),
            Ok(_) => {}
        }
    }
    assert!(scanned > 150);
    assert!(
        refused.is_empty(),
        "{} refused:\n{}",
        refused.len(),
        refused.join("\n")
    );
}
