//! Read replicas through D1's Sessions API. Each API request runs in one
//! session per database (the directory and each shard): its reads may be
//! served by a replica near it, and each sees the writes before it. A
//! client that wrote and then reads sends back the `Quire-Bookmark` its
//! write's response carried: each session then starts from a copy at
//! least that fresh, so it sees its own write wherever it is served.
//! Without one a session starts at the primary (as fresh as it gets), so
//! clients that never send a bookmark read what they did before replicas
//! existed.
//!
//! The header holds one bookmark per database, in binding order (`DB`,
//! `DB_1`, ...), joined by commas. A database the request did not touch
//! keeps the place the client sent (empty when it sent none), so each
//! response's bookmark is at least as fresh, place by place, as the one
//! the request carried.

use super::d1::{Databases, Db};
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

fn refused() -> ApiError {
    ApiError::Invalid(
        "invalid_bookmark",
        "Quire-Bookmark must be a bookmark from an earlier response".into(),
    )
}

/// The sessions of a request, with the places the client sent.
pub struct Sessions(Vec<Rc<D1DatabaseSession>>, Vec<String>);

/// The request's sessions, each from its bookmark in the header, else
/// from the primary.
pub fn open(env: &Env, header: Option<&str>) -> Result<(Rc<Databases>, Sessions), ApiError> {
    let places: Vec<&str> = header.map_or(Vec::new(), |h| h.split(',').map(str::trim).collect());
    if places.len() > 16 || places.iter().any(|p| !p.is_empty() && !well_formed(p)) {
        return Err(refused());
    }
    let mut sessions = Vec::new();
    let dbs = Databases::bind(env, |n, db| {
        let start = match places.get(n as usize) {
            Some(p) if !p.is_empty() => p,
            _ => "first-primary",
        };
        let session = Rc::new(db.with_session(Some(start))?);
        sessions.push(Rc::clone(&session));
        Ok(Db::Session(session))
    })
    .map_err(|e| ApiError::Internal(format!("D1 sessions: {e}")))?;
    if places.len() > dbs.len() as usize {
        return Err(refused());
    }
    let sent = places.iter().map(|p| p.to_string()).collect();
    Ok((dbs, Sessions(sessions, sent)))
}

impl Sessions {
    /// Where the sessions ended, for the response (`None` when none
    /// has a bookmark).
    pub fn bookmark(&self) -> Option<String> {
        let places: Vec<String> = self
            .0
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.get_bookmark()
                    .ok()
                    .flatten()
                    .filter(|b| well_formed(b))
                    .or_else(|| self.1.get(i).cloned())
                    .unwrap_or_default()
            })
            .collect();
        let end = places.iter().rposition(|p| !p.is_empty())?;
        Some(places[..=end].join(","))
    }
}
