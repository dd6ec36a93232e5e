//! Tables in a PDF's text layer, found by column alignment: three or more
//! lines in a row, each split by wide gaps (an em or more) into two or
//! more segments, whose segments line up in columns: the stretches of the
//! page that some segment covers, with white space down between them.
//! A cell is what falls in its column on its row. Lists (a marker, then
//! text) and two text columns side by side (long runs of prose) are not
//! tables. This finder reads alignment only; tables drawn with ruling
//! lines are found first by their rules ([`super::grid`]), and their
//! lines are not offered here.

use super::line::TextLine;

/// A run of lines that reads as a table.
pub struct Found {
    /// The lines `start..end` of the page.
    pub start: usize,
    pub end: usize,
    pub rows: Vec<Vec<String>>,
}

/// Fewest lines that make a table.
const MIN_ROWS: usize = 3;

/// Most rows of a run whose columns are sought closer than an em.
const MAX_TIGHT_ROWS: usize = 500;

/// The tables among a page's lines, in order.
pub fn find(lines: &[TextLine]) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j < lines.len()
            && cells(&lines[j]) >= 2
            && (j == i || close(&lines[j - 1], &lines[j]))
        {
            j += 1;
        }
        // The line above, not part of an earlier table, may be the run's
        // header set tighter than its body (gaps under an em).
        let head = i
            .checked_sub(1)
            .filter(|&h| out.last().is_none_or(|t| t.end <= h) && close(&lines[h], &lines[i]));
        if j - i >= MIN_ROWS - 1 {
            if let Some((start, rows)) = table(lines, head, i, j) {
                out.push(Found {
                    start,
                    end: j,
                    rows,
                });
                i = j;
                continue;
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// The rows of the body `i..j`, with the header line `head` above it
/// when it parts into the body's columns: the table's first line and
/// rows, if they make [`MIN_ROWS`] or more and read as a table.
fn table(
    lines: &[TextLine],
    head: Option<usize>,
    i: usize,
    j: usize,
) -> Option<(usize, Vec<Vec<String>>)> {
    let body = &lines[i..j];
    let found = spans(body)?;
    let spans = split_tight(&found, body);
    let mut rows: Vec<Vec<String>> = if spans.len() == found.len() {
        body.iter().map(|l| row(l, &spans)).collect()
    } else {
        body.iter().map(|l| cut_row(l, &spans)).collect()
    };
    let header = head.and_then(|h| header(&lines[h], &spans).map(|r| (h, r)));
    let start = match header {
        Some((h, r)) => {
            rows.insert(0, r);
            h
        }
        None => i,
    };
    (rows.len() >= MIN_ROWS && tabular(&rows)).then_some((start, rows))
}

/// Non-empty segments of a line.
fn cells(line: &TextLine) -> usize {
    line.segments
        .iter()
        .filter(|s| !s.2.trim().is_empty())
        .count()
}

/// The next row sits below, within three line heights.
fn close(prev: &TextLine, next: &TextLine) -> bool {
    let gap = prev.baseline - next.baseline;
    gap > 0.0 && gap < 3.0 * prev.size.max(next.size).max(1.0)
}

/// The columns of lines: the stretches of the page some segment covers,
/// with white space down between them; two or more.
fn spans(lines: &[TextLine]) -> Option<Vec<(f32, f32)>> {
    let mut spans: Vec<(f32, f32)> = lines
        .iter()
        .flat_map(|l| l.segments.iter())
        .filter(|s| !s.2.trim().is_empty())
        .map(|s| (s.0, s.1))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f32, f32)> = Vec::new();
    for (x0, x1) in spans {
        match merged.last_mut() {
            Some(last) if x0 <= last.1 => last.1 = last.1.max(x1),
            _ => merged.push((x0, x1)),
        }
    }
    (merged.len() >= 2).then_some(merged)
}

/// A line's cells: each segment in the column its middle falls in.
fn row(line: &TextLine, spans: &[(f32, f32)]) -> Vec<String> {
    let mut row = vec![String::new(); spans.len()];
    for (x0, x1, text) in &line.segments {
        let centre = (x0 + x1) / 2.0;
        let col = spans
            .iter()
            .position(|(a, b)| centre >= *a && centre <= *b)
            .unwrap_or(0);
        put(&mut row[col], text);
    }
    row
}

/// Columns set closer than an em split further: where, inside a column,
/// no line's text runs across a point and two lines or more (half of
/// those with text in the column or more) have a gap of half an em or
/// wider there, the column parts at those gaps' common stretch.
fn split_tight(spans: &[(f32, f32)], lines: &[TextLine]) -> Vec<(f32, f32)> {
    // Each candidate is held against every line: a run longer than any
    // table's page is left as its segments say.
    if lines.len() > MAX_TIGHT_ROWS {
        return spans.to_vec();
    }
    let mut out = Vec::new();
    for &(a, b) in spans {
        let mut xs: Vec<f32> = lines
            .iter()
            .flat_map(wide_gaps)
            .map(|(g0, g1)| (g0 + g1) / 2.0)
            .filter(|x| *x > a && *x < b)
            .collect();
        xs.sort_by(f32::total_cmp);
        // One candidate per point of width at most.
        xs.dedup_by(|x, prev| *x - *prev < 1.0);
        let mut left = a;
        for x in xs {
            if x <= left {
                continue; // in the gutter just found
            }
            if let Some((gl, gr)) = gutter_at(lines, x, (a, b)) {
                out.push((left, gl));
                left = gr;
            }
        }
        out.push((left, b));
    }
    out
}

/// A line's gaps of half an em or wider.
fn wide_gaps(line: &TextLine) -> impl Iterator<Item = (f32, f32)> + '_ {
    let half = 0.5 * line.size.max(1.0);
    line.gaps
        .iter()
        .filter(move |g| g.1 - g.0 >= half)
        .map(|g| (g.0, g.1))
}

/// The stretch every line's wide gap at `x` shares, if no line's text in
/// the column `a..b` runs across `x` and enough lines part there.
fn gutter_at(lines: &[TextLine], x: f32, (a, b): (f32, f32)) -> Option<(f32, f32)> {
    let (mut gl, mut gr) = (f32::MIN, f32::MAX);
    let (mut parted, mut with_text) = (0, 0);
    for line in lines {
        let text = |s: &&(f32, f32, String)| !s.2.trim().is_empty();
        if !line
            .segments
            .iter()
            .filter(text)
            .any(|s| s.0 < b && s.1 > a)
        {
            continue;
        }
        with_text += 1;
        if let Some((g0, g1)) = wide_gaps(line).find(|g| g.0 <= x && x <= g.1) {
            parted += 1;
            (gl, gr) = (gl.max(g0), gr.min(g1));
        } else if line
            .segments
            .iter()
            .filter(text)
            .any(|s| s.0 < x && x < s.1)
        {
            return None;
        }
    }
    (parted >= 2 && parted * 2 >= with_text && gl < gr).then_some((gl, gr))
}

/// The stretches between columns.
fn gutters(spans: &[(f32, f32)]) -> Vec<(f32, f32)> {
    spans.windows(2).map(|w| (w[0].1, w[1].0)).collect()
}

/// A line cut at its gaps (`min` wide or wider) that reach into a gutter:
/// each piece's left, right and text.
fn pieces<'a>(line: &'a TextLine, gutters: &[(f32, f32)], min: f32) -> Vec<(f32, f32, &'a str)> {
    line.cut(|g0, g1| g1 - g0 >= min && gutters.iter().any(|&(a, b)| g0 <= b && g1 >= a))
}

/// A row of a table whose columns part closer than an em: the line cut
/// at the gutters, each piece in the column its middle falls in (or the
/// nearest).
fn cut_row(line: &TextLine, spans: &[(f32, f32)]) -> Vec<String> {
    let mut row = vec![String::new(); spans.len()];
    for (x0, x1, text) in pieces(line, &gutters(spans), 0.0) {
        let centre = (x0 + x1) / 2.0;
        let distance = |&(a, b): &(f32, f32)| (a - centre).max(centre - b).max(0.0);
        let col = (0..spans.len())
            .min_by(|&p, &q| distance(&spans[p]).total_cmp(&distance(&spans[q])))
            .unwrap_or(0);
        put(&mut row[col], text);
    }
    row
}

/// A header line of one stretch cut where its gaps (half an em or
/// wider, wider than word spaces) cross the body's gutters, each piece
/// in a column; `None` unless it parts into two columns or more and
/// every piece stands over a column, within the body's width.
fn header(line: &TextLine, spans: &[(f32, f32)]) -> Option<Vec<String>> {
    let em = line.size.max(1.0);
    let (left, right) = (spans[0].0, spans[spans.len() - 1].1);
    if cells(line) != 1 || line.left < left - em || line.right > right + em {
        return None;
    }
    let pieces = pieces(line, &gutters(spans), 0.5 * em);
    let mut row = vec![String::new(); spans.len()];
    for (x0, x1, text) in &pieces {
        let centre = (x0 + x1) / 2.0;
        let col = spans
            .iter()
            .position(|(a, b)| centre >= *a - em && centre <= *b + em)?;
        put(&mut row[col], text);
    }
    (pieces.len() >= 2).then_some(row)
}

/// Adds text to a cell, its spaces made single.
fn put(cell: &mut String, text: &str) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return;
    }
    if !cell.is_empty() {
        cell.push(' ');
    }
    cell.push_str(&text);
}

/// Whether rows of cells look like a table rather than a list or prose
/// set in columns.
fn tabular(rows: &[Vec<String>]) -> bool {
    let filled: Vec<&String> = rows.iter().flatten().filter(|c| !c.is_empty()).collect();
    let mean = filled.iter().map(|c| c.chars().count()).sum::<usize>() / filled.len().max(1);
    let markers = rows
        .iter()
        .all(|r| r.first().is_some_and(|c| list_marker(c)));
    let sparse = rows
        .iter()
        .filter(|r| r.iter().filter(|c| !c.is_empty()).count() < 2)
        .count();
    mean <= 60 && !markers && sparse * 2 < rows.len()
}

/// A list item's marker: a bullet, or a short number or letter with `.` or `)`.
fn list_marker(cell: &str) -> bool {
    let c = cell.trim();
    let short = c.chars().count() <= 4;
    let bullet = !c.is_empty() && c.chars().all(|ch| !ch.is_alphanumeric());
    let numbered =
        c.ends_with(['.', ')']) && c.chars().filter(|ch| ch.is_alphanumeric()).count() <= 3;
    short && (bullet || numbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of cells at the given x positions, on `baseline`.
    fn row(cells: &[(&str, f32)], baseline: f32) -> TextLine {
        let mut line = TextLine::at(cells[0].1, baseline);
        for (text, x) in cells {
            line.split();
            let width = text.len() as f32 * 5.0;
            line.add(text, (*x, x + width), 10.0, false);
        }
        line
    }

    #[test]
    fn aligned_cells_over_three_lines_are_a_table() {
        let lines = vec![
            row(
                &[("Quarter", 72.0), ("Revenue", 200.0), ("Margin", 300.0)],
                700.0,
            ),
            row(&[("Q1", 72.0), ("1,200", 210.0), ("12 %", 305.0)], 686.0),
            row(&[("Q2", 72.0), ("1,350", 210.0), ("13 %", 305.0)], 672.0),
        ];
        let found = find(&lines);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].rows,
            vec![
                vec!["Quarter", "Revenue", "Margin"],
                vec!["Q1", "1,200", "12 %"],
                vec!["Q2", "1,350", "13 %"],
            ]
        );
    }

    #[test]
    fn lists_and_prose_in_two_columns_are_not_tables() {
        let list = vec![
            row(&[("•", 72.0), ("First point", 90.0)], 700.0),
            row(&[("•", 72.0), ("Second point", 90.0)], 686.0),
            row(&[("•", 72.0), ("Third point", 90.0)], 672.0),
        ];
        assert!(find(&list).is_empty());
        let long = "a line of running text that goes on for quite a while, and longer still";
        let prose: Vec<TextLine> = (0..4)
            .map(|i| row(&[(long, 72.0), (long, 450.0)], 700.0 - 12.0 * i as f32))
            .collect();
        assert!(find(&prose).is_empty());
    }

    /// One stretch of words at the given x positions (gaps under an em,
    /// so no segments), each gap noted as the walker notes it.
    fn tight(words: &[(&str, f32)], baseline: f32) -> TextLine {
        let mut line = TextLine::at(words[0].1, baseline);
        let mut end = words[0].1;
        for (i, (text, x)) in words.iter().enumerate() {
            if i > 0 {
                line.text.push(' ');
                line.gap(end, *x);
            }
            end = x + text.len() as f32 * 5.0;
            line.add(text, (*x, end), 10.0, false);
        }
        line
    }

    /// Two rows of five columns (a label, then numbers at 370, 407, 446, 491).
    fn two_rows() -> Vec<TextLine> {
        let cols = |label, a, b, c, d| {
            vec![
                (label, 312.0),
                (a, 370.0),
                (b, 407.0),
                (c, 446.0),
                (d, 491.0),
            ]
        };
        vec![
            row(&cols("Gold", "44.9", "66.8", "78.1", "85.0"), 686.0),
            row(&cols("Dist. Sup.", "43.9", "65.3", "77.1", "84.4"), 672.0),
        ]
    }

    #[test]
    fn a_header_set_tighter_than_its_body_is_cut_at_the_body_gutters() {
        // "Top-1 Top-5 …" 8 to 9 pt apart (under an em): one stretch,
        // whose gaps fall in the gutters between the body's columns.
        let mut lines = vec![tight(
            &[
                ("Top-1", 366.0),
                ("Top-5", 403.0),
                ("Top-20", 440.0),
                ("Top-100", 482.0),
            ],
            700.0,
        )];
        lines.extend(two_rows());
        let found = find(&lines);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start, found[0].end), (0, 3));
        assert_eq!(
            found[0].rows[0],
            vec!["", "Top-1", "Top-5", "Top-20", "Top-100"]
        );
        assert_eq!(
            found[0].rows[2],
            vec!["Dist. Sup.", "43.9", "65.3", "77.1", "84.4"]
        );
    }

    #[test]
    fn a_line_of_prose_above_two_rows_is_not_their_header() {
        // Word spaces (under half an em) are not cut, whatever they fall
        // across; two rows alone are no table.
        let mut lines = vec![tight(
            &[
                ("The", 312.0),
                ("figures", 333.0),
                ("of", 371.0),
                ("both", 384.0),
                ("runs", 408.0),
                ("follow", 432.0),
                ("below", 465.0),
            ],
            700.0,
        )];
        lines.extend(two_rows());
        assert!(find(&lines).is_empty());
    }

    /// A label, then numbers set `gap` pt apart (one stretch when under an em).
    fn label_and_numbers(label: &str, numbers: [&str; 3], gap: f32, baseline: f32) -> TextLine {
        let mut line = row(&[(label, 72.0)], baseline);
        line.split();
        let mut x = 200.0;
        for (i, n) in numbers.iter().enumerate() {
            if i > 0 {
                line.text.push(' ');
                line.gap(x - gap, x);
            } else {
                line.text.push(' ');
                line.gap(72.0 + label.len() as f32 * 5.0, x);
            }
            line.add(n, (x, x + 20.0), 10.0, false);
            x += 20.0 + gap;
        }
        line
    }

    #[test]
    fn columns_set_closer_than_an_em_part_where_every_row_leaves_a_wide_gap() {
        // Numbers 7 pt apart at 10 pt: under an em, so each row has two
        // segments, but over half an em in every row, at the same place.
        let lines: Vec<TextLine> = [
            ("Random", ["47.0", "64.3", "77.8"]),
            ("BM25", ["50.0", "63.3", "74.8"]),
            ("Gold", ["42.6", "63.1", "78.3"]),
        ]
        .iter()
        .enumerate()
        .map(|(i, (label, n))| label_and_numbers(label, *n, 7.0, 700.0 - 14.0 * i as f32))
        .collect();
        let found = find(&lines);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rows[1], vec!["BM25", "50.0", "63.3", "74.8"]);
        // Word spaces (3 pt) part nothing: the numbers stay one cell.
        let lines: Vec<TextLine> = [
            ("Random", ["47.0", "64.3", "77.8"]),
            ("BM25", ["50.0", "63.3", "74.8"]),
            ("Gold", ["42.6", "63.1", "78.3"]),
        ]
        .iter()
        .enumerate()
        .map(|(i, (label, n))| label_and_numbers(label, *n, 3.0, 700.0 - 14.0 * i as f32))
        .collect();
        assert_eq!(find(&lines)[0].rows[1], vec!["BM25", "50.0 63.3 74.8"]);
    }
}
