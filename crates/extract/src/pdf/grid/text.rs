//! A grid's text: the lines standing in it cut into pieces at the column
//! edges, each piece in its cell, rows parted by rules or, in a band
//! ruled down but not across, by lines.

use super::{slot, Grid, MAX_CELL_WORDS, MIN_RULED, ROW_WORDS, TOL};
use crate::pdf::line::TextLine;
use std::collections::BTreeMap;

impl Grid {
    /// The rows of cells of the lines standing in the grid, or `None`
    /// when, empty rows and columns left out, fewer than two of either
    /// hold text (a framed paragraph, a figure).
    pub fn rows(&self, lines: &[&TextLine]) -> Option<Vec<Vec<String>>> {
        let cols = self.xs.len() - 1;
        let spans = self.spans();
        if self.ruled_share(&spans) < MIN_RULED || !self.closed(&spans.1) {
            return None;
        }
        let owner = self.cells(&spans);
        // (band, column, baseline, left, text), top to bottom, left to right.
        let mut pieces: Vec<(usize, usize, f32, f32, String)> = Vec::new();
        for line in lines {
            let Some(band) = slot(&self.ys, line.baseline + 0.3 * line.size) else {
                continue;
            };
            for (left, right, text) in self.pieces(line) {
                if let Some(c) = slot(&self.xs, (left + right) / 2.0) {
                    pieces.push((band, c, line.baseline, left, text));
                }
            }
        }
        pieces.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.3.total_cmp(&b.3)));
        let subrows = subrows(&pieces, self.ys.len() - 1, cols);
        let mut table: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        let mut lines_in: BTreeMap<(usize, usize, usize), usize> = BTreeMap::new();
        for (band, c, baseline, _, text) in &pieces {
            let (key, col) = match subrows[*band].as_ref() {
                Some(starts) => {
                    // The last row start at or above the line.
                    let row = starts.iter().rposition(|&y| y >= baseline - TOL);
                    ((*band, row.unwrap_or(0)), *c)
                }
                None => {
                    let o = owner[band * cols + c];
                    ((o / cols, 0), o % cols)
                }
            };
            let row = table
                .entry(key)
                .or_insert_with(|| vec![String::new(); cols]);
            join(&mut row[col], text);
            *lines_in.entry((key.0, key.1, col)).or_default() += 1;
        }
        if prose_side_by_side(&table, &lines_in) {
            return None;
        }
        let mut rows: Vec<Vec<String>> = table.into_values().collect();
        let keep: Vec<bool> = (0..cols)
            .map(|c| rows.iter().any(|r| !r[c].is_empty()))
            .collect();
        for row in &mut rows {
            let mut c = 0;
            row.retain(|_| {
                c += 1;
                keep[c - 1]
            });
        }
        let words = |c: &String| c.split_whitespace().count();
        let prose = rows.iter().flatten().any(|c| words(c) > MAX_CELL_WORDS);
        (rows.len() >= 2 && rows[0].len() >= 2 && !prose).then_some(rows)
    }

    /// A line cut where a column edge crosses a gap between its words:
    /// (left, right, text) of each piece that has text.
    fn pieces(&self, line: &TextLine) -> Vec<(f32, f32, String)> {
        let inner = &self.xs[1..self.xs.len() - 1];
        line.cut(|g0, g1| inner.iter().any(|&x| x >= g0 - TOL && x <= g1 + TOL))
            .into_iter()
            .map(|(l, r, text)| (l, r, text.trim().to_string()))
            .filter(|p| !p.2.is_empty())
            .collect()
    }
}

/// Whether a row holds two cells of running prose (three lines or more,
/// of more than [`ROW_WORDS`] words each on average): columns of an
/// article in a ruled frame, not a table.
fn prose_side_by_side(
    table: &BTreeMap<(usize, usize), Vec<String>>,
    lines_in: &BTreeMap<(usize, usize, usize), usize>,
) -> bool {
    table.iter().any(|(&(band, sub), row)| {
        let prose = row.iter().enumerate().filter(|(c, text)| {
            let lines = lines_in.get(&(band, sub, *c)).copied().unwrap_or(0);
            lines >= 3 && text.split_whitespace().count() > ROW_WORDS * lines
        });
        prose.count() >= 2
    })
}

/// How each band of a grid parts into rows of text. A band ruled as one
/// row holds one row (its cells may wrap onto more lines); a band that
/// holds lines each filling half the columns or more (a grid ruled down
/// its columns but not between its rows) is a row per such line, each
/// taking the lines below it that fill fewer (their wrapped cells): two
/// such lines or more where the grid has two bands of text at most (a
/// header and a body), three or more where it has more (two would be a
/// ruled row's cells wrapping). `None` for a band of one row.
/// The baselines that start a row, per band.
fn subrows(
    pieces: &[(usize, usize, f32, f32, String)],
    bands: usize,
    cols: usize,
) -> Vec<Option<Vec<f32>>> {
    let full = 2.max(cols.div_ceil(2));
    // A grid ruled between its rows has many bands of text: two lines in
    // one of its bands are a cell wrapping, three a band of rows.
    let with_text = (0..bands)
        .filter(|b| pieces.iter().any(|p| p.0 == *b))
        .count();
    let fewest = if with_text <= 2 { 2 } else { 3 };
    (0..bands)
        .map(|band| {
            // Lines of the band, top down: (baseline, columns filled).
            let mut lines: Vec<(f32, Vec<usize>)> = Vec::new();
            for (_, c, baseline, _, _) in pieces.iter().filter(|p| p.0 == band) {
                match lines.last_mut() {
                    Some((y, filled)) if (*y - baseline).abs() < TOL => {
                        if !filled.contains(c) {
                            filled.push(*c);
                        }
                    }
                    _ => lines.push((*baseline, vec![*c])),
                }
            }
            let starts: Vec<f32> = lines
                .iter()
                .filter(|(_, filled)| filled.len() >= full)
                .map(|(y, _)| *y)
                .collect();
            let (count, words) = pieces
                .iter()
                .filter(|p| p.0 == band && starts.iter().any(|y| (y - p.2).abs() < TOL))
                .fold((0, 0), |(n, w), p| {
                    (n + 1, w + p.4.split_whitespace().count())
                });
            let prose = words > ROW_WORDS * count.max(1);
            (starts.len() >= fewest && !prose).then_some(starts)
        })
        .collect()
}

/// Adds a piece to a cell's text: a hyphen ending a line joins the word
/// it breaks, otherwise a space.
fn join(cell: &mut String, piece: &str) {
    let piece = piece.split_whitespace().collect::<Vec<_>>().join(" ");
    if cell.ends_with('-') && piece.starts_with(char::is_lowercase) {
        cell.pop();
    } else if !cell.is_empty() {
        cell.push(' ');
    }
    cell.push_str(&piece);
}
