use super::*;
use crate::pdf::split::{merge, read_part};
use crate::pdf::testpdf::{one_page, pdf_of, stream};

fn drive<T>(bytes: &[u8], step: impl FnMut(&mut Sparse) -> Step<T>) -> Result<T, ExtractError> {
    let mut sparse = Sparse::new(bytes.len() as u64, Limits::default());
    crate::pdf::split::tests::drive(bytes, &mut sparse, step).map(|(t, _)| t)
}

fn text_of(bytes: &[u8], first: u32, last: u32) -> Result<String, ExtractError> {
    let limits = Limits::default();
    let part = drive(bytes, |s| read_part(s, first, last, &limits))?;
    Ok(merge(vec![part], last).text())
}

const FONT: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

/// Catalog, pages and page packed in an object stream, found through a
/// cross-reference stream (PDF 1.5 and later write this).
fn packed() -> Vec<u8> {
    let content = stream("", b"BT /F1 12 Tf 72 700 Td (Packed words) Tj ET");
    let members: [(u32, String); 4] = [
        (1, "<< /Type /Catalog /Pages 2 0 R >>".into()),
        (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into()),
        (3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".into()),
        (5, FONT.into()),
    ];
    let mut head = String::new();
    let mut body = String::new();
    for (n, text) in &members {
        head.push_str(&format!("{n} {} ", body.len()));
        body.push_str(text);
        body.push(' ');
    }
    let objstm = stream(
        &format!("/Type /ObjStm /N 4 /First {}", head.len()),
        format!("{head}{body}").as_bytes(),
    );
    let mut out = b"%PDF-1.7\n".to_vec();
    let at4 = out.len();
    out.extend(b"4 0 obj\n");
    out.extend(&content);
    out.extend(b"\nendobj\n");
    let at6 = out.len();
    out.extend(b"6 0 obj\n");
    out.extend(&objstm);
    out.extend(b"\nendobj\n");
    let at7 = out.len();
    let mut rows = vec![0u8, 0, 0, 0];
    let mut row = |kind: u8, a: usize, b: u8| rows.extend([kind, (a >> 8) as u8, a as u8, b]);
    row(2, 6, 0);
    row(2, 6, 1);
    row(2, 6, 2);
    row(1, at4, 0);
    row(2, 6, 3);
    row(1, at6, 0);
    row(1, at7, 0);
    out.extend(b"7 0 obj\n");
    out.extend(stream("/Type /XRef /Size 8 /W [1 2 1] /Root 1 0 R", &rows));
    out.extend(format!("\nendobj\nstartxref\n{at7}\n%%EOF\n").bytes());
    out
}

#[test]
fn objects_in_object_streams_through_a_cross_reference_stream_read() {
    let pdf = packed();
    let (whole, _) = crate::pdf::extract(&pdf, &Limits::default()).unwrap();
    assert_eq!(whole.text().trim(), "Packed words");
    assert_eq!(text_of(&pdf, 1, 1).unwrap().trim(), "Packed words");
}

#[test]
fn an_incremental_update_hides_the_older_page() {
    let res = format!("<< /Font << /F1 {FONT} >> >>");
    let mut pdf = one_page(&res, b"BT /F1 12 Tf 72 700 Td (Old words) Tj ET", vec![]);
    let prev = xref_start(&pdf);
    let at = pdf.len();
    pdf.extend(b"4 0 obj\n");
    pdf.extend(stream("", b"BT /F1 12 Tf 72 700 Td (New words) Tj ET"));
    pdf.extend(b"\nendobj\n");
    let xref = pdf.len();
    pdf.extend(format!(
        "xref\n4 1\n{at:010} 00000 n \ntrailer\n<< /Size 5 /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n"
    ).bytes());
    assert_eq!(text_of(&pdf, 1, 1).unwrap().trim(), "New words");
}

fn xref_start(pdf: &[u8]) -> u64 {
    super::xref::startxref(&pdf[pdf.len() - 64..]).unwrap()
}

#[test]
fn hostile_structure_is_a_typed_error_never_a_hang() {
    let res = format!("<< /Font << /F1 {FONT} >> >>");
    let good = one_page(&res, b"BT /F1 12 Tf 72 700 Td (x) Tj ET", vec![]);
    // startxref past the end of the file.
    let mut past = good.clone();
    let n = past.len();
    past.splice(n - 30.., b"startxref\n99999999\n%%EOF\n".iter().copied());
    // A section whose /Prev is itself.
    let xref = xref_start(&good);
    let tail = memchr::memmem::rfind(&good, b"/Root 1 0 R >>").unwrap();
    let mut looped = good[..tail].to_vec();
    looped.extend(format!("/Root 1 0 R /Prev {xref} >>").bytes());
    looped.extend(&good[tail + 14..]);
    // A page tree whose kid is the tree itself.
    let cyclic = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [2 0 R 2 0 R] /Count 5 >>".to_vec(),
    ]);
    for (name, pdf) in [
        ("past", past),
        ("cyclic", cyclic),
        ("truncated", good[..good.len() / 2].to_vec()),
    ] {
        let out = text_of(&pdf, 1, 3);
        assert!(
            out.is_err() || out.as_ref().is_ok_and(|t| t.trim().is_empty()),
            "{name}: {out:?}"
        );
    }
    // The self-referencing /Prev is read once: the document still reads.
    let read = text_of(&looped, 1, 1);
    assert!(read.is_ok(), "{read:?}");
}

#[test]
fn a_page_count_needs_only_the_tail_and_the_tree_root() {
    let pdf = crate::pdf::testpdf::pages(300, 1_000);
    let mut sparse = Sparse::new(pdf.len() as u64, Limits::default());
    let (count, _) =
        crate::pdf::split::tests::drive(&pdf, &mut sparse, |s| s.page_count()).unwrap();
    assert_eq!(count, 300);
    assert!(sparse.fetched() < 200_000, "{}", sparse.fetched());
}

#[test]
fn spans_close_together_are_fetched_as_one() {
    let want: BTreeSet<(u64, u64)> = [(0, 10), (100, 10), (1_000_000, 5)].into();
    assert_eq!(joined(want), vec![(0, 110), (1_000_000, 5)]);
}

#[test]
fn a_round_asks_for_at_most_a_dozen_reads() {
    let spans: Vec<(u64, u64)> = (0..100)
        .map(|i| (i * 100_000 + (i % 7) * 1_000, 50))
        .collect();
    let few = fewest(spans.clone(), MAX_SPANS);
    assert_eq!(few.len(), MAX_SPANS);
    // Every byte asked for is still covered.
    for (at, len) in spans {
        assert!(
            few.iter().any(|(o, l)| *o <= at && at + len <= o + l),
            "{at}"
        );
    }
}

#[test]
fn a_page_tree_claiming_more_pages_than_it_holds_gives_only_those_it_holds() {
    let page = |content: u32| {
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 {FONT} >> >> /Contents {content} 0 R >>"
        )
        .into_bytes()
    };
    let pdf = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 3000 >>".to_vec(),
        page(4),
        stream("", b"BT /F1 12 Tf 72 700 Td (one) Tj ET"),
        page(6),
        stream("", b"BT /F1 12 Tf 72 700 Td (two) Tj ET"),
    ]);
    assert_eq!(drive(&pdf, |s| s.page_count()).unwrap(), 3000);
    let limits = Limits::default();
    let part = drive(&pdf, |s| read_part(s, 1, 50, &limits)).unwrap();
    assert_eq!((part.first, part.last), (1, 2));
    let beyond = drive(&pdf, |s| read_part(s, 51, 100, &limits)).unwrap();
    assert_eq!(beyond.last, 50, "nothing found past the pages it holds");
}

#[test]
fn a_part_does_not_fetch_what_the_catalog_names_for_the_whole_document() {
    // A tagged PDF's structure tree (object 5) is reachable from the
    // catalog only: reading the page must not fetch it.
    let pdf = pdf_of(&[
        b"<< /Type /Catalog /Pages 2 0 R /StructTreeRoot 5 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 {FONT} >> >> /Contents 4 0 R >>"
        )
        .into_bytes(),
        stream("", b"BT /F1 12 Tf 72 700 Td (tagged) Tj ET"),
        format!(
            "<< /Type /StructTreeRoot /Padding ({}) >>",
            "x".repeat(200_000)
        )
        .into_bytes(),
    ]);
    let limits = Limits::default();
    let mut sparse = Sparse::new(pdf.len() as u64, limits.clone());
    let (part, _) =
        crate::pdf::split::tests::drive(&pdf, &mut sparse, |s| read_part(s, 1, 1, &limits))
            .unwrap();
    assert_eq!(merge(vec![part], 1).text().trim(), "tagged");
    assert!(sparse.fetched() < 100_000, "fetched {}", sparse.fetched());
}
