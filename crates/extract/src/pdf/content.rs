//! Content streams decoded piece by piece. lopdf turns a whole stream into
//! operations at once, at tens of bytes of memory per byte of content; cut
//! at operator boundaries into pieces of about [`PIECE`] bytes, a stream
//! of any size is walked in small, bounded memory, and every piece's
//! operators are charged to the document's budget.

use super::inflate::decoded;
use crate::{ExtractError, Limits};
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId};

/// About how many bytes of content are decoded at once.
pub const PIECE: usize = 64 * 1024;

/// Decodes `data` piece by piece, handing each piece's operations to `f`.
/// A piece lopdf cannot parse ends the stream there (what came before is
/// kept), as viewers do with a broken tail.
pub fn for_each_piece(
    data: &[u8],
    limits: &Limits,
    mut f: impl FnMut(&[Operation]) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let mut at = 0;
    while at < data.len() {
        let end = cut_after(data, at, PIECE);
        let Ok(content) = Content::decode(&data[at..end]) else {
            return Ok(());
        };
        limits.take_operators(content.operations.len() as u64)?;
        f(&content.operations)?;
        at = end;
    }
    Ok(())
}

fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// The first operator boundary at or past `from + target` (or the end):
/// just after an operator token, outside strings, arrays, dictionaries and
/// inline image data.
fn cut_after(data: &[u8], from: usize, target: usize) -> usize {
    let want = from.saturating_add(target);
    let mut depth = 0usize; // arrays and dictionaries
    let mut i = from;
    while i < data.len() {
        let c = data[i];
        match c {
            b'(' => i = skip_string(data, i + 1),
            b'%' => i = memchr::memchr2(b'\r', b'\n', &data[i..]).map_or(data.len(), |n| i + n),
            b'<' if data.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
            }
            b'<' => i = memchr::memchr(b'>', &data[i..]).map_or(data.len(), |n| i + n + 1),
            b'>' if data.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 2;
            }
            b'[' => {
                depth += 1;
                i += 1;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'/' => i = token_end(data, i + 1),
            _ if is_white(c) || is_delimiter(c) => i += 1,
            _ => {
                let end = token_end(data, i);
                let token = &data[i..end];
                i = end;
                if token == b"ID" {
                    i = skip_inline_image(data, i);
                } else if depth == 0 && i >= want && is_operator(token) {
                    return i;
                }
            }
        }
    }
    data.len()
}

fn token_end(data: &[u8], from: usize) -> usize {
    data[from..]
        .iter()
        .position(|&c| is_white(c) || is_delimiter(c))
        .map_or(data.len(), |n| from + n)
}

fn is_operator(token: &[u8]) -> bool {
    token
        .first()
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'\'' || c == b'"')
        && !matches!(token, b"true" | b"false" | b"null")
}

/// Past a literal string whose `(` came just before `from`.
fn skip_string(data: &[u8], from: usize) -> usize {
    let mut depth = 1;
    let mut i = from;
    while i < data.len() {
        match data[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    data.len()
}

/// Past inline image data (after `ID`): up to an `EI` between white space.
fn skip_inline_image(data: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(n) = memchr::memmem::find(&data[i..], b"EI") {
        let at = i + n;
        let before = at == 0 || is_white(data[at - 1]);
        let after = data
            .get(at + 2)
            .is_none_or(|&c| is_white(c) || is_delimiter(c));
        if before && after {
            return at + 2;
        }
        i = at + 2;
    }
    data.len()
}

/// Why a page gave no text.
#[derive(Debug)]
pub enum PageError {
    /// The document's budget ran out: the whole extraction stops.
    Budget(ExtractError),
    /// This page's structure could not be read; other pages may be.
    Unreadable(String),
}

impl From<ExtractError> for PageError {
    fn from(e: ExtractError) -> PageError {
        match e {
            e @ ExtractError::TooLarge(_) => PageError::Budget(e),
            other => PageError::Unreadable(other.to_string()),
        }
    }
}

impl From<lopdf::Error> for PageError {
    fn from(e: lopdf::Error) -> PageError {
        PageError::Unreadable(e.to_string())
    }
}

/// A page's content streams, decoded and joined, under the budget.
pub(super) fn page_content(
    doc: &Document,
    page_id: ObjectId,
    limits: &Limits,
) -> Result<Vec<u8>, PageError> {
    let mut content = Vec::new();
    for id in doc.get_page_contents(page_id) {
        let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else {
            continue;
        };
        let data = decoded(stream, limits, "a page's content").or_else(|e| match e {
            e @ ExtractError::TooLarge(_) => Err(e),
            _ => Ok(stream.content.clone()),
        })?;
        if (content.len() + data.len()) as u64 > limits.max_stream_bytes {
            return Err(limits.past_inflation_cap("a page's content").into());
        }
        content.extend_from_slice(&data);
        content.push(b'\n');
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(data: &[u8], target: usize) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < data.len() {
            let end = cut_after(data, at, target);
            out.push(&data[at..end]);
            at = end;
        }
        out
    }

    #[test]
    fn cuts_fall_only_after_operators() {
        let data = b"BT /F1 12 Tf [(a) 10 (b Tj c)] TJ (x\\) Tj) Tj ET";
        let cut = pieces(data, 1);
        assert_eq!(
            cut,
            vec![
                &b"BT"[..],
                b" /F1 12 Tf",
                b" [(a) 10 (b Tj c)] TJ",
                b" (x\\) Tj) Tj",
                b" ET"
            ]
        );
    }

    #[test]
    fn inline_images_and_dictionaries_are_never_cut() {
        let data = b"q BI /W 2 /H 1 ID \x00EI\xffq Q EI Q << /A [1 2] /B true >> BDC EMC";
        let cut = pieces(data, 1);
        assert!(cut.contains(&&b" BI"[..]), "{cut:?}");
        assert!(
            cut.contains(&&b" /W 2 /H 1 ID \x00EI\xffq Q EI Q"[..]),
            "{cut:?}"
        );
        assert!(
            cut.contains(&&b" << /A [1 2] /B true >> BDC"[..]),
            "{cut:?}"
        );
    }

    #[test]
    fn a_long_stream_walks_in_pieces_with_every_operator_counted() {
        let data = b"1 0 0 1 5 5 cm\n".repeat(20_000); // 300 KB, 20,000 operators
        let limits = Limits::default();
        let (mut pieces, mut ops) = (0, 0);
        for_each_piece(&data, &limits, |o| {
            pieces += 1;
            ops += o.len();
            Ok(())
        })
        .unwrap();
        assert_eq!(ops, 20_000);
        assert!(pieces >= 4, "{pieces} pieces");
        let tight = Limits {
            max_operators: 10_000,
            ..Limits::default()
        };
        let err = for_each_piece(&data, &tight, |_| Ok(())).unwrap_err();
        assert!(matches!(err, ExtractError::TooLarge(m) if m.contains("operators")));
    }
}
