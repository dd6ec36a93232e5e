//! The console: one static page and its script, served by the API worker
//! at `/console` and `/console/app.js` (from `console/`). The page holds no
//! data: it calls this API with a key the user pastes, kept in the tab's
//! sessionStorage. Its policy lets only this origin's script run and only
//! this origin be called; it may not be framed.

use crate::http::Response;

const PAGE: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/app.js");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

pub fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

pub fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

fn asset(body: &str, content_type: &str) -> Response {
    Response::new(200)
        .with_header("content-type", content_type)
        .with_header("content-security-policy", CSP)
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cache-control", "no-cache")
        .with_body(body.as_bytes().to_vec())
}
