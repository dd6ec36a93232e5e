//! The one document model every extractor produces, and its renderings as
//! plain text and Markdown. Elements carry the page they came from when the
//! format has pages.

use serde::{Deserialize, Serialize};

/// What an element is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Title,
    Heading { level: u8 },
    Paragraph,
    ListItem { depth: u8 },
    Table { rows: Vec<Vec<String>> },
    Header,
    Footer,
    PageBreak,
    Image { alt: String },
    CodeBlock,
    EmailHeader { name: String },
}

/// One block of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Element {
    #[serde(flatten)]
    pub kind: Kind,
    /// The element's text (for a table: its cells, tab-separated by row).
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// For text read by OCR: the mean confidence of its words, 0 to 1.
    /// Absent for text the document holds as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr_confidence: Option<f32>,
    /// Where the element is on its page: `[left, top, right, bottom]`. For
    /// a PDF's text layer in points from the top-left corner of the page's
    /// MediaBox (before any `/Rotate`); for text read by OCR in pixels of
    /// the upright image the engine read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bbox: Option<[f32; 4]>,
}

impl Element {
    pub fn new(kind: Kind, text: impl Into<String>) -> Element {
        Element {
            kind,
            text: text.into(),
            page: None,
            ocr_confidence: None,
            bbox: None,
        }
    }

    pub fn paragraph(text: impl Into<String>) -> Element {
        Element::new(Kind::Paragraph, text)
    }

    pub fn on_page(mut self, page: u32) -> Element {
        self.page = Some(page);
        self
    }

    /// A table element; its text is the rows, cells joined by tabs.
    pub fn table(rows: Vec<Vec<String>>) -> Element {
        let text = rows
            .iter()
            .map(|r| r.join("\t").trim_end().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        Element::new(Kind::Table { rows }, text)
    }
}

/// Collects elements, dropping empty ones and normalising whitespace.
#[derive(Debug, Default)]
pub struct Builder {
    pub elements: Vec<Element>,
    page: Option<u32>,
}

impl Builder {
    /// Sets the page of the elements pushed from now on.
    pub fn set_page(&mut self, page: u32) {
        self.page = Some(page);
    }

    pub fn push(&mut self, mut el: Element) {
        // Page breaks, tables and images are kept even without text: they
        // are structure (an image without a description is a placeholder).
        if !matches!(
            el.kind,
            Kind::PageBreak | Kind::Table { .. } | Kind::Image { .. }
        ) {
            el.text = collapse_inline(&el.text, matches!(el.kind, Kind::CodeBlock));
            if el.text.is_empty() {
                return;
            }
        }
        if el.page.is_none() {
            el.page = self.page;
        }
        self.elements.push(el);
    }

    pub fn paragraph(&mut self, text: &str) {
        self.push(Element::paragraph(text));
    }

    pub fn finish(self) -> Vec<Element> {
        self.elements
    }
}

/// Trims lines and, outside code, joins runs of spaces (tabs, which
/// separate cells in some formats, are kept).
fn collapse_inline(text: &str, keep_spaces: bool) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if keep_spaces {
                l.trim_end().to_string()
            } else {
                collapse_spaces(l)
            }
        })
        .collect();
    let joined = lines.join("\n");
    if keep_spaces {
        joined.trim_matches('\n').to_string()
    } else {
        joined.trim().to_string()
    }
}

fn collapse_spaces(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line
        .trim_matches(|c: char| c.is_whitespace() && c != '\t')
        .chars()
    {
        if c.is_whitespace() && c != '\t' {
            if !out.ends_with([' ', '\t']) {
                out.push(' ');
            }
        } else {
            if c == '\t' && out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
        }
    }
    out.trim_matches(|c: char| c == ' ').to_string()
}

/// Plain text: elements separated by blank lines; list items, bulleted,
/// on consecutive lines.
pub fn to_text(elements: &[Element]) -> String {
    let mut out = String::new();
    let mut prev_item = false;
    for el in elements {
        if matches!(el.kind, Kind::PageBreak) || el.text.is_empty() {
            continue;
        }
        let item = matches!(el.kind, Kind::ListItem { .. });
        if !out.is_empty() {
            out.push_str(if item && prev_item { "\n" } else { "\n\n" });
        }
        if let Kind::ListItem { depth } = el.kind {
            out.push_str(&"  ".repeat(usize::from(depth)));
            out.push_str("- ");
        }
        out.push_str(&el.text);
        prev_item = item;
    }
    out
}

/// Markdown (CommonMark with GFM tables).
pub fn to_markdown(elements: &[Element]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(elements.len());
    for el in elements {
        let block = match &el.kind {
            Kind::Title => format!("# {}", inline(&el.text)),
            Kind::Heading { level } => {
                format!(
                    "{} {}",
                    "#".repeat(usize::from((*level).clamp(1, 6))),
                    inline(&el.text)
                )
            }
            Kind::ListItem { depth } => {
                format!("{}- {}", "  ".repeat(usize::from(*depth)), inline(&el.text))
            }
            Kind::Table { rows } => gfm_table(rows),
            Kind::CodeBlock => {
                let fence = fence_for(&el.text);
                format!("{fence}\n{}\n{fence}", el.text)
            }
            Kind::Image { alt } => format!("![{}]()", inline(alt)),
            Kind::PageBreak => "---".to_string(),
            Kind::EmailHeader { name } => {
                format!("**{}:** {}", inline(name), escape_md(&el.text))
            }
            Kind::Header | Kind::Footer => format!("*{}*", inline(&el.text)),
            Kind::Paragraph => escape_md(&el.text),
        };
        if !block.trim().is_empty() {
            out.push(block);
        }
    }
    // Consecutive list items form one list.
    let mut md = String::new();
    for (i, block) in out.iter().enumerate() {
        if i > 0 {
            let tight =
                block.trim_start().starts_with("- ") && out[i - 1].trim_start().starts_with("- ");
            md.push_str(if tight { "\n" } else { "\n\n" });
        }
        md.push_str(block);
    }
    md
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text from a document as Markdown that shows it and does nothing else:
/// no block syntax at a line's start, and no inline syntax anywhere (raw
/// HTML, links and images, emphasis, code spans), so a document cannot
/// smuggle `<script>` or a `javascript:` link into a page that renders it.
fn escape_md(s: &str) -> String {
    s.lines()
        .map(|l| {
            let t = escape_inline(l.trim_start());
            let numbered = t
                .find(['.', ')'])
                .is_some_and(|i| i > 0 && i <= 9 && t[..i].bytes().all(|b| b.is_ascii_digit()));
            if t.starts_with(['#', '-', '+', '=']) {
                format!("\\{t}")
            } else if numbered {
                // "1. " would start an ordered list.
                let i = t.find(['.', ')']).unwrap_or(0);
                format!("{}\\{}", &t[..i], &t[i..])
            } else {
                t
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line of document text for a heading, list item or table cell.
fn inline(s: &str) -> String {
    escape_inline(&one_line(s))
}

/// Backslash-escapes every character that can begin inline Markdown or
/// HTML (CommonMark lets any ASCII punctuation be escaped so).
fn escape_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code fence longer than any run of backticks in `code`, so the code
/// cannot close it early.
fn fence_for(code: &str) -> String {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

fn gfm_table(rows: &[Vec<String>]) -> String {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if width == 0 {
        return String::new();
    }
    let cell = inline;
    let mut lines = Vec::with_capacity(rows.len() + 1);
    for (i, row) in rows.iter().enumerate() {
        let cells: Vec<String> = (0..width)
            .map(|c| cell(row.get(c).map_or("", String::as_str)))
            .collect();
        lines.push(format!("| {} |", cells.join(" | ")));
        if i == 0 {
            lines.push(format!("|{}", " --- |".repeat(width)));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_text_cannot_inject_html_links_or_break_out_of_code() {
        let el = |kind: Kind, text: &str| Element::new(kind, text);
        let md = to_markdown(&[
            el(Kind::Heading { level: 2 }, "<script>alert(1)</script>"),
            el(
                Kind::Paragraph,
                "see [here](javascript:alert(1)) and <img src=x onerror=y>",
            ),
            el(
                Kind::ListItem { depth: 0 },
                "**bold** `code` ![i](javascript:x)",
            ),
            el(Kind::CodeBlock, "a\n```\n<script>x</script>"),
            el(
                Kind::Table {
                    rows: vec![vec!["<b>h</b>".into()], vec!["[l](javascript:x)".into()]],
                },
                "",
            ),
        ]);
        let html = {
            let mut out = String::new();
            pulldown_cmark::html::push_html(
                &mut out,
                pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::ENABLE_TABLES),
            );
            out
        };
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("href"), "{html}");
        assert!(!html.contains("<strong>"), "{html}");
        // The code block holds all its lines, fence and all.
        assert!(
            html.contains("```\n&lt;script&gt;x&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn markdown_renders_headings_lists_tables_and_code() {
        let els = vec![
            Element::new(Kind::Title, "Report"),
            Element::new(Kind::Heading { level: 2 }, "Results"),
            Element::new(Kind::ListItem { depth: 0 }, "one"),
            Element::new(Kind::ListItem { depth: 1 }, "two"),
            Element::table(vec![vec!["a".into(), "b|c".into()], vec!["1".into()]]),
            Element::new(Kind::CodeBlock, "x = 1"),
            Element::paragraph("# not a heading"),
        ];
        assert_eq!(
            to_markdown(&els),
            "# Report\n\n## Results\n\n- one\n  - two\n\n| a | b\\|c |\n| --- | --- |\n| 1 |  |\n\n```\nx = 1\n```\n\n\\# not a heading"
        );
    }

    #[test]
    fn builder_drops_empty_elements_and_stamps_pages() {
        let mut b = Builder::default();
        b.paragraph("   ");
        b.set_page(3);
        b.paragraph("  spaced    out  ");
        let els = b.finish();
        assert_eq!(els.len(), 1);
        assert_eq!(els[0].text, "spaced out");
        assert_eq!(els[0].page, Some(3));
    }

    #[test]
    fn elements_serialise_with_their_type_tag() {
        let json = serde_json::to_value(Element::new(Kind::Heading { level: 2 }, "H")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type":"heading","level":2,"text":"H"})
        );
    }
}
