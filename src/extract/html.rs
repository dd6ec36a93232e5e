//! HTML: visible text via lol_html's streaming tokenizer. Script, style and
//! other raw-text content is skipped by its text type; `template`, `svg`
//! and similar invisible subtrees by depth; block elements become lines.

use super::ExtractError;
use lol_html::html_content::{Element, TextType};
use lol_html::{doc_text, element, end_tag, HtmlRewriter, Settings};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const BLOCKS: &str = "p, div, br, li, dt, dd, h1, h2, h3, h4, h5, h6, tr, table, section, \
article, header, footer, nav, aside, blockquote, pre, ul, ol, title, hr, form, fieldset, \
address, figure, figcaption, main, caption";
const CELLS: &str = "td, th";
const HIDDEN: &str = "template, svg, math, object, select, datalist";

pub fn to_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let out = Rc::new(RefCell::new(String::new()));
    let pending = Rc::new(RefCell::new(String::new()));
    let hidden = Rc::new(Cell::new(0u32));

    let (o1, o2, o3, o4) = (out.clone(), out.clone(), out.clone(), out.clone());
    let (h1, h2) = (hidden.clone(), hidden.clone());
    let p = pending.clone();
    let settings = Settings {
        element_content_handlers: vec![
            element!(BLOCKS, move |el| {
                on_boundary(el, &o1, "\n");
                Ok(())
            }),
            element!(CELLS, move |el| {
                if el.can_have_content() {
                    let o = o2.clone();
                    el.on_end_tag(end_tag!(move |_| {
                        o.borrow_mut().push('\t');
                        Ok(())
                    }))?;
                }
                Ok(())
            }),
            // Images keep their description as a placeholder line.
            element!("img[alt]", move |el| {
                let alt = el.get_attribute("alt").unwrap_or_default();
                let alt = html_escape::decode_html_entities(&alt);
                if !alt.trim().is_empty() {
                    o4.borrow_mut()
                        .push_str(&format!("\n[image: {}]\n", alt.trim()));
                }
                Ok(())
            }),
            element!(HIDDEN, move |el| {
                if el.can_have_content() {
                    h1.set(h1.get() + 1);
                    let h = h1.clone();
                    el.on_end_tag(end_tag!(move |_| {
                        h.set(h.get().saturating_sub(1));
                        Ok(())
                    }))?;
                }
                Ok(())
            }),
        ],
        document_content_handlers: vec![doc_text!(move |t| {
            let visible = matches!(t.text_type(), TextType::Data | TextType::RCData);
            if visible && h2.get() == 0 {
                p.borrow_mut().push_str(t.as_str());
            }
            if t.last_in_text_node() {
                let raw = std::mem::take(&mut *p.borrow_mut());
                push_collapsed(
                    &mut o3.borrow_mut(),
                    &html_escape::decode_html_entities(&raw),
                );
            }
            Ok(())
        })],
        ..Settings::new()
    };
    let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
    rewriter
        .write(bytes)
        .and_then(|()| rewriter.end())
        .map_err(|e| ExtractError::Malformed(format!("HTML could not be parsed: {e}")))?;
    let text = out.borrow().clone();
    Ok(text)
}

/// Writes `sep` before the element and after its end tag.
fn on_boundary(el: &mut Element, out: &Rc<RefCell<String>>, sep: &'static str) {
    out.borrow_mut().push_str(sep);
    if el.can_have_content() {
        let o = out.clone();
        // Cannot fail: the element can have content, so it has an end tag.
        let _ = el.on_end_tag(end_tag!(move |_| {
            o.borrow_mut().push_str(sep);
            Ok(())
        }));
    }
}

/// Appends text with HTML's whitespace collapsing.
fn push_collapsed(out: &mut String, text: &str) {
    for (i, word) in text.split_ascii_whitespace().enumerate() {
        let needs_space = i > 0
            || (text.starts_with(|c: char| c.is_ascii_whitespace())
                && !out.ends_with(['\n', '\t', ' ']));
        if needs_space && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if text.ends_with(|c: char| c.is_ascii_whitespace()) && !text.trim().is_empty() {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(html: &str) -> String {
        super::super::text::tidy(&to_text(html.as_bytes()).unwrap())
    }

    #[test]
    fn scripts_styles_and_templates_are_not_text() {
        let t = text(
            "<html><head><title>T</title><style>p{}</style><script>var x='<p>no</p>';</script>\
             </head><body><p>Hello <b>world</b></p><template><p>hidden</p></template></body></html>",
        );
        assert_eq!(t, "T\n\nHello world");
    }

    #[test]
    fn images_keep_their_alt_text() {
        assert_eq!(
            text("<p>Logo: <img src=x alt=\"ACME &amp; Co\"></p>"),
            "Logo:\n[image: ACME & Co]"
        );
    }

    #[test]
    fn entities_are_decoded_and_cells_separated() {
        let t = text("<table><tr><td>A&amp;B</td><td>&lt;x&gt; &eacute;</td></tr></table>");
        assert_eq!(t, "A&B\t<x> é");
    }
}
