//! What one run of a job used: wall time per step, bytes read from
//! storage, pages, and the Wasm memory of the isolate that ran it. Kept on
//! the job when it succeeds (`GET /v1/jobs/{id}`), summed per tenant and
//! day in `GET /v1/usage` and per tenant in `/v1/admin/metrics` (the top
//! consumers).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    /// Wall time of each step of the run that succeeded, in ms: reading
    /// the job and its document record, the extraction (the stored one, or
    /// reading the bytes and extracting them), the LLM commands, the
    /// others (results stored included).
    pub prepare_ms: u64,
    pub extract_ms: u64,
    pub llm_ms: u64,
    pub commands_ms: u64,
    /// Bytes read from object storage: the document, or its stored
    /// extraction, OCR models, LLM cache entries.
    pub bytes_read: u64,
    pub pages: u32,
    /// The Wasm linear memory of the isolate when the run ended. It only
    /// grows, so it is the isolate's high-water mark, this run included.
    pub wasm_memory_bytes: u64,
}

impl Resources {
    /// The run's wall time over all its steps.
    pub fn total_ms(&self) -> u64 {
        self.prepare_ms + self.extract_ms + self.llm_ms + self.commands_ms
    }
}

/// The isolate's Wasm memory now (0 natively, where there is none).
pub fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        core::arch::wasm32::memory_size(0) as u64 * 65_536
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// What [`ResourceSum`]s are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumBy<'a> {
    /// One tenant's, per UTC day (`YYYY-MM-DD`).
    DayOf(&'a str),
    /// Every tenant's, per tenant, the busiest (processing time) first.
    Tenant,
    /// Everything, as one row (`all`).
    All,
}

/// What succeeded jobs used, summed over a group (a day or a tenant).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceSum {
    pub key: String,
    pub jobs: u64,
    pub processing_ms: u64,
    pub bytes_read: u64,
    pub pages: u64,
}

impl ResourceSum {
    pub fn add(&mut self, r: &Resources) {
        self.jobs += 1;
        self.processing_ms += r.total_ms();
        self.bytes_read += r.bytes_read;
        self.pages += u64::from(r.pages);
    }
}
