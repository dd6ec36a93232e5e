//! W3C Trace Context (`traceparent`): accepted from the caller, created when
//! absent or malformed, returned on the response, carried in queue messages
//! so the consumer continues the same trace, and passed on outbound calls.
//! Pure; randomness comes from the caller.

/// One span's identity within a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, never all zero.
    pub trace_id: String,
    /// 16 lowercase hex digits: this span.
    pub span_id: String,
    /// `01` when sampled.
    pub flags: String,
}

fn hex_ok(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && s.bytes().any(|b| b != b'0')
}

impl TraceContext {
    /// Parses a `traceparent` header (version 00; future versions are read
    /// by their first four fields, as the spec asks).
    pub fn parse(header: &str) -> Option<TraceContext> {
        let parts: Vec<&str> = header.trim().split('-').collect();
        let (version, trace, parent, flags) = match parts.as_slice() {
            [v, t, p, f] => (*v, *t, *p, *f),
            [v, t, p, f, ..] if *v != "00" => (*v, *t, *p, *f),
            _ => return None,
        };
        let version_ok = version.len() == 2 && version != "ff" && hex_ok_or_zero(version);
        if !version_ok || !hex_ok(trace, 32) || !hex_ok(parent, 16) || !hex_ok_or_zero(flags) {
            return None;
        }
        if flags.len() != 2 {
            return None;
        }
        Some(TraceContext {
            trace_id: trace.to_string(),
            span_id: parent.to_string(),
            flags: flags.to_string(),
        })
    }

    /// A new trace (sampled) from 24 random bytes.
    pub fn new_root(random: [u8; 24]) -> TraceContext {
        let mut trace = random[..16].to_vec();
        if trace.iter().all(|b| *b == 0) {
            trace[15] = 1;
        }
        let mut span = random[16..].to_vec();
        if span.iter().all(|b| *b == 0) {
            span[7] = 1;
        }
        TraceContext {
            trace_id: hex::encode(trace),
            span_id: hex::encode(span),
            flags: "01".into(),
        }
    }

    /// A child span of this one (same trace, new span id from 8 random bytes).
    pub fn child(&self, random: [u8; 8]) -> TraceContext {
        let mut span = random.to_vec();
        if span.iter().all(|b| *b == 0) {
            span[7] = 1;
        }
        TraceContext {
            trace_id: self.trace_id.clone(),
            span_id: hex::encode(span),
            flags: self.flags.clone(),
        }
    }

    /// The `traceparent` header value naming this span.
    pub fn header(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

fn hex_ok_or_zero(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example_and_refuses_malformed_values() {
        let t =
            TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.span_id, "00f067aa0ba902b7");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        // A later version may append fields.
        assert!(TraceContext::parse(
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever"
        )
        .is_some());
    }

    #[test]
    fn children_keep_the_trace_and_get_new_spans() {
        let root = TraceContext::new_root([7; 24]);
        let child = root.child([9; 8]);
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        assert_eq!(TraceContext::parse(&child.header()), Some(child));
        let zero = TraceContext::new_root([0; 24]);
        assert!(TraceContext::parse(&zero.header()).is_some());
    }
}
