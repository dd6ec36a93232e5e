//! Backups of D1 to R2: the daily run's copy and retention, and the
//! operator's `/v1/admin/backups` routes.

use super::App;
use crate::error::ApiError;
use crate::http::Response;
use crate::ops::backup;
use crate::ports::{BlobStore, OpsStore, Ports, ShardStore};
use serde_json::{json, Value};

const DAY_MS: u64 = 86_400_000;

/// Rows read from D1 per query while backing up.
const BACKUP_PAGE: u32 = 500;

/// Writes a backup of every D1 table to R2 (encrypted like documents):
/// the directory's tables, and each shard's rows of the tenant tables
/// (marked `-- shard N`; restore each part into its database), except
/// the shards in a data region.
pub async fn make_backup<P: Ports>(app: &App<P>, now_ms: u64) -> Result<Value, ApiError> {
    let tables = app.ops.backup_tables().await?;
    let mut sql = backup::header(&crate::time::rfc3339(now_ms), tables.len());
    let mut counts = serde_json::Map::new();
    for table in &tables {
        let mut n = 0;
        if crate::tenants::shards::is_tenant_table(table) {
            for shard in 0..app.meta.shard_count() {
                // A data region's rows stay in it (the backup is kept in
                // the main bucket); D1 Time Travel keeps their history.
                if let Some(region) = app.config.shard_regions.of(shard) {
                    sql.push_str(&format!("-- shard {shard} (region {region}): not here\n"));
                    continue;
                }
                app.meta.enter(shard);
                sql.push_str(&format!("-- shard {shard}\n"));
                n += backup_table(app, table, &mut sql).await?;
            }
        } else {
            n = backup_table(app, table, &mut sql).await?;
        }
        counts.insert(table.clone(), json!(n));
    }
    let id = crate::ids::new_id("bak", now_ms, &app.entropy);
    let key = backup::object_key(now_ms, &id);
    let bytes = sql.len();
    app.blobs
        .put(&key, sql.into_bytes(), "application/sql")
        .await?;
    Ok(json!({
        "id": id, "key": key, "created_at": crate::time::rfc3339(now_ms),
        "bytes": bytes, "tables": counts,
    }))
}

/// Appends a table's rows (the shard entered, for a tenant table); how
/// many.
async fn backup_table<P: Ports>(
    app: &App<P>,
    table: &str,
    sql: &mut String,
) -> Result<u64, ApiError> {
    let (mut after, mut n) = (i64::MIN, 0u64);
    loop {
        let rows = app.ops.backup_rows(table, after, BACKUP_PAGE).await?;
        let Some((last, _)) = rows.last() else { break };
        after = *last;
        n += rows.len() as u64;
        let maps: Vec<_> = rows.into_iter().map(|(_, m)| m).collect();
        sql.push_str(&backup::inserts(table, &maps));
        if maps.len() < BACKUP_PAGE as usize {
            break;
        }
    }
    Ok(n)
}

/// Every backup's object key, oldest first.
async fn backup_keys<P: Ports>(app: &App<P>) -> Result<Vec<String>, ApiError> {
    let (mut cursor, mut out) = (None::<String>, Vec::new());
    loop {
        let (keys, next) = app.blobs.list("backups/", cursor.as_deref(), 500).await?;
        out.extend(keys.into_iter().map(|(k, _)| k));
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(out),
        }
    }
}

/// Deletes backups older than the retention; how many went.
pub async fn prune_backups<P: Ports>(app: &App<P>, now_ms: u64) -> Result<u64, ApiError> {
    let keep_from = now_ms.saturating_sub(app.config.ops.backup_retention_days * DAY_MS);
    let mut deleted = 0;
    for key in backup_keys(app).await? {
        if backup::created_of(&key).is_some_and(|t| t < keep_from) {
            app.blobs.delete(&key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

pub async fn create_backup<P: Ports>(app: &App<P>, now_ms: u64) -> Result<Response, ApiError> {
    Ok(Response::json(201, &make_backup(app, now_ms).await?))
}

pub async fn list_backups<P: Ports>(app: &App<P>) -> Result<Response, ApiError> {
    let mut data: Vec<Value> = backup_keys(app)
        .await?
        .iter()
        .filter_map(|key| {
            let created = backup::created_of(key)?;
            let id = key.get("backups/".len() + 16..)?.trim_end_matches(".sql");
            Some(json!({ "id": id, "created_at": crate::time::rfc3339(created) }))
        })
        .collect();
    data.reverse();
    Ok(Response::json(200, &json!({ "data": data })))
}

/// The backup's SQL, decrypted, ready for `wrangler d1 execute --file`.
pub async fn get_backup<P: Ports>(app: &App<P>, id: &str) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("backup".into());
    if !id.starts_with("bak_") || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(not_found());
    }
    let suffix = format!("-{id}.sql");
    let key = backup_keys(app)
        .await?
        .into_iter()
        .find(|k| k.ends_with(&suffix))
        .ok_or_else(not_found)?;
    let sql = app.blobs.get(&key).await?.ok_or_else(not_found)?;
    Ok(Response::new(200)
        .with_header("content-type", "application/sql; charset=utf-8")
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"{id}.sql\""),
        )
        .with_body(sql))
}
