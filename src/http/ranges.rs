//! Conditional and partial GETs (RFC 9110): `If-None-Match` → 304,
//! a single `Range: bytes=…` → 206 (or 416), `If-Range` by strong ETag.
//! Several ranges in one request are answered with the whole body, which
//! the RFC allows.

/// What to send for a GET of a representation of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    NotModified,
    Full,
    /// Inclusive byte range.
    Partial {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

pub fn etag_matches(header: &str, etag: &str) -> bool {
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Decides from the request's conditional headers.
pub fn plan(
    if_none_match: Option<&str>,
    range: Option<&str>,
    if_range: Option<&str>,
    etag: &str,
    size: u64,
) -> Plan {
    if if_none_match.is_some_and(|h| etag_matches(h, etag)) {
        return Plan::NotModified;
    }
    let Some(range) = range else {
        return Plan::Full;
    };
    if if_range.is_some_and(|h| h.trim() != etag) {
        return Plan::Full;
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Plan::Full;
    };
    if spec.contains(',') {
        return Plan::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Plan::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let parsed = match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), Some(end)) if start <= end => Some((start, end.min(size.saturating_sub(1)))),
        (Some(start), None) if b.is_empty() => Some((start, size.saturating_sub(1))),
        (None, Some(suffix)) if a.is_empty() && suffix > 0 => {
            Some((size.saturating_sub(suffix), size.saturating_sub(1)))
        }
        _ => return Plan::Full, // not a byte range we understand: ignore it
    };
    match parsed {
        Some((start, end)) if start < size && size > 0 => Plan::Partial { start, end },
        _ => Plan::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "\"abc\"";

    #[test]
    fn ranges_of_every_form() {
        assert_eq!(
            plan(None, Some("bytes=0-9"), None, E, 100),
            Plan::Partial { start: 0, end: 9 }
        );
        assert_eq!(
            plan(None, Some("bytes=90-"), None, E, 100),
            Plan::Partial { start: 90, end: 99 }
        );
        assert_eq!(
            plan(None, Some("bytes=-5"), None, E, 100),
            Plan::Partial { start: 95, end: 99 }
        );
        assert_eq!(
            plan(None, Some("bytes=50-500"), None, E, 100),
            Plan::Partial { start: 50, end: 99 }
        );
        assert_eq!(
            plan(None, Some("bytes=100-"), None, E, 100),
            Plan::Unsatisfiable
        );
        assert_eq!(plan(None, Some("bytes=0-1,5-6"), None, E, 100), Plan::Full);
        assert_eq!(plan(None, Some("items=0-1"), None, E, 100), Plan::Full);
    }

    #[test]
    fn conditions_by_etag() {
        assert_eq!(plan(Some("\"abc\""), None, None, E, 100), Plan::NotModified);
        assert_eq!(
            plan(Some("W/\"abc\", \"x\""), None, None, E, 100),
            Plan::NotModified
        );
        assert_eq!(plan(Some("\"zzz\""), None, None, E, 100), Plan::Full);
        assert_eq!(
            plan(None, Some("bytes=0-1"), Some("\"old\""), E, 100),
            Plan::Full
        );
        assert_eq!(
            plan(None, Some("bytes=0-1"), Some(E), E, 100),
            Plan::Partial { start: 0, end: 1 }
        );
    }
}
