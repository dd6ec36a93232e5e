//! Transport-neutral HTTP types used by the core router and handlers.
//!
//! The edge converts `worker::Request` into [`Request`] and [`Response`] back
//! into `worker::Response`; tests build them directly, without a socket.

pub mod multipart;
pub mod ranges;
pub mod routes;

use serde::Serialize;

/// HTTP methods the API distinguishes. Anything else maps to `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Other,
}

impl Method {
    /// Parses a method name as sent on the wire (case-sensitive, as in HTTP).
    pub fn parse(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// A request as the core sees it: headers lower-cased, body fully read.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A large upload's body, read as it arrives instead of into `body`.
    pub stream: Option<BodyStream>,
    /// A body left unread until the caller is known: read into `body`,
    /// through a counting limit, by [`Request::read_deferred`].
    pub deferred: Option<Deferred>,
}

/// A body to read after authentication, and the most it may hold.
#[derive(Clone)]
pub struct Deferred {
    pub source: std::rc::Rc<dyn ChunkSource>,
    pub limit: u64,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("limit", &self.limit)
            .finish()
    }
}

/// Why a body could not be read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// More than `limit` bytes arrived; reading stopped there.
    TooLarge {
        limit: u64,
    },
    Unreadable(String),
}

/// Reads `source` to its end, refusing at the first byte past `limit`:
/// memory never holds more than `limit` plus one chunk.
pub async fn read_limited(source: &dyn ChunkSource, limit: u64) -> Result<Vec<u8>, BodyError> {
    const CHUNK: usize = 64 * 1024;
    let mut out = Vec::new();
    loop {
        let chunk = source.read(CHUNK).await.map_err(BodyError::Unreadable)?;
        if chunk.is_empty() {
            return Ok(out);
        }
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk);
    }
}

/// Where a streamed body comes from (the edge's request stream; a buffer
/// in tests).
pub trait ChunkSource {
    /// Up to `max` more bytes; empty at the end of the body.
    fn read(
        &self,
        max: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + '_>>;
}

/// A request body to be read piece by piece.
#[derive(Clone)]
pub struct BodyStream {
    /// The declared length (`Content-Length`).
    pub len: u64,
    pub source: std::rc::Rc<dyn ChunkSource>,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("len", &self.len)
            .finish()
    }
}

impl BodyStream {
    /// The next `n` bytes, or fewer if the body ends first.
    pub async fn read_up_to(&self, n: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let chunk = self.source.read(n - out.len()).await?;
            if chunk.is_empty() {
                break;
            }
            out.extend(chunk);
        }
        Ok(out)
    }
}

impl Request {
    pub fn new(method: Method, path_and_query: &str) -> Request {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (path_and_query.to_string(), String::new()),
        };
        Request {
            method,
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
            deferred: None,
        }
    }

    /// The body comes from `source` once the caller is authenticated, at
    /// most `limit` bytes.
    pub fn with_deferred(mut self, limit: u64, source: std::rc::Rc<dyn ChunkSource>) -> Request {
        self.deferred = Some(Deferred { source, limit });
        self
    }

    /// This request with a deferred body read into `body`.
    pub async fn read_deferred(&self) -> Result<Request, BodyError> {
        let mut out = self.clone();
        if let Some(d) = out.deferred.take() {
            out.body = read_limited(d.source.as_ref(), d.limit).await?;
        }
        Ok(out)
    }

    /// The body arrives through `source`, `len` bytes long.
    pub fn with_stream(mut self, len: u64, source: std::rc::Rc<dyn ChunkSource>) -> Request {
        self.stream = Some(BodyStream { len, source });
        self
    }

    /// Adds a header; names are stored lower-cased.
    pub fn with_header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// First value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (a client may repeat one).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

/// Decodes `%XX` escapes and `+` (form encoding); invalid escapes stay as-is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An event stream's slot: whose it is and its id.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSlot {
    pub key: String,
    pub id: String,
}

/// A response body the edge must produce over time, by polling.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamSpec {
    /// Server-Sent Events of one job's progress.
    /// `key_id` is the API key that opened it (none for a signed-in user),
    /// looked at again while it runs so a revoked key stops its streams.
    JobEvents {
        tenant_id: String,
        /// The tenant's database shard.
        shard: u32,
        job_id: String,
        key_id: Option<String>,
        /// The stream's slot in its tenant's gate (renewed while it runs).
        slot: Option<StreamSlot>,
    },
    /// `len` bytes of a stored object from `start`; `size` is the whole
    /// object's (plaintext) size.
    Blob {
        key: String,
        /// The shard of the object's tenant (its region's bucket).
        shard: u32,
        size: u64,
        start: u64,
        len: u64,
    },
}

/// A response as the core produces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When set, the body is this stream instead of `body`.
    pub stream: Option<StreamSpec>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
        }
    }

    /// A JSON response. Serialising our own plain data types cannot fail;
    /// should it ever, the body degrades to `null` rather than panicking.
    pub fn json(status: u16, value: &impl Serialize) -> Response {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
        Response::new(status)
            .with_header("content-type", "application/json")
            .with_body(body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.set_header(name, value);
        self
    }

    pub fn with_body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    /// Sets a header, replacing any previous value of the same name.
    pub fn set_header(&mut self, name: &str, value: &str) {
        let name = name.to_ascii_lowercase();
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_string()));
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses the body as JSON (for tests and internal callers).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_percent_decoded() {
        let req = Request::new(Method::Get, "/x?cursor=a%2Bb&limit=5&q=hello+world");
        assert_eq!(req.query_param("cursor").as_deref(), Some("a+b"));
        assert_eq!(req.query_param("limit").as_deref(), Some("5"));
        assert_eq!(req.query_param("q").as_deref(), Some("hello world"));
        assert_eq!(req.query_param("missing"), None);
    }

    #[test]
    fn truncated_percent_escape_is_kept_verbatim() {
        assert_eq!(percent_decode("50%"), "50%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn header_lookup_ignores_case_and_sees_repeats() {
        let req = Request::new(Method::Get, "/")
            .with_header("Authorization", "a")
            .with_header("authorization", "b");
        assert_eq!(req.header("AUTHORIZATION"), Some("a"));
        assert_eq!(req.header_all("authorization"), vec!["a", "b"]);
    }
}
