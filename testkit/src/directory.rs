//! MemDirectory: users, identity providers and audit entries (D1 `users`, `idps`, `audit`).

use super::*;

/// Users, identity providers and audit entries in memory.
#[derive(Default)]
pub struct MemDirectory {
    pub users: RefCell<Vec<User>>,
    pub idps: RefCell<BTreeMap<String, IdpRecord>>,
    /// Shared with [`MemGate`], which appends to it.
    pub audit: std::rc::Rc<RefCell<Vec<Entry>>>,
    pub tombstones: RefCell<BTreeMap<String, quire::tenants::Tombstone>>,
    pub faults: Faults,
}

impl Directory for MemDirectory {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        self.faults.check()?;
        let mut users = self.users.borrow_mut();
        let clash = users.iter().any(|u| {
            u.tenant_id == user.tenant_id
                && ((u.email.is_some() && u.email == user.email)
                    || (u.external_id.is_some() && u.external_id == user.external_id))
        });
        if clash {
            return Err(StoreError::Permanent(
                "UNIQUE constraint failed: users".into(),
            ));
        }
        users.push(user.clone());
        Ok(())
    }
    async fn get_user(&self, tenant_id: &str, id: &str) -> StoreResult<Option<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.id == id)
            .cloned())
    }
    async fn find_user_by_external_id(
        &self,
        tenant_id: &str,
        external_id: &str,
    ) -> StoreResult<Option<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .find(|u| u.tenant_id == tenant_id && u.external_id.as_deref() == Some(external_id))
            .cloned())
    }
    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        self.faults.check()?;
        let users = self.users.borrow();
        Ok(users
            .iter()
            .filter(|u| u.tenant_id == tenant_id)
            .cloned()
            .collect())
    }
    async fn update_user(&self, user: &User) -> StoreResult<bool> {
        self.faults.check()?;
        let mut users = self.users.borrow_mut();
        match users
            .iter_mut()
            .find(|u| u.tenant_id == user.tenant_id && u.id == user.id)
        {
            Some(u) => {
                *u = user.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn put_idp(
        &self,
        tenant_id: &str,
        _issuer: &str,
        config: &str,
        _now_ms: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        self.idps.borrow_mut().insert(
            tenant_id.to_string(),
            IdpRecord {
                tenant_id: tenant_id.to_string(),
                config: config.to_string(),
                jwks: None,
                jwks_fetched_at_ms: None,
                shard: 0,
            },
        );
        Ok(())
    }
    async fn get_idp(&self, tenant_id: &str) -> StoreResult<Option<IdpRecord>> {
        self.faults.check()?;
        Ok(self.idps.borrow().get(tenant_id).cloned())
    }
    async fn idps_by_issuer(&self, issuer: &str) -> StoreResult<Vec<IdpRecord>> {
        self.faults.check()?;
        Ok(self
            .idps
            .borrow()
            .values()
            .filter(|r| {
                serde_json::from_str::<serde_json::Value>(&r.config)
                    .ok()
                    .and_then(|c| c["issuer"].as_str().map(|i| i == issuer))
                    .unwrap_or(false)
            })
            .cloned()
            .collect())
    }
    async fn delete_idp(&self, tenant_id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        Ok(self.idps.borrow_mut().remove(tenant_id).is_some())
    }
    async fn save_jwks(&self, tenant_id: &str, jwks: Option<&str>, at_ms: u64) -> StoreResult<()> {
        self.faults.check()?;
        if let Some(r) = self.idps.borrow_mut().get_mut(tenant_id) {
            if let Some(j) = jwks {
                r.jwks = Some(j.to_string());
            }
            r.jwks_fetched_at_ms = Some(at_ms);
        }
        Ok(())
    }
    async fn audit_head(&self, tenant_id: &str) -> StoreResult<Option<(u64, String)>> {
        self.faults.check()?;
        Ok(self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id)
            .max_by_key(|e| e.seq)
            .map(|e| (e.seq, e.hash.clone())))
    }
    async fn insert_audit(&self, entry: &Entry) -> StoreResult<bool> {
        self.faults.check()?;
        let mut audit = self.audit.borrow_mut();
        if audit
            .iter()
            .any(|e| e.tenant_id == entry.tenant_id && e.seq == entry.seq)
        {
            return Ok(false);
        }
        audit.push(entry.clone());
        Ok(true)
    }
    async fn list_audit(
        &self,
        tenant_id: &str,
        filter: &Filter,
        before_seq: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        self.faults.check()?;
        let mut out: Vec<Entry> = self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id && before_seq.is_none_or(|b| e.seq < b))
            .filter(|e| filter.admits(e))
            .cloned()
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out.truncate(limit as usize);
        Ok(out)
    }
    async fn erase_directory(&self, t: &quire::tenants::Tombstone) -> StoreResult<u64> {
        self.faults.check()?;
        let mut audit = self.audit.borrow_mut();
        let before = audit.len();
        audit.retain(|e| e.tenant_id != t.tenant_id);
        let erased = (before - audit.len()) as u64;
        self.users
            .borrow_mut()
            .retain(|u| u.tenant_id != t.tenant_id);
        self.idps.borrow_mut().remove(&t.tenant_id);
        self.tombstones
            .borrow_mut()
            .entry(t.tenant_id.clone())
            .or_insert_with(|| t.clone());
        Ok(erased)
    }
    async fn audit_after(
        &self,
        tenant_id: &str,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<Entry>> {
        self.faults.check()?;
        let mut out: Vec<Entry> = self
            .audit
            .borrow()
            .iter()
            .filter(|e| e.tenant_id == tenant_id && e.seq > after_seq)
            .cloned()
            .collect();
        out.sort_by_key(|e| e.seq);
        out.truncate(limit as usize);
        Ok(out)
    }
}
