//! Generic XML: every run of character data becomes a paragraph, in
//! document order; markup, attributes and processing instructions are
//! dropped. The XML parser reads UTF-8, so a document in any other
//! encoding (a byte-order mark, UTF-16's NUL pattern, or the declaration's
//! `encoding`) is decoded to UTF-8 first.

use super::model::{Builder, Element};
use super::ooxml::{walk, Ev};
use super::{text, ExtractError};

pub fn extract(bytes: &[u8]) -> Result<(Vec<Element>, Vec<String>), ExtractError> {
    let decoded = text::decode(bytes, declared_encoding(bytes).as_deref());
    let mut b = Builder::default();
    let mut buf = String::new();
    walk(decoded.text.as_bytes(), |ev| match ev {
        Ev::Text(t) => buf.push_str(t),
        Ev::Start(..) | Ev::End(_) => {
            if !buf.trim().is_empty() {
                b.paragraph(&buf);
            }
            buf.clear();
        }
    })?;
    Ok((b.finish(), decoded.warnings))
}

/// The `encoding` an ASCII-compatible XML declaration names, if any.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(256)];
    let decl = head.strip_prefix(b"<?xml")?;
    let decl = &decl[..memchr::memmem::find(decl, b"?>")?];
    let at = memchr::memmem::find(decl, b"encoding")? + "encoding".len();
    let rest = std::str::from_utf8(&decl[at..]).ok()?;
    let rest = rest.trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let value = rest[1..].split(quote).next()?;
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_nodes_become_paragraphs() {
        let (els, _) = extract(
            b"<?xml version=\"1.0\"?><a><b x=\"1\">One &amp; two</b><c><![CDATA[three]]></c></a>",
        )
        .unwrap();
        let texts: Vec<&str> = els.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["One & two", "three"]);
    }

    fn texts(bytes: &[u8]) -> Vec<String> {
        extract(bytes)
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.text)
            .collect()
    }

    #[test]
    fn utf16_and_utf32_documents_are_read_as_text_not_nuls() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a><b>Grüße</b><c>Привет</c></a>";
        let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut marked = vec![0xFE, 0xFF];
        marked.extend(doc.encode_utf16().flat_map(u16::to_be_bytes));
        let wide: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        for bytes in [le, marked, wide] {
            assert_eq!(texts(&bytes), vec!["Grüße", "Привет"]);
        }
    }

    #[test]
    fn the_declared_encoding_decodes_legacy_documents() {
        let doc = b"<?xml version='1.0' encoding='ISO-8859-1' ?><a>caf\xe9</a>";
        assert_eq!(declared_encoding(doc).as_deref(), Some("ISO-8859-1"));
        let (els, warnings) = extract(doc).unwrap();
        assert_eq!(els[0].text, "café");
        assert!(warnings.is_empty());
    }

    #[test]
    fn broken_xml_is_malformed() {
        assert!(matches!(
            extract(b"<a><b></a>"),
            Err(ExtractError::Malformed(_))
        ));
    }
}
