//! MemMeta: jobs: creation, the claim and lease of a run, progress, the end (D1 `jobs`, `command_states`).

use super::*;

impl JobStore for MemMeta {
    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>> {
        self.faults.check()?;
        Ok(self
            .jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == tenant_id)
            .cloned()
            .collect())
    }

    async fn page_jobs(&self, page: &quire::ports::JobPage<'_>) -> StoreResult<Vec<Job>> {
        self.faults.check()?;
        let docs = self.documents.borrow();
        let shares = self.shares.borrow();
        let visible = |j: &Job| match page.visibility {
            None => true,
            Some(v) => docs.get(&j.document_id).is_some_and(|d| {
                let of_doc: Vec<_> = shares
                    .iter()
                    .filter(|(t, s)| t == page.tenant_id && s.document_id == d.id)
                    .map(|(_, s)| s.clone())
                    .collect();
                v.admits(d.owner.as_deref(), &of_doc)
            }),
        };
        let mut jobs: Vec<Job> = self
            .jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == page.tenant_id)
            .filter(|j| page.before.is_none_or(|b| j.id.as_str() < b))
            .filter(|j| page.status.is_none_or(|s| j.status == s))
            .filter(|j| page.document_id.is_none_or(|d| j.document_id == d))
            .filter(|j| visible(j))
            .cloned()
            .collect();
        jobs.sort_by(|a, b| b.id.cmp(&a.id));
        jobs.truncate(page.limit as usize);
        Ok(jobs)
    }

    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)> {
        self.faults.check()?;
        let jobs = self.jobs.borrow();
        // As `stalled_jobs`, a queued job counts from its `created_at`.
        let active = || {
            jobs.values().filter(|j| match j.status {
                JobStatus::Running => j.lease_until_ms.is_some_and(|l| l >= now_ms),
                JobStatus::Queued => {
                    j.created_at_ms >= queued_since_ms || self.held.borrow().contains(&j.id)
                }
                _ => false,
            })
        };
        let mine = active().filter(|j| j.tenant_id == tenant_id).count() as u64;
        Ok((mine, active().count() as u64))
    }

    async fn insert_job(&self, job: &Job, key: Option<&str>, in_flight: u32) -> StoreResult<bool> {
        self.faults.check()?;
        self.insert_allowed()?;
        self.claim_idempotency_key("job", &job.tenant_id, key, &job.id, |id| {
            self.jobs.borrow().contains_key(id)
        })?;
        let held = self.in_flight(&job.tenant_id) >= in_flight as usize;
        if held {
            self.held.borrow_mut().insert(job.id.clone());
        }
        self.jobs.borrow_mut().insert(job.id.clone(), job.clone());
        self.ack().map(|()| held)
    }

    async fn release_held(
        &self,
        tenant_id: &str,
        in_flight: u32,
        _now_ms: u64,
    ) -> StoreResult<Vec<String>> {
        self.faults.check()?;
        let room = (in_flight as usize).saturating_sub(self.in_flight(tenant_id));
        let mut waiting: Vec<Job> = self
            .jobs
            .borrow()
            .values()
            .filter(|j| j.tenant_id == tenant_id && j.status == JobStatus::Queued)
            .filter(|j| self.held.borrow().contains(&j.id))
            .cloned()
            .collect();
        waiting.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        let released: Vec<String> = waiting.into_iter().take(room).map(|j| j.id).collect();
        for id in &released {
            self.held.borrow_mut().remove(id);
        }
        Ok(released)
    }

    async fn tenants_with_held(&self, limit: u32) -> StoreResult<Vec<String>> {
        self.faults.check()?;
        let jobs = self.jobs.borrow();
        let mut tenants: Vec<String> = self
            .held
            .borrow()
            .iter()
            .filter_map(|id| jobs.get(id))
            .filter(|j| j.status == JobStatus::Queued)
            .map(|j| j.tenant_id.clone())
            .collect();
        tenants.dedup();
        tenants.truncate(limit as usize);
        Ok(tenants)
    }

    async fn job_by_idempotency_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        let id = self.id_for_key("job", tenant_id, key);
        Ok(id.and_then(|id| self.jobs.borrow().get(&id).cloned()))
    }

    async fn delete_job(&self, tenant_id: &str, id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.jobs
            .borrow_mut()
            .retain(|_, j| !(j.id == id && j.tenant_id == tenant_id));
        Ok(())
    }

    async fn get_job(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        let jobs = self.jobs.borrow();
        Ok(jobs.get(id).filter(|j| j.tenant_id == tenant_id).cloned())
    }

    async fn load_job(&self, id: &str) -> StoreResult<Option<Job>> {
        self.faults.check()?;
        Ok(self.jobs.borrow().get(id).cloned())
    }

    async fn record_delivery(&self, id: &str) -> StoreResult<()> {
        self.update_job(id, |j| j.deliveries += 1)
    }

    async fn claim_job(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(job) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let expired = job.lease_until_ms.is_some_and(|l| l < now_ms);
        let claimable =
            job.status == JobStatus::Queued || (job.status == JobStatus::Running && expired);
        if claimable {
            self.held.borrow_mut().remove(id);
            job.status = JobStatus::Running;
            job.attempts += 1;
            job.lease_until_ms = Some(lease_until_ms);
            job.started_at_ms.get_or_insert(now_ms);
            job.progress = job.progress.max(5);
        }
        Ok(claimable)
    }

    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        _now_ms: u64,
    ) -> StoreResult<bool> {
        let mut running = false;
        self.update_job(id, |j| {
            running = j.status == JobStatus::Running;
            if running {
                j.progress = progress;
                j.command_states = commands.to_vec();
            }
        })?;
        Ok(running)
    }

    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(id) {
            Some(j) if j.tenant_id == tenant_id && !j.status.is_terminal() => {
                j.status = JobStatus::Cancelled;
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn resource_sums(
        &self,
        by: quire::jobs::resources::SumBy<'_>,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<quire::jobs::resources::ResourceSum>> {
        use quire::jobs::resources::{ResourceSum, SumBy};
        self.faults.check()?;
        let mut sums: BTreeMap<String, ResourceSum> = BTreeMap::new();
        for j in self.jobs.borrow().values() {
            let (Some(used), Some(done)) = (&j.resources, j.finished_at_ms) else {
                continue;
            };
            let key = match by {
                SumBy::DayOf(t) if j.tenant_id == t => quire::usage::day_of(done),
                SumBy::DayOf(_) => continue,
                SumBy::Tenant => j.tenant_id.clone(),
                SumBy::All => "all".into(),
            };
            if (from_ms..to_ms).contains(&done) {
                let sum = sums.entry(key.clone()).or_insert(ResourceSum {
                    key,
                    ..ResourceSum::default()
                });
                sum.add(used);
            }
        }
        let mut rows: Vec<ResourceSum> = sums.into_values().collect();
        if by == SumBy::Tenant {
            rows.sort_by_key(|r| std::cmp::Reverse(r.processing_ms));
        }
        rows.truncate(limit as usize);
        Ok(rows)
    }

    async fn complete_job(
        &self,
        id: &str,
        now_ms: u64,
        resources: &quire::jobs::resources::Resources,
    ) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.resources = Some(resources.clone());
                j.status = JobStatus::Succeeded;
                j.progress = 100;
                j.error = None;
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
            }
        })
    }

    async fn fail_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.status = JobStatus::Failed;
                j.error = Some(error.clone());
                j.finished_at_ms = Some(now_ms);
                j.lease_until_ms = None;
            }
        })
    }

    async fn revive_job(&self, id: &str, _now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        match jobs.get_mut(id) {
            Some(j)
                if j.status == JobStatus::Failed
                    && j.error.as_ref().is_some_and(|e| e.code == "dead_lettered") =>
            {
                j.status = JobStatus::Queued;
                j.attempts = 0;
                j.error = None;
                j.finished_at_ms = None;
                j.lease_until_ms = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn stalled_jobs(
        &self,
        now_ms: u64,
        queued_before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<quire::jobs::Stalled>> {
        self.faults.check()?;
        // The fake keeps no `updated_at`: a queued job counts from when it
        // was created.
        let resends = self.resends.borrow();
        Ok(self
            .jobs
            .borrow()
            .values()
            .filter(|j| match j.status {
                JobStatus::Running => j.lease_until_ms.is_some_and(|l| l < now_ms),
                JobStatus::Queued => {
                    j.created_at_ms < queued_before_ms && !self.held.borrow().contains(&j.id)
                }
                _ => false,
            })
            .take(limit as usize)
            .map(|j| quire::jobs::Stalled {
                id: j.id.clone(),
                attempts: j.attempts,
                resends: resends.get(&j.id).copied().unwrap_or(0),
                created_at_ms: j.created_at_ms,
            })
            .collect())
    }

    async fn requeue_stalled(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(j) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let stalled = j.status == JobStatus::Queued
            || (j.status == JobStatus::Running && j.lease_until_ms.is_some_and(|l| l < now_ms));
        if stalled {
            j.status = JobStatus::Queued;
            j.lease_until_ms = None;
            // Counted from now, like `updated_at` at the edge.
            j.created_at_ms = now_ms;
            *self.resends.borrow_mut().entry(id.to_string()).or_default() += 1;
        }
        Ok(stalled)
    }

    async fn fail_stalled(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<bool> {
        self.faults.check()?;
        let mut jobs = self.jobs.borrow_mut();
        let Some(j) = jobs.get_mut(id) else {
            return Ok(false);
        };
        let stalled = j.status == JobStatus::Queued
            || (j.status == JobStatus::Running && j.lease_until_ms.is_some_and(|l| l < now_ms));
        if stalled {
            j.status = JobStatus::Failed;
            j.error = Some(error.clone());
            j.finished_at_ms = Some(now_ms);
            j.lease_until_ms = None;
        }
        Ok(stalled)
    }

    async fn release_job(&self, id: &str, error: &JobError, _now_ms: u64) -> StoreResult<()> {
        self.update_job(id, |j| {
            if j.status == JobStatus::Running {
                j.status = JobStatus::Queued;
                j.error = Some(error.clone());
                j.lease_until_ms = None;
            }
        })
    }
}
