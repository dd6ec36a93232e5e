//! From positioned lines to blocks: lines join into paragraphs by their
//! geometry (size, weight, spacing, left edge) and wording; blocks set in
//! a larger size, or in bold at body size and standing alone, are
//! headings, levelled by size across the whole document; every block
//! carries its box on the page.

use super::grid::Grid;
use super::line::TextLine;
use crate::model::{Element, Kind};

/// Lines of one page that read as one block (kept between the parts of
/// a document read in parts: [`super::split`]).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub text: String,
    pub page: u32,
    size: f32,
    bold: bool,
    lines: usize,
    /// Left, bottom, right, top in user space.
    area: [f32; 4],
    /// The page's MediaBox top-left corner, for boxes measured from it.
    origin: (f32, f32),
    /// A table's rows of cells.
    rows: Option<Vec<Vec<String>>>,
}

impl Block {
    /// A paragraph's first line.
    fn of(line: &TextLine, text: String, page: u32, origin: (f32, f32)) -> Block {
        let mut area = [line.left, line.baseline, line.right, line.baseline];
        grow(&mut area, line);
        Block {
            text,
            page,
            size: line.size,
            bold: line.bold(),
            lines: 1,
            area,
            origin,
            rows: None,
        }
    }

    /// The next line of the paragraph.
    fn add(&mut self, line: &TextLine, text: &str) {
        if self.text.ends_with('-') && text.starts_with(char::is_lowercase) {
            self.text.pop(); // re-join a hyphenated word
        } else {
            self.text.push(' ');
        }
        self.text.push_str(text);
        self.lines += 1;
        self.bold &= line.bold();
        self.size = self.size.max(line.size);
        grow(&mut self.area, line);
    }
}

/// Whether `next` goes on the paragraph whose last line is `prev`, of a
/// block `right` wide so far.
fn continues(prev: &TextLine, next: &TextLine, right: f32) -> bool {
    let trimmed = prev.text.trim_end();
    // A line that does not end a sentence, followed by one in lower case,
    // is the same sentence (whatever the layout).
    if !trimmed.ends_with(['.', '!', '?', ':', ';'])
        && next.text.trim_start().starts_with(char::is_lowercase)
    {
        return true;
    }
    let size = prev.size.max(1.0);
    let same_face = (next.size - prev.size).abs() <= 0.1 * size && prev.bold() == next.bold();
    let gap = prev.baseline - next.baseline;
    let spaced = gap > 0.5 * size && gap < 1.6 * size;
    // Left-aligned, or centred on the same axis (titles, headings).
    let centre = |l: &TextLine| (l.left + l.right) / 2.0;
    let aligned =
        (next.left - prev.left).abs() < 1.5 * size || (centre(next) - centre(prev)).abs() < size;
    // A line ending well short of the block's right edge ends its paragraph.
    let full = prev.right > right - 2.0 * size;
    same_face && spaced && aligned && full && !trimmed.is_empty()
}

/// A page's lines as blocks. `origin` is its MediaBox's top-left corner;
/// `grids`, the page's ruled grids: a grid that holds a table stands as
/// one block where its first line comes, its lines read as its cells.
pub fn blocks(lines: &[TextLine], grids: &[Grid], page: u32, origin: (f32, f32)) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut prev: Option<&TextLine> = None;
    let mut ruled = ruled_tables(lines, grids, page, origin);
    let in_grid: Vec<bool> = lines
        .iter()
        .map(|l| ruled.iter().any(|(g, _)| grids[*g].holds(l)))
        .collect();
    // Tables by alignment among the other lines.
    let tables = super::tables::find(lines);
    let mut tables = tables
        .into_iter()
        .filter(|t| !in_grid[t.start..t.end].contains(&true))
        .peekable();
    let mut skip_to = 0;
    for (i, line) in lines.iter().enumerate() {
        if in_grid[i] {
            if let Some(at) = ruled.iter().position(|(g, _)| grids[*g].holds(line)) {
                out.push(ruled.swap_remove(at).1);
            }
            prev = None;
            continue;
        }
        if i < skip_to {
            continue; // a table's line
        }
        if let Some(t) = tables.next_if(|t| t.start == i) {
            out.push(table_block(&lines[t.start..t.end], t.rows, page, origin));
            skip_to = t.end;
            prev = None;
            continue;
        }
        let text = line.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            continue;
        }
        match (prev, out.last_mut()) {
            (Some(p), Some(block)) if continues(p, line, block.area[2]) => {
                block.add(line, &text);
            }
            _ => out.push(Block::of(line, text, page, origin)),
        }
        prev = Some(line);
    }
    out
}

/// The grids that hold a table, each with its block.
fn ruled_tables(
    lines: &[TextLine],
    grids: &[Grid],
    page: u32,
    origin: (f32, f32),
) -> Vec<(usize, Block)> {
    grids
        .iter()
        .enumerate()
        .filter_map(|(g, grid)| {
            let held: Vec<&TextLine> = lines.iter().filter(|l| grid.holds(l)).collect();
            let rows = grid.rows(&held)?;
            let size = held.first().map_or(0.0, |l| l.size);
            let block = table_of(rows, (size, held.len()), grid.area, page, origin);
            Some((g, block))
        })
        .collect()
}

/// A table found among the lines, as one block.
fn table_block(lines: &[TextLine], rows: Vec<Vec<String>>, page: u32, origin: (f32, f32)) -> Block {
    let first = &lines[0];
    let mut area = [first.left, first.baseline, first.right, first.baseline];
    for line in lines {
        grow(&mut area, line);
    }
    table_of(rows, (first.size, lines.len()), area, page, origin)
}

/// A table's block: its rows, its text size and count of lines, its area.
fn table_of(
    rows: Vec<Vec<String>>,
    (size, lines): (f32, usize),
    area: [f32; 4],
    page: u32,
    origin: (f32, f32),
) -> Block {
    Block {
        text: rows
            .iter()
            .map(|r| r.join("\t"))
            .collect::<Vec<_>>()
            .join("\n"),
        page,
        size,
        bold: false,
        lines,
        area,
        origin,
        rows: Some(rows),
    }
}

/// Widens a block's area by a line (its ascent about 0.8 of the font
/// height above the baseline, its descent 0.2 below).
fn grow(area: &mut [f32; 4], line: &TextLine) {
    area[0] = area[0].min(line.left);
    area[1] = area[1].min(line.baseline - 0.2 * line.size);
    area[2] = area[2].max(line.right);
    area[3] = area[3].max(line.baseline + 0.8 * line.size);
}

/// Rounds to a tenth of a point.
fn tenth(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

/// The body text size: the size most characters are set in.
fn body_size(blocks: &[Block]) -> f32 {
    let mut counts: std::collections::BTreeMap<i64, usize> = Default::default();
    for b in blocks {
        *counts.entry((b.size * 2.0).round() as i64).or_default() += b.text.len();
    }
    counts
        .into_iter()
        .max_by_key(|&(_, n)| n)
        .map_or(10.0, |(half, _)| half as f32 / 2.0)
}

/// Whether a block reads like a heading: short, a few lines at most, with
/// letters, not ending a sentence with a full stop or a comma.
fn heading_like(b: &Block) -> bool {
    let t = b.text.trim();
    b.lines <= 3
        && t.chars().count() <= 150
        && t.chars().any(char::is_alphabetic)
        && !t.ends_with(['.', ',', ';'])
        && !t.starts_with(char::is_lowercase)
}

/// A table that ends a page and one that opens the next with as many
/// columns are one table; the next page's copy of the header row, if it
/// repeats it, is dropped.
fn join_continued_tables(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::with_capacity(blocks.len());
    // The page the last block reaches (a joined table, its last page's).
    let mut reach = 0;
    for b in blocks {
        let continues = match (out.last(), &b.rows) {
            (Some(prev), Some(rows)) => prev
                .rows
                .as_ref()
                .is_some_and(|p| reach + 1 == b.page && p[0].len() == rows[0].len()),
            _ => false,
        };
        reach = b.page;
        if !continues {
            out.push(b);
            continue;
        }
        let prev = out.last_mut().expect("checked");
        let (Some(into), Some(mut more)) = (prev.rows.as_mut(), b.rows) else {
            continue;
        };
        if more.first() == into.first() {
            more.remove(0);
        }
        into.extend(more);
        prev.text = into
            .iter()
            .map(|r| r.join("\t"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    out
}

/// The document's blocks as elements: headings levelled by size (the
/// largest heading size is level 1; bold body-size headings come after
/// the sized ones), the rest paragraphs; each with its page and box.
pub fn elements(blocks: Vec<Block>) -> Vec<(Element, u32)> {
    let body = body_size(&blocks);
    let sized = |b: &Block| heading_like(b) && b.size >= body * 1.15;
    let mut sizes: Vec<i64> = blocks
        .iter()
        .filter(|b| sized(b))
        .map(|b| (b.size * 2.0).round() as i64)
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    sizes.truncate(3);
    let bold_level = sizes.len() as u8 + 1;
    join_continued_tables(blocks)
        .into_iter()
        .map(|b| {
            let half = (b.size * 2.0).round() as i64;
            let level = if b.rows.is_some() {
                None
            } else if sized(&b) {
                Some(
                    sizes
                        .iter()
                        .position(|&s| s == half)
                        .map_or(3, |i| i as u8 + 1),
                )
            } else if heading_like(&b) && b.bold && b.lines == 1 && b.size >= body * 0.95 {
                Some(bold_level.min(4))
            } else {
                None
            };
            let kind = match (&b.rows, level) {
                (Some(rows), _) => Kind::Table { rows: rows.clone() },
                (None, Some(level)) => Kind::Heading { level },
                (None, None) => Kind::Paragraph,
            };
            let (x0, top) = b.origin;
            let bbox = [
                tenth(b.area[0] - x0),
                tenth(top - b.area[3]),
                tenth(b.area[2] - x0),
                tenth(top - b.area[1]),
            ];
            let mut el = match kind {
                Kind::Table { rows } => Element::table(rows).on_page(b.page),
                kind => Element::new(kind, b.text).on_page(b.page),
            };
            el.bbox = Some(bbox);
            (el, b.page)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, left: f32, baseline: f32, size: f32, bold: bool) -> TextLine {
        let mut l = TextLine::at(left, baseline);
        let width = text.len() as f32 * size * 0.5;
        l.add(text, (left, left + width), size, bold);
        l
    }

    #[test]
    fn wrapped_lines_join_and_short_last_lines_end_paragraphs() {
        let lines = vec![
            line(
                "Budgets hold every document to what it may cost in",
                72.0,
                700.0,
                10.0,
                false,
            ),
            line(
                "memory and time. Nothing escapes them, however nested",
                72.0,
                688.0,
                10.0,
                false,
            ),
            line("it is.", 72.0, 676.0, 10.0, false),
            line("Another paragraph begins here.", 72.0, 652.0, 10.0, false),
        ];
        let blocks = blocks(&lines, &[], 1, (0.0, 792.0));
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Budgets hold every document to what it may cost in memory and time. Nothing escapes them, however nested it is.",
                "Another paragraph begins here."
            ]
        );
    }

    #[test]
    fn larger_and_bold_lines_are_headings_by_level_with_boxes() {
        let lines = vec![
            line("Annual Report", 72.0, 740.0, 24.0, true),
            line("Results", 72.0, 700.0, 16.0, true),
            line(
                "Revenue grew in every region this year, as the",
                72.0,
                680.0,
                10.0,
                false,
            ),
            line(
                "figures below show in detail for each quarter.",
                72.0,
                668.0,
                10.0,
                false,
            ),
            line("Outlook", 72.0, 640.0, 10.0, true),
            line(
                "We expect more of the same next year, and then some.",
                72.0,
                626.0,
                10.0,
                false,
            ),
        ];
        let els = elements(blocks(&lines, &[], 2, (0.0, 792.0)));
        let kinds: Vec<&Kind> = els.iter().map(|(e, _)| &e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &Kind::Heading { level: 1 },
                &Kind::Heading { level: 2 },
                &Kind::Paragraph,
                &Kind::Heading { level: 3 },
                &Kind::Paragraph
            ]
        );
        // Boxes from the page's top-left corner, in points.
        let first = els[0].0.bbox.unwrap();
        assert_eq!(first, [72.0, 32.8, 228.0, 56.8]);
        assert_eq!(els[2].0.page, Some(2));
    }

    fn table_on(page: u32, rows: &[[&str; 2]]) -> Block {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let lines: Vec<TextLine> = (0..rows.len())
            .map(|i| line("x", 72.0, 700.0 - 12.0 * i as f32, 10.0, false))
            .collect();
        table_block(&lines, rows, page, (0.0, 792.0))
    }

    #[test]
    fn a_table_that_runs_onto_the_next_page_is_one_table_without_its_repeated_header() {
        let blocks = vec![
            table_on(1, &[["Year", "Sales"], ["2021", "10"], ["2022", "12"]]),
            table_on(2, &[["Year", "Sales"], ["2023", "15"]]),
        ];
        let els = elements(blocks);
        assert_eq!(els.len(), 1);
        let Kind::Table { rows } = &els[0].0.kind else {
            panic!("{:?}", els[0].0.kind);
        };
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[3], vec!["2023", "15"]);
        assert_eq!(els[0].0.text, "Year\tSales\n2021\t10\n2022\t12\n2023\t15");
    }
}
