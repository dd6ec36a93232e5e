//! MemBlobs: the R2 bucket (objects, multipart uploads, listing).

use super::*;

#[derive(Default)]
pub struct MemBlobs {
    pub objects: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Upload time of each object, from `now_ms` at `put`.
    pub uploaded: RefCell<HashMap<String, u64>>,
    pub now_ms: Cell<u64>,
    pub faults: Faults,
    /// Bytes handed out by `get` and `read_range`.
    pub bytes_read: Cell<u64>,
    /// Unfinished multipart uploads: id -> part number -> (etag, bytes).
    pub multipart: RefCell<BTreeMap<String, StoredParts>>,
    /// Run once, right after the first `put` of a key holding the given
    /// text (something else happening at that moment).
    pub after_put: RefCell<Option<AfterPut>>,
}

/// What to run after a `put` of a key holding the text.
pub type AfterPut = (String, Box<dyn FnOnce()>);

impl BlobStore for MemBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.objects.borrow_mut().insert(key.to_string(), bytes);
        self.uploaded
            .borrow_mut()
            .insert(key.to_string(), self.now_ms.get());
        let hook = self.after_put.borrow_mut().take();
        match hook {
            Some((text, f)) if key.contains(&text) => f(),
            other => *self.after_put.borrow_mut() = other,
        }
        Ok(())
    }
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.faults.check()?;
        let found = self.objects.borrow().get(key).cloned();
        let n = found.as_ref().map_or(0, Vec::len) as u64;
        self.bytes_read.set(self.bytes_read.get() + n);
        Ok(found)
    }
    async fn read_range(
        &self,
        key: &str,
        _size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        self.faults.check()?;
        Ok(self.objects.borrow().get(key).map(|all| {
            let from = (offset as usize).min(all.len());
            let to = (offset.saturating_add(len) as usize).min(all.len());
            self.bytes_read
                .set(self.bytes_read.get() + (to - from) as u64);
            all[from..to].to_vec()
        }))
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.objects.borrow_mut().remove(key);
        Ok(())
    }
    async fn start_multipart(&self, key: &str, _size: u64, _part_size: u64) -> StoreResult<String> {
        self.faults.check()?;
        let id = format!("mpu-{}-{}", key, self.multipart.borrow().len());
        self.multipart
            .borrow_mut()
            .insert(id.clone(), BTreeMap::new());
        Ok(id)
    }
    async fn put_part(
        &self,
        _key: &str,
        upload_id: &str,
        _layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String> {
        self.faults.check()?;
        let etag = format!("etag-{n}-{}", bytes.len());
        match self.multipart.borrow_mut().get_mut(upload_id) {
            Some(parts) => {
                parts.insert(n, (etag.clone(), bytes));
                Ok(etag)
            }
            None => Err(StoreError::Permanent("no such multipart upload".into())),
        }
    }
    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()> {
        self.faults.check()?;
        let stored = self
            .multipart
            .borrow_mut()
            .remove(upload_id)
            .ok_or_else(|| StoreError::Permanent("no such multipart upload".into()))?;
        let mut object = Vec::new();
        for (n, etag) in parts {
            match stored.get(n) {
                Some((e, bytes)) if e == etag => object.extend_from_slice(bytes),
                _ => return Err(StoreError::Permanent(format!("part {n} does not match"))),
            }
        }
        self.objects.borrow_mut().insert(key.to_string(), object);
        self.uploaded
            .borrow_mut()
            .insert(key.to_string(), self.now_ms.get());
        Ok(())
    }
    async fn abort_multipart(&self, _key: &str, upload_id: &str) -> StoreResult<()> {
        self.faults.check()?;
        self.multipart.borrow_mut().remove(upload_id);
        Ok(())
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)> {
        self.faults.check()?;
        let objects = self.objects.borrow();
        let uploaded = self.uploaded.borrow();
        let page: Vec<(String, u64)> = objects
            .keys()
            .filter(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c))
            .take(limit as usize)
            .map(|k| (k.clone(), uploaded.get(k).copied().unwrap_or(0)))
            .collect();
        let next = (page.len() == limit as usize).then(|| page.last().map(|(k, _)| k.clone()));
        Ok((page, next.flatten()))
    }
    async fn ping(&self) -> StoreResult<()> {
        self.faults.check()
    }
}
