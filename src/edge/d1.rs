//! The metadata-store port over D1. All SQL lives here; every tenant-facing
//! statement filters by tenant. Integers are bound as `f64` because D1
//! refuses JS BigInts.

use super::observe::classify;
use crate::auth::access::{Access, Grantee, Share, Visibility};
use crate::auth::{scopes_string, ApiKey};
use crate::documents::Document;
use crate::jobs::{CommandState, Job, JobError};
use crate::ports::{
    DeadLetterStore, DocumentStore, JobStore, KeyStore, MetaStore, StoreError, StoreResult,
    TenantStore, UploadStore,
};
use crate::tenants::Tenant;
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

mod dead_letters;
mod documents;
mod jobs;
mod keys;
mod parts;
mod rows;
mod shards;
mod tenants;
mod uploads;
mod webhooks;

use rows::*;
pub(super) use rows::{role_of, JobRow, JOB_COLUMNS};

/// D1, with the request's observation (call logs, injected faults).
pub struct D1Meta(pub std::rc::Rc<Databases>, pub super::observe::Obs);

/// The most shards a deployment binds (`DB`, `DB_1` ... `DB_15`).
const MAX_SHARDS: u32 = 16;

/// Every database this worker binds: the directory, which is also shard
/// 0 (`DB`), then shards 1.. (`DB_1`, `DB_2`, ...), and the shard the
/// tenant statements go to (see [`crate::tenants::shards`]).
pub struct Databases {
    dbs: Vec<Db>,
    entered: std::cell::Cell<Option<u32>>,
}

/// The binding of shard `n`.
pub fn binding(n: u32) -> String {
    if n == 0 {
        "DB".into()
    } else {
        format!("DB_{n}")
    }
}

impl Databases {
    /// The bound databases, each opened by `open` (the database itself,
    /// or a session on it); shards are bound without gaps.
    pub fn bind(
        env: &worker::Env,
        mut open: impl FnMut(u32, D1Database) -> worker::Result<Db>,
    ) -> worker::Result<std::rc::Rc<Databases>> {
        let mut dbs = vec![open(0, env.d1("DB")?)?];
        for n in 1..MAX_SHARDS {
            let Ok(db) = env.d1(&binding(n)) else { break };
            dbs.push(open(n, db)?);
        }
        Ok(std::rc::Rc::new(Databases {
            dbs,
            entered: std::cell::Cell::new(None),
        }))
    }

    /// The databases themselves (no session).
    pub fn of(env: &worker::Env) -> worker::Result<std::rc::Rc<Databases>> {
        Databases::bind(env, |_, db| Ok(db.into()))
    }

    pub fn len(&self) -> u32 {
        self.dbs.len() as u32
    }

    pub fn get(&self, n: u32) -> Option<&Db> {
        self.dbs.get(n as usize)
    }

    pub fn enter(&self, n: u32) {
        self.entered.set(Some(n));
    }

    pub fn entered(&self) -> Option<u32> {
        self.entered.get()
    }

    /// Where a statement goes: directory statements to the directory,
    /// tenant statements to the shard entered (refused when none was:
    /// a statement sent to the wrong shard would read or write another
    /// database's rows).
    fn index_for(&self, sql: &str) -> StoreResult<u32> {
        use crate::tenants::shards::{home_of, Home};
        match home_of(sql).map_err(StoreError::Permanent)? {
            Home::Directory | Home::Any => Ok(0),
            Home::Shard => match self.entered.get() {
                Some(n) if n < self.len() => Ok(n),
                Some(n) => Err(StoreError::Permanent(format!("no shard {n} is bound"))),
                None => Err(StoreError::Permanent(format!(
                    "tenant statement with no shard chosen: {}",
                    crate::ops::sql_op(sql)
                ))),
            },
        }
    }
}

/// A statement prepared on the database it belongs to.
pub struct Stmt {
    pub(super) inner: D1PreparedStatement,
    db: u32,
}

/// Where statements go: the database itself, or one request's session
/// (D1's Sessions API: its reads may be served by a read replica, never
/// older than the bookmark it started from, and each sees the writes
/// before it).
#[derive(Clone)]
pub enum Db {
    Database(std::rc::Rc<D1Database>),
    /// API requests only (the jobs worker reads the primary).
    #[cfg_attr(not(feature = "api"), allow(dead_code))]
    Session(std::rc::Rc<worker::d1::D1DatabaseSession>),
}

impl From<D1Database> for Db {
    fn from(db: D1Database) -> Db {
        Db::Database(std::rc::Rc::new(db))
    }
}

impl Db {
    fn prepare(&self, sql: &str) -> D1PreparedStatement {
        match self {
            Db::Database(db) => db.prepare(sql),
            Db::Session(s) => s.prepare(sql),
        }
    }

    async fn batch(
        &self,
        statements: Vec<D1PreparedStatement>,
    ) -> worker::Result<Vec<worker::D1Result>> {
        match self {
            Db::Database(db) => db.batch(statements).await,
            Db::Session(s) => s.batch(statements).await,
        }
    }
}

pub(super) fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}

pub(super) fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

pub(super) fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}

impl D1Meta {
    /// Prepares a statement on the database it belongs to.
    pub(super) fn stmt(&self, sql: &str, args: &[JsValue]) -> StoreResult<Stmt> {
        let db = self.0.index_for(sql)?;
        self.stmt_on(db, sql, args)
    }

    /// Prepares a statement on database `db` (a move's copies).
    pub(super) fn stmt_on(&self, db: u32, sql: &str, args: &[JsValue]) -> StoreResult<Stmt> {
        let on = self
            .0
            .get(db)
            .ok_or_else(|| StoreError::Permanent(format!("no shard {db} is bound")))?;
        Ok(Stmt {
            inner: on.prepare(sql).bind(args).map_err(classify)?,
            db,
        })
    }

    pub(super) async fn run(&self, sql: &str, args: &[JsValue]) -> StoreResult<usize> {
        let stmt = self.stmt(sql, args)?.inner;
        let result = self
            .1
            .call("d1", &crate::ops::sql_op(sql), stmt.run())
            .await
            .map_err(classify)?;
        Ok(result
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    pub(super) async fn all<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<T>> {
        let stmt = self.stmt(sql, args)?.inner;
        self.all_of(sql, stmt).await
    }

    /// The rows of a prepared statement.
    pub(super) async fn all_of<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        stmt: D1PreparedStatement,
    ) -> StoreResult<Vec<T>> {
        let result = self
            .1
            .call("d1", &crate::ops::sql_op(sql), stmt.all())
            .await
            .map_err(classify)?;
        result.results::<T>().map_err(classify)
    }

    pub(super) async fn first<T: for<'de> Deserialize<'de>>(
        &self,
        sql: &str,
        args: &[JsValue],
    ) -> StoreResult<Option<T>> {
        Ok(self.all::<T>(sql, args).await?.into_iter().next())
    }

    async fn job_where(&self, clause: &str, args: &[JsValue]) -> StoreResult<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE {clause}");
        self.first::<JobRow>(&sql, args)
            .await?
            .map(JobRow::into_job)
            .transpose()
    }
}

fn limits_string(limits: &[crate::ratelimit::Policy]) -> Option<String> {
    let parts: Vec<String> = limits
        .iter()
        .map(|p| format!("{}={}/{}", p.name, p.limit, p.period_ms / 1000))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

impl D1Meta {
    async fn shares_where(&self, clause: &str, args: &[JsValue]) -> StoreResult<Vec<Share>> {
        #[derive(Deserialize)]
        struct Row {
            document_id: String,
            grantee_type: String,
            grantee: String,
            access: String,
            created_by: String,
            created_at: f64,
        }
        let sql = format!(
            "SELECT document_id, grantee_type, grantee, access, created_by, created_at \
             FROM document_shares WHERE {clause}"
        );
        let rows = self.all::<Row>(&sql, args).await?;
        rows.into_iter()
            .map(|r| {
                let grantee = match r.grantee_type.as_str() {
                    "user" => Grantee::User(r.grantee),
                    _ => Grantee::Role(role_of(&r.grantee)?),
                };
                Ok(Share {
                    document_id: r.document_id,
                    grantee,
                    access: if r.access == "write" {
                        Access::Write
                    } else {
                        Access::Read
                    },
                    created_by: r.created_by,
                    created_at_ms: r.created_at as u64,
                })
            })
            .collect()
    }

    async fn dead_letters_where(
        &self,
        clause: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<crate::jobs::DeadLetter>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            kind: String,
            ref_id: String,
            tenant_id: Option<String>,
            body: String,
            attempts: f64,
            reason: Option<String>,
            received_at: f64,
            replayed_at: Option<f64>,
        }
        let sql = format!("SELECT * FROM dead_letters WHERE {clause}");
        Ok(self
            .all::<Row>(&sql, args)
            .await?
            .into_iter()
            .map(|r| crate::jobs::DeadLetter {
                id: r.id,
                kind: r.kind,
                ref_id: r.ref_id,
                tenant_id: r.tenant_id,
                body: r.body,
                attempts: r.attempts as u32,
                reason: r.reason,
                received_at_ms: r.received_at as u64,
                replayed_at_ms: r.replayed_at.map(|v| v as u64),
            })
            .collect())
    }

    fn insert_key_stmt(&self, k: &ApiKey) -> StoreResult<Stmt> {
        let sql = "INSERT INTO api_keys (id, tenant_id, user_id, name, prefix, hash, role, \
                   scopes, created_at, expires_at, rate_limits) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
        self.stmt(
            sql,
            &[
                text(&k.id),
                text(&k.tenant_id),
                opt_text(k.user_id.as_deref()),
                text(&k.name),
                text(&k.prefix),
                text(&k.hash),
                text(k.role.as_str()),
                opt_text(k.scopes.as_deref().map(scopes_string).as_deref()),
                num(k.created_at_ms),
                k.expires_at_ms.map_or(JsValue::NULL, num),
                opt_text(limits_string(&k.rate_limits).as_deref()),
            ],
        )
    }
}

impl MetaStore for D1Meta {
    /// Every database answers: a shard that does not makes its tenants'
    /// requests fail, so `/ready` names D1.
    async fn ping(&self) -> StoreResult<()> {
        for db in 0..self.0.len() {
            let stmt = self.stmt_on(db, "SELECT 1", &[])?.inner;
            self.1
                .call("d1", "SELECT", stmt.run())
                .await
                .map_err(classify)?;
        }
        Ok(())
    }
}

impl D1Meta {
    /// One batch (one transaction, in one database), observed as one call.
    pub(super) async fn batch_results(
        &self,
        statements: Vec<Stmt>,
    ) -> StoreResult<Vec<worker::D1Result>> {
        let Some(first) = statements.first() else {
            return Ok(Vec::new());
        };
        let db = first.db;
        if statements.iter().any(|s| s.db != db) {
            return Err(StoreError::Permanent(
                "one batch cannot span databases".into(),
            ));
        }
        let on = self
            .0
            .get(db)
            .ok_or_else(|| StoreError::Permanent(format!("no shard {db} is bound")))?;
        let statements = statements.into_iter().map(|s| s.inner).collect();
        self.1
            .call("d1", "BATCH", on.batch(statements))
            .await
            .map_err(classify)
    }

    pub(super) async fn batch(&self, statements: Vec<Stmt>) -> StoreResult<()> {
        self.batch_results(statements).await.map(|_| ())
    }
}
