//! The usage object of earlier releases (one per tenant and month). Usage
//! now lives in the tenant's gate object (`tenant.rs`), which reads a
//! month's totals from here once, so a month under way keeps its count
//! across the upgrade. Kept until no month it holds is current; then
//! removed with a `deleted_classes` migration.

use crate::usage::{apply, Charge, Charged, Totals};
use serde::{Deserialize, Serialize};
use worker::{durable_object, Env, Request, Response, State};

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
