//! The scheduled sweep: deletes expired documents with everything derived
//! from them, and reconciles R2 with D1 — objects whose document, job or
//! extraction owner no longer exists are removed (only once older than an
//! hour, so an upload in progress, which writes R2 before D1, is never
//! touched). Each run does a bounded amount of work and reports counts.

use super::{documents, App};
use crate::ports::{
    BlobStore, Directory, DocumentStore, JobQueue, JobStore, Ports, ShardStore, TenantStore,
    UploadStore,
};
use serde::Serialize;

const EXPIRED_PER_RUN: u32 = 200;
const OBJECTS_PER_RUN: u32 = 1000;
const ORPHAN_GRACE_MS: u64 = 60 * 60 * 1000;

/// What one run did.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct SweepReport {
    pub jobs_requeued: u32,
    pub jobs_failed: u32,
    pub tenants_erased: u32,
    pub erased_objects: u32,
    pub expired_deleted: u32,
    pub objects_checked: u32,
    pub orphans_deleted: u32,
    /// Resumable uploads idle for a day, aborted.
    pub uploads_aborted: u32,
    /// Documents whose object was looked for, and those found missing.
    pub objects_verified: u32,
    pub objects_missing: u32,
    pub errors: u32,
}

pub async fn sweep<P: Ports>(app: &App<P>, now_ms: u64) -> SweepReport {
    let mut report = SweepReport::default();
    // Each shard's own rows, then what spans them.
    for shard in 0..app.meta.shard_count() {
        app.meta.enter(shard);
        sweep_shard(app, now_ms, &mut report).await;
    }
    erase_tenants(app, now_ms, &mut report).await;
    reconcile(app, now_ms, &mut report).await;
    report
}

/// The sweep's work in the shard entered.
async fn sweep_shard<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
    heal_jobs(app, now_ms, report).await;
    send_held_jobs(app, now_ms, report).await;
    match app.meta.expired_documents(now_ms, EXPIRED_PER_RUN).await {
        Ok(docs) => {
            for doc in docs {
                match documents::remove(app, &doc, now_ms).await {
                    Ok(true) => report.expired_deleted += 1,
                    Ok(false) => {}
                    Err(_) => report.errors += 1,
                }
            }
        }
        Err(_) => report.errors += 1,
    }
    match super::uploads::abort_idle(app, now_ms).await {
        Ok(n) => report.uploads_aborted += n,
        Err(_) => report.errors += 1,
    }
    verify_objects(app, now_ms, report).await;
}

const VERIFIED_PER_RUN: u32 = 200;

/// The other half of reconciliation: documents whose object is gone from
/// R2 are flagged (`content_missing` in their metadata; content requests
/// get 503 `content_missing`), a few hundred per run, least recently
/// checked first. An object that comes back clears the flag.
async fn verify_objects<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
    let Ok(docs) = app.meta.documents_to_verify(now_ms, VERIFIED_PER_RUN).await else {
        report.errors += 1;
        return;
    };
    for doc in docs {
        let Ok(found) = app.blobs.exists(&doc.blob_key).await else {
            report.errors += 1;
            continue;
        };
        report.objects_verified += 1;
        if !found {
            report.objects_missing += 1;
        }
        if app
            .meta
            .mark_verified(&doc.tenant_id, &doc.id, now_ms, !found)
            .await
            .is_err()
        {
            report.errors += 1;
        }
    }
}

const STALLED_PER_RUN: u32 = 200;
/// Re-sends of a job the queue never delivers before it is failed (once
/// its retry window has passed too).
const MAX_RESENDS: u32 = 5;

/// Self-healing: jobs whose worker died mid-run (lease expired) or whose
/// queue message was lost are queued and sent again; those that used up
/// their attempts are failed with a reason. Sending a job twice is safe:
/// only one delivery can claim it.
pub(super) async fn heal_jobs<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
    let before = now_ms.saturating_sub(app.config.job_stall_ms);
    let Ok(stalled) = app.meta.stalled_jobs(now_ms, before, STALLED_PER_RUN).await else {
        report.errors += 1;
        return;
    };
    for job in stalled {
        let ended = if job.attempts >= app.config.job_max_attempts {
            Some(crate::jobs::JobError::new(
                "attempts_exhausted",
                format!(
                    "the job stopped after {} attempts without finishing",
                    job.attempts
                ),
            ))
        } else if job.resends >= MAX_RESENDS
            && now_ms.saturating_sub(job.created_at_ms) > app.config.job_retry_window_ms
        {
            // A queue slow to deliver (a long backlog, delayed retries)
            // looks the same as one that lost the message: the job keeps
            // being re-sent for its whole retry window.
            // The queue took it again and again without delivering it.
            Some(crate::jobs::JobError::new(
                "never_delivered",
                format!(
                    "the queue did not deliver the job after {} re-sends",
                    job.resends
                ),
            ))
        } else {
            None
        };
        if let Some(err) = ended {
            match app.meta.fail_stalled(&job.id, &err, now_ms).await {
                Ok(true) => report.jobs_failed += 1,
                Ok(false) => {}
                Err(_) => report.errors += 1,
            }
            continue;
        }
        match app.meta.requeue_stalled(&job.id, now_ms).await {
            Ok(true) => {
                let msg = crate::jobs::JobMessage {
                    job_id: job.id,
                    shard: app.meta.entered(),
                    traceparent: None,
                };
                match app.queue.send(&msg).await {
                    Ok(()) => report.jobs_requeued += 1,
                    // Still queued: the next run sends it again.
                    Err(_) => report.errors += 1,
                }
            }
            Ok(false) => {}
            Err(_) => report.errors += 1,
        }
    }
}

/// Held-back jobs whose tenant has room in the queue and whose hand-off
/// was lost (the run that ended a job failed before sending the next).
async fn send_held_jobs<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
    let Ok(tenants) = app.meta.tenants_with_held(STALLED_PER_RUN).await else {
        report.errors += 1;
        return;
    };
    for tenant in tenants {
        let in_flight = app.config.tenant_jobs_in_flight;
        match crate::jobs::fair::send_held(&app.meta, &app.queue, &tenant, in_flight, now_ms).await
        {
            Ok(sent) => report.jobs_requeued += sent,
            Err(_) => report.errors += 1,
        }
    }
}

/// Objects deleted per run for tenant erasures (the rest waits for the
/// next run, 15 minutes later).
const ERASE_OBJECTS_PER_RUN: u32 = 1000;

/// Erases the tenants that asked: their objects first, in bounded batches,
/// then, once none is left, their rows, leaving a tombstone.
/// Deletes a tenant's objects, within this run's share: how many, once
/// none is left; `None` while some remain (the next run goes on).
async fn empty_objects<P: Ports>(
    app: &App<P>,
    tenant: &str,
    report: &mut SweepReport,
) -> Option<u64> {
    let prefix = format!("tenants/{tenant}/");
    let mut deleted = 0u64;
    loop {
        if report.erased_objects >= ERASE_OBJECTS_PER_RUN {
            return None;
        }
        let Ok((keys, _)) = app.blobs.list(&prefix, None, 500).await else {
            report.errors += 1;
            return None;
        };
        if keys.is_empty() {
            return Some(deleted);
        }
        for (key, _) in keys {
            match app.blobs.delete(&key).await {
                Ok(()) => {
                    deleted += 1;
                    report.erased_objects += 1;
                }
                Err(_) => report.errors += 1,
            }
        }
    }
}

async fn erase_tenants<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
    let Ok(tenants) = app.meta.tenants_to_erase(5).await else {
        report.errors += 1;
        return;
    };
    for (tenant, requested_at_ms) in tenants {
        match app.meta.get_tenant(&tenant).await {
            Ok(Some(t)) => app.meta.enter(t.shard),
            _ => {
                report.errors += 1;
                continue;
            }
        }
        let Some(deleted) = empty_objects(app, &tenant, report).await else {
            return;
        };
        // The tombstone names the chain's last entry: let the gate write
        // out what it still holds first.
        let _ = crate::ports::Gate::flush(&app.gate, &tenant).await;
        let audit_head = app
            .directory
            .audit_head(&tenant)
            .await
            .ok()
            .flatten()
            .map(|(_, hash)| hash);
        let tombstone = crate::tenants::Tombstone {
            tenant_id: tenant.clone(),
            requested_at_ms,
            erased_at_ms: now_ms,
            objects_deleted: deleted,
            audit_head,
        };
        let erased = match app.directory.erase_directory(&tombstone).await {
            Ok(_) => app.meta.erase_tenant_rows(&tenant).await,
            Err(e) => Err(e),
        };
        match erased {
            Ok(()) => {
                let _ = crate::ports::Gate::reset_audit(&app.gate, &tenant).await;
                report.tenants_erased += 1
            }
            Err(_) => report.errors += 1,
        }
    }
}

/// Where a tenant's rows are, as the directory says now: `None` for a
/// tenant it does not have, `Some(None)` while the tenant moves.
async fn placed<P: Ports>(app: &App<P>, tenant: &str) -> Result<Option<Option<u32>>, ()> {
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
async fn reconcile<P: Ports>(app: &App<P>, now_ms: u64, report: &mut SweepReport) {
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

async fn reconcile_bucket<P: Ports>(
    app: &App<P>,
    home: u32,
    now_ms: u64,
    report: &mut SweepReport,
) {
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
        ["tenants", tenant, "llm-cache", sha, _] => {
            let n = app
                .meta
                .count_documents_with_sha256(tenant, sha)
                .await
                .ok()?;
            Some(n > 0)
        }
        ["tenants", tenant, "extractions", name] => {
            let sha = name.split('-').next().unwrap_or("");
            let n = app
                .meta
                .count_documents_with_sha256(tenant, sha)
                .await
                .ok()?;
            Some(n > 0)
        }
        // Not a layout we know: leave it alone.
        _ => Some(true),
    }
}
