//! The job rollups: finished jobs of every shard, rolled up per minute
//! into the operations tables (`/v1/admin/metrics`, the SLO pass).

use super::App;
use crate::error::ApiError;
use crate::ops::jobstats;
use crate::ports::{OpsStore, Ports, ShardStore};

const MINUTE_MS: u64 = 60_000;

/// Jobs read per store call of a rollup pass, and calls per pass.
const ROLLUP_PAGE: u32 = 2000;
const ROLLUP_PAGES: usize = 10;
/// How far back the first pass (or one after a long pause) goes.
const ROLLUP_MAX_BACK_MINUTES: u64 = 24 * 60;

/// Rolls finished jobs up per minute since the last pass (see
/// [`jobstats`]); how many jobs it read.
pub async fn roll_up_jobs<P: Ports>(app: &App<P>, now_ms: u64) -> Result<u64, ApiError> {
    let mark = app.ops.job_rollup_mark().await?;
    let Some((from, to)) = jobstats::pass_range(mark, now_ms, ROLLUP_MAX_BACK_MINUTES) else {
        return Ok(0);
    };
    let mut read = 0;
    let mut start = from;
    for _ in 0..ROLLUP_PAGES {
        if start >= to {
            break;
        }
        // Every shard's jobs of the range, rolled up together (one row per
        // minute and name, one mark).
        let (mut jobs, mut end) = (Vec::new(), to);
        for shard in 0..app.meta.shard_count() {
            app.meta.enter(shard);
            let page = app
                .ops
                .finished_jobs(start * MINUTE_MS, to * MINUTE_MS, ROLLUP_PAGE)
                .await?;
            // A full page may end inside a minute: that minute goes to
            // the next page, whole (unless one minute alone fills it).
            if page.len() == ROLLUP_PAGE as usize {
                let last = page
                    .last()
                    .and_then(|t| t.job.finished_at_ms)
                    .map_or(to, |f| f / MINUTE_MS);
                end = end.min(if last > start { last } else { start + 1 });
            }
            jobs.extend(page);
        }
        jobs.retain(|t| t.job.finished_at_ms.is_some_and(|f| f < end * MINUTE_MS));
        read += jobs.len() as u64;
        let (rows, llm) = jobstats::roll_up(&jobs);
        app.ops.put_job_rollups(&rows, &llm, end).await?;
        start = end;
    }
    Ok(read)
}
