//! MemMeta: the parts of split jobs and parked jobs.

use super::*;
use quire::ports::parts::{JobPart, PartStatus, PartUse};
use quire::ports::PartStore;

impl MemMeta {
    fn parts_of(&self, job_id: &str) -> Vec<JobPart> {
        self.parts
            .borrow()
            .values()
            .filter(|p| p.job_id == job_id)
            .cloned()
            .collect()
    }
}

impl PartStore for MemMeta {
    async fn plan_parts(
        &self,
        _tenant_id: &str,
        job_id: &str,
        ranges: &[(u32, u32)],
    ) -> StoreResult<()> {
        self.faults.check()?;
        let mut parts = self.parts.borrow_mut();
        for (i, &(first_page, last_page)) in ranges.iter().enumerate() {
            parts
                .entry((job_id.to_string(), i as u32))
                .or_insert(JobPart {
                    job_id: job_id.to_string(),
                    part: i as u32,
                    first_page,
                    last_page,
                    status: PartStatus::Pending,
                    attempts: 0,
                    sent_at_ms: None,
                    error: None,
                    used: PartUse::default(),
                });
        }
        Ok(())
    }

    async fn job_parts(&self, job_id: &str) -> StoreResult<Vec<JobPart>> {
        self.faults.check()?;
        Ok(self.parts_of(job_id))
    }

    async fn send_parts(
        &self,
        job_id: &str,
        in_flight: u32,
        now_ms: u64,
        stale_before_ms: u64,
    ) -> StoreResult<Vec<u32>> {
        self.faults.check()?;
        let live = |p: &JobPart| {
            p.status == PartStatus::Sent && p.sent_at_ms.is_some_and(|t| t >= stale_before_ms)
        };
        let mut parts = self.parts.borrow_mut();
        let out = parts
            .values()
            .filter(|p| p.job_id == job_id && live(p))
            .count();
        let room = (in_flight as usize).saturating_sub(out);
        let mut sent = Vec::new();
        for p in parts.values_mut().filter(|p| p.job_id == job_id) {
            let due = p.status == PartStatus::Pending || (p.status == PartStatus::Sent && !live(p));
            if due && sent.len() < room {
                p.status = PartStatus::Sent;
                p.sent_at_ms = Some(now_ms);
                sent.push(p.part);
            }
        }
        Ok(sent)
    }

    async fn start_part(&self, job_id: &str, part: u32) -> StoreResult<bool> {
        self.faults.check()?;
        let mut parts = self.parts.borrow_mut();
        match parts.get_mut(&(job_id.to_string(), part)) {
            Some(p) if !p.status.is_finished() => {
                p.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn finish_part(
        &self,
        job_id: &str,
        part: u32,
        error: Option<&str>,
        used: PartUse,
        _now_ms: u64,
    ) -> StoreResult<bool> {
        self.faults.check()?;
        {
            let mut parts = self.parts.borrow_mut();
            let Some(p) = parts.get_mut(&(job_id.to_string(), part)) else {
                return Ok(false);
            };
            if p.status.is_finished() {
                return Ok(false);
            }
            p.status = match error {
                Some(_) => PartStatus::Failed,
                None => PartStatus::Done,
            };
            p.error = error.map(str::to_string);
            p.used = used;
        }
        let parts = self.parts_of(job_id);
        let done = parts.iter().filter(|p| p.status.is_finished()).count();
        let progress = 10 + (40 * done / parts.len().max(1)) as u8;
        self.update_job(job_id, |j| {
            if j.status == JobStatus::Running {
                j.progress = j.progress.max(progress);
            }
        })?;
        Ok(done == parts.len())
    }

    async fn park_job(&self, job_id: &str, _now_ms: u64, until_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let waiting = self
            .parts_of(job_id)
            .iter()
            .any(|p| !p.status.is_finished());
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(job_id) {
            Some(j) if waiting && j.status == JobStatus::Running => {
                j.lease_until_ms = Some(until_ms);
                self.parked.borrow_mut().insert(job_id.to_string());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn unpark_job(&self, job_id: &str) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(job_id) {
            Some(j)
                if j.status == JobStatus::Running && self.parked.borrow_mut().remove(job_id) =>
            {
                j.lease_until_ms = Some(0);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
