//! Read replicas through D1's Sessions API. Each API request runs in one
//! session: its reads may be served by a replica near it, and each sees
//! the writes before it. A client that wrote and then reads sends back the
//! `Quire-Bookmark` its write's response carried: the session then starts
//! from a copy at least that fresh, so it sees its own write wherever it
//! is served. Without one the session starts at the primary (as fresh as
//! it gets), so clients that never send a bookmark read what they did
//! before replicas existed.

use super::d1::Db;
use crate::error::ApiError;
use std::rc::Rc;
use worker::{D1DatabaseSession, Env};

/// The request and response header that carries a session's bookmark.
pub const HEADER: &str = "quire-bookmark";

/// D1 bookmarks are hex fields joined by dashes; anything else a client
/// sends is refused before it reaches D1.
fn well_formed(bookmark: &str) -> bool {
    (1..=128).contains(&bookmark.len())
        && bookmark.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The request's session: from the bookmark the client sent, else from
/// the primary.
pub fn open(env: &Env, bookmark: Option<&str>) -> Result<Rc<D1DatabaseSession>, ApiError> {
    let start = match bookmark.map(str::trim) {
        Some(b) if well_formed(b) => b,
        Some(_) => {
            return Err(ApiError::Invalid(
                "invalid_bookmark",
                "Quire-Bookmark must be a bookmark from an earlier response".into(),
            ))
        }
        None => "first-primary",
    };
    let db = env
        .d1("DB")
        .map_err(|e| ApiError::Internal(format!("bindings: {e}")))?;
    db.with_session(Some(start))
        .map(Rc::new)
        .map_err(|e| ApiError::Internal(format!("D1 session: {e}")))
}

pub fn db(session: &Rc<D1DatabaseSession>) -> Db {
    Db::Session(Rc::clone(session))
}

/// Where the session ended, for the response.
pub fn bookmark(session: &D1DatabaseSession) -> Option<String> {
    session
        .get_bookmark()
        .ok()
        .flatten()
        .filter(|b| well_formed(b))
}
