//! Markdown: the text a reader sees, without markup. Raw HTML blocks are
//! dropped (their visible text is not worth a second HTML pass here).

use pulldown_cmark::{Event, Options, Parser, TagEnd};

pub fn to_text(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    for event in parser {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push('\t'),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::BlockQuote(_),
            ) => out.push('\n'),
            Event::Rule => out.push('\n'),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_removed_and_blocks_become_lines() {
        let text = to_text("# Title\n\nSome *emphasis* and `code`.\n\n- one\n- two\n");
        assert_eq!(text, "Title\nSome emphasis and code.\none\ntwo\n");
    }

    #[test]
    fn tables_keep_their_cells() {
        let text = to_text("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert_eq!(text, "a\tb\t\n1\t2\t\n");
    }
}
