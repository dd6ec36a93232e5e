//! D1Meta: the parts of split jobs (D1 `job_parts`) and parked jobs.

use super::*;
use crate::ports::parts::{JobPart, PartStatus, PartUse};
use crate::ports::PartStore;

#[derive(Deserialize)]
struct PartRow {
    job_id: String,
    part: f64,
    first_page: f64,
    last_page: f64,
    status: String,
    attempts: f64,
    sent_at: Option<f64>,
    error: Option<String>,
    bytes_read: f64,
    wasm_memory: f64,
    ms: f64,
}

impl PartRow {
    fn into_part(self) -> StoreResult<JobPart> {
        let status = PartStatus::parse(&self.status)
            .ok_or_else(|| StoreError::Permanent(format!("bad part status {}", self.status)))?;
        Ok(JobPart {
            job_id: self.job_id,
            part: self.part as u32,
            first_page: self.first_page as u32,
            last_page: self.last_page as u32,
            status,
            attempts: self.attempts as u32,
            sent_at_ms: self.sent_at.map(|v| v as u64),
            error: self.error,
            used: PartUse {
                bytes_read: self.bytes_read as u64,
                wasm_memory_bytes: self.wasm_memory as u64,
                ms: self.ms as u64,
            },
        })
    }
}

impl PartStore for D1Meta {
    async fn plan_parts(
        &self,
        tenant_id: &str,
        job_id: &str,
        ranges: &[(u32, u32)],
    ) -> StoreResult<()> {
        let sql = "INSERT OR IGNORE INTO job_parts \
                   (job_id, part, tenant_id, first_page, last_page) VALUES (?1, ?2, ?3, ?4, ?5)";
        let mut statements = Vec::with_capacity(ranges.len());
        for (i, &(first, last)) in ranges.iter().enumerate() {
            let args = [
                text(job_id),
                num(i as u64),
                text(tenant_id),
                num(u64::from(first)),
                num(u64::from(last)),
            ];
            statements.push(self.stmt(sql, &args)?);
        }
        self.batch(statements).await
    }

    async fn job_parts(&self, job_id: &str) -> StoreResult<Vec<JobPart>> {
        let sql = "SELECT job_id, part, first_page, last_page, status, attempts, sent_at, error, \
                   bytes_read, wasm_memory, ms FROM job_parts WHERE job_id = ?1 ORDER BY part";
        self.all::<PartRow>(sql, &[text(job_id)])
            .await?
            .into_iter()
            .map(PartRow::into_part)
            .collect()
    }

    async fn send_parts(
        &self,
        job_id: &str,
        in_flight: u32,
        now_ms: u64,
        stale_before_ms: u64,
    ) -> StoreResult<Vec<u32>> {
        #[derive(Deserialize)]
        struct Part {
            part: f64,
        }
        // One statement: two runs of the job never send more than the room.
        let sql =
            "UPDATE job_parts SET status = 'sent', sent_at = ?3 WHERE job_id = ?1 AND part IN \
                   (SELECT part FROM job_parts WHERE job_id = ?1 AND (status = 'pending' \
                   OR (status = 'sent' AND sent_at < ?4)) ORDER BY part \
                   LIMIT MAX(0, ?2 - (SELECT COUNT(*) FROM job_parts WHERE job_id = ?1 \
                   AND status = 'sent' AND sent_at >= ?4))) RETURNING part";
        let args = [
            text(job_id),
            num(u64::from(in_flight)),
            num(now_ms),
            num(stale_before_ms),
        ];
        let mut parts: Vec<u32> = self
            .all::<Part>(sql, &args)
            .await?
            .into_iter()
            .map(|p| p.part as u32)
            .collect();
        parts.sort_unstable();
        Ok(parts)
    }

    async fn start_part(&self, job_id: &str, part: u32) -> StoreResult<bool> {
        let sql = "UPDATE job_parts SET attempts = attempts + 1 \
                   WHERE job_id = ?1 AND part = ?2 AND status IN ('pending', 'sent')";
        Ok(self.run(sql, &[text(job_id), num(u64::from(part))]).await? == 1)
    }

    async fn finish_part(
        &self,
        job_id: &str,
        part: u32,
        error: Option<&str>,
        used: PartUse,
        now_ms: u64,
    ) -> StoreResult<bool> {
        #[derive(Deserialize)]
        struct Left {
            left: f64,
            total: f64,
        }
        let status = if error.is_some() { "failed" } else { "done" };
        let sql = "UPDATE job_parts SET status = ?3, error = ?4, finished_at = ?5, \
                   bytes_read = ?6, wasm_memory = ?7, ms = ?8 \
                   WHERE job_id = ?1 AND part = ?2 AND status IN ('pending', 'sent')";
        let args = [
            text(job_id),
            num(u64::from(part)),
            text(status),
            opt_text(error),
            num(now_ms),
            num(used.bytes_read),
            num(used.wasm_memory_bytes),
            num(used.ms),
        ];
        if self.run(sql, &args).await? == 0 {
            return Ok(false);
        }
        // Two last parts finishing at once may both see none left: only
        // one of them unparks the job.
        let sql = "SELECT SUM(status IN ('pending', 'sent')) AS left, COUNT(*) AS total \
                   FROM job_parts WHERE job_id = ?1";
        let Some(count) = self.first::<Left>(sql, &[text(job_id)]).await? else {
            return Ok(false);
        };
        // Reading is the first half of a job's progress (10 to 50).
        let done = count.total - count.left;
        let progress = 10 + (40.0 * done / count.total.max(1.0)) as u64;
        let sql = "UPDATE jobs SET progress = MAX(progress, ?2), updated_at = ?3 \
                   WHERE id = ?1 AND status = 'running'";
        self.run(sql, &[text(job_id), num(progress), num(now_ms)])
            .await?;
        Ok(count.left == 0.0)
    }

    async fn park_job(&self, job_id: &str, now_ms: u64, until_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET lease_until = ?3, parked_at = ?2 \
                   WHERE id = ?1 AND status = 'running' AND EXISTS (SELECT 1 FROM job_parts \
                   WHERE job_id = ?1 AND status IN ('pending', 'sent'))";
        Ok(self
            .run(sql, &[text(job_id), num(now_ms), num(until_ms)])
            .await?
            == 1)
    }

    async fn unpark_job(&self, job_id: &str) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET lease_until = 0, parked_at = NULL \
                   WHERE id = ?1 AND status = 'running' AND parked_at IS NOT NULL";
        Ok(self.run(sql, &[text(job_id)]).await? == 1)
    }
}
