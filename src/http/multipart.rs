//! Just enough `multipart/form-data` to take one file field out of a fully
//! buffered body (RFC 7578). Anything it cannot understand is an error the
//! client can act on, never a guess.

use crate::error::ApiError;

/// One part of the form.
#[derive(Debug, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: &'a [u8],
}

fn invalid(detail: &str) -> ApiError {
    ApiError::Invalid("invalid_multipart", detail.to_string())
}

/// The boundary parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (essence, params) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

/// Splits a body into its parts.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, ApiError> {
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    let start = find(rest, delim.as_bytes()).ok_or_else(|| invalid("boundary not found"))?;
    rest = &rest[start + delim.len()..];
    let next_delim = format!("\r\n--{boundary}");
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| invalid("malformed boundary line"))?;
        let end = find(rest, next_delim.as_bytes()).ok_or_else(|| invalid("unterminated part"))?;
        parts.push(parse_part(&rest[..end])?);
        rest = &rest[end + next_delim.len()..];
    }
}

fn parse_part(raw: &[u8]) -> Result<Part<'_>, ApiError> {
    let split = find(raw, b"\r\n\r\n").ok_or_else(|| invalid("part without headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| invalid("part headers not UTF-8"))?;
    let mut part = Part {
        name: String::new(),
        filename: None,
        content_type: None,
        body: &raw[split + 4..],
    };
    for line in head.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-disposition") {
            part.name = param(value, "name").unwrap_or_default();
            part.filename = param(value, "filename");
        } else if name.trim().eq_ignore_ascii_case("content-type") {
            part.content_type = Some(value.trim().to_string());
        }
    }
    Ok(part)
}

/// A quoted or bare parameter of a header value (`name="file"`).
fn param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').replace("\\\"", "\""))
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_field_is_found_with_its_name_type_and_bytes() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.txt\"\r\n\
Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("a b.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].body, b"line1\r\nline2");
    }

    #[test]
    fn boundary_is_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"abc\"").as_deref(),
            Some("abc")
        );
        assert_eq!(boundary("text/plain; boundary=abc"), None);
    }

    #[test]
    fn truncated_bodies_are_refused() {
        let err = parse(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
            "XyZ",
        );
        assert_eq!(err.unwrap_err().code(), "invalid_multipart");
        assert!(parse(b"no boundary here", "XyZ").is_err());
    }
}
