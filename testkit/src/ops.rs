//! MemOps: metrics rollups, alerts and the tables a backup reads.

use super::*;

/// Metrics rollups, alerts and tables to back up, in memory. Job-based
/// figures come from `jobs`, which tests fill.
#[derive(Default)]
pub struct MemOps {
    pub rollups: RefCell<BTreeMap<(u64, String), quire::ops::metrics::Stats>>,
    pub llm_rollups: RefCell<BTreeMap<(u64, String), quire::ops::jobstats::LlmRollup>>,
    pub job_rollup_mark: Cell<Option<u64>>,
    pub alerts: RefCell<BTreeMap<String, quire::ops::slo::Alert>>,
    pub jobs: RefCell<Vec<quire::ports::JobTiming>>,
    /// Dead letters by received time and whether replayed.
    pub dead_letters: RefCell<Vec<(u64, bool)>>,
    /// Table name -> rows, for backups.
    pub tables: RefCell<Vec<(String, Vec<Row>)>>,
    pub faults: Faults,
}

impl quire::ports::OpsStore for MemOps {
    async fn add_metrics(&self, rollups: &[quire::ops::metrics::Rollup]) -> StoreResult<()> {
        self.faults.check()?;
        let mut stored = self.rollups.borrow_mut();
        for r in rollups {
            stored
                .entry((r.minute, r.name.clone()))
                .or_default()
                .merge(&r.stats);
        }
        Ok(())
    }

    async fn metrics_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<(String, quire::ops::metrics::Stats)>> {
        self.faults.check()?;
        let mut by_name: BTreeMap<String, quire::ops::metrics::Stats> = BTreeMap::new();
        for ((minute, name), stats) in self.rollups.borrow().iter() {
            if *minute >= from_minute {
                by_name.entry(name.clone()).or_default().merge(stats);
            }
        }
        Ok(by_name.into_iter().collect())
    }

    async fn prune_metrics(&self, before_minute: u64) -> StoreResult<u64> {
        let mut stored = self.rollups.borrow_mut();
        let mut llm = self.llm_rollups.borrow_mut();
        let before = stored.len() + llm.len();
        stored.retain(|(minute, _), _| *minute >= before_minute);
        llm.retain(|(minute, _), _| *minute >= before_minute);
        Ok((before - stored.len() - llm.len()) as u64)
    }

    async fn finished_jobs(
        &self,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<quire::ports::JobTiming>> {
        self.faults.check()?;
        let mut out: Vec<_> = self
            .jobs
            .borrow()
            .iter()
            .filter(|t| {
                t.job
                    .finished_at_ms
                    .is_some_and(|f| f >= from_ms && f < to_ms)
            })
            .cloned()
            .collect();
        out.sort_by_key(|t| t.job.finished_at_ms);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn put_job_rollups(
        &self,
        rows: &[quire::ops::metrics::Rollup],
        llm: &[quire::ops::jobstats::LlmRollup],
        upto_minute: u64,
    ) -> StoreResult<()> {
        self.faults.check()?;
        let mut stored = self.rollups.borrow_mut();
        for r in rows {
            stored.insert((r.minute, r.name.clone()), r.stats.clone());
        }
        let mut stored = self.llm_rollups.borrow_mut();
        for m in llm {
            stored.insert((m.minute, m.model.clone()), m.clone());
        }
        self.job_rollup_mark.set(Some(upto_minute));
        Ok(())
    }

    async fn job_rollup_mark(&self) -> StoreResult<Option<u64>> {
        self.faults.check()?;
        Ok(self.job_rollup_mark.get())
    }

    async fn llm_since(
        &self,
        from_minute: u64,
    ) -> StoreResult<Vec<quire::ops::jobstats::LlmRollup>> {
        self.faults.check()?;
        let mut by_model: BTreeMap<String, quire::ops::jobstats::LlmRollup> = BTreeMap::new();
        for ((minute, model), m) in self.llm_rollups.borrow().iter() {
            if *minute >= from_minute {
                let sum = by_model.entry(model.clone()).or_default();
                sum.minute = from_minute;
                sum.model = model.clone();
                sum.commands += m.commands;
                sum.input_tokens += m.input_tokens;
                sum.output_tokens += m.output_tokens;
                sum.cost_usd += m.cost_usd;
            }
        }
        Ok(by_model.into_values().collect())
    }

    async fn job_sli(
        &self,
        from_ms: u64,
        now_ms: u64,
        within_ms: u64,
    ) -> StoreResult<quire::ops::slo::Sli> {
        let mut sli = quire::ops::slo::Sli::default();
        for t in self.jobs.borrow().iter() {
            let j = &t.job;
            let ended = j.status.is_terminal();
            if j.created_at_ms < from_ms
                || j.status == JobStatus::Cancelled
                || !(ended || j.created_at_ms + within_ms < now_ms)
            {
                continue;
            }
            sli.total += 1;
            if j.status == JobStatus::Succeeded
                && j.finished_at_ms
                    .is_some_and(|f| f.saturating_sub(j.created_at_ms) <= within_ms)
            {
                sli.good += 1;
            }
        }
        Ok(sli)
    }

    async fn dead_letter_depth(&self, since_ms: u64) -> StoreResult<u64> {
        Ok(self
            .dead_letters
            .borrow()
            .iter()
            .filter(|(at, replayed)| *at >= since_ms && !replayed)
            .count() as u64)
    }

    async fn stored_totals(&self) -> StoreResult<(u64, u64)> {
        Ok((0, 0))
    }

    async fn list_alerts(&self) -> StoreResult<Vec<quire::ops::slo::Alert>> {
        self.faults.check()?;
        Ok(self.alerts.borrow().values().cloned().collect())
    }

    async fn put_alert(&self, alert: &quire::ops::slo::Alert) -> StoreResult<()> {
        self.faults.check()?;
        self.alerts
            .borrow_mut()
            .insert(alert.id.clone(), alert.clone());
        Ok(())
    }

    async fn backup_tables(&self) -> StoreResult<Vec<String>> {
        Ok(self
            .tables
            .borrow()
            .iter()
            .map(|(t, _)| t.clone())
            .collect())
    }

    async fn backup_rows(
        &self,
        table: &str,
        after_rowid: i64,
        limit: u32,
    ) -> StoreResult<Vec<(i64, serde_json::Map<String, serde_json::Value>)>> {
        let tables = self.tables.borrow();
        let rows = tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, rows)| rows.clone())
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| (i as i64 + 1, r))
            .filter(|(id, _)| *id > after_rowid)
            .take(limit as usize)
            .collect())
    }
}
