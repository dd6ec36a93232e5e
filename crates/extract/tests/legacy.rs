//! Legacy Office and Outlook files of the shared corpus (written by Word,
//! PowerPoint and Outlook) and a workbook written by xlwt
//! (`fixtures/make_xls.py`): their text, tables, slides, headers and
//! attachments, and their encrypted variants as `encrypted_document`.

use quire_extract::model::{Element, Kind};
use quire_extract::{extract, ExtractError};
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const DOC: &str = "application/msword";
const XLS: &str = "application/vnd.ms-excel";
const PPT: &str = "application/vnd.ms-powerpoint";
const MSG: &str = "application/vnd.ms-outlook";

fn corpus(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/example-docs");
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    std::fs::read(path).unwrap()
}

fn tables(els: &[Element]) -> Vec<&Vec<Vec<String>>> {
    els.iter()
        .filter_map(|e| match &e.kind {
            Kind::Table { rows } => Some(rows),
            _ => None,
        })
        .collect()
}

/// Rewrites one stream of a compound file in place.
fn patch_stream(bytes: &[u8], stream: &str, patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut cfb = cfb::CompoundFile::open(Cursor::new(bytes.to_vec())).unwrap();
    let mut data = Vec::new();
    cfb.open_stream(stream)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    patch(&mut data);
    let mut s = cfb.create_stream(stream).unwrap();
    s.seek(SeekFrom::Start(0)).unwrap();
    s.write_all(&data).unwrap();
    drop(s);
    cfb.flush().unwrap();
    cfb.into_inner().into_inner()
}

#[test]
fn a_word_97_document_reads_its_paragraphs_and_tables() {
    let ex = extract(DOC, &corpus("fake-doc-emphasized-text.doc")).unwrap();
    assert_eq!(
        tables(&ex.elements)[0][0],
        vec!["Header Col 1".to_string(), "Header Col 2".to_string()]
    );
    assert!(ex.text().contains("I am a bold italic bold-italic text."));
    let simple = extract(DOC, &corpus("simple.doc")).unwrap().text();
    for words in [
        "a few of my favorite things",
        "Parrots",
        "This is my third thought.",
    ] {
        assert!(simple.contains(words), "{words}: {simple}");
    }
}

#[test]
fn an_encrypted_word_document_is_encrypted_document() {
    let locked = patch_stream(&corpus("fake.doc"), "/WordDocument", |w| w[0x0B] |= 0x01);
    assert_eq!(extract(DOC, &locked), Err(ExtractError::Encrypted));
    assert!(extract(DOC, &corpus("fake.doc")).is_ok());
}

#[test]
fn an_excel_97_workbook_reads_each_sheet_as_a_page_with_a_table() {
    let ex = extract(XLS, &fixture("budget.xls")).unwrap();
    assert_eq!(ex.pages, 2);
    let headings: Vec<(&str, Option<u32>)> = ex
        .elements
        .iter()
        .filter(|e| matches!(e.kind, Kind::Heading { .. }))
        .map(|e| (e.text.as_str(), e.page))
        .collect();
    assert_eq!(headings, vec![("Budget 2026", Some(1)), ("Notes", Some(2))]);
    let t = tables(&ex.elements);
    assert_eq!(t[0][0], vec!["Item", "Cost", "Share", "Note"]);
    assert_eq!(t[0][1], vec!["Servers", "1200", "0.375", "Grüße, 東京"]);
    assert_eq!(t[0][3][2], "TRUE");
    assert_eq!(t[1][1], vec!["", "", "after a gap"]);
}

#[test]
fn an_encrypted_excel_workbook_is_encrypted_document() {
    // A FILEPASS record right after the globals' BOF, as Excel writes it.
    let locked = patch_stream(&fixture("budget.xls"), "/Workbook", |w| {
        let bof_end = 4 + usize::from(u16::from_le_bytes([w[2], w[3]]));
        let filepass = [0x2F, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00];
        w.splice(bof_end..bof_end, filepass);
    });
    assert_eq!(extract(XLS, &locked), Err(ExtractError::Encrypted));
}

#[test]
fn a_powerpoint_97_deck_reads_each_slide_as_a_page() {
    let ex = extract(PPT, &corpus("fake-power-point.ppt")).unwrap();
    let first = &ex.elements[0];
    assert_eq!(first.text, "Adding a Bullet Slide");
    assert_eq!(first.kind, Kind::Heading { level: 2 });
    assert_eq!(first.page, Some(1));
    let text = ex.text();
    assert!(text.contains("Use _TextFrame.add_paragraph() for subsequent bullets"));
    assert!(text.contains("Here is some text in a text box!"));
    assert!(
        !text.contains("Click to edit"),
        "master text leaked: {text}"
    );
}

#[test]
fn an_outlook_message_reads_like_an_eml() {
    let ex = extract(MSG, &corpus("fake-email.msg")).unwrap();
    let header = |name: &str| {
        ex.elements
            .iter()
            .find(|e| e.kind == Kind::EmailHeader { name: name.into() })
            .map(|e| e.text.as_str())
    };
    assert_eq!(
        header("From"),
        Some("Matthew Robinson <mrobinson@unstructured.io>")
    );
    assert_eq!(header("Subject"), Some("Test Email"));
    assert_eq!(header("Date"), Some("2023-03-28T17:00:31Z"));
    assert!(ex.text().contains("Roses are red"));
}

#[test]
fn an_outlook_messages_attachments_are_extracted_recursively() {
    let ex = extract(MSG, &corpus("fake-email-attachment.msg")).unwrap();
    let text = ex.text();
    assert!(text.contains("Attachment: "), "{text}");
    assert!(ex.warnings.is_empty(), "{:?}", ex.warnings);
}

#[test]
fn office_files_named_for_the_other_generation_are_read_as_what_they_are() {
    // A DOCX and a PPTX saved with the old extensions.
    let doc = extract(DOC, &corpus("language-docs/eng_spa_mult.doc")).unwrap();
    assert!(doc.text().split_whitespace().count() > 20);
    let ppt = extract(PPT, &corpus("language-docs/eng_spa_mult.ppt")).unwrap();
    assert!(ppt.text().split_whitespace().count() > 20);
    // And a .doc declared as DOCX.
    let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    let back = extract(docx, &corpus("fake.doc")).unwrap();
    assert!(back.text().contains("Lorem ipsum"));
}

#[test]
fn damaged_legacy_files_are_typed_errors_or_text_never_panics() {
    // Deterministic damage: flipped bytes, cut tails, runs of 0xFF (huge
    // counts and lengths), over every legacy file at hand.
    let files = [
        (DOC, corpus("simple.doc")),
        (DOC, corpus("fake-doc-emphasized-text.doc")),
        (XLS, fixture("budget.xls")),
        (PPT, corpus("fake-power-point.ppt")),
        (MSG, corpus("fake-email-attachment.msg")),
    ];
    let mut seed: u64 = 0x5EED;
    let mut next = move |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) as usize % n.max(1)
    };
    for (media_type, original) in &files {
        for round in 0..300 {
            let mut bytes = original.clone();
            match round % 3 {
                0 => {
                    for _ in 0..8 {
                        let at = next(bytes.len());
                        bytes[at] ^= 1 << next(8);
                    }
                }
                1 => bytes.truncate(next(bytes.len())),
                _ => {
                    let at = next(bytes.len());
                    let end = (at + 1 + next(16)).min(bytes.len());
                    bytes[at..end].fill(0xFF);
                }
            }
            // Either outcome is fine; a panic fails the test.
            let _ = extract(media_type, &bytes);
        }
    }
}
