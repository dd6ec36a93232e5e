//! D1Meta: jobs: creation, the claim and lease of a run, progress, the end (D1 `jobs`, `command_states`).

use super::*;

impl JobStore for D1Meta {
    async fn list_jobs(&self, tenant_id: &str) -> StoreResult<Vec<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 ORDER BY id");
        self.all::<JobRow>(&sql, &[text(tenant_id)])
            .await?
            .into_iter()
            .map(JobRow::into_job)
            .collect()
    }

    async fn page_jobs(&self, page: &crate::ports::JobPage<'_>) -> StoreResult<Vec<Job>> {
        let mut args = vec![
            text(page.tenant_id),
            opt_text(page.before),
            num(u64::from(page.limit)),
            opt_text(page.status.map(|s| s.as_str())),
            opt_text(page.document_id),
        ];
        // A job is seen through its document; roles are passed as
        // ",member,viewer," and matched with instr (a fixed parameter count).
        let seen = match page.visibility {
            None => "",
            Some(v) => {
                let roles: String = v.roles.iter().map(|r| format!(",{}", r.as_str())).collect();
                args.push(text(&v.owner));
                args.push(opt_text(v.user_id.as_deref()));
                args.push(text(&format!("{roles},")));
                "AND EXISTS (SELECT 1 FROM documents d WHERE d.tenant_id = ?1 \
                 AND d.id = jobs.document_id AND (d.owner = ?6 OR EXISTS ( \
                   SELECT 1 FROM document_shares s \
                   WHERE s.tenant_id = ?1 AND s.document_id = d.id AND ( \
                     (s.grantee_type = 'user' AND s.grantee = ?7) OR \
                     (s.grantee_type = 'role' AND instr(?8, ',' || s.grantee || ',') > 0)))))"
            }
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 AND (?2 IS NULL OR id < ?2) \
             AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR document_id = ?5) {seen} \
             ORDER BY id DESC LIMIT ?3"
        );
        self.all::<JobRow>(&sql, &args)
            .await?
            .into_iter()
            .map(JobRow::into_job)
            .collect()
    }

    async fn count_active_jobs(
        &self,
        tenant_id: &str,
        now_ms: u64,
        queued_since_ms: u64,
    ) -> StoreResult<(u64, u64)> {
        #[derive(Deserialize)]
        struct Counts {
            mine: Option<f64>,
            total: Option<f64>,
        }
        let sql = "SELECT SUM(tenant_id = ?1) AS mine, COUNT(*) AS total FROM jobs \
                   WHERE (status = 'running' AND lease_until >= ?2) \
                   OR (status = 'queued' AND (held = 1 OR updated_at >= ?3))";
        let args = [text(tenant_id), num(now_ms), num(queued_since_ms)];
        let row = self.first::<Counts>(sql, &args).await?;
        Ok(row.map_or((0, 0), |c| {
            (c.mine.unwrap_or(0.0) as u64, c.total.unwrap_or(0.0) as u64)
        }))
    }

    async fn insert_job(
        &self,
        j: &Job,
        idempotency_key: Option<&str>,
        in_flight: u32,
    ) -> StoreResult<bool> {
        #[derive(Deserialize)]
        struct Held {
            held: f64,
        }
        let commands =
            serde_json::to_string(&j.commands).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let states = serde_json::to_string(&j.command_states)
            .map_err(|e| StoreError::Permanent(e.to_string()))?;
        // Held or not is decided by the same statement that writes the row.
        let sql = "INSERT INTO jobs (id, tenant_id, document_id, commands, status, progress, \
                   attempts, deliveries, created_at, updated_at, command_states, webhook_url, \
                   llm_training_opt_in, created_by, idempotency_key, held) \
                   SELECT ?1, ?2, ?3, ?4, ?5, 0, 0, 0, ?6, ?6, ?7, ?8, ?9, ?10, ?11, \
                   (SELECT COUNT(*) >= ?12 FROM jobs WHERE tenant_id = ?2 AND held = 0 \
                   AND status IN ('queued', 'running')) RETURNING held";
        let args = [
            text(&j.id),
            text(&j.tenant_id),
            text(&j.document_id),
            text(&commands),
            text(j.status.as_str()),
            num(j.created_at_ms),
            text(&states),
            opt_text(j.webhook_url.as_deref()),
            num(u64::from(j.llm_training_opt_in)),
            opt_text(j.created_by.as_deref()),
            opt_text(idempotency_key),
            num(u64::from(in_flight)),
        ];
        let row = self.first::<Held>(sql, &args).await?;
        Ok(row.is_some_and(|r| r.held != 0.0))
    }

    async fn release_held(
        &self,
        tenant_id: &str,
        in_flight: u32,
        now_ms: u64,
    ) -> StoreResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        // One statement: two callers never release the same job, nor more
        // than the room there is.
        let sql = "UPDATE jobs SET held = 0, updated_at = ?3 WHERE id IN \
                   (SELECT id FROM jobs WHERE tenant_id = ?1 AND held = 1 AND status = 'queued' \
                   ORDER BY created_at, id LIMIT MAX(0, ?2 - (SELECT COUNT(*) FROM jobs \
                   WHERE tenant_id = ?1 AND held = 0 AND status IN ('queued', 'running')))) \
                   RETURNING id";
        let args = [text(tenant_id), num(u64::from(in_flight)), num(now_ms)];
        let rows = self.all::<Id>(sql, &args).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn tenants_with_held(&self, limit: u32) -> StoreResult<Vec<String>> {
        #[derive(Deserialize)]
        struct Tenant {
            tenant_id: String,
        }
        let sql = "SELECT DISTINCT tenant_id FROM jobs WHERE held = 1 AND status = 'queued' \
                   LIMIT ?1";
        let rows = self.all::<Tenant>(sql, &[num(u64::from(limit))]).await?;
        Ok(rows.into_iter().map(|r| r.tenant_id).collect())
    }

    async fn job_by_idempotency_key(&self, tenant_id: &str, key: &str) -> StoreResult<Option<Job>> {
        self.job_where(
            "tenant_id = ?1 AND idempotency_key = ?2",
            &[text(tenant_id), text(key)],
        )
        .await
    }

    async fn delete_job(&self, tenant_id: &str, id: &str) -> StoreResult<()> {
        let sql = "DELETE FROM jobs WHERE tenant_id = ?1 AND id = ?2";
        self.run(sql, &[text(tenant_id), text(id)])
            .await
            .map(|_| ())
    }

    async fn get_job(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Job>> {
        self.job_where("tenant_id = ?1 AND id = ?2", &[text(tenant_id), text(id)])
            .await
    }

    async fn load_job(&self, id: &str) -> StoreResult<Option<Job>> {
        self.job_where("id = ?1", &[text(id)]).await
    }

    async fn record_delivery(&self, id: &str) -> StoreResult<()> {
        let sql = "UPDATE jobs SET deliveries = deliveries + 1 WHERE id = ?1";
        self.run(sql, &[text(id)]).await.map(|_| ())
    }

    async fn claim_job(&self, id: &str, now_ms: u64, lease_until_ms: u64) -> StoreResult<bool> {
        // One conditional UPDATE is atomic in D1 (SQLite): of two concurrent
        // deliveries, exactly one sees `changes = 1`.
        let sql = "UPDATE jobs SET status = 'running', attempts = attempts + 1, held = 0, \
                   lease_until = ?3, started_at = COALESCE(started_at, ?2), \
                   progress = MAX(progress, 5), updated_at = ?2 \
                   WHERE id = ?1 AND (status = 'queued' \
                   OR (status = 'running' AND lease_until < ?2))";
        Ok(self
            .run(sql, &[text(id), num(now_ms), num(lease_until_ms)])
            .await?
            == 1)
    }

    async fn set_progress(
        &self,
        id: &str,
        progress: u8,
        commands: &[CommandState],
        now_ms: u64,
    ) -> StoreResult<bool> {
        let states =
            serde_json::to_string(commands).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "UPDATE jobs SET progress = ?2, command_states = ?3, updated_at = ?4 \
                   WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            num(u64::from(progress)),
            text(&states),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|changed| changed == 1)
    }

    async fn cancel_job(&self, tenant_id: &str, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'cancelled', finished_at = ?3, updated_at = ?3, \
                   lease_until = NULL \
                   WHERE tenant_id = ?1 AND id = ?2 AND status IN ('queued', 'running')";
        Ok(self
            .run(sql, &[text(tenant_id), text(id), num(now_ms)])
            .await?
            == 1)
    }

    async fn resource_sums(
        &self,
        by: crate::jobs::resources::SumBy<'_>,
        from_ms: u64,
        to_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::resources::ResourceSum>> {
        use crate::jobs::resources::{ResourceSum, SumBy};
        #[derive(Deserialize)]
        struct Row {
            key: String,
            jobs: f64,
            processing_ms: Option<f64>,
            bytes_read: Option<f64>,
            pages: Option<f64>,
        }
        let (key, filter, order) = match by {
            SumBy::DayOf(_) => (
                "strftime('%Y-%m-%d', finished_at / 1000, 'unixepoch')",
                "AND tenant_id = ?4",
                "key",
            ),
            SumBy::Tenant => ("tenant_id", "", "processing_ms DESC"),
            SumBy::All => ("'all'", "", "key"),
        };
        let field = |f: &str| format!("json_extract(resources, '$.{f}')");
        let processing = ["prepare_ms", "extract_ms", "llm_ms", "commands_ms"].map(&field);
        let sql = format!(
            "SELECT {key} AS key, COUNT(*) AS jobs, SUM({}) AS processing_ms, \
             SUM({}) AS bytes_read, SUM({}) AS pages FROM jobs \
             WHERE resources IS NOT NULL AND finished_at >= ?1 AND finished_at < ?2 {filter} \
             GROUP BY key ORDER BY {order} LIMIT ?3",
            processing.join(" + "),
            field("bytes_read"),
            field("pages"),
        );
        let mut args = vec![num(from_ms), num(to_ms), num(u64::from(limit))];
        if let SumBy::DayOf(tenant) = by {
            args.push(text(tenant));
        }
        let rows = self.all::<Row>(&sql, &args).await?;
        Ok(rows
            .into_iter()
            .map(|r| ResourceSum {
                key: r.key,
                jobs: r.jobs as u64,
                processing_ms: r.processing_ms.unwrap_or(0.0) as u64,
                bytes_read: r.bytes_read.unwrap_or(0.0) as u64,
                pages: r.pages.unwrap_or(0.0) as u64,
            })
            .collect())
    }

    async fn complete_job(
        &self,
        id: &str,
        now_ms: u64,
        resources: &crate::jobs::resources::Resources,
    ) -> StoreResult<()> {
        let used =
            serde_json::to_string(resources).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "UPDATE jobs SET status = 'succeeded', progress = 100, error_code = NULL, \
                   error_message = NULL, finished_at = ?2, updated_at = ?2, lease_until = NULL, \
                   resources = ?3 WHERE id = ?1 AND status = 'running'";
        self.run(sql, &[text(id), num(now_ms), text(&used)])
            .await
            .map(|_| ())
    }

    async fn fail_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE jobs SET status = 'failed', error_code = ?2, error_message = ?3, \
                   finished_at = ?4, updated_at = ?4, lease_until = NULL \
                   WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn revive_job(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'queued', attempts = 0, error_code = NULL, \
                   error_message = NULL, finished_at = NULL, lease_until = NULL, updated_at = ?2 \
                   WHERE id = ?1 AND status = 'failed' AND error_code = 'dead_lettered'";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }

    async fn stalled_jobs(
        &self,
        now_ms: u64,
        queued_before_ms: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::jobs::Stalled>> {
        #[derive(Deserialize)]
        struct Row {
            id: String,
            attempts: f64,
            resends: f64,
            created_at: f64,
        }
        let sql = "SELECT id, attempts, resends, created_at FROM jobs WHERE \
                   (status = 'running' AND lease_until < ?1) OR \
                   (status = 'queued' AND held = 0 AND updated_at < ?2) \
                   ORDER BY updated_at LIMIT ?3";
        let args = [num(now_ms), num(queued_before_ms), num(u64::from(limit))];
        let rows = self.all::<Row>(sql, &args).await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::jobs::Stalled {
                id: r.id,
                attempts: r.attempts as u32,
                resends: r.resends as u32,
                created_at_ms: r.created_at as u64,
            })
            .collect())
    }

    async fn requeue_stalled(&self, id: &str, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ?2, \
                   resends = resends + 1 \
                   WHERE id = ?1 AND ((status = 'running' AND lease_until < ?2) \
                   OR status = 'queued')";
        Ok(self.run(sql, &[text(id), num(now_ms)]).await? == 1)
    }

    async fn fail_stalled(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<bool> {
        let sql = "UPDATE jobs SET status = 'failed', error_code = ?2, error_message = ?3, \
                   finished_at = ?4, updated_at = ?4, lease_until = NULL \
                   WHERE id = ?1 AND ((status = 'running' AND lease_until < ?4) \
                   OR status = 'queued')";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        Ok(self.run(sql, &args).await? == 1)
    }

    async fn release_job(&self, id: &str, error: &JobError, now_ms: u64) -> StoreResult<()> {
        let sql = "UPDATE jobs SET status = 'queued', error_code = ?2, error_message = ?3, \
                   updated_at = ?4, lease_until = NULL WHERE id = ?1 AND status = 'running'";
        let args = [
            text(id),
            text(&error.code),
            text(&error.message),
            num(now_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }
}
