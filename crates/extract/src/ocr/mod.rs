//! Text an OCR engine read from a page image, made into elements: words
//! (each with its box in pixels and the engine's confidence) joined into
//! lines, lines into paragraphs where they sit close together and start
//! at about the same place, and the lines standing in a table the page's
//! ruling lines draw into that table's cells ([`tables`]). Every element
//! says how sure the engine was.

mod rules;
mod tables;

use crate::model::{Element, Kind};
use crate::raster::Raster;
use serde::Deserialize;

/// One word as the engine reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct OcrWord {
    pub text: String,
    /// 0 to 1.
    pub confidence: f32,
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
    /// Whether the word ends its line.
    #[serde(default)]
    pub line_end: bool,
}

/// Below this mean confidence a page's text is flagged as doubtful.
const DOUBTFUL: f32 = 0.6;

pub use tables::Ruling;

/// The ruling lines of the page image `words` were read from (they frame
/// tables), for [`unread_cells`] and [`page_elements`].
pub fn ruling(words: &[OcrWord], image: &Raster) -> Ruling {
    let words: Vec<&OcrWord> = words.iter().filter(|w| !w.text.trim().is_empty()).collect();
    Ruling::of(&lines(&words), image)
}

/// A page's words as paragraphs and tables, with the warnings a reader
/// should see: a page where nothing was read, or read with little
/// confidence. `ruling` is the page image's (see [`ruling`]).
pub fn page_elements(words: &[OcrWord], ruling: &Ruling, page: u32) -> (Vec<Element>, Vec<String>) {
    let words: Vec<&OcrWord> = words.iter().filter(|w| !w.text.trim().is_empty()).collect();
    if words.is_empty() {
        return (
            Vec::new(),
            vec![format!(
                "ocr_no_text: page {page}: the OCR engine read no text"
            )],
        );
    }
    let lines = lines(&words);
    let mut found = tables::ruled(&lines, ruling);
    let mut in_table = vec![false; lines.len()];
    for i in found.iter().flat_map(|t| &t.lines) {
        in_table[*i] = true;
    }
    found.extend(tables::aligned(&lines, &in_table));
    for i in found.iter().flat_map(|t| &t.lines) {
        in_table[*i] = true;
    }
    let mut elements = Vec::new();
    let mut para: Vec<&Line> = Vec::new();
    for (line, _) in lines.iter().zip(&in_table).filter(|(_, t)| !**t) {
        if para.last().is_some_and(|prev| !continues(prev, line)) {
            elements.push(paragraph(&para, page));
            para.clear();
        }
        para.push(line);
    }
    if !para.is_empty() {
        elements.push(paragraph(&para, page));
    }
    for t in found {
        place(&mut elements, table(&t, &lines, page));
    }
    let mean = words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32;
    let mut warnings = Vec::new();
    if mean < DOUBTFUL {
        warnings.push(format!(
            "ocr_low_confidence: page {page}: mean word confidence {mean:.2}"
        ));
    }
    (elements, warnings)
}

/// The cells of the page's ruled tables with ink in them where no word
/// was read, for reading again one at a time (an engine thresholds a
/// part by its own light: a shaded header it left blank in the whole page
/// it may read alone): their insides in pixels, left, top, right, bottom.
pub fn unread_cells(words: &[OcrWord], image: &Raster, ruling: &Ruling) -> Vec<[u32; 4]> {
    let words: Vec<&OcrWord> = words.iter().filter(|w| !w.text.trim().is_empty()).collect();
    tables::unread(&lines(&words), image, ruling)
}

/// A table's element: its rows, its box, its words' mean confidence.
fn table(t: &tables::Found, lines: &[Line], page: u32) -> Element {
    let words = t.lines.iter().flat_map(|&i| lines[i].words.iter());
    let (sum, count) = words.fold((0.0f32, 0usize), |(s, n), w| (s + w.confidence, n + 1));
    let mut el = Element::table(t.rows.clone()).on_page(page);
    el.ocr_confidence = Some(rounded(sum / count.max(1) as f32));
    el.bbox = Some(t.bbox.map(|v| v.round()));
    el
}

/// Puts a table before the first element that starts below its top (the
/// rest keep the engine's reading order).
fn place(elements: &mut Vec<Element>, table: Element) {
    let top = table.bbox.map_or(0.0, |b| b[1]);
    let at = elements
        .iter()
        .position(|e| e.bbox.is_some_and(|b| b[1] > top))
        .unwrap_or(elements.len());
    elements.insert(at, table);
}

fn rounded(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

struct Line<'w> {
    words: Vec<&'w OcrWord>,
    left: i32,
    top: i32,
    bottom: i32,
}

fn lines<'w>(words: &[&'w OcrWord]) -> Vec<Line<'w>> {
    let mut out: Vec<Line> = Vec::new();
    let mut open = true;
    for w in words {
        if open && !out.is_empty() {
            let line = out.last_mut().expect("not empty");
            line.left = line.left.min(w.left);
            line.top = line.top.min(w.top);
            line.bottom = line.bottom.max(w.bottom);
            line.words.push(w);
        } else {
            out.push(Line {
                words: vec![w],
                left: w.left,
                top: w.top,
                bottom: w.bottom,
            });
        }
        open = !w.line_end;
    }
    out
}

/// Whether `next` goes on the paragraph `prev` ends: close below it (a gap
/// under about three-quarters of a line) and starting near its left edge.
fn continues(prev: &Line, next: &Line) -> bool {
    let height = (prev.bottom - prev.top).max(1);
    let gap = next.top - prev.bottom;
    (0..height * 3 / 4 + 1).contains(&gap.max(0))
        && gap > -height / 2
        && (next.left - prev.left).abs() < height * 3
}

fn paragraph(lines: &[&Line], page: u32) -> Element {
    let mut text = String::new();
    let (mut sum, mut count) = (0.0f32, 0usize);
    for line in lines {
        for w in &line.words {
            sum += w.confidence;
            count += 1;
        }
        let words: Vec<&str> = line.words.iter().map(|w| w.text.trim()).collect();
        let line_text = words.join(" ");
        // A word broken at the line's end by a hyphen is joined again.
        if text.ends_with('-') && line_text.starts_with(|c: char| c.is_lowercase()) {
            text.pop();
        } else if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&line_text);
    }
    let mut el = Element::new(Kind::Paragraph, text).on_page(page);
    el.ocr_confidence = Some(rounded(sum / count.max(1) as f32));
    // The box around its words, in pixels of the image read.
    let words = lines.iter().flat_map(|l| l.words.iter());
    let (mut l, mut t, mut r, mut b) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for w in words {
        (l, t, r, b) = (l.min(w.left), t.min(w.top), r.max(w.right), b.max(w.bottom));
    }
    el.bbox = Some([l as f32, t as f32, r as f32, b as f32]);
    el
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, left: i32, top: i32, line_end: bool) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence: 0.9,
            left,
            top,
            right: left + 40,
            bottom: top + 20,
            line_end,
        }
    }

    fn blank() -> Raster {
        Raster {
            width: 0,
            height: 0,
            gray: Vec::new(),
        }
    }

    /// A white page of `w` × `h` with a grid of 2-px black rules at the
    /// given column and row edges.
    fn ruled(w: u32, h: u32, xs: &[u32], ys: &[u32]) -> Raster {
        let mut gray = vec![255u8; (w * h) as usize];
        let (x0, x1) = (xs[0], *xs.last().unwrap());
        let (y0, y1) = (ys[0], *ys.last().unwrap());
        for &y in ys {
            for x in x0..x1 + 2 {
                gray[(y * w + x) as usize] = 0;
                gray[((y + 1) * w + x) as usize] = 0;
            }
        }
        for &x in xs {
            for y in y0..y1 + 2 {
                gray[(y * w + x) as usize] = 0;
                gray[(y * w + x + 1) as usize] = 0;
            }
        }
        Raster {
            width: w,
            height: h,
            gray,
        }
    }

    #[test]
    fn lines_standing_in_a_ruled_grid_are_its_cells_whatever_order_they_were_read_in() {
        // Three columns (x 50 | 250 | 450 | 650), three rows (y 100 | 160 |
        // 220 | 280); the engine read the cells column by column, each its
        // own line, and a paragraph above the grid.
        let img = ruled(700, 400, &[50, 250, 450, 650], &[100, 160, 220, 280]);
        let cell = |text: &str, col: i32, row: i32| {
            let (left, top) = (70 + 200 * col, 120 + 60 * row);
            OcrWord {
                text: text.into(),
                confidence: 0.8,
                left,
                top,
                right: left + 15 * text.len() as i32,
                bottom: top + 20,
                line_end: true,
            }
        };
        let mut words = vec![word("Results", 50, 40, true)];
        for (col, texts) in [
            ["Name", "Ann", "Bo"],
            ["Age", "34", "41"],
            ["City", "Oslo", "Rome"],
        ]
        .iter()
        .enumerate()
        {
            for (row, t) in texts.iter().enumerate() {
                words.push(cell(t, col as i32, row as i32));
            }
        }
        let (els, _) = page_elements(&words, &ruling(&words, &img), 1);
        assert_eq!(els.len(), 2, "{els:?}");
        assert_eq!(els[0].text, "Results");
        let Kind::Table { rows } = &els[1].kind else {
            panic!("{:?}", els[1].kind);
        };
        assert_eq!(
            rows,
            &vec![
                vec!["Name", "Age", "City"],
                vec!["Ann", "34", "Oslo"],
                vec!["Bo", "41", "Rome"],
            ]
        );
        assert_eq!(els[1].ocr_confidence, Some(0.8));
        let bbox = els[1].bbox.unwrap();
        assert!(
            (bbox[0] - 50.0).abs() <= 3.0 && (bbox[3] - 282.0).abs() <= 3.0,
            "{bbox:?}"
        );
    }

    #[test]
    fn a_ruled_cell_with_ink_and_no_word_read_is_given_to_be_read_again() {
        // Two columns (x 50 | 250 | 450), three rows (y 100 | 160 | 220 | 280).
        let mut img = ruled(500, 320, &[50, 250, 450], &[100, 160, 220, 280]);
        // A lone "5" the engine passed over, in the middle row's right cell.
        for y in 180..200 {
            for x in 340..352 {
                img.gray[y * 500 + x] = 0;
            }
        }
        let cell = |text: &str, left: i32, top: i32| OcrWord {
            text: text.into(),
            confidence: 0.9,
            left,
            top,
            right: left + 60,
            bottom: top + 20,
            line_end: true,
        };
        let words = vec![
            cell("Name", 70, 120),
            cell("Count", 270, 120),
            cell("Pens", 70, 180),
            cell("Ink", 70, 240),
            cell("3", 270, 240),
        ];
        let cells = unread_cells(&words, &img, &ruling(&words, &img));
        assert_eq!(cells.len(), 1, "{cells:?}");
        let [l, t, r, b] = cells[0];
        assert!(l > 252 && l < 340 && r > 352 && r < 450, "{cells:?}");
        assert!(t > 162 && t < 180 && b > 200 && b < 220, "{cells:?}");
        // What is read there comes back in its cell.
        let mut all = words.clone();
        all.push(cell("5", 340, 180));
        let (els, _) = page_elements(&all, &ruling(&words, &img), 1);
        let Kind::Table { rows } = &els[0].kind else {
            panic!("{els:?}");
        };
        assert_eq!(rows[1], vec!["Pens", "5"]);
        assert!(unread_cells(&all, &img, &ruling(&words, &img)).is_empty());
    }

    #[test]
    fn a_crop_is_set_in_a_white_border() {
        let img = ruled(100, 100, &[10, 50, 90], &[10, 50, 90]);
        let part = img.crop([8, 8, 14, 12], 3);
        assert_eq!((part.width, part.height), (12, 10));
        assert_eq!(part.gray[0], 255);
        assert_eq!(part.gray[3 * 12 + 3], 255, "(8, 8) is white");
        assert_eq!(part.gray[5 * 12 + 5], 0, "(10, 10) is the rule");
        let outside = img.crop([90, 95, 200, 300], 1);
        assert_eq!((outside.width, outside.height), (12, 7));
    }

    #[test]
    fn words_become_lines_and_close_lines_one_paragraph() {
        let words = vec![
            word("A", 10, 10, false),
            word("para-", 60, 10, true),
            word("graph", 10, 35, false),
            word("here.", 60, 35, true),
            // A wide gap: a new paragraph.
            word("Next", 10, 120, true),
        ];
        let (els, warnings) = page_elements(&words, &ruling(&words, &blank()), 3);
        let texts: Vec<&str> = els.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["A paragraph here.", "Next"]);
        assert_eq!(els[0].page, Some(3));
        assert_eq!(els[0].ocr_confidence, Some(0.9));
        assert_eq!(els[0].bbox, Some([10.0, 10.0, 100.0, 55.0]));
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_page_read_as_nothing_or_doubtfully_says_so() {
        let (els, warnings) = page_elements(&[], &ruling(&[], &blank()), 2);
        assert!(els.is_empty());
        assert_eq!(
            warnings,
            vec!["ocr_no_text: page 2: the OCR engine read no text"]
        );
        let mut w = word("blurry", 0, 0, true);
        w.confidence = 0.3;
        let (_, warnings) = page_elements(&[w], &ruling(&[], &blank()), 1);
        assert!(warnings[0].starts_with("ocr_low_confidence: page 1"));
    }
}
