//! The route table: the single list of every route the worker serves.
//!
//! The router matches against it, and a test compares it with the OpenAPI
//! document, so a route cannot be added without being documented.

use super::Method;

/// Every route, by name. Path parameters are returned beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    Ready,
    OpenApi,
    ListDocuments,
    CreateDocument,
    GetDocument,
    GetDocumentContent,
    DeleteDocument,
    CreateJob,
    GetJob,
    GetJobResult,
    CancelJob,
    JobEvents,
    JobWebhooks,
    WebhookSecret,
    Usage,
    CreateTenant,
    ListTenants,
    UpdateTenant,
    ListKeys,
    CreateKey,
    DeleteKey,
    GetKey,
    RotateKey,
    ListUsers,
    CreateUser,
    GetUser,
    UpdateUser,
    ListShares,
    PutShare,
    DeleteShare,
    GetIdp,
    PutIdp,
    DeleteIdp,
    ListAudit,
    VerifyAudit,
    Me,
    TrainingData,
    Export,
    EraseTenant,
    Rewrap,
    ListDeadLetters,
    ReplayDeadLetter,
    CreateUpload,
    GetUpload,
    PutUploadPart,
    CompleteUpload,
    AbortUpload,
    AdminMetrics,
    AdminSlo,
    ListBackups,
    CreateBackup,
    GetBackup,
    /// Test-only: sends a job's queue message again. Enabled by
    /// `ENABLE_TEST_ROUTES`, never documented, never on in production.
    TestRedeliverJob,
    /// Test-only: extracts the body synchronously (speed benchmark in
    /// `wrangler dev`). Same gate as the other test routes.
    TestExtract,
    /// Test-only: the raw bytes of an object as stored in R2 (served by the
    /// edge, which alone sees beneath the encryption).
    TestRawObject,
}

/// One entry of the table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub id: RouteId,
    pub method: Method,
    /// Path with `{name}` placeholders, exactly as in the OpenAPI document.
    pub pattern: &'static str,
    /// Whether the route belongs in the public OpenAPI document.
    pub public: bool,
}

const fn r(id: RouteId, method: Method, pattern: &'static str) -> RouteSpec {
    RouteSpec {
        id,
        method,
        pattern,
        public: true,
    }
}

pub const ROUTES: &[RouteSpec] = &[
    r(RouteId::Health, Method::Get, "/health"),
    r(RouteId::Ready, Method::Get, "/ready"),
    r(RouteId::OpenApi, Method::Get, "/openapi.json"),
    r(RouteId::ListDocuments, Method::Get, "/v1/documents"),
    r(RouteId::CreateDocument, Method::Post, "/v1/documents"),
    r(RouteId::GetDocument, Method::Get, "/v1/documents/{id}"),
    r(
        RouteId::DeleteDocument,
        Method::Delete,
        "/v1/documents/{id}",
    ),
    r(
        RouteId::GetDocumentContent,
        Method::Get,
        "/v1/documents/{id}/content",
    ),
    r(RouteId::CreateJob, Method::Post, "/v1/jobs"),
    r(RouteId::GetJob, Method::Get, "/v1/jobs/{id}"),
    r(RouteId::GetJobResult, Method::Get, "/v1/jobs/{id}/result"),
    r(RouteId::CancelJob, Method::Post, "/v1/jobs/{id}/cancel"),
    r(RouteId::JobEvents, Method::Get, "/v1/jobs/{id}/events"),
    r(RouteId::JobWebhooks, Method::Get, "/v1/jobs/{id}/webhooks"),
    r(RouteId::WebhookSecret, Method::Get, "/v1/webhooks/secret"),
    r(RouteId::Usage, Method::Get, "/v1/usage"),
    r(RouteId::CreateTenant, Method::Post, "/v1/tenants"),
    r(RouteId::ListTenants, Method::Get, "/v1/tenants"),
    r(RouteId::UpdateTenant, Method::Patch, "/v1/tenants/{id}"),
    r(RouteId::ListKeys, Method::Get, "/v1/keys"),
    r(RouteId::CreateKey, Method::Post, "/v1/keys"),
    r(RouteId::DeleteKey, Method::Delete, "/v1/keys/{id}"),
    r(RouteId::GetKey, Method::Get, "/v1/keys/{id}"),
    r(RouteId::RotateKey, Method::Post, "/v1/keys/{id}/rotate"),
    r(RouteId::ListUsers, Method::Get, "/v1/users"),
    r(RouteId::CreateUser, Method::Post, "/v1/users"),
    r(RouteId::GetUser, Method::Get, "/v1/users/{id}"),
    r(RouteId::UpdateUser, Method::Patch, "/v1/users/{id}"),
    r(
        RouteId::ListShares,
        Method::Get,
        "/v1/documents/{id}/shares",
    ),
    r(RouteId::PutShare, Method::Post, "/v1/documents/{id}/shares"),
    r(
        RouteId::DeleteShare,
        Method::Delete,
        "/v1/documents/{id}/shares/{grantee}",
    ),
    r(RouteId::GetIdp, Method::Get, "/v1/tenant/idp"),
    r(RouteId::PutIdp, Method::Put, "/v1/tenant/idp"),
    r(RouteId::DeleteIdp, Method::Delete, "/v1/tenant/idp"),
    r(RouteId::ListAudit, Method::Get, "/v1/audit"),
    r(RouteId::VerifyAudit, Method::Get, "/v1/audit/verify"),
    r(RouteId::Me, Method::Get, "/v1/me"),
    r(RouteId::TrainingData, Method::Get, "/v1/llm/training-data"),
    r(RouteId::Export, Method::Get, "/v1/export"),
    r(RouteId::EraseTenant, Method::Delete, "/v1/tenant"),
    r(RouteId::Rewrap, Method::Post, "/v1/admin/rewrap"),
    r(
        RouteId::ListDeadLetters,
        Method::Get,
        "/v1/admin/dead-letters",
    ),
    r(
        RouteId::ReplayDeadLetter,
        Method::Post,
        "/v1/admin/dead-letters/{id}/replay",
    ),
    r(RouteId::CreateUpload, Method::Post, "/v1/uploads"),
    r(RouteId::GetUpload, Method::Get, "/v1/uploads/{id}"),
    r(
        RouteId::PutUploadPart,
        Method::Put,
        "/v1/uploads/{id}/parts/{n}",
    ),
    r(
        RouteId::CompleteUpload,
        Method::Post,
        "/v1/uploads/{id}/complete",
    ),
    r(RouteId::AbortUpload, Method::Delete, "/v1/uploads/{id}"),
    r(RouteId::AdminMetrics, Method::Get, "/v1/admin/metrics"),
    r(RouteId::AdminSlo, Method::Get, "/v1/admin/slo"),
    r(RouteId::ListBackups, Method::Get, "/v1/admin/backups"),
    r(RouteId::CreateBackup, Method::Post, "/v1/admin/backups"),
    r(RouteId::GetBackup, Method::Get, "/v1/admin/backups/{id}"),
    RouteSpec {
        id: RouteId::TestRedeliverJob,
        method: Method::Post,
        pattern: "/__test/jobs/{id}/redeliver",
        public: false,
    },
    RouteSpec {
        id: RouteId::TestRawObject,
        method: Method::Get,
        pattern: "/__test/raw-object",
        public: false,
    },
    RouteSpec {
        id: RouteId::TestExtract,
        method: Method::Post,
        pattern: "/__test/extract",
        public: false,
    },
];

/// Outcome of matching a method and path against the table.
#[derive(Debug, PartialEq, Eq)]
pub enum Match {
    Found {
        id: RouteId,
        params: Vec<String>,
    },
    /// The path exists but not with this method; `allow` lists the methods.
    MethodNotAllowed {
        allow: Vec<&'static str>,
    },
    NotFound,
}

/// Matches a request. `HEAD` is served by the `GET` route of the same path.
pub fn match_route(method: Method, path: &str) -> Match {
    let wanted = if method == Method::Head {
        Method::Get
    } else {
        method
    };
    let mut allow = Vec::new();
    for spec in ROUTES {
        if let Some(params) = match_pattern(spec.pattern, path) {
            if spec.method == wanted {
                return Match::Found {
                    id: spec.id,
                    params,
                };
            }
            allow.push(spec.method.as_str());
        }
    }
    if allow.is_empty() {
        Match::NotFound
    } else {
        Match::MethodNotAllowed { allow }
    }
}

fn match_pattern(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut pat = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (pat.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(g)) if p.starts_with('{') => {
                if g.is_empty() {
                    return None;
                }
                params.push(super::percent_decode(g));
            }
            (Some(p), Some(g)) if p == g => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_are_extracted() {
        assert_eq!(
            match_route(Method::Get, "/v1/documents/doc_1/content"),
            Match::Found {
                id: RouteId::GetDocumentContent,
                params: vec!["doc_1".into()]
            }
        );
    }

    #[test]
    fn known_path_with_wrong_method_lists_allowed_methods() {
        assert_eq!(
            match_route(Method::Put, "/v1/documents/x"),
            Match::MethodNotAllowed {
                allow: vec!["GET", "DELETE"]
            }
        );
    }

    #[test]
    fn unknown_paths_and_empty_ids_are_not_found() {
        assert_eq!(match_route(Method::Get, "/v2/documents"), Match::NotFound);
        assert_eq!(match_route(Method::Get, "/v1/documents/"), Match::NotFound);
        assert_eq!(
            match_route(Method::Get, "/v1/documents/a/b/c"),
            Match::NotFound
        );
    }

    #[test]
    fn head_is_served_by_the_get_route() {
        assert!(matches!(
            match_route(Method::Head, "/health"),
            Match::Found {
                id: RouteId::Health,
                ..
            }
        ));
    }
}
