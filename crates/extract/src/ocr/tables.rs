//! Tables in a page image. First the grids its ruling lines draw
//! ([`super::rules`], found by the PDF grid finder), filled with the OCR
//! engine's lines as a PDF's grid is filled with its text lines: each
//! line cut where a column edge passes through a gap between its words,
//! each piece in its cell, in whatever order the engine read them. Then
//! tables set by alignment alone: the other lines joined into the rows
//! the page shows (an engine often reads a table column by column, or
//! cell by cell) and handed to the PDF alignment finder
//! ([`crate::pdf::tables`]), with short cells asked of them (two columns
//! of prose side by side also line up).

use super::Line;
use crate::pdf::line::TextLine;
use crate::pdf::{grid, tables, Rule};
use crate::raster::Raster;

/// Units of the grid finder per text height (see [`super::rules`]).
const TEXT_UNITS: f32 = 10.0;

/// A table read from the page.
pub(super) struct Found {
    /// The engine's lines it holds (indices).
    pub lines: Vec<usize>,
    pub rows: Vec<Vec<String>>,
    /// Left, top, right, bottom, in pixels of the image read.
    pub bbox: [f32; 4],
}

/// A page image's ruling lines in the grid finder's units, with the text
/// height they were measured against: found once (a pass over every
/// pixel, each way) for both the tables and the cells read again.
pub struct Ruling {
    text_px: f32,
    scale: f32,
    rules: Vec<Rule>,
}

impl Ruling {
    pub(super) fn of(lines: &[Line], image: &Raster) -> Ruling {
        let Some(text_px) = text_height(lines) else {
            return Ruling {
                text_px: 0.0,
                scale: 0.0,
                rules: Vec::new(),
            };
        };
        let scale = TEXT_UNITS / text_px;
        let rules = super::rules::rules(image, text_px, scale);
        Ruling {
            text_px,
            scale,
            rules,
        }
    }

    /// The grids the rules draw, with the text height in pixels and the
    /// grid finder's units a pixel; `None` without rules enough for one.
    fn grids(&self) -> Option<(f32, f32, Vec<grid::Grid>)> {
        (self.rules.len() >= 4).then(|| (self.text_px, self.scale, grid::grids(&self.rules)))
    }
}

/// The ruled tables among the page's lines.
pub(super) fn ruled(lines: &[Line], ruling: &Ruling) -> Vec<Found> {
    let Some((_, scale, grids)) = ruling.grids() else {
        return Vec::new();
    };
    let placed: Vec<TextLine> = lines.iter().map(|l| text_line(l, scale)).collect();
    let mut taken = vec![false; lines.len()];
    let mut out = Vec::new();
    for g in grids {
        let held: Vec<usize> = (0..lines.len())
            .filter(|&i| !taken[i] && g.holds(&placed[i]))
            .collect();
        let in_grid: Vec<&TextLine> = held.iter().map(|&i| &placed[i]).collect();
        let Some(rows) = g.rows(&in_grid) else {
            continue;
        };
        for &i in &held {
            taken[i] = true;
        }
        let [l, b, r, t] = g.area;
        out.push(Found {
            lines: held,
            rows,
            bbox: [l / scale, -t / scale, r / scale, -b / scale],
        });
    }
    out
}

/// Most cells of a page read again (see [`unread`]).
const MAX_REREAD: usize = 64;

/// The cells of the page's ruled tables with ink in them and no word
/// read: an engine reading a whole page passes over a lone digit or a
/// shaded header. Their insides in pixels (left, top, right, bottom), the
/// rules left out, at most [`MAX_REREAD`].
pub(super) fn unread(lines: &[Line], image: &Raster, ruling: &Ruling) -> Vec<[u32; 4]> {
    let Some((text_px, scale, grids)) = ruling.grids() else {
        return Vec::new();
    };
    let inset = 0.2 * text_px + 2.0;
    let read = |b: &[f32; 4]| {
        lines.iter().flat_map(|l| &l.words).any(|w| {
            let (x, y) = (
                (w.left + w.right) as f32 / 2.0,
                (w.top + w.bottom) as f32 / 2.0,
            );
            x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]
        })
    };
    let mut out = Vec::new();
    for g in grids {
        for [l, b, r, t] in g.cell_areas() {
            let inside = [
                l / scale + inset,
                -t / scale + inset,
                r / scale - inset,
                -b / scale - inset,
            ];
            if inside[2] - inside[0] < text_px / 2.0
                || inside[3] - inside[1] < text_px / 2.0
                || read(&inside)
            {
                continue;
            }
            let px = inside.map(|v| v.max(0.0) as u32);
            if inked(image, px) >= (text_px * text_px / 10.0) as usize {
                out.push(px);
                if out.len() >= MAX_REREAD {
                    return out;
                }
            }
        }
    }
    out
}

/// Ink pixels in `[left, top, right, bottom)`.
fn inked(image: &Raster, [x0, y0, x1, y1]: [u32; 4]) -> usize {
    let w = image.width as usize;
    if image.gray.len() < w * image.height as usize {
        return 0;
    }
    let (x1, y1) = (x1.min(image.width) as usize, y1.min(image.height) as usize);
    (y0 as usize..y1)
        .map(|y| {
            image.gray[y * w + (x0 as usize).min(x1)..y * w + x1]
                .iter()
                .filter(|&&p| p < super::rules::INK)
                .count()
        })
        .sum()
}

/// An aligned table's columns hold this many characters a cell on
/// average at most (a line of a text column holds thirty-five and more).
const ALIGNED_CELL_CHARS: usize = 30;

/// An aligned table's words are read with this confidence on average at
/// least: what an engine makes of a chart's marks and labels, which line
/// up too, it reads unsure.
const ALIGNED_CONFIDENCE: f32 = 0.7;

/// The tables set by alignment among the lines not `taken` by others.
pub(super) fn aligned(lines: &[Line], taken: &[bool]) -> Vec<Found> {
    let Some(text_px) = text_height(lines) else {
        return Vec::new();
    };
    let scale = TEXT_UNITS / text_px;
    let rows = visual_rows(lines, taken);
    let placed: Vec<TextLine> = rows.iter().map(|r| row_line(lines, r, scale)).collect();
    tables::find(&placed)
        .into_iter()
        .filter(|t| short_and_full(&t.rows))
        .filter_map(|t| {
            let held: Vec<usize> = rows[t.start..t.end].concat();
            let words: Vec<&&super::OcrWord> = held.iter().flat_map(|&i| &lines[i].words).collect();
            let sure = words.iter().map(|w| w.confidence).sum::<f32>();
            (sure >= ALIGNED_CONFIDENCE * words.len() as f32).then(|| Found {
                lines: held,
                rows: t.rows,
                bbox: words_box(words.into_iter()),
            })
        })
        .collect()
}

/// Every column's cells short on average (see [`ALIGNED_CELL_CHARS`]: a
/// column of prose beside a list lines up with it too), and half of the
/// cells or more filled (marks of a chart line up, with gaps between).
fn short_and_full(rows: &[Vec<String>]) -> bool {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let (mut cells, mut filled) = (0, 0);
    for c in 0..columns {
        let column: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.get(c))
            .filter(|cell| !cell.is_empty())
            .map(|cell| cell.chars().count())
            .collect();
        if column.iter().sum::<usize>() > ALIGNED_CELL_CHARS * column.len() {
            return false;
        }
        filled += column.len();
        cells += rows.len();
    }
    filled * 2 >= cells
}

/// The lines not `taken`, joined into the rows the page shows: lines side
/// by side whose middles are within half a line of each other, top to
/// bottom, each row's lines left to right.
fn visual_rows(lines: &[Line], taken: &[bool]) -> Vec<Vec<usize>> {
    let middle = |l: &Line| (l.top + l.bottom) / 2;
    let mut order: Vec<usize> = (0..lines.len()).filter(|&i| !taken[i]).collect();
    order.sort_by_key(|&i| (middle(&lines[i]), lines[i].left));
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for i in order {
        let line = &lines[i];
        let height = line.bottom - line.top;
        let joins = rows.last().is_some_and(|row| {
            row.iter().all(|&k| {
                let other = &lines[k];
                let near = (middle(other) - middle(line)).abs() * 2
                    <= height.min(other.bottom - other.top);
                near && (right(other) <= line.left || right(line) <= other.left)
            })
        });
        match rows.last_mut() {
            Some(row) if joins => row.push(i),
            _ => rows.push(vec![i]),
        }
    }
    for row in &mut rows {
        row.sort_by_key(|&i| lines[i].left);
    }
    rows
}

fn right(line: &Line) -> i32 {
    line.words
        .iter()
        .map(|w| w.right)
        .max()
        .unwrap_or(line.left)
}

/// A row of lines as one line (see [`text_line`]).
fn row_line(lines: &[Line], row: &[usize], scale: f32) -> TextLine {
    let joined = Line {
        words: row
            .iter()
            .flat_map(|&i| lines[i].words.iter().copied())
            .collect(),
        left: row.iter().map(|&i| lines[i].left).min().unwrap_or(0),
        top: row.iter().map(|&i| lines[i].top).min().unwrap_or(0),
        bottom: row.iter().map(|&i| lines[i].bottom).max().unwrap_or(0),
    };
    text_line(&joined, scale)
}

/// Left, top, right, bottom around words, in pixels.
fn words_box<'a>(words: impl Iterator<Item = &'a &'a super::OcrWord>) -> [f32; 4] {
    let (mut l, mut t, mut r, mut b) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for w in words {
        (l, t, r, b) = (l.min(w.left), t.min(w.top), r.max(w.right), b.max(w.bottom));
    }
    [l as f32, t as f32, r as f32, b as f32]
}

/// The page's usual line height in pixels (the median), if it has lines.
fn text_height(lines: &[Line]) -> Option<f32> {
    let mut heights: Vec<i32> = lines.iter().map(|l| (l.bottom - l.top).max(1)).collect();
    if heights.is_empty() {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() / 2] as f32)
}

/// An engine's line as the grid finder takes a PDF's: y up, in its
/// units, each gap between words noted, a gap of a text height or more
/// starting a new segment; bars left out.
fn text_line(line: &Line, scale: f32) -> TextLine {
    let size = (line.bottom - line.top).max(1) as f32 * scale;
    let mut placed = TextLine::at(line.left as f32 * scale, -(line.bottom as f32) * scale);
    let mut end: Option<f32> = None;
    // An engine reads a rule beside a word as a bar: no cell's text.
    let bar = |t: &str| t.chars().all(|c| matches!(c, '|' | '¦' | '│'));
    for w in line.words.iter().filter(|w| !bar(w.text.trim())) {
        let (x0, x1) = (w.left as f32 * scale, w.right as f32 * scale);
        if let Some(e) = end {
            placed.text.push(' ');
            placed.gap(e, x0);
            if x0 - e > size {
                placed.split();
            }
        }
        placed.add(w.text.trim(), (x0, x1), size, false);
        end = Some(x1);
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::super::{lines as read_lines, OcrWord};
    use super::*;

    /// A word at `left`, `top`, 20 px high, 12 px a character.
    fn word(text: &str, left: i32, top: i32, confidence: f32) -> OcrWord {
        OcrWord {
            text: text.into(),
            confidence,
            left,
            top,
            right: left + 12 * text.chars().count() as i32,
            bottom: top + 20,
            line_end: true,
        }
    }

    /// Three columns read one after the other, each cell its own line.
    fn columns(confidence: f32) -> Vec<OcrWord> {
        let mut words = Vec::new();
        for (x, cells) in [
            (50, ["Item", "Pens", "Ink"]),
            (300, ["Count", "12", "3"]),
            (500, ["Price", "4.50", "9.99"]),
        ] {
            for (row, text) in cells.iter().enumerate() {
                words.push(word(text, x, 100 + 30 * row as i32, confidence));
            }
        }
        words
    }

    #[test]
    fn cells_read_column_by_column_are_joined_into_the_rows_the_page_shows() {
        let words = columns(0.9);
        let refs: Vec<&OcrWord> = words.iter().collect();
        let lines = read_lines(&refs);
        let found = aligned(&lines, &vec![false; lines.len()]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].rows,
            vec![
                vec!["Item", "Count", "Price"],
                vec!["Pens", "12", "4.50"],
                vec!["Ink", "3", "9.99"],
            ]
        );
        assert_eq!(found[0].lines.len(), 9);
        assert_eq!(found[0].bbox, [50.0, 100.0, 560.0, 180.0]);
    }

    #[test]
    fn what_an_engine_reads_unsure_or_as_prose_side_by_side_is_no_table() {
        // A chart's marks line up as well; the engine is unsure of them.
        let words = columns(0.5);
        let refs: Vec<&OcrWord> = words.iter().collect();
        let lines = read_lines(&refs);
        assert!(aligned(&lines, &vec![false; lines.len()]).is_empty());
        // Two columns of running text, their lines side by side.
        let prose = "the lines of a column of text run on and on";
        let mut words = Vec::new();
        for row in 0..4 {
            words.push(word(prose, 50, 100 + 30 * row, 0.95));
            words.push(word(prose, 700, 100 + 30 * row, 0.95));
        }
        let refs: Vec<&OcrWord> = words.iter().collect();
        let lines = read_lines(&refs);
        assert!(aligned(&lines, &vec![false; lines.len()]).is_empty());
    }
}
