//! The in-memory world the application tests drive: an App over fakes,
//! a manual clock, seeded tenants and keys, and request helpers.

pub use crate::{
    CountingEntropy, LlmScript, ManualClock, MemBlobs, MemBreakers, MemDirectory, MemGate, MemHttp,
    MemLimiter, MemMeta, MemPorts, MemQueue, MemWebhooks, ScriptedLlm, ScriptedSender,
};
pub use futures::executor::block_on;
pub use quire::app::{App, Ctx};
pub use quire::auth::{hash_key, ApiKey, Role};
pub use quire::config::Config;
pub use quire::crypto::blobs::EncryptedBlobs;
pub use quire::http::{Method, Request, Response};
pub use quire::jobs::runner::{process_delivery, RunnerLimits, RunnerPorts};
pub use quire::jobs::Disposition;
use quire::ports::BlobStore;
pub use quire::webhooks::runner::process_webhook;
pub use serde_json::Value;

pub const PEPPER: &str = "test-pepper-0123456789";
pub const ADMIN: &str = "qk_test_admin000000000000000000000000";
pub const OTHER_TENANT: &str = "qk_test_other000000000000000000000000";
pub const OPERATOR: &str = "op_test_operator_key_0123456789";
pub const FREE_TENANT: &str = "qk_test_free0000000000000000000000000";

pub type TestApp = App<MemPorts>;

pub struct World {
    pub app: TestApp,
    pub clock: ManualClock,
    pub llm: ScriptedLlm,
    /// What the OCR engine answers (tests set `ocr.words`).
    pub ocr: crate::ScriptedOcr,
}

pub fn key(id: &str, tenant: &str, secret: &str, role: Role) -> ApiKey {
    ApiKey {
        id: id.into(),
        tenant_id: tenant.into(),
        name: id.into(),
        prefix: secret[..14].into(),
        hash: hash_key(PEPPER, secret),
        role,
        user_id: None,
        scopes: None,
        created_at_ms: 0,
        expires_at_ms: None,
        last_used_at_ms: None,
        revoked_at_ms: None,
        rotated_to: None,
        rate_limits: vec![],
        tenant_active: true,
        tenant_retention_days: None,
        tenant_shard: 0,
        tenant_moving: false,
        plan: if tenant == "ten_free" {
            "free".into()
        } else {
            "standard".into()
        },
    }
}

pub fn spawn_app() -> World {
    spawn_app_with(&[])
}

/// The test settings, `extra` winning over the defaults below.
fn test_config(extra: &[(&str, &str)]) -> Config {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| {
        if let Some((_, v)) = extra.iter().find(|(name, _)| name == k) {
            return Some(v.clone());
        }
        match k {
            "API_KEY_PEPPER" => Some(PEPPER.into()),
            "MASTER_KEYS" => Some("k1:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=".into()),
            "OPERATOR_API_KEY" => Some(OPERATOR.into()),
            "ALLOW_LOCAL_URLS" => Some("true".into()),
            "MAX_UPLOAD_BYTES" => Some("1000".into()),
            "JOB_MAX_ATTEMPTS" => Some("3".into()),
            "MAX_ACTIVE_JOBS_PER_TENANT" => Some("3".into()),
            "USAGE_BUDGETS" => Some("requests=1000,stored_bytes=5000,pages=20".into()),
            "PLAN_RATE_LIMITS" => Some("free:read=2/60".into()),
            "PLAN_BUDGETS" => Some("free:stored_bytes=10".into()),
            _ => None,
        }
    })
    .unwrap()
}

/// The world with extra settings (they win over the defaults).
pub fn spawn_app_with(extra: &[(&str, &str)]) -> World {
    let config = test_config(extra);
    let meta = MemMeta::default();
    meta.keys
        .borrow_mut()
        .push(key("key_admin", "ten_a", ADMIN, Role::Owner));
    meta.keys
        .borrow_mut()
        .push(key("key_other", "ten_b", OTHER_TENANT, Role::Admin));
    meta.keys
        .borrow_mut()
        .push(key("key_free", "ten_free", FREE_TENANT, Role::Admin));
    let master_keys = config.master_keys.clone();
    let directory = MemDirectory::default();
    let gate = MemGate::new(directory.audit.clone());
    World {
        app: App {
            config,
            meta,
            blobs: EncryptedBlobs {
                inner: MemBlobs::default(),
                keys: master_keys,
                entropy: CountingEntropy::default(),
                plain: false,
                cipher: quire::crypto::RustCipher,
            },
            queue: MemQueue::default(),
            entropy: CountingEntropy::default(),
            webhooks: MemWebhooks::default(),
            limiter: MemLimiter::default(),
            gate,
            credentials: Default::default(),
            directory,
            http: MemHttp::default(),
            breakers: MemBreakers::default(),
            ops: crate::MemOps::default(),
            signatures: crate::PureSignatures,
        },
        clock: ManualClock::at(1_700_000_000_000),
        llm: ScriptedLlm::default(),
        ocr: crate::ScriptedOcr::default(),
    }
}

impl World {
    pub fn send(&self, req: Request) -> Response {
        self.clock.advance(1);
        let ctx = Ctx::new(self.clock.0.get(), "req_test");
        let mut resp = block_on(self.app.handle(&req, &ctx));
        // What the edge leaves to waitUntil, done before the next request.
        let failed = block_on(self.app.finish(ctx.take_after()));
        assert!(
            failed.is_empty(),
            "work after the response failed: {failed:?}"
        );
        // What the edge streams, read the same way: a chunk at a time.
        if let Some(quire::http::StreamSpec::Blob {
            key,
            size,
            start,
            len,
            ..
        }) = resp.stream.clone()
        {
            let mut pos = start;
            while pos < start + len {
                let n = quire::documents::STREAM_CHUNK.min(start + len - pos);
                let chunk = block_on(self.app.blobs.read_range(&key, size, pos, n))
                    .expect("stream chunk")
                    .expect("object");
                assert_eq!(chunk.len() as u64, n, "a chunk of the promised length");
                resp.body.extend(chunk);
                pos += n;
            }
        }
        resp
    }

    pub fn as_admin(&self, method: Method, path: &str) -> Request {
        Request::new(method, path).with_header("authorization", &format!("Bearer {ADMIN}"))
    }

    pub fn upload(&self, content_type: &str, body: &[u8]) -> Response {
        self.send(
            self.as_admin(Method::Post, "/v1/documents")
                .with_header("content-type", content_type)
                .with_body(body.to_vec()),
        )
    }

    pub fn upload_id(&self, content_type: &str, body: &[u8]) -> String {
        let resp = self.upload(content_type, body);
        assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
        resp.json_body()["id"].as_str().unwrap().to_string()
    }

    pub fn create_job(&self, doc_id: &str) -> Response {
        let body = format!(r#"{{"document_id":"{doc_id}","commands":[{{"name":"extract"}}]}}"#);
        self.send(self.as_admin(Method::Post, "/v1/jobs").with_body(body))
    }

    pub fn job_id(&self, doc_id: &str) -> String {
        let resp = self.create_job(doc_id);
        assert_eq!(resp.status, 202, "{}", String::from_utf8_lossy(&resp.body));
        resp.json_body()["id"].as_str().unwrap().to_string()
    }

    pub fn deliver(&self, job_id: &str) -> Disposition {
        self.deliver_with_ocr(job_id, &self.ocr)
    }

    /// A delivery whose OCR engine is `ocr`.
    pub fn deliver_with_ocr(&self, job_id: &str, ocr: &dyn quire::ports::Ocr) -> Disposition {
        let limits = RunnerLimits::of(&self.app.config);
        block_on(process_delivery(self.runner_ports(ocr), limits, job_id))
    }

    /// A delivery of one part of a split job.
    pub fn deliver_part(&self, job_id: &str, part: u32) -> Disposition {
        let limits = RunnerLimits::of(&self.app.config);
        let ports = self.runner_ports(&self.ocr);
        block_on(quire::jobs::runner::parts::process_part(
            ports, limits, job_id, part,
        ))
    }

    /// Delivers every message on the queue, and those they send, in order;
    /// retried ones again. The deliveries made.
    pub fn drain_queue(&self) -> usize {
        let mut at = 0;
        while at < self.app.queue.sent.borrow().len() {
            let msg = self.app.queue.sent.borrow()[at].clone();
            at += 1;
            let outcome = match msg.part {
                Some(part) => self.deliver_part(&msg.job_id, part),
                None => self.deliver(&msg.job_id),
            };
            if outcome != Disposition::Ack {
                self.app.queue.sent.borrow_mut().push(msg);
            }
            assert!(at < 10_000, "the queue never drains");
        }
        at
    }

    fn runner_ports<'a>(
        &'a self,
        ocr: &'a dyn quire::ports::Ocr,
    ) -> RunnerPorts<
        'a,
        MemMeta,
        EncryptedBlobs<MemBlobs, CountingEntropy>,
        ManualClock,
        MemWebhooks,
        MemQueue,
        MemGate,
        ScriptedLlm,
        MemBreakers,
    > {
        self.app.breakers.now_ms.set(self.clock.0.get());
        RunnerPorts {
            meta: &self.app.meta,
            blobs: &self.app.blobs,
            clock: &self.clock,
            webhooks: &self.app.webhooks,
            queue: &self.app.queue,
            usage: &self.app.gate,
            llm: &self.llm,
            breakers: &self.app.breakers,
            llm_config: &self.app.config.llm,
            ocr,
        }
    }

    /// The job ids sent to the queue, in order.
    pub fn sent_job_ids(&self) -> Vec<String> {
        let sent = self.app.queue.sent.borrow();
        sent.iter().map(|m| m.job_id.clone()).collect()
    }

    pub fn job(&self, job_id: &str) -> Value {
        self.send(self.as_admin(Method::Get, &format!("/v1/jobs/{job_id}")))
            .json_body()
    }
}

pub fn job_with(w: &World, doc_id: &str, commands: &str) -> String {
    let body = format!(r#"{{"document_id":"{doc_id}","commands":{commands}}}"#);
    let resp = w.send(w.as_admin(Method::Post, "/v1/jobs").with_body(body));
    assert_eq!(resp.status, 202, "{}", String::from_utf8_lossy(&resp.body));
    resp.json_body()["id"].as_str().unwrap().to_string()
}

pub fn result_of(w: &World, job_id: &str, command: &str) -> Value {
    let resp = w.send(w.as_admin(
        Method::Get,
        &format!("/v1/jobs/{job_id}/result?command={command}"),
    ));
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    resp.json_body()
}

/// Adds an active tenant record (the seeded keys work without one; routes
/// that read the tenant need it).
pub fn seed_tenant(w: &World, id: &str) {
    w.app.meta.tenants.borrow_mut().insert(
        id.into(),
        quire::tenants::Tenant {
            id: id.into(),
            name: id.into(),
            plan: "standard".into(),
            status: "active".into(),
            created_at_ms: 0,
            llm_tiers: None,
            retention_days: None,
            shard: 0,
            data_region: None,
            moving_since_ms: None,
        },
    );
}

/// The `id` of what a response created, after checking its status.
pub fn created_id(resp: &Response, status: u16) -> String {
    assert_eq!(
        resp.status,
        status,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    resp.json_body()["id"].as_str().unwrap().to_string()
}

pub fn assert_problem(resp: &Response, status: u16, code: &str) {
    assert_eq!(
        resp.status,
        status,
        "{}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_eq!(
        resp.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(resp.json_body()["code"], code);
    assert_eq!(resp.json_body()["request_id"], "req_test");
    assert_eq!(resp.header("x-request-id"), Some("req_test"));
}
