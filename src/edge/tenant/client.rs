//! The adapter the app calls the tenant object through: one call per
//! gate, usage or idempotency operation, each in the request's log line.

use super::{Call, Op};
use crate::edge::observe::Obs;
use crate::gate::{Answer, Ask, MonthCharge, Settle};
use crate::idempotency::{Outcome, StoredResponse};
use crate::ports::{Gate, IdempotencyStore, StoreError, StoreResult, UsageMeter};
use crate::usage::{Charge, Charged, Totals};
use serde::Deserialize;
use worker::ObjectNamespace;

/// Calls the tenant's gate object (each call in the request's log line).
pub struct DoTenant(
    pub Option<ObjectNamespace>,
    pub Obs,
    pub std::rc::Rc<crate::edge::regions::Regions>,
);

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Admit { .. } => "admit",
            Op::Bump => "bump",
            Op::Charge { .. } => "charge",
            Op::Totals { .. } => "totals",
            Op::Begin { .. } => "begin",
            Op::Complete { .. } => "complete",
            Op::Abandon { .. } => "abandon",
            Op::Settle { .. } => "settle",
            Op::Stream { .. } => "stream",
            Op::Flush => "flush",
            Op::ResetAudit => "reset audit",
            Op::DrainWrites { .. } => "drain writes",
        }
    }
}

/// The namespace's objects restricted to a jurisdiction
/// (`namespace.jurisdiction(region)`, which workers-rs does not wrap).
fn in_jurisdiction(ns: &ObjectNamespace, region: &str) -> StoreResult<ObjectNamespace> {
    use worker::wasm_bindgen::{JsCast, JsValue};
    let js: &JsValue = ns.as_ref();
    let call = || -> Result<JsValue, JsValue> {
        let f: worker::js_sys::Function =
            worker::js_sys::Reflect::get(js, &JsValue::from_str("jurisdiction"))?.dyn_into()?;
        f.call1(js, &JsValue::from_str(region))
    };
    call()
        .map(ObjectNamespace::unchecked_from_js)
        .map_err(|e| StoreError::Permanent(format!("jurisdiction {region}: {e:?}")))
}

impl DoTenant {
    async fn call<T: for<'de> Deserialize<'de>>(&self, tenant_id: &str, op: Op) -> StoreResult<T> {
        let ns = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("TENANT binding missing".into()))?;
        // A tenant of a data region has its object in that jurisdiction.
        let jurisdiction;
        let ns = match self.2.jurisdiction() {
            Some(region) => {
                jurisdiction = in_jurisdiction(ns, region)?;
                &jurisdiction
            }
            None => ns,
        };
        let name = op.name();
        let call = Call {
            tenant: tenant_id.to_string(),
            op,
        };
        let result = self
            .1
            .call("tenant", name, async {
                let mut resp =
                    crate::edge::objects::post_json(ns, tenant_id, "https://tenant/op", &call)
                        .await?;
                resp.json::<T>().await
            })
            .await;
        result.map_err(|e| StoreError::Transient(e.to_string()))
    }
}

impl Gate for DoTenant {
    async fn admit(&self, tenant_id: &str, ask: &Ask) -> StoreResult<Answer> {
        self.call(tenant_id, Op::Admit { ask: ask.clone() }).await
    }

    async fn bump(&self, tenant_id: &str) -> StoreResult<u64> {
        self.call(tenant_id, Op::Bump).await
    }

    async fn settle(&self, tenant_id: &str, work: &Settle) -> StoreResult<()> {
        let op = Op::Settle { work: work.clone() };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn hold_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<bool> {
        let op = Op::Stream {
            key: key.to_string(),
            id: stream_id.to_string(),
            hold: true,
        };
        self.call(tenant_id, op).await
    }

    async fn drop_stream(&self, tenant_id: &str, key: &str, stream_id: &str) -> StoreResult<()> {
        let op = Op::Stream {
            key: key.to_string(),
            id: stream_id.to_string(),
            hold: false,
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn flush(&self, tenant_id: &str) -> StoreResult<()> {
        self.call::<bool>(tenant_id, Op::Flush).await.map(|_| ())
    }

    async fn reset_audit(&self, tenant_id: &str) -> StoreResult<()> {
        self.call::<bool>(tenant_id, Op::ResetAudit)
            .await
            .map(|_| ())
    }

    async fn drain_writes(&self, tenant_id: &str, wait_ms: u64) -> StoreResult<u64> {
        self.call(tenant_id, Op::DrainWrites { wait_ms }).await
    }
}

impl UsageMeter for DoTenant {
    async fn charge(&self, tenant_id: &str, month: &str, charge: &Charge) -> StoreResult<Charged> {
        let charge = MonthCharge {
            month: month.to_string(),
            charge: charge.clone(),
        };
        self.call(tenant_id, Op::Charge { charge }).await
    }

    async fn totals(&self, tenant_id: &str, month: &str) -> StoreResult<Totals> {
        let op = Op::Totals {
            month: month.to_string(),
        };
        self.call(tenant_id, op).await
    }
}

impl IdempotencyStore for DoTenant {
    async fn begin(&self, tenant_id: &str, key: &str, fingerprint: &str) -> StoreResult<Outcome> {
        let op = Op::Begin {
            key: key.to_string(),
            fingerprint: fingerprint.to_string(),
        };
        self.call(tenant_id, op).await
    }

    async fn complete(
        &self,
        tenant_id: &str,
        key: &str,
        response: &StoredResponse,
    ) -> StoreResult<()> {
        let op = Op::Complete {
            key: key.to_string(),
            response: response.clone(),
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }

    async fn abandon(&self, tenant_id: &str, key: &str) -> StoreResult<()> {
        let op = Op::Abandon {
            key: key.to_string(),
        };
        self.call::<bool>(tenant_id, op).await.map(|_| ())
    }
}
