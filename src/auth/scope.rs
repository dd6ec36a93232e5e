//! The permissions a credential may carry: a leaf, so the route table can
//! name the scope each route needs without depending on the rest of auth.

/// A permission a credential may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    DocumentsRead,
    DocumentsWrite,
    JobsRead,
    JobsWrite,
    KeysAdmin,
    UsersAdmin,
    AuditRead,
    TenantAdmin,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Scope::DocumentsRead,
        Scope::DocumentsWrite,
        Scope::JobsRead,
        Scope::JobsWrite,
        Scope::KeysAdmin,
        Scope::UsersAdmin,
        Scope::AuditRead,
        Scope::TenantAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::DocumentsRead => "documents:read",
            Scope::DocumentsWrite => "documents:write",
            Scope::JobsRead => "jobs:read",
            Scope::JobsWrite => "jobs:write",
            Scope::KeysAdmin => "keys:admin",
            Scope::UsersAdmin => "users:admin",
            Scope::AuditRead => "audit:read",
            Scope::TenantAdmin => "tenant:admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}
