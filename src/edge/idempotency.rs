//! The idempotency object of earlier releases (one per tenant). Records
//! now live in the tenant's gate object (`tenant.rs`); this one is no
//! longer written, and its alarm clears what it still holds within 24 h.
//! Then it is removed with a `deleted_classes` migration.

use crate::idempotency::{begin, Entry, StoredResponse};
use serde::{Deserialize, Serialize};
use worker::{durable_object, Env, ListOptions, Request, Response, State};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Op {
    Begin {
        key: String,
        fingerprint: String,
    },
    Complete {
        key: String,
        response: StoredResponse,
    },
    Abandon {
        key: String,
    },
}

#[durable_object]
pub struct IdempotencyObject {
    state: State,
}

fn storage_key(key: &str) -> String {
    format!("k:{key}")
}

impl IdempotencyObject {
    /// Makes sure an alarm will clear this entry when it expires.
    async fn schedule(&self, at_ms: u64) -> worker::Result<()> {
        let storage = self.state.storage();
        match storage.get_alarm().await? {
            Some(current) if current <= at_ms as i64 => Ok(()),
            _ => storage.set_alarm(at_ms as i64).await,
        }
    }
}

impl worker::DurableObject for IdempotencyObject {
    fn new(state: State, _env: Env) -> Self {
        IdempotencyObject { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis();
        match req.json::<Op>().await? {
            Op::Begin { key, fingerprint } => {
                let existing: Option<Entry> = storage.get(&storage_key(&key)).await?;
                let (outcome, entry) = begin(existing.as_ref(), &fingerprint, now);
                if let Some(entry) = entry {
                    let expires = entry.expires_ms;
                    storage.put(&storage_key(&key), entry).await?;
                    self.schedule(expires).await?;
                }
                Response::from_json(&outcome)
            }
            Op::Complete { key, response } => {
                let existing: Option<Entry> = storage.get(&storage_key(&key)).await?;
                if let Some(mut entry) = existing {
                    entry.response = Some(response);
                    storage.put(&storage_key(&key), entry).await?;
                }
                Response::empty()
            }
            Op::Abandon { key } => {
                storage.delete(&storage_key(&key)).await?;
                Response::empty()
            }
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        let now = worker::Date::now().as_millis();
        let all = storage
            .list_with_options(ListOptions::new().prefix("k:"))
            .await?;
        let mut expired = Vec::new();
        let mut next: Option<u64> = None;
        for item in all.entries() {
            let pair = js_sys_pair(item?);
            let Some((key, value)) = pair else { continue };
            let Ok(entry) = worker::serde_wasm_bindgen::from_value::<Entry>(value) else {
                expired.push(key);
                continue;
            };
            if entry.expires_ms <= now {
                expired.push(key);
            } else {
                next = Some(next.map_or(entry.expires_ms, |n| n.min(entry.expires_ms)));
            }
        }
        for chunk in expired.chunks(128) {
            storage.delete_multiple(chunk.to_vec()).await?;
        }
        if let Some(at) = next {
            storage.set_alarm(at as i64).await?;
        }
        Response::empty()
    }
}

/// A `[key, value]` entry of a JS Map iterator.
fn js_sys_pair(
    item: worker::wasm_bindgen::JsValue,
) -> Option<(String, worker::wasm_bindgen::JsValue)> {
    let arr = worker::js_sys::Array::from(&item);
    Some((arr.get(0).as_string()?, arr.get(1)))
}
