//! PDF: the text layer, page by page. lopdf parses the file, decrypts it
//! when the user password is empty, and decodes fonts; our content walker
//! ([`walker`]) turns text operators into lines, with a fallback ToUnicode
//! reader ([`cmap`]) for maps lopdf refuses. Lines are joined into
//! paragraphs when a line does not end a sentence and the next continues it
//! in lower case. Documents that need a password are a typed error. A page
//! without text that draws an image is a scanned page: its image is handed
//! back, still encoded ([`images::PageImage`]), for OCR.

mod cmap;
mod color;
mod content;
mod embedded;
mod encoding;
mod fonts;
mod glyphs;
pub(crate) mod grid;
pub mod images;
mod inflate;
mod jpx;
mod layout;
pub(crate) mod line;
mod matrix;
mod rules;
pub mod sparse;
pub mod split;
pub(crate) mod tables;
mod walker;

/// Ruling lines, for the grids of page images too ([`crate::ocr`]).
pub(crate) use rules::{Rule, MAX_RULES};

#[cfg(test)]
pub(crate) mod testpdf;

use super::model::{Builder, Element, Kind};
use super::{ExtractError, Extraction, Limits};
use images::PageImage;

/// Most scanned pages of one document read by OCR (a few seconds of CPU
/// each): the rest are named in an `ocr_skipped` warning.
pub const MAX_OCR_PAGES: usize = 40;

/// The text layer, and the images of the pages that have none.
pub fn extract(
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Extraction, Vec<PageImage>), ExtractError> {
    let doc = open(bytes, limits)?;
    let pages = doc.get_pages();
    if pages.len() > limits.max_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "{} pages, more than {}",
            pages.len(),
            limits.max_pages
        )));
    }
    let cache = fonts::FontCache::default();
    let mut read = Reading::default();
    for (&number, &page_id) in &pages {
        read.page(&doc, (number, page_id), &cache, limits)?;
    }
    Ok(read.finish(pages.len()))
}

/// The parsed document, decrypted when its user password is empty.
fn open(bytes: &[u8], limits: &Limits) -> Result<lopdf::Document, ExtractError> {
    let head = &bytes[..bytes.len().min(1024)];
    if !head.windows(5).any(|w| w == b"%PDF-") {
        return Err(ExtractError::Malformed("no %PDF header".into()));
    }
    let doc = inflate::load(bytes, limits)?;
    if doc.is_encrypted() && doc.authenticate_password("").is_err() {
        return Err(ExtractError::Encrypted);
    }
    Ok(doc)
}

/// What the pages read so far gave.
#[derive(Default)]
struct Reading {
    blocks: Vec<layout::Block>,
    warnings: Vec<String>,
    /// Pages with neither text nor an image to read.
    empty: Vec<u32>,
    scans: Vec<PageImage>,
}

impl Reading {
    fn page<'a>(
        &mut self,
        doc: &'a lopdf::Document,
        (number, page_id): (u32, lopdf::ObjectId),
        cache: &'a fonts::FontCache<'a>,
        limits: &Limits,
    ) -> Result<(), ExtractError> {
        let shown = match walker::page_text(doc, page_id, cache, limits) {
            Ok(t) => t,
            Err(content::PageError::Budget(e)) => return Err(e),
            Err(content::PageError::Unreadable(e)) => {
                let warning = format!("page {number}: text could not be read: {e}");
                self.warnings.push(warning);
                walker::PageText::default()
            }
        };
        if shown.lines.iter().all(|l| l.text.trim().is_empty()) {
            match scanned(doc, &shown, (number, page_id)) {
                Some(image) => self.scans.push(image),
                None => self.empty.push(number),
            }
        }
        let origin = page_origin(doc, page_id);
        self.blocks.extend(layout::blocks(
            &shown.lines,
            &grid::grids(&shown.rules),
            number,
            origin,
        ));
        Ok(())
    }

    /// Keeps the first [`MAX_OCR_PAGES`] scanned pages for OCR and names
    /// the rest in a warning.
    fn cap_scans(&mut self) {
        if self.scans.len() > MAX_OCR_PAGES {
            let skipped: Vec<u32> = self.scans.drain(MAX_OCR_PAGES..).map(|s| s.page).collect();
            self.warnings.push(format!(
                "ocr_skipped: {} scanned pages were not read ({}): OCR reads at most \
             {MAX_OCR_PAGES} pages of a document",
                skipped.len(),
                page_list(&skipped)
            ));
        }
    }

    fn finish(mut self, pages: usize) -> (Extraction, Vec<PageImage>) {
        if !self.empty.is_empty() {
            self.warnings.push(format!(
                "no_text_layer: {} of {pages} pages have neither text nor an image to read ({})",
                self.empty.len(),
                page_list(&self.empty)
            ));
        }
        self.cap_scans();
        // Each page after the first opens with a page break.
        let mut b = Builder::default();
        let mut page = 1;
        let mut turn_to = |b: &mut Builder, to: u32| {
            while page < to {
                page += 1;
                b.push(Element::new(Kind::PageBreak, "").on_page(page));
            }
            b.set_page(to);
        };
        for (el, on) in layout::elements(self.blocks) {
            turn_to(&mut b, on);
            b.push(el);
        }
        turn_to(&mut b, pages as u32);
        let ex = Extraction {
            elements: b.finish(),
            pages: pages.max(1) as u32,
            warnings: self.warnings,
        };
        (ex, self.scans)
    }
}

/// A page attribute, its own or inherited from its ancestors.
fn inherited<'a>(
    doc: &'a lopdf::Document,
    mut node: lopdf::ObjectId,
    key: &[u8],
) -> Option<&'a lopdf::Object> {
    for _ in 0..32 {
        let dict = doc.get_dictionary(node).ok()?;
        if let Ok(v) = dict.get(key) {
            return doc.dereference(v).ok().map(|(_, v)| v);
        }
        node = dict
            .get(b"Parent")
            .and_then(lopdf::Object::as_reference)
            .ok()?;
    }
    None
}

/// The top-left corner of a page's MediaBox (US Letter when it has none).
fn page_origin(doc: &lopdf::Document, page: lopdf::ObjectId) -> (f32, f32) {
    let corners: Vec<f32> = inherited(doc, page, b"MediaBox")
        .and_then(|b| b.as_array().ok())
        .map(|a| a.iter().map(|v| v.as_float().unwrap_or(0.0)).collect())
        .unwrap_or_default();
    match corners.as_slice() {
        [x0, y0, x1, y1] => (x0.min(*x1), y0.max(*y1)),
        _ => (0.0, 792.0),
    }
}

/// The image a page without text shows: the one covering the most of it,
/// with the quarter turns that stand it upright.
fn scanned(
    doc: &lopdf::Document,
    shown: &walker::PageText,
    page: (u32, lopdf::ObjectId),
) -> Option<PageImage> {
    let area = |[a, b, c, d]: &[f32; 4]| (a * d - b * c).abs();
    let (id, m) = shown
        .images
        .iter()
        .max_by(|x, y| area(&x.1).total_cmp(&area(&y.1)))?;
    let turns = (images::quarter_turns(*m) + page_rotation(doc, page.1)) % 4;
    images::page_image(doc, *id, page.0, turns)
}

/// A page's `/Rotate`, inherited from its ancestors, in clockwise quarter
/// turns.
fn page_rotation(doc: &lopdf::Document, page: lopdf::ObjectId) -> u8 {
    inherited(doc, page, b"Rotate")
        .and_then(|r| r.as_i64().ok())
        .map_or(0, |r| (r.rem_euclid(360) / 90) as u8)
}

/// Page numbers for a message: "1, 2, 5" (the first ten, then "…").
pub(crate) fn page_list(pages: &[u32]) -> String {
    let mut list: Vec<String> = pages.iter().take(10).map(u32::to_string).collect();
    if pages.len() > 10 {
        list.push("…".into());
    }
    format!("page {}", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::testpdf::{one_page, stream};
    use super::*;

    const FONT: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

    #[test]
    fn a_hand_built_page_reads_back() {
        let res = format!("<< /Font << /F1 {FONT} >> >>");
        let pdf = one_page(&res, b"BT /F1 12 Tf 72 700 Td (Budgets hold) Tj ET", vec![]);
        let (ex, _) = extract(&pdf, &Limits::default()).unwrap();
        assert_eq!(ex.text().trim(), "Budgets hold");
    }

    /// A page in font F1, a simple font with `/FontDescriptor 5 0 R` and
    /// its program in object 6 (`program`, a stream).
    fn page_in_embedded_font(
        font: &str,
        descriptor: &str,
        program: Vec<u8>,
        show: &[u8],
    ) -> Vec<u8> {
        let mut content = b"BT /F1 12 Tf 72 700 Td ".to_vec();
        content.extend(show);
        content.extend(b" Tj ET");
        one_page(
            &format!("<< /Font << /F1 {font} >> >>"),
            &content,
            vec![descriptor.as_bytes().to_vec(), program],
        )
    }

    #[test]
    fn a_cff_font_with_its_own_encoding_and_no_tounicode_reads_as_text() {
        // Codes 1..4 are H, e, l, o in the program's custom encoding; the
        // font names no encoding and has no ToUnicode map.
        let cff = super::embedded::build::cff(&[1, 2, 3, 4], &[41, 70, 77, 80]);
        let pdf = page_in_embedded_font(
            "<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Custom /FontDescriptor 5 0 R >>",
            "<< /Type /FontDescriptor /FontName /ABCDEF+Custom /Flags 4 /FontFile3 6 0 R >>",
            stream("/Subtype /Type1C", &cff),
            b"<0102030304>",
        );
        let (ex, _) = extract(&pdf, &Limits::default()).unwrap();
        assert_eq!(ex.text().trim(), "Hello");
        assert!(ex.warnings.is_empty(), "{:?}", ex.warnings);
    }

    #[test]
    fn a_type1_fonts_built_in_encoding_and_differences_read_as_text() {
        let program = b"%!PS-AdobeFont-1.0: Custom\n/Encoding 256 array\n\
0 1 255 {1 index exch /.notdef put} for\ndup 1 /C put\ndup 2 /a put\n\
dup 3 /f put\ndup 4 /eacute put\nreadonly def\ncurrentfile eexec\n";
        // The Differences rename code 3 to the "fi" ligature.
        let pdf = page_in_embedded_font(
            "<< /Type /Font /Subtype /Type1 /BaseFont /Custom /FontDescriptor 5 0 R \
             /Encoding << /Type /Encoding /Differences [3 /fi] >> >>",
            "<< /Type /FontDescriptor /FontName /Custom /Flags 4 /FontFile 6 0 R >>",
            stream("/Length1 200 /Length2 0 /Length3 0", program),
            b"<0102040320>",
        );
        let (ex, _) = extract(&pdf, &Limits::default()).unwrap();
        assert_eq!(ex.text().trim(), "Caéﬁ");
    }

    #[test]
    fn a_run_drawn_again_on_top_of_itself_is_read_once() {
        let res = format!("<< /Font << /F1 {FONT} >> >>");
        // Fake bold: each letter twice, the second 0.4 pt to the right;
        // then "ll" as two runs side by side, which is two letters.
        let content = b"BT /F1 12 Tf 72 700 Td (B) Tj 0.4 0 Td (B) Tj 7.6 0 Td (O) Tj \
            0.4 0 Td (O) Tj ET BT /F1 12 Tf 72 680 Td (l) Tj 2.664 0 Td (l) Tj ET";
        let (ex, _) = extract(&one_page(&res, content, vec![]), &Limits::default()).unwrap();
        assert_eq!(ex.text().trim(), "BO ll");
    }

    #[test]
    fn superscripts_stay_on_their_line_and_a_tight_line_under_a_title_does_not() {
        // Every glyph 500 units wide, so the runs' ends are known.
        let widths = "500 ".repeat(95);
        let res = format!(
            "<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica \
             /FirstChar 32 /LastChar 126 /Widths [{widths}] >> >> >>"
        );
        // "E = mc" with a raised, smaller "2", then text on; a 36 pt
        // title whose next line sits only 16 pt lower, at the margin.
        let content = b"BT /F1 12 Tf 72 600 Td (E = mc) Tj ET BT /F1 7 Tf 108 605 Td (2) Tj ET \
            BT /F1 12 Tf 114.5 600 Td (holds.) Tj ET \
            BT /F1 36 Tf 72 700 Td (Title) Tj ET BT /F1 10 Tf 72 684 Td (Body text) Tj ET";
        let (ex, _) = extract(&one_page(&res, content, vec![]), &Limits::default()).unwrap();
        let texts: Vec<&str> = ex.elements.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["E = mc2 holds.", "Title", "Body text"]);
    }

    #[test]
    fn a_page_of_sixty_thousand_one_letter_lines_is_refused_before_it_holds_them() {
        let res = format!("<< /Font << /F1 {FONT} >> >>");
        let mut content = b"BT /F1 12 Tf 72 700 Td ".to_vec();
        content.extend(b"(a) Tj 0 -20 Td ".repeat(60_000));
        content.extend(b"ET");
        let err = extract(&one_page(&res, &content, vec![]), &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("50000 lines")),
            "{err:?}"
        );
    }

    #[test]
    fn a_content_stream_bomb_is_refused_with_a_typed_error() {
        // 8 MiB of white space packs into a few KB.
        let pdf = one_page("<< >>", &vec![b' '; 8 * 1024 * 1024], vec![]);
        assert!(pdf.len() < 64 * 1024, "{} bytes", pdf.len());
        let limits = Limits {
            max_stream_bytes: 2 * 1024 * 1024,
            ..Limits::default()
        };
        let err = extract(&pdf, &limits).unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("page's content")),
            "{err:?}"
        );
    }

    #[test]
    fn an_object_stream_bomb_is_refused_before_it_is_unpacked() {
        let mut packed = b"5 0 << /Padding true >>".to_vec();
        packed.resize(8 * 1024 * 1024, b' ');
        let objstm = stream("/Type /ObjStm /N 1 /First 4", &packed);
        let pdf = one_page("<< >>", b"", vec![objstm]);
        let limits = Limits {
            max_stream_bytes: 2 * 1024 * 1024,
            ..Limits::default()
        };
        let err = extract(&pdf, &limits).unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("object stream")),
            "{err:?}"
        );
    }

    #[test]
    fn objects_in_an_object_stream_are_unpacked_and_used() {
        // The page's font lives in an object stream (object 6 inside 5).
        let font = format!("6 0 {FONT}");
        let objstm = stream("/Type /ObjStm /N 1 /First 4", font.as_bytes());
        let pdf = one_page(
            "<< /Font << /F1 6 0 R >> >>",
            b"BT /F1 12 Tf 72 700 Td (Packed font) Tj ET",
            vec![objstm],
        );
        let (ex, _) = extract(&pdf, &Limits::default()).unwrap();
        assert_eq!(ex.text().trim(), "Packed font");
    }

    #[test]
    fn form_fan_out_is_bounded_by_the_documents_budget() {
        // Each level draws the next 200 times: 200^4 = 1.6e9 runs unbounded.
        let draws = |next: &str| format!("/{next} Do\n").repeat(200);
        let form = |next: Option<&str>| {
            let (res, body) = match next {
                Some(n) => (
                    format!(
                        "/Resources << /XObject << /{n} {} 0 R >> >>",
                        5 + n.as_bytes()[1] - b'0'
                    ),
                    draws(n),
                ),
                None => (String::new(), "BT ET".to_string()),
            };
            stream(
                &format!("/Type /XObject /Subtype /Form /BBox [0 0 1 1] {res}"),
                body.as_bytes(),
            )
        };
        // Objects 5.. are forms X0 (drawn by the page) to X4.
        let forms = vec![
            form(Some("X1")),
            form(Some("X2")),
            form(Some("X3")),
            form(Some("X4")),
            form(None),
        ];
        let pdf = one_page(
            "<< /XObject << /X0 5 0 R >> >>",
            draws("X0").as_bytes(),
            forms,
        );
        let err = extract(&pdf, &Limits::default()).unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("form XObject runs")),
            "{err:?}"
        );
    }

    #[test]
    fn non_pdf_bytes_are_malformed() {
        assert!(matches!(
            extract(b"hello", &Limits::default()),
            Err(ExtractError::Malformed(_))
        ));
    }
}
