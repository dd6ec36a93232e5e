//! What the app does outside a request: the work requests leave for after
//! their responses (audit entries, usage counts, key touches, one gate
//! call per tenant), and the scheduled passes the edge's crons and the
//! dead-letter queue call.

use super::{After, App};
use crate::ports::{KeyStore, Ports};

/// Work left for after responses, by tenant (in order), and the key
/// touches.
type Grouped = (Vec<(String, crate::gate::Settle)>, Vec<(String, u64, u64)>);

fn group_after(work: Vec<After>) -> Grouped {
    fn settle_for<'a>(
        all: &'a mut Vec<(String, crate::gate::Settle)>,
        tenant: &str,
    ) -> &'a mut crate::gate::Settle {
        let i = match all.iter().position(|(t, _)| t == tenant) {
            Some(i) => i,
            None => {
                all.push((tenant.to_string(), Default::default()));
                all.len() - 1
            }
        };
        &mut all[i].1
    }
    let (mut per_tenant, mut touches) = (Vec::new(), Vec::new());
    for w in work {
        match w {
            After::Audit { draft, throttle } => {
                let tenant = draft.tenant_id.clone();
                settle_for(&mut per_tenant, &tenant)
                    .audits
                    .push((draft, throttle));
            }
            After::Charge {
                tenant_id,
                month,
                charge,
            } => settle_for(&mut per_tenant, &tenant_id)
                .charges
                .push(crate::gate::MonthCharge { month, charge }),
            After::WriteDone {
                tenant_id,
                request_id,
            } => settle_for(&mut per_tenant, &tenant_id)
                .writes_done
                .push(request_id),
            After::Touch {
                key_id,
                now_ms,
                since_ms,
            } => touches.push((key_id, now_ms, since_ms)),
        }
    }
    (per_tenant, touches)
}

impl<P: Ports> App<P> {
    /// Runs the work requests left for after their responses: last-use
    /// times, then one gate call per tenant for its audit entries, counts
    /// and writes over (after the touches: a write is over once all of
    /// its request's writes are); what failed, for the log.
    pub async fn finish(&self, work: Vec<After>) -> Vec<String> {
        use crate::ports::Gate;
        let mut failed = Vec::new();
        let (per_tenant, touches) = group_after(work);
        for (key_id, now_ms, since_ms) in touches {
            if let Err(e) = self.meta.touch_key(&key_id, now_ms, since_ms).await {
                failed.push(format!("last_used_at not recorded: {e}"));
            }
        }
        for (tenant, settle) in per_tenant {
            if let Err(e) = self.gate.settle(&tenant, &settle).await {
                failed.push(format!(
                    "{} audit entries and {} counts of {tenant} not recorded: {e}",
                    settle.audits.len(),
                    settle.charges.len()
                ));
            }
        }
        failed
    }

    /// The scheduled maintenance run (retention and reconciliation).
    pub async fn sweep(&self, now_ms: u64) -> super::cleanup::SweepReport {
        super::cleanup::sweep(self, now_ms).await
    }

    /// The per-minute self-healing pass: stalled jobs sent again or ended.
    pub async fn heal(&self, now_ms: u64) -> super::cleanup::SweepReport {
        use crate::ports::ShardStore;
        let mut report = super::cleanup::SweepReport::default();
        for shard in 0..self.meta.shard_count() {
            self.meta.enter(shard);
            super::cleanup::heal_jobs(self, now_ms, &mut report).await;
        }
        report
    }

    /// The SLO pass of the cron: burn rates, alert changes, notices.
    pub async fn evaluate_slos(&self, now_ms: u64) -> super::ops::SloReport {
        super::ops::evaluate_slos(self, now_ms).await
    }

    /// The daily run: a D1 backup to R2, then backups and metrics past
    /// their retention deleted.
    pub async fn daily(&self, now_ms: u64) -> serde_json::Value {
        use crate::ports::OpsStore;
        let backup = super::backups::make_backup(self, now_ms).await;
        let pruned = super::backups::prune_backups(self, now_ms).await;
        let minutes = self.config.ops.metrics_retention_days * 1440;
        let metrics = self
            .ops
            .prune_metrics((now_ms / 60_000).saturating_sub(minutes))
            .await;
        let errors: Vec<String> = [
            backup.as_ref().err().map(|e| format!("backup: {e}")),
            pruned
                .as_ref()
                .err()
                .map(|e| format!("pruning backups: {e}")),
            metrics
                .as_ref()
                .err()
                .map(|e| format!("pruning metrics: {e}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        serde_json::json!({
            "backup": backup.ok(),
            "backups_deleted": pruned.ok(),
            "metric_rows_deleted": metrics.ok(),
            "errors": errors,
        })
    }
}

impl<P: Ports> App<P> {
    /// One message of the dead-letter queue (see `admin::take_dead_letter`).
    pub async fn take_dead_letter(
        &self,
        message_id: &str,
        body: &str,
        attempts: u32,
        now_ms: u64,
    ) -> Result<(), String> {
        super::admin::take_dead_letter(self, message_id, body, attempts, now_ms).await
    }
}
