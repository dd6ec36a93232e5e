//! Generic XML: every run of character data becomes a paragraph, in
//! document order; markup, attributes and processing instructions are
//! dropped.

use super::model::{Builder, Element};
use super::ooxml::{walk, Ev};
use super::ExtractError;

pub fn extract(bytes: &[u8]) -> Result<Vec<Element>, ExtractError> {
    let mut b = Builder::default();
    let mut buf = String::new();
    walk(bytes, |ev| match ev {
        Ev::Text(t) => buf.push_str(t),
        Ev::Start(..) | Ev::End(_) => {
            if !buf.trim().is_empty() {
                b.paragraph(&buf);
            }
            buf.clear();
        }
    })?;
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nodes_become_paragraphs() {
        let els = extract(
            b"<?xml version=\"1.0\"?><a><b x=\"1\">One &amp; two</b><c><![CDATA[three]]></c></a>",
        )
        .unwrap();
        let texts: Vec<&str> = els.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["One & two", "three"]);
    }

    #[test]
    fn broken_xml_is_malformed() {
        assert!(matches!(
            extract(b"<a><b></a>"),
            Err(ExtractError::Malformed(_))
        ));
    }
}
