//! Chunking for retrieval: by size with overlap (characters or approximate
//! tokens), by section (headings start chunks), or by page. Chunks never
//! split inside a word, and each records the pages and heading it came from.
//! A table is cut between its rows only, and every chunk of it opens with
//! its header row, so each piece still says what its columns are.

use crate::extract::model::{Element, Kind};
use serde::{Deserialize, Serialize};

/// How to cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    Size,
    Section,
    Page,
}

/// Options of the `chunk` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChunkOptions {
    pub strategy: Strategy,
    /// Largest chunk, in characters (or tokens when `unit` is `tokens`).
    pub max_size: usize,
    /// Overlap between consecutive size-based chunks, same unit.
    pub overlap: usize,
    pub unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    #[default]
    Characters,
    /// Approximate tokens: one per four characters, the usual rule of thumb.
    Tokens,
}

impl Default for ChunkOptions {
    fn default() -> ChunkOptions {
        ChunkOptions {
            strategy: Strategy::Size,
            max_size: 1000,
            overlap: 100,
            unit: Unit::Characters,
        }
    }
}

impl ChunkOptions {
    /// Checks the numbers; returns a message for the client when wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_size < 20 || self.max_size > 100_000 {
            return Err("chunk max_size must be between 20 and 100000".into());
        }
        if self.overlap * 2 > self.max_size {
            return Err("chunk overlap must be at most half of max_size".into());
        }
        Ok(())
    }

    fn chars(&self, n: usize) -> usize {
        match self.unit {
            Unit::Characters => n,
            Unit::Tokens => n * 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chunk {
    pub index: usize,
    pub text: String,
    pub characters: usize,
    pub approx_tokens: usize,
    pub page_start: Option<u32>,
    pub page_end: Option<u32>,
    /// The nearest heading above the chunk's start.
    pub heading: Option<String>,
}

/// A piece of text with where it came from, before cutting.
struct Block {
    text: String,
    page: Option<u32>,
    heading: Option<String>,
    /// A table's rows, its cells joined by tabs; the first is its header.
    rows: Option<Vec<String>>,
}

fn blocks(elements: &[Element]) -> Vec<Block> {
    let mut heading = None;
    let mut out = Vec::new();
    for el in elements {
        if matches!(el.kind, Kind::Title | Kind::Heading { .. }) {
            heading = Some(el.text.clone());
        }
        if el.text.trim().is_empty() || matches!(el.kind, Kind::PageBreak) {
            continue;
        }
        let rows = match &el.kind {
            Kind::Table { rows } if rows.len() > 1 => Some(
                rows.iter()
                    .map(|r| r.join("\t").trim_end().to_string())
                    .collect(),
            ),
            _ => None,
        };
        out.push(Block {
            text: el.text.clone(),
            page: el.page,
            heading: heading.clone(),
            rows,
        });
    }
    out
}

pub fn chunk(elements: &[Element], opts: &ChunkOptions) -> Vec<Chunk> {
    let blocks = blocks(elements);
    let groups: Vec<Vec<&Block>> = match opts.strategy {
        Strategy::Size => vec![blocks.iter().collect()],
        Strategy::Page => group_by(&blocks, |a, b| a.page == b.page),
        Strategy::Section => group_by(&blocks, |a, b| a.heading == b.heading),
    };
    let max = opts.chars(opts.max_size);
    let overlap = opts.chars(opts.overlap);
    let mut out = Vec::new();
    for group in groups {
        // Text runs are cut with overlap; each table on its own, by rows.
        let mut run: Vec<&Block> = Vec::new();
        for b in group {
            if b.rows.is_some() {
                cut(&run, max, overlap, &mut out);
                run.clear();
                cut_table(b, max, &mut out);
            } else {
                run.push(b);
            }
        }
        cut(&run, max, overlap, &mut out);
    }
    out
}

/// Cuts a table between rows into chunks of at most `max` characters,
/// each opening with the header row. A row too long to share a chunk with
/// the header is cut as text, the header still first.
fn cut_table(table: &Block, max: usize, out: &mut Vec<Chunk>) {
    let Some((header, body)) = table.rows.as_deref().and_then(|r| r.split_first()) else {
        return;
    };
    let len = |s: &str| s.chars().count();
    let mut piece = header.clone();
    let mut has_rows = false;
    for row in body {
        if len(&piece) + 1 + len(row) <= max {
            piece.push('\n');
            piece.push_str(row);
            has_rows = true;
            continue;
        }
        if has_rows {
            push_chunk(out, &piece, table, table);
        }
        piece = format!("{header}\n{row}");
        has_rows = true;
        if len(&piece) > max {
            let long = Block {
                text: piece.clone(),
                page: table.page,
                heading: table.heading.clone(),
                rows: None,
            };
            cut(&[&long], max, 0, out);
            piece = header.clone();
            has_rows = false;
        }
    }
    if has_rows {
        push_chunk(out, &piece, table, table);
    }
}

/// Adds a chunk of `text` from the blocks `first` to `last`.
fn push_chunk(out: &mut Vec<Chunk>, text: &str, first: &Block, last: &Block) {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return;
    }
    out.push(Chunk {
        index: out.len(),
        characters: trimmed.chars().count(),
        approx_tokens: trimmed.chars().count().div_ceil(4),
        text: trimmed.to_string(),
        page_start: first.page,
        page_end: last.page,
        heading: first.heading.clone(),
    });
}

fn group_by(blocks: &[Block], same: impl Fn(&Block, &Block) -> bool) -> Vec<Vec<&Block>> {
    let mut groups: Vec<Vec<&Block>> = Vec::new();
    for b in blocks {
        match groups.last_mut() {
            Some(g) if g.last().is_some_and(|prev| same(prev, b)) => g.push(b),
            _ => groups.push(vec![b]),
        }
    }
    groups
}

/// Cuts a group's text into windows of at most `max` characters, ending at
/// a paragraph, sentence or word boundary, each starting `overlap`
/// characters before the previous one ended.
fn cut(group: &[&Block], max: usize, overlap: usize, out: &mut Vec<Chunk>) {
    let mut text = String::new();
    let mut spans: Vec<(usize, &Block)> = Vec::new(); // char offset where each block starts
    for b in group {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        spans.push((text.chars().count(), b));
        text.push_str(&b.text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let hard_end = (start + max).min(chars.len());
        let end = if hard_end == chars.len() {
            hard_end
        } else {
            boundary(&chars, start, hard_end)
        };
        let piece: String = chars[start..end].iter().collect();
        if let (Some(first), Some(last)) = (
            block_at(&spans, start),
            block_at(&spans, end.saturating_sub(1)),
        ) {
            push_chunk(out, &piece, first, last);
        }
        if end >= chars.len() {
            break;
        }
        let next = end.saturating_sub(overlap);
        // Start the overlap at a word boundary, and always move forward.
        let next = (next..end)
            .find(|&i| i == 0 || chars[i - 1].is_whitespace())
            .unwrap_or(end);
        start = if next > start { next } else { end };
    }
}

/// The best place to end a chunk in `start..hard_end`: a paragraph break,
/// else a sentence end, else a space; else the hard limit.
fn boundary(chars: &[char], start: usize, hard_end: usize) -> usize {
    let min = start + (hard_end - start) / 2;
    let window = min..hard_end;
    let find = |pred: &dyn Fn(usize) -> bool| window.clone().rev().find(|&i| pred(i));
    find(&|i| chars[i] == '\n' && i > 0 && chars[i - 1] == '\n')
        .or_else(|| {
            find(&|i| chars[i].is_whitespace() && i > 0 && matches!(chars[i - 1], '.' | '!' | '?'))
        })
        .or_else(|| find(&|i| chars[i].is_whitespace()))
        .unwrap_or(hard_end)
}

fn block_at<'a>(spans: &[(usize, &'a Block)], offset: usize) -> Option<&'a Block> {
    spans
        .iter()
        .rev()
        .find(|(s, _)| *s <= offset)
        .map(|(_, b)| *b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Vec<Element> {
        vec![
            Element::new(Kind::Heading { level: 1 }, "Intro").on_page(1),
            Element::paragraph("One two three. Four five six.").on_page(1),
            Element::new(Kind::Heading { level: 1 }, "Body").on_page(2),
            Element::paragraph("Seven eight nine ten.").on_page(2),
        ]
    }

    #[test]
    fn size_chunks_respect_the_limit_words_and_overlap() {
        let text = "word ".repeat(100);
        let els = vec![Element::paragraph(text)];
        let opts = ChunkOptions {
            max_size: 50,
            overlap: 10,
            ..ChunkOptions::default()
        };
        let chunks = chunk(&els, &opts);
        assert!(chunks.len() > 5);
        for c in &chunks {
            assert!(c.characters <= 50, "{}", c.characters);
            assert!(
                c.text.split(' ').all(|w| w == "word"),
                "split inside a word: {:?}",
                c.text
            );
        }
        // Consecutive chunks share their overlap.
        assert!(chunks[1].text.starts_with("word"));
        let total: usize = chunks.iter().map(|c| c.characters).sum();
        assert!(total > 499, "overlap repeats some text");
    }

    #[test]
    fn section_and_page_chunks_follow_structure() {
        let opts = ChunkOptions {
            strategy: Strategy::Section,
            ..ChunkOptions::default()
        };
        let by_section = chunk(&doc(), &opts);
        assert_eq!(by_section.len(), 2);
        assert_eq!(by_section[1].heading.as_deref(), Some("Body"));
        assert_eq!(by_section[1].text, "Body\n\nSeven eight nine ten.");
        let opts = ChunkOptions {
            strategy: Strategy::Page,
            ..ChunkOptions::default()
        };
        let by_page = chunk(&doc(), &opts);
        assert_eq!(by_page.len(), 2);
        assert_eq!(
            (by_page[0].page_start, by_page[0].page_end),
            (Some(1), Some(1))
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let opts = ChunkOptions {
            max_size: 100,
            overlap: 60,
            ..ChunkOptions::default()
        };
        assert!(opts.validate().is_err());
        assert!(ChunkOptions::default().validate().is_ok());
    }

    #[test]
    fn every_chunk_of_a_table_opens_with_its_header_row_and_rows_stay_whole() {
        let mut rows = vec![vec!["Region".to_string(), "Revenue".to_string()]];
        for i in 0..40 {
            rows.push(vec![
                format!("Region number {i}"),
                format!("{} EUR", i * 1000),
            ]);
        }
        let els = vec![
            Element::paragraph("Before the table.").on_page(1),
            Element::table(rows).on_page(1),
            Element::paragraph("After the table.").on_page(2),
        ];
        let opts = ChunkOptions {
            max_size: 200,
            overlap: 20,
            ..ChunkOptions::default()
        };
        let chunks = chunk(&els, &opts);
        let tables: Vec<&Chunk> = chunks
            .iter()
            .filter(|c| c.text.contains("Region number"))
            .collect();
        assert!(tables.len() >= 4, "{} table chunks", tables.len());
        let mut seen = 0;
        for c in &tables {
            assert!(c.characters <= 200);
            let mut lines = c.text.lines();
            assert_eq!(lines.next(), Some("Region\tRevenue"), "{:?}", c.text);
            for line in lines {
                assert!(
                    line.starts_with("Region number ") && line.ends_with(" EUR"),
                    "a cut row: {line:?}"
                );
                seen += 1;
            }
        }
        assert_eq!(seen, 40, "every row once");
        assert_eq!(
            chunks.first().map(|c| c.text.as_str()),
            Some("Before the table.")
        );
        assert_eq!(chunks.last().map(|c| c.page_start), Some(Some(2)));
    }
}
