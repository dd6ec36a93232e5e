//! `GET /v1/llm/training-data`: the tenant's fine-tuning export. Jobs
//! created with `"llm_training_opt_in": true` keep each accepted LLM prompt
//! and answer; this returns them as JSONL in the OpenAI chat fine-tuning
//! format (`{"messages": [system, user, assistant]}` per line), a page at a
//! time, newest documents' pairs in storage order.

use super::App;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::jobs::training_prefix;
use crate::llm::engine::TrainingPair;
use crate::ports::{BlobStore, Ports};

const DEFAULT_PAGE: u32 = 200;
const MAX_PAGE: u32 = 1000;

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub async fn export<P: Ports>(
    app: &App<P>,
    req: &Request,
    who: &Principal,
) -> Result<Response, ApiError> {
    let limit = super::page_limit(req, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = req.query_param("cursor");
    if cursor
        .as_ref()
        .is_some_and(|c| c.is_empty() || c.len() > 2048)
    {
        return Err(ApiError::Invalid(
            "invalid_cursor",
            "cursor must be the next cursor of a previous page".into(),
        ));
    }
    let metadata = super::query_choice(req, "metadata", &["true", "false"])? == Some("true");
    let command = req.query_param("command");
    let prefix = training_prefix(&who.tenant_id, None);
    let (keys, next) = app.blobs.list(&prefix, cursor.as_deref(), limit).await?;
    let mut body = String::new();
    let mut count = 0u32;
    for (key, _) in keys {
        let Some(bytes) = app.blobs.get(&key).await? else {
            continue;
        };
        // A pair we cannot read is skipped, not fatal to the export.
        let Ok(pair) = serde_json::from_slice::<TrainingPair>(&bytes) else {
            continue;
        };
        let wanted = command.as_deref().is_none_or(|c| {
            pair.command == c
                || pair
                    .command
                    .strip_prefix("batch:")
                    .is_some_and(|b| b.split('+').any(|x| x == c))
        });
        if wanted {
            body.push_str(&pair.jsonl_line(metadata));
            body.push('\n');
            count += 1;
        }
    }
    let mut resp = Response::new(200)
        .with_header("content-type", "application/jsonl; charset=utf-8")
        .with_header("cache-control", "no-store")
        .with_header("x-record-count", &count.to_string())
        .with_body(body.into_bytes());
    if let Some(next) = next {
        resp.set_header("x-next-cursor", &next);
        resp.set_header(
            "link",
            &format!(
                "</v1/llm/training-data?limit={limit}&cursor={}>; rel=\"next\"",
                encode(&next)
            ),
        );
    }
    Ok(resp)
}
