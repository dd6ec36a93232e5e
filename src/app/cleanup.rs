//! The scheduled sweep: deletes expired documents with everything derived
//! from them, and reconciles R2 with D1 — objects whose document, job or
//! extraction owner no longer exists are removed (only once older than an
//! hour, so an upload in progress, which writes R2 before D1, is never
//! touched; see [`super::reconcile`]). Each run does a bounded amount of
//! work and reports counts.

use super::{documents, App};
use crate::ports::{
    BlobStore, Directory, DocumentStore, JobQueue, JobStore, Ports, ShardStore, TenantStore,
};
use serde::Serialize;
use std::collections::BTreeMap;

const EXPIRED_PER_RUN: u32 = 200;

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
        sweep_shard(app, shard, now_ms, &mut report).await;
    }
    erase_tenants(app, now_ms, &mut report).await;
    let mut reconciled = super::reconcile::Reconciled::default();
    super::reconcile::reconcile(app, now_ms, &mut reconciled).await;
    report.objects_checked += reconciled.objects_checked;
    report.orphans_deleted += reconciled.orphans_deleted;
    report.errors += reconciled.errors;
    report
}

/// The sweep's work in the shard entered.
async fn sweep_shard<P: Ports>(app: &App<P>, shard: u32, now_ms: u64, report: &mut SweepReport) {
    heal_jobs(app, now_ms, report).await;
    send_held_jobs(app, now_ms, report).await;
    match app.meta.expired_documents(now_ms, EXPIRED_PER_RUN).await {
        Ok(docs) => {
            // A tenant being moved keeps its rows as they are until the
            // move ends: a deletion here, during the copy, would not reach
            // the new shard (the row would come back without its object).
            let mut here: BTreeMap<String, bool> = BTreeMap::new();
            for doc in docs {
                if !here.contains_key(&doc.tenant_id) {
                    let ok = match super::reconcile::placed(app, &doc.tenant_id).await {
                        // Unknown to the directory: swept as before.
                        Ok(None) => true,
                        Ok(Some(Some(home))) => home == shard,
                        // Moving, or the directory unreachable: next run.
                        Ok(Some(None)) | Err(()) => false,
                    };
                    here.insert(doc.tenant_id.clone(), ok);
                }
                if !here[&doc.tenant_id] {
                    continue;
                }
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
                    part: None,
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
