//! Resumable uploads' rows in D1 (the `MetaStore` part of them).

use super::d1::{num, opt_text, text, D1Meta};
use crate::ports::{StoreError, StoreResult};
use crate::uploads::{Part, Upload};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

#[derive(Deserialize)]
pub(super) struct UploadRow {
    id: String,
    tenant_id: String,
    document_id: String,
    blob_key: String,
    store_upload_id: String,
    filename: Option<String>,
    media_type: String,
    size_bytes: f64,
    sha256: Option<String>,
    part_size: f64,
    hash_state: String,
    hashed_parts: f64,
    owner: Option<String>,
    expires_at: Option<f64>,
    created_at: f64,
    updated_at: f64,
}

impl From<UploadRow> for Upload {
    fn from(r: UploadRow) -> Upload {
        Upload {
            id: r.id,
            tenant_id: r.tenant_id,
            document_id: r.document_id,
            blob_key: r.blob_key,
            store_upload_id: r.store_upload_id,
            filename: r.filename,
            media_type: r.media_type,
            size_bytes: r.size_bytes as u64,
            sha256: r.sha256,
            part_size: r.part_size as u64,
            hash_state: r.hash_state,
            hashed_parts: r.hashed_parts as u32,
            owner: r.owner,
            expires_at_ms: r.expires_at.map(|v| v as u64),
            created_at_ms: r.created_at as u64,
            updated_at_ms: r.updated_at as u64,
        }
    }
}

impl D1Meta {
    pub(super) async fn insert_upload_row(&self, u: &Upload) -> StoreResult<()> {
        let sql = "INSERT INTO uploads (id, tenant_id, document_id, blob_key, store_upload_id, \
                   filename, media_type, size_bytes, sha256, part_size, hash_state, hashed_parts, \
                   owner, expires_at, created_at, updated_at) \
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";
        self.run(
            sql,
            &[
                text(&u.id),
                text(&u.tenant_id),
                text(&u.document_id),
                text(&u.blob_key),
                text(&u.store_upload_id),
                opt_text(u.filename.as_deref()),
                text(&u.media_type),
                num(u.size_bytes),
                opt_text(u.sha256.as_deref()),
                num(u.part_size),
                text(&u.hash_state),
                num(u64::from(u.hashed_parts)),
                opt_text(u.owner.as_deref()),
                u.expires_at_ms.map_or(JsValue::NULL, num),
                num(u.created_at_ms),
                num(u.updated_at_ms),
            ],
        )
        .await
        .map(|_| ())
    }

    pub(super) async fn upload_where(
        &self,
        clause: &str,
        args: &[JsValue],
    ) -> StoreResult<Vec<Upload>> {
        let sql = format!("SELECT * FROM uploads WHERE {clause}");
        Ok(self
            .all::<UploadRow>(&sql, args)
            .await?
            .into_iter()
            .map(Upload::from)
            .collect())
    }

    pub(super) async fn put_part_row(
        &self,
        upload_id: &str,
        p: &Part,
        now_ms: u64,
    ) -> StoreResult<()> {
        let part = self.stmt(
            "INSERT INTO upload_parts (upload_id, number, etag, size_bytes, marks) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (upload_id, number) DO UPDATE SET etag = excluded.etag, \
             size_bytes = excluded.size_bytes, marks = excluded.marks",
            &[
                text(upload_id),
                num(u64::from(p.number)),
                text(&p.etag),
                num(p.size_bytes),
                match &p.marks {
                    Some(m) => text(
                        &serde_json::to_string(m)
                            .map_err(|e| StoreError::Permanent(e.to_string()))?,
                    ),
                    None => JsValue::NULL,
                },
            ],
        )?;
        let touch = self.stmt(
            "UPDATE uploads SET updated_at = ?2 WHERE id = ?1",
            &[text(upload_id), num(now_ms)],
        )?;
        self.batch_results(vec![part, touch]).await.map(|_| ())
    }

    pub(super) async fn part_rows(&self, upload_id: &str) -> StoreResult<Vec<Part>> {
        #[derive(Deserialize)]
        struct Row {
            number: f64,
            etag: String,
            size_bytes: f64,
            marks: Option<String>,
        }
        Ok(self
            .all::<Row>(
                "SELECT number, etag, size_bytes, marks FROM upload_parts WHERE upload_id = ?1 \
                 ORDER BY number",
                &[text(upload_id)],
            )
            .await?
            .into_iter()
            .map(|r| Part {
                number: r.number as u32,
                etag: r.etag,
                size_bytes: r.size_bytes as u64,
                // Unreadable marks count as none: completion then flags
                // the document as not fully scanned.
                marks: r.marks.and_then(|m| serde_json::from_str(&m).ok()),
            })
            .collect())
    }

    pub(super) async fn delete_upload_rows(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let parts = self.stmt(
            "DELETE FROM upload_parts WHERE upload_id = (SELECT id FROM uploads WHERE id = ?1 AND tenant_id = ?2)",
            &[text(id), text(tenant_id)],
        )?;
        let upload = self.stmt(
            "DELETE FROM uploads WHERE id = ?1 AND tenant_id = ?2",
            &[text(id), text(tenant_id)],
        )?;
        let results = self.batch_results(vec![parts, upload]).await?;
        Ok(results
            .get(1)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0)
    }
}
