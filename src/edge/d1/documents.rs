//! D1Meta: documents and their shares (D1 `documents`, `document_shares`).

use super::*;

impl DocumentStore for D1Meta {
    async fn list_all_shares(&self, tenant_id: &str) -> StoreResult<Vec<Share>> {
        self.shares_where("tenant_id = ?1 ORDER BY document_id", &[text(tenant_id)])
            .await
    }

    async fn documents_to_verify(&self, before_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        let sql = "SELECT * FROM documents WHERE created_at < ?1 \
                   ORDER BY verified_at IS NOT NULL, verified_at LIMIT ?2";
        let rows = self
            .all::<DocRow>(sql, &[num(before_ms), num(u64::from(limit))])
            .await?;
        Ok(rows.into_iter().map(Document::from).collect())
    }

    async fn mark_verified(
        &self,
        tenant_id: &str,
        id: &str,
        now_ms: u64,
        missing: bool,
    ) -> StoreResult<()> {
        let sql = if missing {
            "UPDATE documents SET verified_at = ?3, missing_at = COALESCE(missing_at, ?3) \
             WHERE tenant_id = ?1 AND id = ?2"
        } else {
            "UPDATE documents SET verified_at = ?3, missing_at = NULL WHERE tenant_id = ?1 AND id = ?2"
        };
        self.run(sql, &[text(tenant_id), text(id), num(now_ms)])
            .await
            .map(|_| ())
    }

    async fn insert_document(
        &self,
        d: &Document,
        idempotency_key: Option<&str>,
    ) -> StoreResult<()> {
        let scan =
            serde_json::to_string(&d.scan).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let sql = "INSERT INTO documents (id, tenant_id, filename, media_type, size_bytes, \
                   sha256, blob_key, created_at, scan, expires_at, owner, idempotency_key) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
        let args = [
            text(&d.id),
            text(&d.tenant_id),
            opt_text(d.filename.as_deref()),
            text(&d.media_type),
            num(d.size_bytes),
            text(&d.sha256),
            text(&d.blob_key),
            num(d.created_at_ms),
            text(&scan),
            d.expires_at_ms.map_or(JsValue::NULL, num),
            opt_text(d.owner.as_deref()),
            opt_text(idempotency_key),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn document_by_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> StoreResult<Option<Document>> {
        let sql = "SELECT * FROM documents WHERE tenant_id = ?1 AND idempotency_key = ?2";
        let row = self
            .first::<DocRow>(sql, &[text(tenant_id), text(key)])
            .await?;
        Ok(row.map(Document::from))
    }

    async fn expired_documents(&self, now_ms: u64, limit: u32) -> StoreResult<Vec<Document>> {
        let sql = "SELECT * FROM documents WHERE expires_at IS NOT NULL AND expires_at <= ?1 \
                   ORDER BY expires_at LIMIT ?2";
        let rows = self
            .all::<DocRow>(sql, &[num(now_ms), num(u64::from(limit))])
            .await?;
        Ok(rows.into_iter().map(Document::from).collect())
    }

    async fn get_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Document>> {
        let sql = "SELECT * FROM documents WHERE tenant_id = ?1 AND id = ?2";
        Ok(self
            .first::<DocRow>(sql, &[text(tenant_id), text(id)])
            .await?
            .map(Document::from))
    }

    async fn list_documents(
        &self,
        tenant_id: &str,
        before: Option<&str>,
        limit: u32,
        visibility: Option<&Visibility>,
    ) -> StoreResult<Vec<Document>> {
        let base = [text(tenant_id), opt_text(before), num(u64::from(limit))];
        let rows = match visibility {
            None => {
                let sql = "SELECT * FROM documents WHERE tenant_id = ?1 \
                           AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3";
                self.all::<DocRow>(sql, &base).await?
            }
            Some(v) => {
                // Roles are passed as ",member,viewer," and matched with instr,
                // so the statement has a fixed number of parameters.
                let sql = "SELECT d.* FROM documents d WHERE d.tenant_id = ?1 \
                           AND (?2 IS NULL OR d.id < ?2) AND (d.owner = ?4 OR EXISTS ( \
                             SELECT 1 FROM document_shares s \
                             WHERE s.tenant_id = ?1 AND s.document_id = d.id AND ( \
                               (s.grantee_type = 'user' AND s.grantee = ?5) OR \
                               (s.grantee_type = 'role' AND instr(?6, ',' || s.grantee || ',') > 0)))) \
                           ORDER BY d.id DESC LIMIT ?3";
                let roles: String = v.roles.iter().map(|r| format!(",{}", r.as_str())).collect();
                let mut args = base.to_vec();
                args.push(text(&v.owner));
                args.push(opt_text(v.user_id.as_deref()));
                args.push(text(&format!("{roles},")));
                self.all::<DocRow>(sql, &args).await?
            }
        };
        Ok(rows.into_iter().map(Document::from).collect())
    }

    async fn count_documents_with_sha256(&self, tenant_id: &str, sha256: &str) -> StoreResult<u64> {
        #[derive(Deserialize)]
        struct Count {
            n: f64,
        }
        let sql = "SELECT COUNT(*) AS n FROM documents WHERE tenant_id = ?1 AND sha256 = ?2";
        let row = self
            .first::<Count>(sql, &[text(tenant_id), text(sha256)])
            .await?;
        Ok(row.map_or(0, |c| c.n as u64))
    }

    async fn list_shares(&self, tenant_id: &str, document_id: &str) -> StoreResult<Vec<Share>> {
        self.shares_where(
            "tenant_id = ?1 AND document_id = ?2 ORDER BY created_at",
            &[text(tenant_id), text(document_id)],
        )
        .await
    }

    async fn put_share(&self, tenant_id: &str, share: &Share) -> StoreResult<()> {
        let sql = "INSERT INTO document_shares (tenant_id, document_id, grantee_type, grantee, \
                   access, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                   ON CONFLICT (document_id, grantee_type, grantee) DO UPDATE SET \
                   access = excluded.access, created_by = excluded.created_by, \
                   created_at = excluded.created_at";
        let args = [
            text(tenant_id),
            text(&share.document_id),
            text(share.grantee.kind()),
            text(&share.grantee.id()),
            text(share.access.as_str()),
            text(&share.created_by),
            num(share.created_at_ms),
        ];
        self.run(sql, &args).await.map(|_| ())
    }

    async fn delete_share(
        &self,
        tenant_id: &str,
        document_id: &str,
        grantee: &Grantee,
    ) -> StoreResult<bool> {
        let sql = "DELETE FROM document_shares WHERE tenant_id = ?1 AND document_id = ?2 \
                   AND grantee_type = ?3 AND grantee = ?4";
        let args = [
            text(tenant_id),
            text(document_id),
            text(grantee.kind()),
            text(&grantee.id()),
        ];
        Ok(self.run(sql, &args).await? == 1)
    }

    async fn delete_document(&self, tenant_id: &str, id: &str) -> StoreResult<Option<Vec<Job>>> {
        let jobs_sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ?1 AND document_id = ?2");
        let args = [text(tenant_id), text(id)];
        let jobs: Vec<Job> = self
            .all::<JobRow>(&jobs_sql, &args)
            .await?
            .into_iter()
            .map(JobRow::into_job)
            .collect::<StoreResult<_>>()?;
        // One batch = one transaction: the document and its jobs go together.
        let results = self
            .batch_results(vec![
                self.stmt(
                    "DELETE FROM jobs WHERE tenant_id = ?1 AND document_id = ?2",
                    &args,
                )?,
                self.stmt(
                    "DELETE FROM document_shares WHERE tenant_id = ?1 AND document_id = ?2",
                    &args,
                )?,
                self.stmt(
                    "DELETE FROM documents WHERE tenant_id = ?1 AND id = ?2",
                    &args,
                )?,
            ])
            .await?;
        let deleted = results
            .get(2)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok((deleted == 1).then_some(jobs))
    }
}
