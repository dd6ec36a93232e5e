//! The one error envelope: every failure a client sees is an [`ApiError`],
//! rendered once as RFC 9457 `application/problem+json`.
//!
//! 5xx bodies stay generic; their cause travels in [`ApiError::Internal`] so
//! the edge can log it with the request id, and is never sent to the client.

use crate::http::Response;
use quire_core::store::StoreError;
use serde::Serialize;

/// Everything that can go wrong in a request, as the client will see it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApiError {
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("the tenant is suspended")]
    TenantSuspended,
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<&'static str> },
    #[error("body of at least {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge { size: u64, limit: u64 },
    #[error("unsupported media type {0}")]
    UnsupportedMediaType(String),
    /// The content is not what was declared, or is never accepted.
    #[error("{0}")]
    UnsupportedContent(String),
    #[error("the request body is empty")]
    EmptyBody,
    /// A well-formed request whose content is wrong (`code`, human detail).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The request conflicts with the resource's state (`code`, detail).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// Too many requests under the named policy; retry after the seconds.
    #[error("rate limit '{policy}' exceeded")]
    RateLimited { policy: String, retry_after_s: u64 },
    /// A `Range` outside the document (its size in bytes).
    #[error("the requested range is outside the document's {0} bytes")]
    RangeNotSatisfiable(u64),
    /// The tenant's monthly budget for a metric is used up.
    #[error("the monthly {metric} budget of {limit} is used up")]
    BudgetExceeded { metric: String, limit: u64 },
    /// The tenant has too many queued and running jobs.
    #[error("too many active jobs (limit {limit}); retry when some finish")]
    TooManyActiveJobs { limit: u64 },
    /// A dependency is down; the client may retry (`code`).
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    /// The document's stored bytes are gone from object storage.
    #[error("the stored bytes of this document are missing; the operator has been alerted")]
    ContentMissing,
    /// A bug or an unexpected dependency failure; the cause is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The RFC 9457 body.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'a str,
    pub status: u16,
    pub detail: String,
    pub code: &'a str,
    pub request_id: &'a str,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::BudgetExceeded { .. } => 402,
            ApiError::RangeNotSatisfiable(_) => 416,
            ApiError::Forbidden(_) | ApiError::TenantSuspended => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(..) => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedContent(_) => 415,
            ApiError::EmptyBody | ApiError::Invalid(..) => 422,
            ApiError::RateLimited { .. } | ApiError::TooManyActiveJobs { .. } => 429,
            ApiError::Unavailable(_) | ApiError::ContentMissing => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// Stable, machine-readable code; part of the API contract.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::BudgetExceeded { .. } => "budget_exceeded",
            ApiError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::TenantSuspended => "tenant_suspended",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::UnsupportedContent(_) => "content_type_mismatch",
            ApiError::EmptyBody => "empty_body",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::TooManyActiveJobs { .. } => "too_many_active_jobs",
            ApiError::Invalid(code, _) | ApiError::Conflict(code, _) => code,
            ApiError::Unavailable(code) => code,
            ApiError::ContentMissing => "content_missing",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "Unauthorized",
            ApiError::BudgetExceeded { .. } => "Budget exceeded",
            ApiError::RangeNotSatisfiable(_) => "Range not satisfiable",
            ApiError::Forbidden(_) | ApiError::TenantSuspended => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::PayloadTooLarge { .. } => "Payload too large",
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedContent(_) => {
                "Unsupported media type"
            }
            ApiError::EmptyBody => "Empty body",
            ApiError::RateLimited { .. } | ApiError::TooManyActiveJobs { .. } => {
                "Too many requests"
            }
            ApiError::Invalid(..) => "Invalid request",
            ApiError::Conflict(..) => "Conflict",
            ApiError::Unavailable(_) | ApiError::ContentMissing => "Service unavailable",
            ApiError::Internal(_) => "Internal server error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Unauthorized => {
                "Send a valid API key or identity-provider token as 'Authorization: Bearer <credential>'."
                    .into()
            }
            ApiError::MethodNotAllowed { allow } => {
                format!("This resource supports: {}.", allow.join(", "))
            }
            ApiError::UnsupportedMediaType(t) => {
                format!("Media type '{t}' is not accepted. See GET /openapi.json for the list.")
            }
            ApiError::EmptyBody => "The request body is empty; send the document's bytes.".into(),
            ApiError::Unavailable("tenant_moving") => {
                "The tenant's data is moving to another database shard; writes resume within seconds.".into()
            }
            ApiError::Unavailable(_) => {
                "A dependency is temporarily unavailable; retry later.".into()
            }
            ApiError::RateLimited {
                policy,
                retry_after_s,
            } => format!(
                "Rate limit '{policy}' exceeded; retry after {retry_after_s} s (see the RateLimit headers)."
            ),
            // Never echo internal causes to the client.
            ApiError::Internal(_) => "An unexpected error occurred; it has been logged.".into(),
            other => other.to_string(),
        }
    }

    /// Renders the error as problem+json, tagged with the request id.
    pub fn to_response(&self, request_id: &str) -> Response {
        let code = self.code();
        let problem = Problem {
            type_uri: format!("urn:quire:problem:{code}"),
            title: self.title(),
            status: self.status(),
            detail: self.detail(),
            code,
            request_id,
        };
        let mut resp = Response::json(self.status(), &problem)
            .with_header("content-type", "application/problem+json");
        match self {
            ApiError::MethodNotAllowed { allow } => resp.set_header("allow", &allow.join(", ")),
            ApiError::Unauthorized => resp.set_header("www-authenticate", "Bearer"),
            ApiError::Unavailable(_) => resp.set_header("retry-after", "5"),
            ApiError::RateLimited { retry_after_s, .. } => {
                resp.set_header("retry-after", &retry_after_s.to_string())
            }
            ApiError::TooManyActiveJobs { .. } => resp.set_header("retry-after", "10"),
            ApiError::RangeNotSatisfiable(size) => {
                resp.set_header("content-range", &format!("bytes */{size}"))
            }
            _ => {}
        }
        resp
    }
}

impl From<crate::scan::ScanError> for ApiError {
    fn from(e: crate::scan::ScanError) -> ApiError {
        use crate::scan::ScanError as S;
        match &e {
            S::Mismatch { .. } | S::Executable(_) => ApiError::UnsupportedContent(e.to_string()),
            S::Eicar => ApiError::Invalid("malware_detected", e.to_string()),
            S::ZipBomb(_) => ApiError::Invalid("zip_bomb", e.to_string()),
            S::Refused(_) => ApiError::Invalid("content_refused", e.to_string()),
            S::Budget(_) => ApiError::Invalid("scan_budget_exceeded", e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if e.is_retryable() {
            ApiError::Unavailable("storage_unavailable")
        } else {
            ApiError::Internal(e.to_string())
        }
    }
}

impl From<crate::http::BodyError> for ApiError {
    fn from(e: crate::http::BodyError) -> ApiError {
        match e {
            crate::http::BodyError::TooLarge { limit } => ApiError::PayloadTooLarge {
                size: limit + 1,
                limit,
            },
            crate::http::BodyError::Unreadable(why) => ApiError::Invalid("unreadable_body", why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_body_has_the_rfc9457_members_and_request_id() {
        let resp = ApiError::NotFound("document".into()).to_response("req_1");
        assert_eq!(resp.status, 404);
        assert_eq!(
            resp.header("content-type"),
            Some("application/problem+json")
        );
        let body = resp.json_body();
        assert_eq!(body["type"], "urn:quire:problem:not_found");
        assert_eq!(body["title"], "Not found");
        assert_eq!(body["status"], 404);
        assert_eq!(body["detail"], "document not found");
        assert_eq!(body["code"], "not_found");
        assert_eq!(body["request_id"], "req_1");
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let resp = ApiError::Internal("D1_ERROR: secret table xyz".into()).to_response("r");
        let text = String::from_utf8(resp.body).unwrap();
        assert!(!text.contains("xyz"));
        assert!(text.contains("internal_error"));
    }

    #[test]
    fn method_not_allowed_sets_allow_header() {
        let resp = ApiError::MethodNotAllowed {
            allow: vec!["GET", "DELETE"],
        }
        .to_response("r");
        assert_eq!(resp.header("allow"), Some("GET, DELETE"));
    }
}
