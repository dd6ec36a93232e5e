//! Adapters of the blob-store and queue ports over R2 and Cloudflare Queues.

use super::edge_cache;
use super::observe::classify;
use crate::jobs::JobMessage;
#[cfg(feature = "jobs")]
use crate::ports::Clock;
use crate::ports::{BlobStore, Entropy, JobQueue, StoreError, StoreResult, WebhookSender};
use crate::webhooks::WebhookMessage;
use worker::{Bucket, HttpMetadata, Queue};

/// R2, observed; with the edge cache's namespace when immutable objects
/// are read through it (see `super::edge_cache`), and the regional
/// buckets a tenant's objects go to when its shard is in a data region.
pub struct R2Blobs(
    pub Bucket,
    pub super::observe::Obs,
    pub Option<String>,
    pub std::rc::Rc<super::regions::Regions>,
);

impl R2Blobs {
    /// The bucket of an object: a tenant's (`tenants/…`) in its region's
    /// bucket when the shard entered is in one, everything else here.
    fn on(&self, key: &str) -> &Bucket {
        match self.3.bucket() {
            Some(b) if key.starts_with("tenants/") => b,
            _ => &self.0,
        }
    }

    /// The edge cache's namespace for an object: none for a regional
    /// tenant's (the Cache API keeps copies wherever it is served from).
    fn cache(&self, key: &str) -> Option<&str> {
        let regional = self.3.bucket().is_some() && key.starts_with("tenants/");
        self.2.as_deref().filter(|_| !regional)
    }
}

impl BlobStore for R2Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> StoreResult<()> {
        let meta = HttpMetadata {
            content_type: Some(content_type.to_string()),
            ..HttpMetadata::default()
        };
        let put = self.on(key).put(key, bytes).http_metadata(meta).execute();
        let stored = self.1.call("r2", "put", put).await.map(|_| ());
        edge_cache::purge(edge_cache::url_of(self.cache(key), key).as_deref()).await;
        stored.map_err(classify)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let url = edge_cache::url_of(self.cache(key), key);
        let get = async {
            let Some(object) = self.on(key).get(key).execute().await? else {
                return Ok(None);
            };
            match object.body() {
                Some(body) => body.bytes().await.map(Some),
                None => Ok(Some(Vec::new())),
            }
        };
        let from_r2 = async { self.1.call("r2", "get", get).await.map_err(classify) };
        edge_cache::read_through(&self.1, url.as_deref(), from_r2).await
    }

    async fn read_range(
        &self,
        key: &str,
        _size: u64,
        offset: u64,
        len: u64,
    ) -> StoreResult<Option<Vec<u8>>> {
        let get = async {
            let range = worker::Range::OffsetWithLength {
                offset,
                length: len,
            };
            let Some(object) = self.on(key).get(key).range(range).execute().await? else {
                return Ok(None);
            };
            match object.body() {
                Some(body) => body.bytes().await.map(Some),
                None => Ok(Some(Vec::new())),
            }
        };
        self.1.call("r2", "get range", get).await.map_err(classify)
    }

    async fn start_multipart(&self, key: &str, _size: u64, _part_size: u64) -> StoreResult<String> {
        let start = async {
            let upload = self.on(key).create_multipart_upload(key).execute().await?;
            Ok(upload.upload_id().await)
        };
        self.1
            .call("r2", "create multipart", start)
            .await
            .map_err(classify)
    }

    async fn put_part(
        &self,
        key: &str,
        upload_id: &str,
        _layout: (u64, u64),
        n: u32,
        bytes: Vec<u8>,
    ) -> StoreResult<String> {
        let number = u16::try_from(n)
            .map_err(|_| StoreError::Permanent("part numbers stop at 10000".into()))?;
        let put = async {
            let upload = self.on(key).resume_multipart_upload(key, upload_id)?;
            Ok(upload.upload_part(number, bytes).await?.etag())
        };
        self.1
            .call("r2", "upload part", put)
            .await
            .map_err(classify)
    }

    async fn finish_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> StoreResult<()> {
        let uploaded: Vec<worker::UploadedPart> = parts
            .iter()
            .map(|(n, etag)| worker::UploadedPart::new(*n as u16, etag.clone()))
            .collect();
        let finish = async {
            let upload = self.on(key).resume_multipart_upload(key, upload_id)?;
            upload.complete(uploaded).await.map(|_| ())
        };
        self.1
            .call("r2", "complete multipart", finish)
            .await
            .map_err(classify)
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        let abort = async {
            let upload = self.on(key).resume_multipart_upload(key, upload_id)?;
            upload.abort().await
        };
        self.1
            .call("r2", "abort multipart", abort)
            .await
            .map_err(classify)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let deleted = self.1.call("r2", "delete", self.on(key).delete(key)).await;
        edge_cache::purge(edge_cache::url_of(self.cache(key), key).as_deref()).await;
        deleted.map_err(classify)
    }

    async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<(Vec<(String, u64)>, Option<String>)> {
        let mut req = self.on(prefix).list().prefix(prefix).limit(limit);
        if let Some(c) = cursor {
            req = req.cursor(c);
        }
        let page = self
            .1
            .call("r2", "list", req.execute())
            .await
            .map_err(classify)?;
        let keys = page
            .objects()
            .iter()
            .map(|o| (o.key(), o.uploaded().as_millis()))
            .collect();
        let next = if page.truncated() {
            page.cursor()
        } else {
            None
        };
        Ok((keys, next))
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        self.1
            .call("r2", "head", self.on(key).head(key))
            .await
            .map(|o| o.is_some())
            .map_err(classify)
    }

    async fn ping(&self) -> StoreResult<()> {
        self.1
            .call("r2", "head", self.0.head("ready-probe"))
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// The jobs queue; `None` when the binding is missing (reported by `/ready`).
pub struct JobsQueue(pub Option<Queue>, pub super::observe::Obs);

impl JobQueue for JobsQueue {
    async fn send(&self, msg: &JobMessage) -> StoreResult<()> {
        let queue = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("queue binding JOBS is not configured".into()))?;
        self.1
            .call("queue", "send job", queue.send(msg))
            .await
            .map_err(classify)
    }

    async fn send_webhook(&self, msg: &WebhookMessage) -> StoreResult<()> {
        let queue = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("queue binding JOBS is not configured".into()))?;
        // The webhook's delivery continues the trace that queued it.
        let envelope = crate::jobs::QueueEnvelope {
            job_id: None,
            delivery_id: Some(msg.delivery_id.clone()),
            part: None,
            shard: msg.shard,
            traceparent: self.1.child_traceparent(),
        };
        self.1
            .call("queue", "send webhook", queue.send(envelope))
            .await
            .map_err(classify)
    }

    async fn ping(&self) -> StoreResult<()> {
        match self.0 {
            Some(_) => Ok(()),
            None => Err(StoreError::Permanent("queue binding JOBS missing".into())),
        }
    }
}

/// Crypto-grade randomness from the runtime (`crypto.getRandomValues`).
pub struct CryptoEntropy;

impl Entropy for CryptoEntropy {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom's `js` backend cannot fail in a Workers isolate; should it
        // ever, a zeroed buffer would make ids collide, so refuse loudly
        // instead: the request fails and the panic hook logs why.
        if getrandom::getrandom(buf).is_err() {
            panic!("crypto.getRandomValues is unavailable");
        }
    }
}

/// The runtime's clock. (In production it advances only across I/O, which
/// is all the job runner needs to time its steps.)
#[cfg(feature = "jobs")]
pub struct WallClock;

#[cfg(feature = "jobs")]
impl Clock for WallClock {
    fn now_ms(&self) -> u64 {
        worker::Date::now().as_millis()
    }
    async fn sleep(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await;
    }
}

/// Outbound HTTP through the runtime's `fetch`: webhook and alert POSTs
/// (ten seconds, with a `traceparent`) and JWKS GETs (five seconds).
pub struct FetchSender(pub super::observe::Obs);

/// The most an outbound GET (a JWKS document) may return.
const MAX_FETCHED_BODY: usize = 256 * 1024;

impl WebhookSender for FetchSender {
    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String> {
        use futures_util::future::{select, Either};
        let started = worker::Date::now().as_millis();
        let op = format!("POST {}", host_of(url));
        match self.0.inject("webhook").await {
            Some(super::observe::Injected::Before) | Some(super::observe::Injected::After) => {
                self.0.log("webhook", &op, started, "injected_fault", None);
                return Err("injected fault: webhook receiver unreachable".into());
            }
            None => {}
        }
        let h = worker::Headers::new();
        for (name, value) in headers {
            h.set(name, value).map_err(|e| e.to_string())?;
        }
        if let Some(tp) = self.0.child_traceparent() {
            h.set("traceparent", &tp).map_err(|e| e.to_string())?;
        }
        let mut init = worker::RequestInit::new();
        // A redirect is the receiver's answer, never a second target: its
        // Location could name what the URL check refused.
        init.with_method(worker::Method::Post)
            .with_headers(h)
            .with_redirect(worker::RequestRedirect::Manual)
            .with_body(Some(body.into()));
        let req = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
        let fetch = worker::Fetch::Request(req);
        let send = Box::pin(fetch.send());
        let timeout = Box::pin(worker::Delay::from(std::time::Duration::from_secs(10)));
        let outcome = match select(send, timeout).await {
            Either::Left((Ok(resp), _)) => Ok(resp.status_code()),
            Either::Left((Err(e), _)) => Err(format!("request failed: {e}")),
            Either::Right(_) => Err("timed out after 10 s".into()),
        };
        match &outcome {
            Ok(status) => self
                .0
                .log("webhook", &op, started, &format!("http_{status}"), None),
            Err(e) => self.0.log("webhook", &op, started, "error", Some(e)),
        }
        outcome
    }
}

/// The host of a URL, for logs (paths and queries may carry secrets).
fn host_of(url: &str) -> String {
    worker::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "(invalid url)".into())
}

impl crate::ports::HttpClient for FetchSender {
    async fn get(&self, url: &str) -> Result<(u16, String), String> {
        use futures_util::future::{select, Either};
        let h = worker::Headers::new();
        h.set("accept", "application/json")
            .map_err(|e| e.to_string())?;
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::Get)
            .with_headers(h)
            .with_redirect(worker::RequestRedirect::Manual);
        let req = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
        let fetch = async {
            use futures_util::StreamExt;
            let mut resp = worker::Fetch::Request(req)
                .send()
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            let status = resp.status_code();
            // Read through a counting limit: a hostile server cannot make
            // this isolate hold more than MAX_FETCHED_BODY.
            let mut stream = resp
                .stream()
                .map_err(|e| format!("reading the body failed: {e}"))?;
            let mut body = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| format!("reading the body failed: {e}"))?;
                if body.len() + chunk.len() > MAX_FETCHED_BODY {
                    return Err(format!("the body is larger than {MAX_FETCHED_BODY} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            let body = String::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
            Ok::<_, String>((status, body))
        };
        let started = worker::Date::now().as_millis();
        let timeout = Box::pin(worker::Delay::from(std::time::Duration::from_secs(5)));
        let outcome = match select(Box::pin(fetch), timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err("timed out after 5 s".into()),
        };
        let op = format!("GET {}", host_of(url));
        match &outcome {
            Ok((status, _)) => self
                .0
                .log("http", &op, started, &format!("http_{status}"), None),
            Err(e) => self.0.log("http", &op, started, "error", Some(e)),
        }
        outcome
    }

    async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<u16, String> {
        WebhookSender::post(self, url, headers, body).await
    }
}
