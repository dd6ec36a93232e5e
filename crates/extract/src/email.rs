//! E-mail (.eml, RFC 5322 / MIME) via mail-parser: headers (encoded words
//! decoded), the text body (or the HTML body, read by the HTML extractor),
//! and attachments extracted recursively under the nesting limit.

use super::model::{Builder, Element, Kind};
use super::{extract_nested, html, text, ExtractError, Extraction, Limits};
use crate::media::media_type_for_filename;
use mail_parser::{Address, Message, MessageParser, MimeHeaders, PartType};

pub fn extract(bytes: &[u8], limits: &Limits, depth: u32) -> Result<Extraction, ExtractError> {
    // UTF-16 and UTF-32 messages exist in the wild; MIME parsers expect bytes of an
    // ASCII-compatible encoding.
    let owned;
    let bytes = match text::wide_text(bytes) {
        Some(s) => {
            owned = s.into_bytes();
            &owned
        }
        None => bytes,
    };
    let msg = MessageParser::default()
        .parse(bytes)
        .ok_or_else(|| ExtractError::Malformed("not an e-mail message".into()))?;
    let mut out = Extraction {
        elements: Vec::new(),
        pages: 1,
        warnings: Vec::new(),
    };
    message(&msg, limits, depth, &mut out)?;
    Ok(out)
}

fn message(
    msg: &Message,
    limits: &Limits,
    depth: u32,
    out: &mut Extraction,
) -> Result<(), ExtractError> {
    let mut b = Builder::default();
    header(&mut b, "From", msg.from());
    header(&mut b, "To", msg.to());
    header(&mut b, "Cc", msg.cc());
    if let Some(date) = msg.date() {
        b.push(Element::new(email_header("Date"), date.to_rfc3339()));
    }
    if let Some(subject) = msg.subject() {
        b.push(Element::new(email_header("Subject"), subject));
    }
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(t) => text::elements(t).into_iter().for_each(|e| b.push(e)),
            PartType::Html(h) => {
                let (els, _) = html::extract(h.as_bytes())?;
                els.into_iter()
                    .filter(|e| e.kind != Kind::Title)
                    .for_each(|e| b.push(e));
            }
            _ => {}
        }
    }
    out.elements.extend(b.finish());
    for part in msg.attachments() {
        let name = part.attachment_name().unwrap_or("attachment").to_string();
        if let Some(inner) = part.message() {
            attached_message(out, &name, limits, depth)?;
            message(inner, limits, depth + 1, out)?;
            continue;
        }
        let declared = part.content_type().map(|ct| {
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase()
        });
        attach(
            out,
            &name,
            declared.as_deref(),
            part.contents(),
            limits,
            depth,
        )?;
    }
    Ok(())
}

/// Heads an attached message (read next, one level deeper) in `out`.
pub(crate) fn attached_message(
    out: &mut Extraction,
    name: &str,
    limits: &Limits,
    depth: u32,
) -> Result<(), ExtractError> {
    if depth + 1 > limits.max_depth {
        return Err(ExtractError::TooLarge(
            "attachments nested too deeply".into(),
        ));
    }
    out.elements.push(Element::new(
        Kind::Heading { level: 2 },
        format!("Attached message: {name}"),
    ));
    Ok(())
}

/// Extracts an attachment of a message at `depth` into `out`: by its
/// declared type, else by its name; images are named, not read; one that
/// cannot be read is a warning, unless it broke a limit.
pub(crate) fn attach(
    out: &mut Extraction,
    name: &str,
    declared: Option<&str>,
    contents: &[u8],
    limits: &Limits,
    depth: u32,
) -> Result<(), ExtractError> {
    let lower = name.to_ascii_lowercase();
    let sealed = matches!(
        declared,
        Some("application/pgp-encrypted" | "application/pkcs7-mime" | "application/x-pkcs7-mime")
    ) || [".pgp", ".gpg", ".p7m"].iter().any(|e| lower.ends_with(e));
    if sealed {
        out.warnings.push(format!(
            "encrypted_attachment: {name} is encrypted (PGP or S/MIME); its content cannot be read"
        ));
        return Ok(());
    }
    if declared.is_some_and(|t| t.starts_with("image/")) {
        out.elements
            .push(Element::new(Kind::Image { alt: name.into() }, name));
        return Ok(());
    }
    let media_type = match declared {
        Some(t) if !t.is_empty() && !t.starts_with("application/octet-stream") => t.to_string(),
        _ => match media_type_for_filename(name) {
            Some(t) => t.to_string(),
            None => {
                out.warnings
                    .push(format!("attachment {name}: unknown type, not extracted"));
                return Ok(());
            }
        },
    };
    match extract_nested(&media_type, contents, limits, depth + 1) {
        Ok(inner) => {
            out.elements.push(Element::new(
                Kind::Heading { level: 2 },
                format!("Attachment: {name}"),
            ));
            out.elements.extend(inner.elements);
            out.warnings.extend(
                inner
                    .warnings
                    .into_iter()
                    .map(|w| format!("attachment {name}: {w}")),
            );
        }
        Err(e @ ExtractError::TooLarge(_)) => return Err(e),
        Err(e) => out.warnings.push(format!("attachment {name}: {e}")),
    }
    Ok(())
}

pub(crate) fn email_header(name: &str) -> Kind {
    Kind::EmailHeader {
        name: name.to_string(),
    }
}

fn header(b: &mut Builder, name: &str, addr: Option<&Address>) {
    let Some(addr) = addr else { return };
    let list: Vec<String> = addr
        .iter()
        .map(|a| match (a.name(), a.address()) {
            (Some(n), Some(e)) => format!("{n} <{e}>"),
            (None, Some(e)) => e.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if !list.is_empty() {
        b.push(Element::new(email_header(name), list.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_body_and_attachments_are_read() {
        let eml = b"From: =?UTF-8?Q?J=C3=B6rg?= <j@example.com>\r\nTo: a@example.com\r\n\
Subject: Hello\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n\
--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBody text.\r\n\
--XX\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"t.csv\"\r\n\r\na,b\r\n1,2\r\n\
--XX--\r\n";
        let ex = extract(eml, &Limits::default(), 0).unwrap();
        let text = ex.text();
        assert!(text.contains("Jörg <j@example.com>"), "{text}");
        assert!(text.contains("Hello"));
        assert!(text.contains("Body text."));
        assert!(text.contains("Attachment: t.csv\n\na\tb\n1\t2"), "{text}");
    }

    #[test]
    fn parts_in_legacy_multibyte_charsets_are_decoded() {
        // "こんにちは" in Shift_JIS and in ISO-2022-JP, declared by the part.
        let eml = b"From: a@example.com\r\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n\
MIME-Version: 1.0\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\
Content-Transfer-Encoding: 8bit\r\n\r\n\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\r\n";
        let ex = extract(eml, &Limits::default(), 0).unwrap();
        assert_eq!(ex.text().matches("こんにちは").count(), 2, "{}", ex.text());
        assert!(ex.warnings.is_empty(), "{:?}", ex.warnings);
    }
}
