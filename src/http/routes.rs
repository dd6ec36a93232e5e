//! The route table: the single list of every route the worker serves, and
//! the one place a route is declared: its method and path, who may call it
//! (public, the operator, or a tenant credential holding a scope), its rate
//! limit class and the audit action it records.
//!
//! The router matches against it, the application reads every route's
//! rules from it, and a test compares it with the OpenAPI document, so a
//! route cannot be added without being documented.

use super::Method;
use crate::auth::scope::Scope;

/// Every route, by name. Path parameters are returned beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    Ready,
    OpenApi,
    Console,
    ConsoleScript,
    ListDocuments,
    CreateDocument,
    GetDocument,
    GetDocumentContent,
    DeleteDocument,
    CreateJob,
    ListJobs,
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
    MoveTenant,
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
    PutOcrModel,
    ListOcrModels,
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

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone (probes and the OpenAPI document).
    Public,
    /// The platform operator's key (`OPERATOR_API_KEY`), checked before the
    /// handler runs.
    Operator,
    /// A tenant's API key or JWT, holding the scope when one is named.
    /// Per-document rights are the handlers', on top of this.
    Tenant(Option<Scope>),
    /// No credentials: a test-only route, served with `ENABLE_TEST_ROUTES`
    /// and never in production.
    TestOnly,
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
    pub auth: Auth,
    /// The rate-limit class of a tenant route (`read`, `upload`, `jobs`).
    pub class: &'static str,
    /// The audit action it records and the kind of resource it names.
    pub audit: Option<(&'static str, &'static str)>,
}

/// A tenant route needing `scope`, in the `read` class, not audited.
const fn r(id: RouteId, method: Method, pattern: &'static str) -> RouteSpec {
    RouteSpec {
        id,
        method,
        pattern,
        public: true,
        auth: Auth::Tenant(None),
        class: "read",
        audit: None,
    }
}

impl RouteSpec {
    const fn scope(self, scope: Scope) -> RouteSpec {
        RouteSpec {
            auth: Auth::Tenant(Some(scope)),
            ..self
        }
    }
    const fn open(self) -> RouteSpec {
        RouteSpec {
            auth: Auth::Public,
            ..self
        }
    }
    const fn operator(self) -> RouteSpec {
        RouteSpec {
            auth: Auth::Operator,
            ..self
        }
    }
    /// Not in the OpenAPI document: served only with `ENABLE_TEST_ROUTES`.
    const fn test_only(self) -> RouteSpec {
        RouteSpec {
            public: false,
            auth: Auth::TestOnly,
            ..self
        }
    }
    const fn class(self, class: &'static str) -> RouteSpec {
        RouteSpec { class, ..self }
    }
    const fn audit(self, action: &'static str, kind: &'static str) -> RouteSpec {
        RouteSpec {
            audit: Some((action, kind)),
            ..self
        }
    }
}

/// The table's entry for a route.
pub fn spec_of(id: RouteId) -> &'static RouteSpec {
    ROUTES
        .iter()
        .find(|r| r.id == id)
        .expect("every RouteId is in ROUTES")
}

pub const ROUTES: &[RouteSpec] = &[
    r(RouteId::Health, Method::Get, "/health").open(),
    r(RouteId::Ready, Method::Get, "/ready").open(),
    r(RouteId::OpenApi, Method::Get, "/openapi.json").open(),
    r(RouteId::Console, Method::Get, "/console").open(),
    r(RouteId::ConsoleScript, Method::Get, "/console/app.js").open(),
    r(RouteId::ListDocuments, Method::Get, "/v1/documents").scope(Scope::DocumentsRead),
    r(RouteId::CreateDocument, Method::Post, "/v1/documents")
        .scope(Scope::DocumentsWrite)
        .class("upload")
        .audit("document.created", "document"),
    r(RouteId::GetDocument, Method::Get, "/v1/documents/{id}")
        .scope(Scope::DocumentsRead)
        .audit("document.read", "document"),
    r(
        RouteId::DeleteDocument,
        Method::Delete,
        "/v1/documents/{id}",
    )
    .scope(Scope::DocumentsWrite)
    .audit("document.deleted", "document"),
    r(
        RouteId::GetDocumentContent,
        Method::Get,
        "/v1/documents/{id}/content",
    )
    .scope(Scope::DocumentsRead)
    .audit("document.read", "document"),
    r(RouteId::CreateJob, Method::Post, "/v1/jobs")
        .scope(Scope::JobsWrite)
        .class("jobs")
        .audit("job.created", "job"),
    r(RouteId::ListJobs, Method::Get, "/v1/jobs").scope(Scope::JobsRead),
    r(RouteId::GetJob, Method::Get, "/v1/jobs/{id}").scope(Scope::JobsRead),
    r(RouteId::GetJobResult, Method::Get, "/v1/jobs/{id}/result")
        .scope(Scope::JobsRead)
        .audit("job.result_read", "job"),
    r(RouteId::CancelJob, Method::Post, "/v1/jobs/{id}/cancel")
        .scope(Scope::JobsWrite)
        .audit("job.cancelled", "job"),
    r(RouteId::JobEvents, Method::Get, "/v1/jobs/{id}/events").scope(Scope::JobsRead),
    r(RouteId::JobWebhooks, Method::Get, "/v1/jobs/{id}/webhooks").scope(Scope::JobsRead),
    r(RouteId::WebhookSecret, Method::Get, "/v1/webhooks/secret")
        .scope(Scope::TenantAdmin)
        .audit("webhook_secret.read", "tenant"),
    r(RouteId::Usage, Method::Get, "/v1/usage").scope(Scope::TenantAdmin),
    r(RouteId::CreateTenant, Method::Post, "/v1/tenants")
        .operator()
        .audit("tenant.created", "tenant"),
    r(RouteId::ListTenants, Method::Get, "/v1/tenants").operator(),
    r(RouteId::MoveTenant, Method::Post, "/v1/tenants/{id}/move").operator(),
    r(RouteId::UpdateTenant, Method::Patch, "/v1/tenants/{id}")
        .operator()
        .audit("tenant.updated", "tenant"),
    r(RouteId::ListKeys, Method::Get, "/v1/keys").scope(Scope::KeysAdmin),
    r(RouteId::CreateKey, Method::Post, "/v1/keys")
        .scope(Scope::KeysAdmin)
        .audit("key.created", "key"),
    r(RouteId::DeleteKey, Method::Delete, "/v1/keys/{id}")
        .scope(Scope::KeysAdmin)
        .audit("key.revoked", "key"),
    r(RouteId::GetKey, Method::Get, "/v1/keys/{id}").scope(Scope::KeysAdmin),
    r(RouteId::RotateKey, Method::Post, "/v1/keys/{id}/rotate")
        .scope(Scope::KeysAdmin)
        .audit("key.rotated", "key"),
    r(RouteId::ListUsers, Method::Get, "/v1/users").scope(Scope::UsersAdmin),
    r(RouteId::CreateUser, Method::Post, "/v1/users")
        .scope(Scope::UsersAdmin)
        .audit("user.created", "user"),
    r(RouteId::GetUser, Method::Get, "/v1/users/{id}").scope(Scope::UsersAdmin),
    r(RouteId::UpdateUser, Method::Patch, "/v1/users/{id}")
        .scope(Scope::UsersAdmin)
        .audit("user.updated", "user"),
    r(
        RouteId::ListShares,
        Method::Get,
        "/v1/documents/{id}/shares",
    )
    .scope(Scope::DocumentsRead),
    r(RouteId::PutShare, Method::Post, "/v1/documents/{id}/shares")
        .scope(Scope::DocumentsWrite)
        .audit("document.shared", "document"),
    r(
        RouteId::DeleteShare,
        Method::Delete,
        "/v1/documents/{id}/shares/{grantee}",
    )
    .scope(Scope::DocumentsWrite)
    .audit("document.unshared", "document"),
    r(RouteId::GetIdp, Method::Get, "/v1/tenant/idp").scope(Scope::TenantAdmin),
    r(RouteId::PutIdp, Method::Put, "/v1/tenant/idp")
        .scope(Scope::TenantAdmin)
        .audit("idp.updated", "tenant"),
    r(RouteId::DeleteIdp, Method::Delete, "/v1/tenant/idp")
        .scope(Scope::TenantAdmin)
        .audit("idp.removed", "tenant"),
    r(RouteId::ListAudit, Method::Get, "/v1/audit").scope(Scope::AuditRead),
    r(RouteId::VerifyAudit, Method::Get, "/v1/audit/verify").scope(Scope::AuditRead),
    r(RouteId::Me, Method::Get, "/v1/me"),
    r(RouteId::TrainingData, Method::Get, "/v1/llm/training-data")
        .scope(Scope::TenantAdmin)
        .audit("llm.training_exported", "tenant"),
    r(RouteId::Export, Method::Get, "/v1/export")
        .scope(Scope::TenantAdmin)
        .audit("tenant.exported", "tenant"),
    r(RouteId::EraseTenant, Method::Delete, "/v1/tenant")
        .scope(Scope::TenantAdmin)
        .audit("tenant.erase_requested", "tenant"),
    r(RouteId::Rewrap, Method::Post, "/v1/admin/rewrap").operator(),
    r(
        RouteId::PutOcrModel,
        Method::Put,
        "/v1/admin/ocr-models/{language}",
    )
    .operator(),
    r(RouteId::ListOcrModels, Method::Get, "/v1/admin/ocr-models").operator(),
    r(
        RouteId::ListDeadLetters,
        Method::Get,
        "/v1/admin/dead-letters",
    )
    .operator(),
    r(
        RouteId::ReplayDeadLetter,
        Method::Post,
        "/v1/admin/dead-letters/{id}/replay",
    )
    .operator(),
    r(RouteId::CreateUpload, Method::Post, "/v1/uploads").scope(Scope::DocumentsWrite),
    r(RouteId::GetUpload, Method::Get, "/v1/uploads/{id}").scope(Scope::DocumentsWrite),
    r(
        RouteId::PutUploadPart,
        Method::Put,
        "/v1/uploads/{id}/parts/{n}",
    )
    .scope(Scope::DocumentsWrite),
    r(
        RouteId::CompleteUpload,
        Method::Post,
        "/v1/uploads/{id}/complete",
    )
    .scope(Scope::DocumentsWrite),
    r(RouteId::AbortUpload, Method::Delete, "/v1/uploads/{id}").scope(Scope::DocumentsWrite),
    r(RouteId::AdminMetrics, Method::Get, "/v1/admin/metrics").operator(),
    r(RouteId::AdminSlo, Method::Get, "/v1/admin/slo").operator(),
    r(RouteId::ListBackups, Method::Get, "/v1/admin/backups").operator(),
    r(RouteId::CreateBackup, Method::Post, "/v1/admin/backups").operator(),
    r(RouteId::GetBackup, Method::Get, "/v1/admin/backups/{id}").operator(),
    r(
        RouteId::TestRedeliverJob,
        Method::Post,
        "/__test/jobs/{id}/redeliver",
    )
    .test_only(),
    r(RouteId::TestRawObject, Method::Get, "/__test/raw-object").test_only(),
    r(RouteId::TestExtract, Method::Post, "/__test/extract").test_only(),
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
    #[test]
    fn each_route_is_declared_once_and_operator_routes_are_the_operators_paths() {
        for (i, r) in ROUTES.iter().enumerate() {
            assert!(ROUTES[..i].iter().all(|o| o.id != r.id), "{:?} twice", r.id);
            let operators =
                r.pattern.starts_with("/v1/admin/") || r.pattern.starts_with("/v1/tenants");
            assert_eq!(r.auth == Auth::Operator, operators, "{:?}", r.id);
            assert_eq!(r.auth == Auth::TestOnly, !r.public, "{:?}", r.id);
            assert!(["read", "upload", "jobs"].contains(&r.class), "{:?}", r.id);
        }
        assert_eq!(spec_of(RouteId::CreateJob).class, "jobs");
        assert_eq!(
            spec_of(RouteId::DeleteKey).audit,
            Some(("key.revoked", "key"))
        );
    }

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
