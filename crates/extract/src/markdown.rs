//! Markdown: headings, paragraphs, list items, tables, code blocks and
//! images become elements; inline markup is dropped. Raw HTML is ignored.

use super::model::{Builder, Element, Kind};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

pub fn elements(source: &str) -> Vec<Element> {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut b = Builder::default();
    let mut buf = String::new();
    let mut list_depth: u8 = 0;
    let mut in_item = false;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut image_alt: Option<String> = None;
    for event in Parser::new_ext(source, opts) {
        match event {
            Event::Text(t) | Event::Code(t) => match image_alt.as_mut() {
                Some(alt) => alt.push_str(&t),
                None => buf.push_str(&t),
            },
            Event::SoftBreak => buf.push(' '),
            Event::HardBreak => buf.push('\n'),
            Event::Start(Tag::List(_)) => {
                flush(&mut b, &mut buf, item_kind(in_item, list_depth));
                list_depth = list_depth.saturating_add(1);
            }
            Event::End(TagEnd::List(_)) => list_depth = list_depth.saturating_sub(1),
            Event::Start(Tag::Item) => in_item = true,
            Event::End(TagEnd::Item) => {
                flush(&mut b, &mut buf, item_kind(true, list_depth));
                in_item = false;
            }
            Event::Start(Tag::Image { .. }) => image_alt = Some(String::new()),
            Event::End(TagEnd::Image) => {
                let alt = image_alt.take().unwrap_or_default();
                flush(&mut b, &mut buf, item_kind(in_item, list_depth));
                b.push(Element::new(Kind::Image { alt: alt.clone() }, alt));
            }
            Event::End(TagEnd::Heading(level)) => flush(
                &mut b,
                &mut buf,
                Kind::Heading {
                    level: heading_level(level),
                },
            ),
            Event::End(TagEnd::Paragraph) if !in_item => flush(&mut b, &mut buf, Kind::Paragraph),
            Event::End(TagEnd::Paragraph) => buf.push('\n'),
            Event::End(TagEnd::CodeBlock) => flush(&mut b, &mut buf, Kind::CodeBlock),
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Vec::new()),
            Event::End(TagEnd::TableCell) => {
                if let Some(row) = rows.last_mut() {
                    row.push(std::mem::take(&mut buf).trim().to_string());
                }
            }
            Event::End(TagEnd::Table) => b.push(Element::table(std::mem::take(&mut rows))),
            _ => {}
        }
    }
    flush(&mut b, &mut buf, Kind::Paragraph);
    b.finish()
}

fn item_kind(in_item: bool, list_depth: u8) -> Kind {
    if in_item {
        Kind::ListItem {
            depth: list_depth.saturating_sub(1),
        }
    } else {
        Kind::Paragraph
    }
}

fn flush(b: &mut Builder, buf: &mut String, kind: Kind) {
    let text = std::mem::take(buf);
    if matches!(kind, Kind::CodeBlock) {
        b.push(Element::new(kind, text));
    } else {
        b.push(Element::new(kind, text.trim()));
    }
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::to_markdown;

    #[test]
    fn structure_survives_and_markup_is_dropped() {
        let els = elements("# Title\n\nSome *emphasis* and `code`.\n\n- one\n  - nested\n- two\n\n```\nfn x() {}\n```\n");
        assert_eq!(
            to_markdown(&els),
            "# Title\n\nSome emphasis and code.\n\n- one\n  - nested\n- two\n\n```\nfn x() {}\n```"
        );
    }

    #[test]
    fn tables_become_table_elements() {
        let els = elements("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert_eq!(
            els[0].kind,
            Kind::Table {
                rows: vec![vec!["a".into(), "b".into()], vec!["1".into(), "2".into()]]
            }
        );
    }
}
