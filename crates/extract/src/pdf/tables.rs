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

/// The tables among a page's lines, in order.
pub fn find(lines: &[TextLine]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j < lines.len()
            && cells(&lines[j]) >= 2
            && (j == i || close(&lines[j - 1], &lines[j]))
        {
            j += 1;
        }
        if j - i >= MIN_ROWS {
            if let Some(rows) = columns(&lines[i..j]) {
                out.push(Found {
                    start: i,
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

/// The rows of cells of lines that line up in two columns or more.
fn columns(lines: &[TextLine]) -> Option<Vec<Vec<String>>> {
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
    if merged.len() < 2 {
        return None;
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            let mut row = vec![String::new(); merged.len()];
            for (x0, x1, text) in &l.segments {
                let centre = (x0 + x1) / 2.0;
                let col = merged
                    .iter()
                    .position(|(a, b)| centre >= *a && centre <= *b)
                    .unwrap_or(0);
                let cell = &mut row[col];
                if !cell.is_empty() {
                    cell.push(' ');
                }
                cell.push_str(
                    text.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .as_str(),
                );
            }
            row
        })
        .collect();
    tabular(&rows).then_some(rows)
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
}
