//! Large PDFs read in parts. The job's run plans page ranges (reading
//! only the file's cross-reference sections and page tree root, by
//! range), sends the first parts as queue messages of their own and
//! parks; each part reads its pages by range from storage in its own
//! bounded memory, OCRs its scanned pages and stores what it read; the
//! last part to finish wakes the job, whose run merges the parts in page
//! order (the same extraction a whole read gives) and goes on with its
//! commands. A part that fails transiently is retried alone; one that
//! cannot be read is named in a warning of the result.

use super::extraction::{extraction, ocr_models, read_part_scans};
use super::{again, RunFailure, RunnerLimits, RunnerPorts};
use crate::documents::Document;
use crate::extract::sparse::{Fault, Sparse, Step};
use crate::extract::split::{merge, read_part, Part};
use crate::extract::{checked, Extraction, Limits};
use crate::jobs::{extraction_key, part_key, Disposition, Job, JobError, JobMessage};
use crate::ports::parts::{PartStatus, PartUse};
use crate::ports::{BlobStore, Clock, JobQueue, MetaStore};

/// Rounds of range reads one step may take (the page tree's depth and
/// the chains of objects a page draws with are far shorter).
const MAX_ROUNDS: usize = 64;
/// The most pages of a document read in parts (its merged result is held
/// at once; whole reads stop at 2,000).
const MAX_PAGES: u32 = 10_000;
/// Times a part is read before it is given up as unreadable.
const PART_ATTEMPTS: u32 = 5;

/// The job's extraction: read whole, or from its parts (with what the
/// parts used: bytes read summed, Wasm memory at its highest); `None`
/// when the run parked to wait for parts.
pub(super) async fn extraction_of<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    limits: RunnerLimits,
    job: &Job,
    doc: &Document,
    languages: &[String],
) -> Result<Option<(Extraction, PartUse)>, RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    Q: JobQueue,
{
    let (meta, blobs) = (ports.meta, ports.blobs);
    let cache_key = extraction_key(&doc.tenant_id, &doc.sha256, languages);
    let cached = match limits.split.applies(&doc.media_type, doc.size_bytes) {
        true => blobs.get(&cache_key).await?,
        false => return whole(extraction(blobs, ports.ocr, doc, languages).await),
    };
    if let Some(ex) = cached.and_then(|c| serde_json::from_slice::<Extraction>(&c).ok()) {
        return Ok(Some((ex, PartUse::default())));
    }
    let mut parts = again(ports.clock, || meta.job_parts(&job.id)).await?;
    if parts.is_empty() {
        let Some(ranges) = plan(blobs, limits, doc).await? else {
            // Not readable in parts, and small enough to read whole.
            return whole(extraction(blobs, ports.ocr, doc, languages).await);
        };
        meta.plan_parts(&doc.tenant_id, &job.id, &ranges).await?;
        parts = meta.job_parts(&job.id).await?;
    }
    let now = ports.clock.now_ms();
    if meta.park_job(&job.id, now, now + limits.lease_ms).await? {
        let stale = now.saturating_sub(limits.lease_ms);
        let due = meta
            .send_parts(&job.id, limits.split.in_flight, now, stale)
            .await?;
        send(ports.queue, meta.entered(), &job.id, &due).await?;
        return Ok(None);
    }
    // Every part is read: merge them (re-read, to see the last one's end).
    if parts.iter().any(|p| !p.status.is_finished()) {
        parts = meta.job_parts(&job.id).await?;
    }
    let ex = merged(blobs, job, &parts).await?;
    if let Ok(json) = serde_json::to_vec(&ex) {
        let _ = blobs.put(&cache_key, json, "application/json").await;
    }
    let mut used = PartUse::default();
    for p in &parts {
        let _ = blobs
            .delete(&part_key(&job.tenant_id, &job.id, p.part))
            .await;
        used.bytes_read += p.used.bytes_read;
        used.wasm_memory_bytes = used.wasm_memory_bytes.max(p.used.wasm_memory_bytes);
        used.ms += p.used.ms;
    }
    Ok(Some((ex, used)))
}

fn whole(
    read: Result<Extraction, RunFailure>,
) -> Result<Option<(Extraction, PartUse)>, RunFailure> {
    read.map(|ex| Some((ex, PartUse::default())))
}

/// The page ranges of a PDF read in parts; `None` when it cannot be read
/// in parts (encrypted, or a broken cross-reference) and is small enough
/// to read whole.
async fn plan(
    blobs: &impl BlobStore,
    limits: RunnerLimits,
    doc: &Document,
) -> Result<Option<Vec<(u32, u32)>>, RunFailure> {
    let mut sparse = Sparse::new(doc.size_bytes, Limits::default());
    match drive(blobs, doc, &mut sparse, |s| s.page_count()).await {
        Ok(pages) if pages > MAX_PAGES => Err(RunFailure::Permanent(JobError::new(
            "document_too_large",
            format!("this PDF has {pages} pages; jobs read documents of up to {MAX_PAGES}"),
        ))),
        Ok(pages) => Ok(Some(limits.split.ranges(pages))),
        Err(RunFailure::Permanent(_)) if doc.size_bytes <= limits.split.max_whole_bytes => Ok(None),
        Err(RunFailure::Permanent(e)) => Err(RunFailure::Permanent(JobError::new(
            "document_too_large",
            format!(
                "this PDF of {} bytes cannot be read in parts ({}), and documents read whole \
                 have at most {} bytes (MAX_PROCESS_BYTES)",
                doc.size_bytes, e.message, limits.split.max_whole_bytes
            ),
        ))),
        Err(other) => Err(other),
    }
}

async fn send(
    queue: &impl JobQueue,
    shard: u32,
    job_id: &str,
    parts: &[u32],
) -> Result<(), RunFailure> {
    for &part in parts {
        let msg = JobMessage {
            job_id: job_id.to_string(),
            part: Some(part),
            shard,
            traceparent: None,
        };
        // Lost, the part goes again when the parked job's lease lapses.
        queue.send(&msg).await?;
    }
    Ok(())
}

/// The parts' readings as one extraction; a failed part is a warning
/// naming its pages, and a document none of whose parts could be read
/// fails with the first part's reason.
async fn merged(
    blobs: &impl BlobStore,
    job: &Job,
    parts: &[crate::ports::parts::JobPart],
) -> Result<Extraction, RunFailure> {
    if let Some(first) = parts
        .first()
        .filter(|_| parts.iter().all(|p| p.status == PartStatus::Failed))
    {
        let why = first.error.clone().unwrap_or_default();
        return Err(RunFailure::Permanent(JobError::new(
            "malformed_document",
            format!("no part of the document could be read: {why}"),
        )));
    }
    let mut read = Vec::with_capacity(parts.len());
    for p in parts {
        let stored = match p.status {
            PartStatus::Done => {
                blobs
                    .get(&part_key(&job.tenant_id, &job.id, p.part))
                    .await?
            }
            _ => None,
        };
        let part = stored
            .and_then(|b| serde_json::from_slice::<Part>(&b).ok())
            .unwrap_or_else(|| {
                let why = p.error.as_deref().unwrap_or("its reading was lost");
                Part::failed(p.first_page, p.last_page, why)
            });
        read.push(part);
    }
    // The pages found, not the page tree's claimed count.
    let pages = read.iter().map(|p| p.last).max().unwrap_or(1).max(1);
    checked(merge(read, pages), &Limits::default())
        .map_err(|e| RunFailure::Permanent(JobError::new(e.code(), e.to_string())))
}

/// Runs a reading step against the document in storage: supplies the
/// byte ranges it asks for until it answers.
async fn drive<T>(
    blobs: &impl BlobStore,
    doc: &Document,
    sparse: &mut Sparse,
    mut step: impl FnMut(&mut Sparse) -> Step<T>,
) -> Result<T, RunFailure> {
    for _ in 0..MAX_ROUNDS {
        match step(sparse) {
            Ok(t) => return Ok(t),
            Err(Fault::Failed(e)) => {
                return Err(RunFailure::Permanent(JobError::new(
                    e.code(),
                    e.to_string(),
                )))
            }
            Err(Fault::Need(spans)) => {
                for (at, len) in spans {
                    let len = len.min(doc.size_bytes.saturating_sub(at));
                    let bytes = blobs
                        .read_range(&doc.blob_key, doc.size_bytes, at, len)
                        .await?
                        .ok_or_else(|| {
                            RunFailure::Permanent(JobError::new(
                                "document_missing",
                                "the document's content is no longer stored",
                            ))
                        })?;
                    sparse.supply(at, bytes);
                }
            }
        }
    }
    Err(RunFailure::Permanent(JobError::new(
        "malformed_document",
        "the PDF's structure needs more than 64 rounds of reads",
    )))
}

/// Handles one delivery of a part's message.
pub async fn process_part<M, B, C, W, Q, U, L, K>(
    ports: RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    limits: RunnerLimits,
    job_id: &str,
    part: u32,
) -> Disposition
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
    Q: JobQueue,
{
    let meta = ports.meta;
    let retry = Disposition::Retry { delay_seconds: 10 };
    let Ok(parts) = meta.job_parts(job_id).await else {
        return retry;
    };
    let Some(p) = parts.into_iter().find(|p| p.part == part) else {
        return Disposition::Ack;
    };
    match meta.start_part(job_id, part).await {
        Ok(true) => {}
        Ok(false) => return Disposition::Ack,
        Err(_) => return retry,
    }
    let started = ports.clock.now_ms();
    let read = read_one(&ports, job_id, &p).await;
    let (error, bytes_read) = match read {
        Ok(bytes_read) => (None, bytes_read),
        Err(RunFailure::Transient(_)) if p.attempts + 1 < PART_ATTEMPTS => {
            let delay_seconds = super::backoff_seconds(job_id, p.attempts + 1);
            return Disposition::Retry { delay_seconds };
        }
        Err(RunFailure::Transient(e)) => (Some(e.to_string()), 0),
        Err(RunFailure::Permanent(e)) => (Some(e.message), 0),
        Err(RunFailure::Cancelled | RunFailure::Parked) => (Some("cancelled".into()), 0),
    };
    let used = PartUse {
        bytes_read,
        wasm_memory_bytes: crate::jobs::resources::wasm_memory_bytes(),
        ms: ports.clock.now_ms().saturating_sub(started),
    };
    let now = ports.clock.now_ms();
    match meta
        .finish_part(job_id, part, error.as_deref(), used, now)
        .await
    {
        Ok(last) => hand_on(&ports, limits, job_id, last, now).await,
        Err(_) => return retry,
    }
    Disposition::Ack
}

/// After a part: the job woken when it was the last (its message is sent
/// once, by whoever unparks it; lost, the sweep finds the job's lapsed
/// lease and sends it), else the next parts sent in this one's place.
async fn hand_on<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    limits: RunnerLimits,
    job_id: &str,
    last: bool,
    now: u64,
) where
    M: MetaStore,
    Q: JobQueue,
{
    let meta = ports.meta;
    if last {
        if meta.unpark_job(job_id).await.unwrap_or(false) {
            let _ = send_job(ports.queue, meta.entered(), job_id).await;
        }
        return;
    }
    let stale = now.saturating_sub(limits.lease_ms);
    if let Ok(due) = meta
        .send_parts(job_id, limits.split.in_flight, now, stale)
        .await
    {
        let _ = send(ports.queue, meta.entered(), job_id, &due).await;
    }
}

async fn send_job(queue: &impl JobQueue, shard: u32, job_id: &str) -> Result<(), RunFailure> {
    let msg = JobMessage {
        job_id: job_id.to_string(),
        part: None,
        shard,
        traceparent: None,
    };
    queue.send(&msg).await.map_err(RunFailure::from)
}

/// Reads a part's pages and stores what it read; the bytes it fetched.
async fn read_one<M, B, C, W, Q, U, L, K>(
    ports: &RunnerPorts<'_, M, B, C, W, Q, U, L, K>,
    job_id: &str,
    p: &crate::ports::parts::JobPart,
) -> Result<u64, RunFailure>
where
    M: MetaStore,
    B: BlobStore,
    C: Clock,
{
    let job = ports
        .meta
        .load_job(job_id)
        .await?
        .ok_or(RunFailure::Cancelled)?;
    if job.status.is_terminal() {
        return Err(RunFailure::Cancelled);
    }
    let doc = super::steps::load_document(ports.meta, ports.clock, &job).await?;
    let limits = Limits::default();
    let mut sparse = Sparse::new(doc.size_bytes, limits.clone());
    let (first, last) = (p.first_page, p.last_page);
    let mut part = drive(ports.blobs, &doc, &mut sparse, |s| {
        read_part(s, first, last, &limits)
    })
    .await?;
    if !part.scans.is_empty() {
        let languages = crate::commands::ocr_languages(&job.commands);
        let models = ocr_models(ports.blobs, &languages)
            .await?
            .unwrap_or_default();
        read_part_scans(ports.ocr, &models, &mut part).await;
    }
    let body = serde_json::to_vec(&part).map_err(|e| {
        RunFailure::Permanent(JobError::new("internal_error", format!("serialise: {e}")))
    })?;
    let key = part_key(&job.tenant_id, &job.id, p.part);
    ports.blobs.put(&key, body, "application/json").await?;
    // The document may have been deleted while the part read it: its rows
    // go first, then its objects, the part readings among them. A job
    // gone after the reading was stored means that deletion may already
    // have swept past this key: the reading (the document's text) goes.
    if matches!(ports.meta.load_job(job_id).await, Ok(None)) {
        let _ = ports.blobs.delete(&key).await;
        return Err(RunFailure::Cancelled);
    }
    Ok(sparse.fetched())
}
