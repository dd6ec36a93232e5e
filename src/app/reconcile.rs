//! Reconciliation of R2 with D1, the sweep's last step: objects whose
//! document, job or extraction owner no longer exists are removed, only
//! once older than an hour (an upload in progress writes R2 before D1).
//! Each bucket is gone through (the main one, and each data region's), and
//! each object's owner is asked in its tenant's shard.

use super::App;
use crate::ports::{
    BlobStore, DocumentStore, JobStore, Ports, ShardStore, TenantStore, UploadStore,
};

const OBJECTS_PER_RUN: u32 = 1000;

/// What a reconciliation did.
#[derive(Debug, Default)]
pub(super) struct Reconciled {
    pub objects_checked: u32,
    pub orphans_deleted: u32,
    pub errors: u32,
}
const ORPHAN_GRACE_MS: u64 = 60 * 60 * 1000;

/// Where a tenant's rows are, as the directory says now: `None` for a
/// tenant it does not have, `Some(None)` while the tenant moves.
pub(super) async fn placed<P: Ports>(
    app: &App<P>,
    tenant: &str,
) -> Result<Option<Option<u32>>, ()> {
    let t = app.meta.get_tenant(tenant).await.map_err(|_| ())?;
    Ok(t.map(|t| t.moving_since_ms.is_none().then_some(t.shard)))
}

/// Whether an object's owner exists, asked in its tenant's shard; a
/// moving tenant's objects are left alone. `None` on error.
async fn owned<P: Ports>(
    app: &App<P>,
    key: &str,
    home: u32,
    shards: &mut std::collections::HashMap<String, Option<Option<u32>>>,
) -> Option<bool> {
    let tenant = key.split('/').nth(1).unwrap_or_default().to_string();
    let place = match shards.get(&tenant) {
        Some(p) => *p,
        None => {
            let p = placed(app, &tenant).await.ok()?;
            shards.insert(tenant.clone(), p);
            p
        }
    };
    match place {
        Some(Some(shard)) => app.meta.enter(shard),
        Some(None) => return Some(true),
        // Erased (or never created): no row anywhere owns what its rows
        // would; the bucket's first shard answers (and for layouts the
        // check does not know).
        None => app.meta.enter(home),
    }
    let found = owner_exists(app, key).await?;
    // A tenant that moved meanwhile was asked in the wrong shard.
    if !found && placed(app, &tenant).await.ok()? != place {
        return Some(true);
    }
    Some(found)
}

/// Reconciles each bucket: the one of shards in no region and each data
/// region's, listed through the first shard that uses it.
pub(super) async fn reconcile<P: Ports>(app: &App<P>, now_ms: u64, report: &mut Reconciled) {
    let regions = &app.config.shard_regions;
    let mut homes: Vec<(Option<&str>, u32)> = Vec::new();
    for shard in 0..app.meta.shard_count() {
        let region = regions.of(shard);
        if !homes.iter().any(|(r, _)| *r == region) {
            homes.push((region, shard));
        }
    }
    for (_, home) in homes {
        reconcile_bucket(app, home, now_ms, report).await;
    }
}

async fn reconcile_bucket<P: Ports>(app: &App<P>, home: u32, now_ms: u64, report: &mut Reconciled) {
    let mut shards = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    let mut checked = 0;
    while checked < OBJECTS_PER_RUN {
        app.meta.enter(home);
        let Ok((keys, next)) = app.blobs.list("tenants/", cursor.as_deref(), 500).await else {
            report.errors += 1;
            return;
        };
        for (key, uploaded_ms) in keys {
            checked += 1;
            report.objects_checked += 1;
            if uploaded_ms + ORPHAN_GRACE_MS > now_ms {
                continue;
            }
            let owner = owned(app, &key, home, &mut shards).await;
            // The object is deleted from the bucket it was listed in.
            app.meta.enter(home);
            match owner {
                Some(false) => match app.blobs.delete(&key).await {
                    Ok(()) => report.orphans_deleted += 1,
                    Err(_) => report.errors += 1,
                },
                Some(true) => {}
                None => report.errors += 1,
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return,
        }
    }
}

/// Whether the record owning an object still exists; `None` on error.
async fn owner_exists<P: Ports>(app: &App<P>, key: &str) -> Option<bool> {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["tenants", tenant, "documents", doc, ..] => {
            if app.meta.get_document(tenant, doc).await.ok()?.is_some() {
                return Some(true);
            }
            // A resumable upload in progress owns its key header.
            app.meta.has_open_upload(tenant, doc).await.ok()
        }
        ["tenants", tenant, "jobs", job, ..] => app
            .meta
            .get_job(tenant, job)
            .await
            .ok()
            .map(|j| j.is_some()),
        ["tenants", tenant, "llm-training", doc, _] => app
            .meta
            .get_document(tenant, doc)
            .await
            .ok()
            .map(|d| d.is_some()),
        ["tenants", tenant, "llm-cache", sha, _] => has_content(app, tenant, sha).await,
        ["tenants", tenant, "extractions", name] => {
            has_content(app, tenant, name.split('-').next().unwrap_or("")).await
        }
        // Not a layout we know: leave it alone.
        _ => Some(true),
    }
}

/// Whether some document of the tenant has these bytes (what a cached
/// extraction or LLM answer belongs to); `None` on error.
async fn has_content<P: Ports>(app: &App<P>, tenant: &str, sha256: &str) -> Option<bool> {
    let n = app
        .meta
        .count_documents_with_sha256(tenant, sha256)
        .await
        .ok()?;
    Some(n > 0)
}
