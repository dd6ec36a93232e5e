//! Stream data under the document's budget. Every PDF stream Quire reads
//! (page contents, forms, ToUnicode maps, object streams) is decoded here,
//! never by lopdf's unbounded `decompressed_content`: each filter's output
//! is capped at what [`Limits::inflation_cap`] allows and charged to the
//! document, so a small stream cannot inflate to gigabytes.
//!
//! lopdf itself inflates two kinds of stream while loading: cross-reference
//! streams (measured here, bounded, before it parses them: [`prescan`]) and
//! object streams (renamed while loading so lopdf leaves them packed, then
//! unpacked here: [`load`]).

use crate::{ExtractError, Limits};
use lopdf::{Dictionary, Document, Object, ObjectStream, Reader, Stream};
use std::io::Read;

/// The type object streams carry while lopdf loads the file.
const PACKED: &[u8] = b"QuirePackedObjStm";

/// Loads a document: cross-reference streams measured first, object
/// streams unpacked under the budget.
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Document, ExtractError> {
    prescan(bytes, limits)?;
    let reader = Reader {
        buffer: bytes,
        document: Document::new(),
    };
    let mut doc = reader.read(Some(keep_packed)).map_err(|e| match e {
        lopdf::Error::Decryption(_) => ExtractError::Encrypted,
        other => ExtractError::Malformed(format!("PDF could not be parsed: {other}")),
    })?;
    unpack_object_streams(&mut doc, limits)?;
    Ok(doc)
}

/// A load filter: object streams get another type, so that neither the
/// reader nor decryption expands them (unbounded) behind our back.
fn keep_packed(id: (u32, u16), object: &mut Object) -> Option<((u32, u16), Object)> {
    if let Object::Stream(stream) = object {
        if stream.dict.has_type(b"ObjStm") {
            stream.dict.set("Type", Object::Name(PACKED.to_vec()));
        }
    }
    Some((id, Object::Null))
}

fn unpack_object_streams(doc: &mut Document, limits: &Limits) -> Result<(), ExtractError> {
    if doc.is_encrypted() {
        // Needs a password: nothing is unpacked, the caller refuses it.
        return Ok(());
    }
    let ids: Vec<_> = doc
        .objects
        .iter()
        .filter(|(_, o)| matches!(o, Object::Stream(s) if s.dict.has_type(PACKED)))
        .map(|(id, _)| *id)
        .collect();
    let mut found = Vec::new();
    for id in ids {
        let Some(Object::Stream(stream)) = doc.objects.get_mut(&id) else {
            continue;
        };
        found.extend(unpack(stream, limits)?);
    }
    for (id, object) in found {
        doc.objects.entry(id).or_insert(object);
    }
    Ok(())
}

/// The objects packed in an object stream, decoded under the budget.
/// One whose filter is not decoded, or that is malformed, gives none (as
/// in lopdf), and pages that need them say so.
pub fn unpack(
    stream: &Stream,
    limits: &Limits,
) -> Result<std::collections::BTreeMap<lopdf::ObjectId, Object>, ExtractError> {
    let data = match decoded(stream, limits, "an object stream") {
        Ok(data) => data,
        Err(e @ ExtractError::TooLarge(_)) => return Err(e),
        Err(_) => return Ok(Default::default()),
    };
    let mut plain = Stream::new(stream.dict.clone(), data);
    plain.dict.set("Type", Object::Name(b"ObjStm".to_vec()));
    plain.dict.remove(b"Filter");
    plain.dict.remove(b"DecodeParms");
    Ok(ObjectStream::new(&mut plain)
        .map(|u| u.objects)
        .unwrap_or_default())
}

/// A stream's data with its filters undone, within the budget.
pub fn decoded(stream: &Stream, limits: &Limits, what: &str) -> Result<Vec<u8>, ExtractError> {
    let filters: Vec<&[u8]> = match stream.dict.get(b"Filter") {
        Err(_) => return Ok(stream.content.clone()),
        Ok(Object::Name(n)) => vec![n.as_slice()],
        Ok(Object::Array(a)) => a.iter().filter_map(|o| o.as_name().ok()).collect(),
        Ok(_) => return Err(malformed(what, "its /Filter is not a name")),
    };
    let params = stream.dict.get(b"DecodeParms").ok().and_then(|p| match p {
        Object::Dictionary(d) => Some(d),
        Object::Array(a) => a.first().and_then(|o| o.as_dict().ok()),
        _ => None,
    });
    let mut data = std::borrow::Cow::Borrowed(stream.content.as_slice());
    for filter in filters {
        let cap = limits.inflation_cap();
        let out = match filter {
            b"FlateDecode" | b"Fl" => bounded(flate2::read::ZlibDecoder::new(&data[..]), cap),
            b"LZWDecode" | b"LZW" => lzw(&data, params, cap),
            b"ASCII85Decode" | b"A85" => ascii85(&data),
            b"ASCIIHexDecode" | b"AHx" => ascii_hex(&data),
            other => {
                let name = String::from_utf8_lossy(other);
                return Err(malformed(what, &format!("filter {name} is not supported")));
            }
        };
        let Some(out) = out else {
            return Err(limits.past_inflation_cap(what));
        };
        limits.take_inflated(out.len() as u64, what)?;
        data = std::borrow::Cow::Owned(out);
    }
    let data = data.into_owned();
    Ok(match params {
        Some(p) => predicted(data, p),
        None => data,
    })
}

/// Undoes a PNG predictor (the only kind content and object streams use).
fn predicted(data: Vec<u8>, params: &Dictionary) -> Vec<u8> {
    let int = |k: &[u8], d: i64| params.get(k).and_then(Object::as_i64).unwrap_or(d);
    if !(10..=15).contains(&int(b"Predictor", 1)) {
        return data;
    }
    let columns = int(b"Columns", 1).clamp(1, 1 << 20) as usize;
    let colors = int(b"Colors", 1).clamp(1, 32) as usize;
    let bits = match int(b"BitsPerComponent", 8) {
        b @ (1 | 2 | 4 | 8 | 16) => b as usize,
        _ => 8,
    };
    // PNG filters bytes: a row is the pixels' bits rounded up to a byte,
    // and a "pixel" at least one byte (1-bit scans pack 8 to a byte).
    let row = (columns * colors * bits).div_ceil(8);
    let bpp = (colors * bits / 8).max(1);
    lopdf::filters::png::decode_frame(&data, bpp, row / bpp).unwrap_or(data)
}

fn malformed(what: &str, why: &str) -> ExtractError {
    ExtractError::Malformed(format!("{what}: {why}"))
}

/// Reads at most `cap` bytes; `None` when there is more. A corrupt tail
/// ends the data where it breaks, as readers do.
fn bounded(reader: impl Read, cap: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut limited = reader.take(cap + 1);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match limited.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    (out.len() as u64 <= cap).then_some(out)
}

fn lzw(input: &[u8], params: Option<&Dictionary>, cap: u64) -> Option<Vec<u8>> {
    use weezl::{decode::Decoder, BitOrder};
    let early = params
        .and_then(|p| p.get(b"EarlyChange").and_then(Object::as_i64).ok())
        .is_none_or(|v| v != 0);
    let mut decoder = if early {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut out = Vec::new();
    let mut rest = input;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let r = decoder.decode_bytes(rest, &mut buf);
        out.extend_from_slice(&buf[..r.consumed_out]);
        if out.len() as u64 > cap {
            return None;
        }
        rest = &rest[r.consumed_in..];
        match r.status {
            Ok(weezl::LzwStatus::Ok) if r.consumed_in + r.consumed_out > 0 => {}
            _ => return Some(out),
        }
    }
}

/// ASCII85: at most 4 bytes out per byte in (`z`), so bounded by the input.
fn ascii85(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let (mut group, mut n) = (0u64, 0);
    for &c in input {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group = group * 85 + u64::from(c - b'!');
                n += 1;
                if n == 5 {
                    out.extend_from_slice(&(group as u32).to_be_bytes());
                    (group, n) = (0, 0);
                }
            }
            _ => {} // whitespace and stray bytes
        }
    }
    if n > 1 {
        for _ in n..5 {
            group = group * 85 + 84;
        }
        out.extend_from_slice(&(group as u32).to_be_bytes()[..n - 1]);
    }
    Some(out)
}

/// ASCIIHex: half the input at most.
fn ascii_hex(input: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = input
        .iter()
        .take_while(|&&c| c != b'>')
        .filter_map(|&c| (c as char).to_digit(16).map(|d| d as u8))
        .collect();
    Some(
        digits
            .chunks(2)
            .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
            .collect(),
    )
}

/// Measures every cross-reference stream before lopdf inflates it: what
/// each would inflate to, counted into a scratch buffer (nothing kept).
/// Such streams are never encrypted, so the raw bytes tell.
pub fn prescan(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    let mut at = 0;
    while let Some(found) = memchr::memmem::find(&bytes[at..], b"/XRef") {
        let pos = at + found;
        at = pos + 5;
        // `/XRefStm` is a trailer key, not a stream's type.
        if bytes.get(at).is_some_and(u8::is_ascii_alphanumeric) {
            continue;
        }
        let Some(start) = stream_start(bytes, at) else {
            continue;
        };
        let dict = &bytes[pos.saturating_sub(4096)..start];
        if memchr::memmem::find(dict, b"Flate").is_none() {
            continue;
        }
        let cap = limits.inflation_cap();
        let counted = count(flate2::read::ZlibDecoder::new(&bytes[start..]), cap);
        limits.take_inflated(counted, "a cross-reference stream")?;
    }
    Ok(())
}

/// Where the data of the stream whose dictionary continues at `from`
/// begins: after `stream` and its end of line, within a dictionary's reach.
fn stream_start(bytes: &[u8], from: usize) -> Option<usize> {
    let window = &bytes[from..bytes.len().min(from + 4096)];
    let key = memchr::memmem::find(window, b"stream")?;
    if memchr::memmem::find(&window[..key], b"endobj").is_some() {
        return None;
    }
    let mut start = from + key + 6;
    if bytes.get(start) == Some(&b'\r') {
        start += 1;
    }
    if bytes.get(start) == Some(&b'\n') {
        start += 1;
    }
    Some(start)
}

/// Bytes a reader yields, counting to at most `cap + 1`.
fn count(reader: impl Read, cap: u64) -> u64 {
    let mut limited = reader.take(cap + 1);
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    while let Ok(n @ 1..) = limited.read(&mut buf) {
        total += n as u64;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn flate_stream(data: &[u8]) -> Stream {
        let mut dict = Dictionary::new();
        dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
        Stream::new(dict, zlib(data))
    }

    #[test]
    fn a_stream_decodes_through_its_filter_chain() {
        let s = flate_stream(b"BT /F1 12 Tf (hi) Tj ET");
        let limits = Limits::default();
        assert_eq!(
            decoded(&s, &limits, "x").unwrap(),
            b"BT /F1 12 Tf (hi) Tj ET"
        );
        assert_eq!(ascii85(b"87cURD]i,\"Ebo80~>").unwrap(), b"Hello World!");
        assert_eq!(ascii_hex(b"48 65 6c6C6f>").unwrap(), b"Hello");
    }

    #[test]
    fn a_stream_past_the_stream_cap_is_refused_without_holding_it() {
        let s = flate_stream(&vec![0u8; 4 * 1024 * 1024]);
        let limits = Limits {
            max_stream_bytes: 1024 * 1024,
            ..Limits::default()
        };
        let err = decoded(&s, &limits, "page 1's content").unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("page 1's content")),
            "{err:?}"
        );
    }

    #[test]
    fn streams_share_one_budget_per_document() {
        let s = flate_stream(&vec![b'a'; 600 * 1024]);
        let limits = Limits {
            max_decompressed_bytes: 1024 * 1024,
            ..Limits::default()
        };
        decoded(&s, &limits, "first").unwrap();
        let err = decoded(&s, &limits, "second").unwrap_err();
        assert!(
            matches!(&err, ExtractError::TooLarge(m) if m.contains("in all")),
            "{err:?}"
        );
    }

    #[test]
    fn a_cross_reference_stream_bomb_is_measured_before_parsing() {
        let mut pdf =
            b"%PDF-1.5\n1 0 obj\n<< /Type /XRef /Filter /FlateDecode /Size 1 >>\nstream\n".to_vec();
        pdf.extend(zlib(&vec![0u8; 3 * 1024 * 1024]));
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        let limits = Limits {
            max_stream_bytes: 1024 * 1024,
            ..Limits::default()
        };
        assert!(matches!(
            prescan(&pdf, &limits),
            Err(ExtractError::TooLarge(_))
        ));
        assert!(prescan(&pdf, &Limits::default()).is_ok());
    }
}
