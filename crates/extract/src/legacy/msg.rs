//! Outlook messages (`.msg`, [MS-OXMSG]): each property is a stream
//! `__substg1.0_<id><type>` (strings UTF-16 in type 001F, 8-bit in 001E;
//! binary 0102), fixed-size ones (dates) in `__properties_version1.0`.
//! The headers and body read like an `.eml`'s; attachments are storages
//! `__attach_version1.0_#…`, extracted recursively the same way, and an
//! attached message is a storage of its own. S/MIME-encrypted messages
//! are `encrypted_document`: their body is ciphertext.

use super::{codepage, u16_at, u32_at, utf16le, Container};
use crate::email::{attach, attached_message, email_header};
use crate::model::{Builder, Element, Kind};
use crate::{html, text, ExtractError, Extraction, Limits};

const SUBJECT: u16 = 0x0037;
const CLASS: u16 = 0x001A;
const SENDER_NAME: u16 = 0x0C1A;
const SENDER_EMAIL: u16 = 0x0C1F;
const SENDER_SMTP: u16 = 0x5D01;
const DISPLAY_TO: u16 = 0x0E04;
const DISPLAY_CC: u16 = 0x0E03;
const BODY: u16 = 0x1000;
const HTML: u16 = 0x1013;
const SUBMIT_TIME: u16 = 0x0039;
const DELIVERY_TIME: u16 = 0x0E06;
const ATTACH_DATA: u16 = 0x3701;
const ATTACH_LONG_NAME: u16 = 0x3707;
const ATTACH_NAME: u16 = 0x3704;
const ATTACH_MIME: u16 = 0x370E;

pub fn extract(bytes: &[u8], limits: &Limits, depth: u32) -> Result<Extraction, ExtractError> {
    let mut c = Container::open(bytes, "Outlook message")?;
    let mut out = Extraction {
        elements: Vec::new(),
        pages: 1,
        warnings: Vec::new(),
    };
    message(&mut c, "", true, limits, depth, &mut out)?;
    Ok(out)
}

/// The message stored at `dir` (the root, or an attached message).
fn message(
    c: &mut Container,
    dir: &str,
    top: bool,
    limits: &Limits,
    depth: u32,
    out: &mut Extraction,
) -> Result<(), ExtractError> {
    let mut p = Props { c, dir, limits };
    let class = p.string(CLASS)?.unwrap_or_default();
    if class.to_ascii_uppercase().starts_with("IPM.NOTE.SMIME")
        && !class.contains("MultipartSigned")
    {
        return Err(ExtractError::Encrypted);
    }
    let mut b = Builder::default();
    let sender = match (
        p.string(SENDER_NAME)?,
        p.string(SENDER_SMTP)?.or(p.string(SENDER_EMAIL)?),
    ) {
        (Some(n), Some(e)) if e.contains('@') && n != e => Some(format!("{n} <{e}>")),
        (Some(n), _) => Some(n),
        (None, e) => e,
    };
    let date = p.date(top)?;
    for (name, value) in [
        ("From", sender),
        ("To", p.string(DISPLAY_TO)?),
        ("Cc", p.string(DISPLAY_CC)?),
        ("Date", date),
        ("Subject", p.string(SUBJECT)?),
    ] {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            b.push(Element::new(email_header(name), v));
        }
    }
    if let Some(body) = p.string(BODY)? {
        text::elements(&body).into_iter().for_each(|e| b.push(e));
    } else if let Some(page) = p.binary(HTML)? {
        let (els, _) = html::extract(&page)?;
        els.into_iter()
            .filter(|e| e.kind != Kind::Title)
            .for_each(|e| b.push(e));
    }
    out.elements.extend(b.finish());
    for storage in c.storages(if dir.is_empty() { "/" } else { dir }) {
        if storage.starts_with("__attach_version1.0_") {
            attachment(c, &format!("{dir}/{storage}"), limits, depth, out)?;
        }
    }
    Ok(())
}

fn attachment(
    c: &mut Container,
    dir: &str,
    limits: &Limits,
    depth: u32,
    out: &mut Extraction,
) -> Result<(), ExtractError> {
    let mut p = Props { c, dir, limits };
    let name = match p.string(ATTACH_LONG_NAME)? {
        Some(n) => n,
        None => p
            .string(ATTACH_NAME)?
            .unwrap_or_else(|| "attachment".into()),
    };
    let mime = p
        .string(ATTACH_MIME)?
        .map(|m| m.trim().to_ascii_lowercase());
    let embedded = format!("{dir}/__substg1.0_{ATTACH_DATA:04X}000D");
    if p.c.exists(&embedded) {
        attached_message(out, &name, limits, depth)?;
        return message(c, &embedded, false, limits, depth + 1, out);
    }
    match p.binary(ATTACH_DATA)? {
        Some(data) => attach(out, &name, mime.as_deref(), &data, limits, depth),
        None => Ok(()),
    }
}

/// The properties of the object stored at `dir`.
struct Props<'c, 'a, 'd> {
    c: &'c mut Container<'a>,
    dir: &'d str,
    limits: &'d Limits,
}

impl Props<'_, '_, '_> {
    fn stream(&mut self, id: u16, kind: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let path = format!("{}/__substg1.0_{id:04X}{kind}", self.dir);
        self.c.stream(&path, self.limits)
    }

    /// A string property, UTF-16 or 8-bit.
    fn string(&mut self, id: u16) -> Result<Option<String>, ExtractError> {
        if let Some(b) = self.stream(id, "001F")? {
            return Ok(Some(utf16le(&b)));
        }
        Ok(self.stream(id, "001E")?.map(|b| {
            let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            codepage(&b[..end], 1252)
        }))
    }

    fn binary(&mut self, id: u16) -> Result<Option<Vec<u8>>, ExtractError> {
        self.stream(id, "0102")
    }

    /// When the message was sent (else delivered), from the fixed-size
    /// properties, as RFC 3339 in UTC.
    fn date(&mut self, top: bool) -> Result<Option<String>, ExtractError> {
        let path = format!("{}/__properties_version1.0", self.dir);
        let Some(props) = self.c.stream(&path, self.limits)? else {
            return Ok(None);
        };
        let header = if top { 32 } else { 24 };
        let mut found = None;
        for entry in props.get(header..).unwrap_or(&[]).chunks_exact(16) {
            let (kind, id) = (u16_at(entry, 0), u16_at(entry, 2));
            if kind != Some(0x0040) || !matches!(id, Some(SUBMIT_TIME | DELIVERY_TIME)) {
                continue;
            }
            let low = u64::from(u32_at(entry, 8).unwrap_or(0));
            let high = u64::from(u32_at(entry, 12).unwrap_or(0));
            let time = rfc3339((high << 32) | low);
            if id == Some(SUBMIT_TIME) || found.is_none() {
                found = time;
            }
        }
        Ok(found)
    }
}

/// A FILETIME (100 ns ticks since 1601) as RFC 3339 UTC.
fn rfc3339(filetime: u64) -> Option<String> {
    let secs = (filetime / 10_000_000).checked_sub(11_644_473_600)?;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_are_rfc3339() {
        // 2021-03-04T05:06:07Z
        let secs: u64 = 1_614_834_367 + 11_644_473_600;
        assert_eq!(
            rfc3339(secs * 10_000_000).as_deref(),
            Some("2021-03-04T05:06:07Z")
        );
        assert_eq!(rfc3339(0), None);
    }
}
