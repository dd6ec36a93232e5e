//! Per-document permissions: who may read or change a document, from its
//! owner, the caller's role and the document's shares. Pure.
//!
//! - Admins and owners reach every document of their tenant.
//! - Members and viewers reach the documents they own and those shared with
//!   them, by user or by role. A role share reaches that role and the roles
//!   above it (a share with `viewer` also reaches members).
//! - Derived data (job results, extracted text, chunks) has no permissions
//!   of its own: it is reached through its document.

use super::{Principal, Role};
use crate::error::ApiError;
use serde::{Deserialize, Serialize};

/// What a share (or a check) grants or asks for. `Write` implies `Read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// Whom a document is shared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "lowercase")]
pub enum Grantee {
    User(String),
    Role(Role),
}

impl Grantee {
    /// `user:<id>` or `role:<name>`: the share's id in URLs.
    pub fn tag(&self) -> String {
        match self {
            Grantee::User(id) => format!("user:{id}"),
            Grantee::Role(r) => format!("role:{}", r.as_str()),
        }
    }

    pub fn parse_tag(tag: &str) -> Option<Grantee> {
        match tag.split_once(':')? {
            ("user", id) if crate::ids::looks_like_id("usr", id) => {
                Some(Grantee::User(id.to_string()))
            }
            ("role", r) => Role::parse(r).map(Grantee::Role),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Grantee::User(_) => "user",
            Grantee::Role(_) => "role",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Grantee::User(id) => id.clone(),
            Grantee::Role(r) => r.as_str().to_string(),
        }
    }
}

/// One share of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub document_id: String,
    pub grantee: Grantee,
    pub access: Access,
    pub created_by: String,
    pub created_at_ms: u64,
}

/// The most the caller may do with a document: `None` when it may not even
/// know the document exists.
pub fn access_of(who: &Principal, owner: Option<&str>, shares: &[Share]) -> Option<Access> {
    if who.role.sees_all_documents() || owner == Some(who.owner_tag().as_str()) {
        return Some(Access::Write);
    }
    shares
        .iter()
        .filter(|s| match &s.grantee {
            Grantee::User(id) => who.user_id.as_deref() == Some(id.as_str()),
            Grantee::Role(r) => who.role >= *r,
        })
        .map(|s| s.access)
        .max()
}

/// Checks the caller may do `need` with the document. No access at all is
/// a 404, as if the document did not exist; read-only access asked to write
/// is a 403.
pub fn check(
    who: &Principal,
    owner: Option<&str>,
    shares: &[Share],
    need: Access,
) -> Result<(), ApiError> {
    match access_of(who, owner, shares) {
        None => Err(ApiError::NotFound("document".into())),
        Some(have) if have >= need => Ok(()),
        Some(_) => Err(ApiError::Forbidden(
            "you may read this document but not change it".into(),
        )),
    }
}

/// What a non-admin may list: documents it owns or that are shared with
/// its user or with a role at or below its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Visibility {
    pub owner: String,
    pub user_id: Option<String>,
    pub roles: Vec<Role>,
}

/// `None` when the caller sees every document of its tenant.
pub fn visibility(who: &Principal) -> Option<Visibility> {
    if who.role.sees_all_documents() {
        return None;
    }
    Some(Visibility {
        owner: who.owner_tag(),
        user_id: who.user_id.clone(),
        roles: Role::ALL.into_iter().filter(|r| *r <= who.role).collect(),
    })
}

impl Visibility {
    /// Whether a document with this owner and these shares is visible.
    pub fn admits(&self, owner: Option<&str>, shares: &[Share]) -> bool {
        owner == Some(self.owner.as_str())
            || shares.iter().any(|s| match &s.grantee {
                Grantee::User(id) => self.user_id.as_deref() == Some(id.as_str()),
                Grantee::Role(r) => self.roles.contains(r),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Credential, Scope};

    fn who(role: Role, user: Option<&str>) -> Principal {
        Principal {
            tenant_id: "ten_1".into(),
            key_id: "key_1".into(),
            user_id: user.map(str::to_string),
            role,
            scopes: Scope::ALL.to_vec(),
            credential: Credential::ApiKey("key_1".into()),
            rate_limits: vec![],
            plan: "standard".into(),
            retention_days: None,
            shard: 0,
            frozen: false,
        }
    }

    fn share(grantee: Grantee, access: Access) -> Share {
        Share {
            document_id: "doc_1".into(),
            grantee,
            access,
            created_by: "user:usr_a".into(),
            created_at_ms: 0,
        }
    }

    #[test]
    fn admins_reach_everything_members_only_their_own() {
        let other = Some("user:usr_other");
        assert_eq!(
            access_of(&who(Role::Admin, None), other, &[]),
            Some(Access::Write)
        );
        assert_eq!(
            access_of(&who(Role::Member, Some("usr_m")), other, &[]),
            None
        );
        assert_eq!(
            access_of(&who(Role::Member, Some("usr_m")), Some("user:usr_m"), &[]),
            Some(Access::Write)
        );
        // A service key owns what it created.
        assert_eq!(
            access_of(&who(Role::Member, None), Some("key:key_1"), &[]),
            Some(Access::Write)
        );
        // Documents from before ownership existed are the admins' alone.
        assert_eq!(access_of(&who(Role::Member, None), None, &[]), None);
    }

    #[test]
    fn shares_grant_by_user_and_by_role_upwards() {
        let shares = [
            share(Grantee::User("usr_m".into()), Access::Read),
            share(Grantee::Role(Role::Viewer), Access::Read),
        ];
        let member = who(Role::Member, Some("usr_m"));
        assert_eq!(
            access_of(&member, Some("user:x"), &shares),
            Some(Access::Read)
        );
        let viewer = who(Role::Viewer, Some("usr_v"));
        assert_eq!(
            access_of(&viewer, Some("user:x"), &shares),
            Some(Access::Read)
        );
        let member_only = [share(Grantee::Role(Role::Member), Access::Write)];
        assert_eq!(access_of(&viewer, Some("user:x"), &member_only), None);
        assert_eq!(
            access_of(&member, Some("user:x"), &member_only),
            Some(Access::Write)
        );
    }

    #[test]
    fn no_access_is_404_and_read_only_is_403_for_writes() {
        let member = who(Role::Member, Some("usr_m"));
        assert_eq!(
            check(&member, Some("user:x"), &[], Access::Read),
            Err(ApiError::NotFound("document".into()))
        );
        let ro = [share(Grantee::User("usr_m".into()), Access::Read)];
        assert!(check(&member, Some("user:x"), &ro, Access::Read).is_ok());
        assert!(matches!(
            check(&member, Some("user:x"), &ro, Access::Write),
            Err(ApiError::Forbidden(_))
        ));
    }

    #[test]
    fn visibility_matches_access() {
        assert_eq!(visibility(&who(Role::Owner, None)), None);
        let v = visibility(&who(Role::Member, Some("usr_m"))).unwrap();
        assert_eq!(v.roles, vec![Role::Member, Role::Viewer]);
        assert!(v.admits(Some("user:usr_m"), &[]));
        assert!(!v.admits(Some("user:x"), &[]));
        assert!(v.admits(
            Some("user:x"),
            &[share(Grantee::Role(Role::Viewer), Access::Read)]
        ));
        assert!(!v.admits(
            Some("user:x"),
            &[share(Grantee::Role(Role::Admin), Access::Read)]
        ));
    }

    #[test]
    fn grantee_tags_round_trip_and_refuse_junk() {
        for g in [
            Grantee::User("usr_01abc".into()),
            Grantee::Role(Role::Viewer),
        ] {
            assert_eq!(Grantee::parse_tag(&g.tag()), Some(g));
        }
        assert_eq!(Grantee::parse_tag("role:root"), None);
        assert_eq!(Grantee::parse_tag("user:../x"), None);
        assert_eq!(Grantee::parse_tag("group:x"), None);
    }
}
