//! Usage counters in a Durable Object per tenant and month (strongly
//! consistent: one object serialises all of a tenant's charges), and the
//! adapter that calls it.

use crate::ports::{StoreError, StoreResult, UsageMeter};
use crate::usage::{apply, Charge, Charged, Totals};
use serde::{Deserialize, Serialize};
use worker::{durable_object, Env, ObjectNamespace, Request, Response, State};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Charge { charge: Charge },
    Totals,
}

#[durable_object]
pub struct UsageObject {
    state: State,
}

impl worker::DurableObject for UsageObject {
    fn new(state: State, _env: Env) -> Self {
        UsageObject { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let storage = self.state.storage();
        // Read, update and write with no other event in between (storage
        // calls close the input gate), so concurrent charges cannot both
        // slip under the budget.
        let mut totals: Totals = storage.get("totals").await?.unwrap_or_default();
        match req.json::<Op>().await? {
            Op::Charge { charge } => {
                let marker = charge.once.as_ref().map(|id| format!("once:{id}"));
                if let Some(m) = &marker {
                    if storage.get::<bool>(m).await?.is_some() {
                        let total = totals.get(&charge.metric).copied().unwrap_or(0);
                        return Response::from_json(&Charged {
                            allowed: true,
                            total,
                        });
                    }
                }
                let charged = apply(&mut totals, &charge);
                if charged.allowed {
                    storage.put("totals", &totals).await?;
                    if let Some(m) = &marker {
                        storage.put(m, true).await?;
                    }
                }
                Response::from_json(&charged)
            }
            Op::Totals => Response::from_json(&totals),
        }
    }
}

/// Calls the tenant's object for the month.
pub struct DoUsage(pub Option<ObjectNamespace>);

impl DoUsage {
    async fn call<T: for<'de> Deserialize<'de>>(&self, name: &str, op: &Op) -> StoreResult<T> {
        let ns = self
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Permanent("USAGE binding missing".into()))?;
        let result = async {
            let mut resp = super::objects::post_json(ns, name, "https://usage/op", op).await?;
            resp.json::<T>().await
        }
        .await;
        result.map_err(|e| {
            worker::console_log!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "usage meter unavailable", "error": e.to_string()})
            );
            StoreError::Transient(e.to_string())
        })
    }
}

impl UsageMeter for DoUsage {
    async fn charge(&self, tenant_id: &str, month: &str, charge: &Charge) -> StoreResult<Charged> {
        let op = Op::Charge {
            charge: charge.clone(),
        };
        self.call(&format!("{tenant_id}:{month}"), &op).await
    }

    async fn totals(&self, tenant_id: &str, month: &str) -> StoreResult<Totals> {
        self.call(&format!("{tenant_id}:{month}"), &Op::Totals)
            .await
    }
}
