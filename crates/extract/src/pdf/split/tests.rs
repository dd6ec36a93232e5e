use super::*;
use crate::pdf::sparse::Fault;
use std::path::Path;

/// Runs a reading step against bytes in memory, as the job runner does
/// against R2: supplying what it asks for until it answers. Returns the
/// answer and how many rounds of fetches it took.
pub(crate) fn drive<T>(
    bytes: &[u8],
    sparse: &mut Sparse,
    mut step: impl FnMut(&mut Sparse) -> Step<T>,
) -> Result<(T, usize), ExtractError> {
    for round in 0..200 {
        match step(sparse) {
            Ok(t) => return Ok((t, round)),
            Err(Fault::Failed(e)) => return Err(e),
            Err(Fault::Need(spans)) => {
                for (at, len) in spans {
                    let from = (at as usize).min(bytes.len());
                    let to = (at + len).min(bytes.len() as u64) as usize;
                    sparse.supply(at, bytes[from..to].to_vec());
                }
            }
        }
    }
    panic!("no answer after 200 rounds");
}

/// The document read in parts of `size` pages, merged.
fn in_parts(bytes: &[u8], size: u32) -> Result<Extraction, ExtractError> {
    let limits = Limits::default();
    let mut sparse = Sparse::new(bytes.len() as u64, limits.clone());
    let (pages, _) = drive(bytes, &mut sparse, |s| s.page_count())?;
    let mut parts = Vec::new();
    let mut first = 1;
    while first <= pages.max(1) {
        let last = (first + size - 1).min(pages);
        let mut sparse = Sparse::new(bytes.len() as u64, limits.clone());
        let (part, _) = drive(bytes, &mut sparse, |s| read_part(s, first, last, &limits))?;
        parts.push(part);
        first = last + 1;
    }
    Ok(merge(parts, pages))
}

fn corpus_pdfs() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/example-docs");
    let mut out = Vec::new();
    let mut dirs = vec![dir];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "pdf") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    // And the ruled tables, one of them over three pages.
    let ruled = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ruled-tables.pdf");
    out.push(("ruled-tables.pdf".into(), std::fs::read(ruled).unwrap()));
    out.sort();
    out
}

#[test]
fn every_corpus_pdf_read_in_parts_equals_it_read_whole() {
    let mut compared = 0;
    for (name, bytes) in corpus_pdfs() {
        let Ok((whole, _)) = crate::pdf::extract(&bytes, &Limits::default()) else {
            // Refused whole (encrypted, malformed): read in parts it must
            // be refused too, or read; never crash.
            let _ = in_parts(&bytes, 2);
            continue;
        };
        for size in [1, 3] {
            match in_parts(&bytes, size) {
                Ok(parts) => {
                    assert_eq!(
                        serde_json::to_value(&parts).unwrap(),
                        serde_json::to_value(&whole).unwrap(),
                        "{name} in parts of {size}"
                    );
                    compared += 1;
                }
                // Only an encrypted document is read whole instead.
                Err(e) => assert!(
                    matches!(e, ExtractError::Unsupported(_)),
                    "{name} in parts of {size}: {e}"
                ),
            }
        }
    }
    assert!(compared >= 40, "only {compared} comparisons");
}

#[test]
fn a_part_reads_only_a_fraction_of_a_long_document() {
    let bytes = crate::pdf::testpdf::pages(200, 2_000);
    let limits = Limits::default();
    let mut sparse = Sparse::new(bytes.len() as u64, limits.clone());
    let (part, rounds) = drive(&bytes, &mut sparse, |s| read_part(s, 101, 110, &limits)).unwrap();
    let ex = merge(vec![part], 200);
    let text = ex.text();
    assert!(
        text.contains("page 101 says") && text.contains("page 110 says"),
        "{text}"
    );
    assert!(!text.contains("page 111 says") && !text.contains("page 100 says"));
    assert!(
        sparse.fetched() < bytes.len() as u64 / 8,
        "fetched {} of {}",
        sparse.fetched(),
        bytes.len()
    );
    assert!(rounds <= 8, "{rounds} rounds");
}

#[test]
fn a_failed_part_is_named_in_the_merged_warnings() {
    let ok = Part {
        first: 1,
        last: 2,
        ..Part::default()
    };
    let ex = merge(vec![Part::failed(3, 4, "malformed"), ok], 4);
    assert!(
        ex.warnings.iter().any(|w| w.contains("pages 3–4")),
        "{:?}",
        ex.warnings
    );
}
