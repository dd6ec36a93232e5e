//! HTML: visible text and structure via lol_html's streaming tokenizer.
//! Headings, paragraphs, list items, tables, preformatted blocks and image
//! descriptions become elements. Script and style content is skipped by its
//! text type; `template`, `svg` and similar invisible subtrees by depth.
//! The charset comes from a BOM, else from `<meta charset>`, else UTF-8
//! with a windows-1252 fallback.

use super::model::{Builder, Element, Kind};
use super::{text, ExtractError};
use lol_html::html_content::{Element as HtmlElement, TextType};
use lol_html::{doc_text, element, end_tag, HtmlRewriter, Settings};
use std::cell::RefCell;
use std::rc::Rc;

const HIDDEN: &[&str] = &[
    "template", "svg", "math", "object", "select", "datalist", "noscript",
];
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "main",
    "blockquote",
    "figure",
    "figcaption",
    "address",
    "dd",
    "dt",
    "dl",
    "form",
    "fieldset",
    "caption",
    "hr",
    "center",
    "body",
    "details",
    "summary",
];

#[derive(Default)]
struct Table {
    rows: Vec<Vec<String>>,
    cell: Option<String>,
}

#[derive(Default)]
struct State {
    b: Builder,
    buf: String,
    kinds: Vec<Kind>,
    hidden: u32,
    pre: u32,
    list_depth: u8,
    tables: Vec<Table>,
}

impl State {
    fn kind(&self) -> Kind {
        self.kinds.last().cloned().unwrap_or(Kind::Paragraph)
    }

    fn flush(&mut self) {
        let text = std::mem::take(&mut self.buf);
        let kind = self.kind();
        self.b.push(Element::new(kind, text));
    }

    fn sink(&mut self) -> &mut String {
        match self.tables.last_mut().and_then(|t| t.cell.as_mut()) {
            Some(cell) => cell,
            None => &mut self.buf,
        }
    }

    fn push_text(&mut self, raw: &str) {
        let decoded = html_escape::decode_html_entities(raw);
        if self.pre > 0 {
            self.sink().push_str(&decoded);
            return;
        }
        let sink = self.sink();
        for (i, word) in decoded.split_whitespace().enumerate() {
            let lead = i > 0 || decoded.starts_with(char::is_whitespace);
            if lead && !sink.is_empty() && !sink.ends_with([' ', '\n']) {
                sink.push(' ');
            }
            sink.push_str(word);
        }
        if decoded.ends_with(char::is_whitespace) && !decoded.trim().is_empty() {
            sink.push(' ');
        }
    }

    fn start(&mut self, tag: &str, alt: Option<String>) -> bool {
        match tag {
            _ if HIDDEN.contains(&tag) => self.hidden += 1,
            "br" => self.sink().push('\n'),
            "img" => {
                if let Some(alt) = alt.filter(|a| !a.trim().is_empty()) {
                    self.flush();
                    let alt = html_escape::decode_html_entities(alt.trim()).into_owned();
                    self.b
                        .push(Element::new(Kind::Image { alt: alt.clone() }, alt));
                }
            }
            "title" => self.open(Kind::Title),
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = tag.as_bytes()[1] - b'0';
                self.open(Kind::Heading { level });
            }
            "li" => self.open(Kind::ListItem {
                depth: self.list_depth.saturating_sub(1),
            }),
            "pre" => {
                self.open(Kind::CodeBlock);
                self.pre += 1;
            }
            "ul" | "ol" => {
                self.flush();
                self.list_depth = self.list_depth.saturating_add(1);
            }
            "table" => {
                self.flush();
                self.tables.push(Table::default());
            }
            "tr" => {
                if let Some(t) = self.tables.last_mut() {
                    t.rows.push(Vec::new());
                }
            }
            "td" | "th" => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell = Some(String::new());
                }
            }
            _ if BLOCKS.contains(&tag) => self.flush(),
            _ => return false,
        }
        true
    }

    fn end(&mut self, tag: &str) {
        match tag {
            _ if HIDDEN.contains(&tag) => self.hidden = self.hidden.saturating_sub(1),
            "title" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "li" => self.close(),
            "pre" => {
                self.close();
                self.pre = self.pre.saturating_sub(1);
            }
            "ul" | "ol" => {
                self.flush();
                self.list_depth = self.list_depth.saturating_sub(1);
            }
            "td" | "th" => {
                if let Some(t) = self.tables.last_mut() {
                    let cell = t.cell.take().unwrap_or_default().trim().to_string();
                    match t.rows.last_mut() {
                        Some(row) => row.push(cell),
                        None => t.rows.push(vec![cell]),
                    }
                }
            }
            "table" => {
                if let Some(t) = self.tables.pop() {
                    let rows: Vec<Vec<String>> =
                        t.rows.into_iter().filter(|r| !r.is_empty()).collect();
                    if self.tables.is_empty() {
                        if !rows.is_empty() {
                            self.b.push(Element::table(rows));
                        }
                    } else {
                        let text = Element::table(rows).text;
                        self.push_text(&text);
                    }
                }
            }
            _ => self.flush(),
        }
    }

    fn open(&mut self, kind: Kind) {
        self.flush();
        self.kinds.push(kind);
    }

    fn close(&mut self) {
        self.flush();
        self.kinds.pop();
    }
}

/// Extracts the elements of an HTML document, with decoding warnings.
pub fn extract(bytes: &[u8]) -> Result<(Vec<Element>, Vec<String>), ExtractError> {
    let decoded = text::decode(bytes, meta_charset(bytes).as_deref());
    let state = Rc::new(RefCell::new(State::default()));
    let (s1, s2) = (state.clone(), state.clone());
    let settings = Settings {
        element_content_handlers: vec![element!("*", move |el| {
            on_element(&s1, el);
            Ok(())
        })],
        document_content_handlers: vec![doc_text!(move |t| {
            let mut st = s2.borrow_mut();
            let visible = matches!(t.text_type(), TextType::Data | TextType::RCData);
            if visible && st.hidden == 0 {
                st.push_text(t.as_str());
            }
            Ok(())
        })],
        ..Settings::new()
    };
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter
        .write(decoded.text.as_bytes())
        .and_then(|()| rewriter.end())
        .map_err(|e| ExtractError::Malformed(format!("HTML could not be parsed: {e}")))?;
    let mut st = state.borrow_mut();
    st.flush();
    let elements = std::mem::take(&mut st.b).finish();
    Ok((elements, decoded.warnings))
}

fn on_element(state: &Rc<RefCell<State>>, el: &mut HtmlElement) {
    let tag = el.tag_name();
    let alt = el.get_attribute("alt");
    let handled = state.borrow_mut().start(&tag, alt);
    if handled && el.can_have_content() {
        let st = state.clone();
        // Cannot fail: the element can have content, so it has an end tag.
        let _ = el.on_end_tag(end_tag!(move |_| {
            st.borrow_mut().end(&tag);
            Ok(())
        }));
    }
}

/// The charset named by a `<meta>` in the first 1024 bytes, if any.
fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{to_markdown, to_text};

    fn els(html: &str) -> Vec<Element> {
        extract(html.as_bytes()).unwrap().0
    }

    #[test]
    fn scripts_styles_and_templates_are_not_text() {
        let e = els(
            "<html><head><title>T</title><style>p{}</style><script>var x='<p>no</p>';</script>\
             </head><body><p>Hello <b>world</b></p><template><p>hidden</p></template></body></html>",
        );
        assert_eq!(to_text(&e), "T\n\nHello world");
    }

    #[test]
    fn structure_becomes_markdown() {
        let e = els(
            "<h1>Top</h1><p>Intro &amp; more</p><ul><li>a</li><li>b<ul><li>c</li></ul></li></ul>\
             <table><tr><th>H1</th><th>H2</th></tr><tr><td>1</td><td>2</td></tr></table>\
             <pre>  x = 1\n  y = 2</pre><p>Logo: <img src=x alt=\"ACME &amp; Co\"></p>",
        );
        assert_eq!(
            to_markdown(&e),
            "# Top\n\nIntro & more\n\n- a\n- b\n  - c\n\n| H1 | H2 |\n| --- | --- |\n| 1 | 2 |\n\n```\n  x = 1\n  y = 2\n```\n\nLogo:\n\n![ACME & Co]()"
        );
    }

    #[test]
    fn meta_charset_decodes_legacy_pages() {
        let page = b"<meta charset=\"iso-8859-1\"><p>caf\xe9</p>";
        assert_eq!(to_text(&extract(page).unwrap().0), "café");
        assert_eq!(meta_charset(page).as_deref(), Some("iso-8859-1"));
    }
}
