//! `POST /v1/tenants/{id}/move` (operator): relocates a tenant's rows to
//! another database shard with a short write freeze and nothing lost.
//!
//! The freeze comes first (writes get 503 with `Retry-After`; reads go on
//! from the old shard), then every isolate's cached credentials are made
//! stale so they see it (a move whose bump fails does not go on), then
//! the move waits for the writes the tenant's gate admitted before the
//! freeze to end ([`DRAIN_MS`] at most: a write still running after it
//! makes the tenant busy), and the gate writes out the audit entries it
//! holds. A tenant with work in flight (jobs queued or running, uploads
//! open, webhooks pending) is not moved: the freeze is lifted and the
//! operator told to retry. Otherwise its rows are copied, copied again
//! for whatever landed meanwhile, and counted on both sides; only when every table's counts
//! agree does the directory point at the new shard; what reached the old
//! one meanwhile is copied once more, and the old copy is deleted. The audit entries move with their sequence numbers and hashes,
//! so the chain verifies as before.

use super::tenants::operator_audit;
use super::{App, Ctx};
use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::ports::{Gate, Ports, ShardStore, TenantStore};
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveTenant {
    shard: u32,
}

fn counted(rows: &[(String, u64)]) -> Map<String, Value> {
    rows.iter().map(|(t, n)| (t.clone(), json!(n))).collect()
}

/// The tenant's shard and the one asked for, checked.
async fn route<P: Ports>(app: &App<P>, req: &Request, id: &str) -> Result<(u32, u32), ApiError> {
    let body: MoveTenant = crate::strict::object(&req.body).map_err(|e| {
        ApiError::Invalid(
            "invalid_body",
            format!("invalid move: {e}; send {{\"shard\": <number>}}"),
        )
    })?;
    let to = body.shard;
    let shards = app.meta.shard_count();
    if to >= shards {
        return Err(ApiError::Invalid(
            "no_such_shard",
            format!(
                "shard {to} does not exist; this deployment has {shards} (0 to {})",
                shards - 1
            ),
        ));
    }
    let tenant = app
        .meta
        .get_tenant(id)
        .await?
        .ok_or_else(|| ApiError::NotFound("tenant".into()))?;
    let from = tenant.shard;
    if from == to {
        return Err(ApiError::Conflict(
            "already_on_shard",
            format!("tenant {id} is already on shard {to}"),
        ));
    }
    // Residency: a tenant's documents stay in its region's bucket, which
    // follows its shard; it moves only between shards of its region.
    let region = app.config.shard_regions.of(to);
    if region != tenant.data_region.as_deref() {
        return Err(ApiError::Invalid(
            "region_mismatch",
            format!(
                "shard {to} is in region {}, tenant {id} keeps its data in {}",
                region.unwrap_or("none"),
                tenant.data_region.as_deref().unwrap_or("none")
            ),
        ));
    }
    Ok((from, to))
}

pub async fn move_tenant<P: Ports>(
    app: &App<P>,
    req: &Request,
    ctx: &Ctx,
    id: &str,
) -> Result<Response, ApiError> {
    let (from, to) = route(app, req, id).await?;
    // The tenant's gate (epoch, audit outbox) is in its shard's region,
    // which the new shard shares.
    app.enter_for(ctx, from);
    if !app.meta.begin_move(id, ctx.now_ms).await? {
        return Err(ApiError::Conflict(
            "move_in_progress",
            format!("tenant {id} is already being moved"),
        ));
    }
    let moved = match freeze(app, id).await {
        Ok(()) => copy_over(app, id, from, to).await,
        Err(e) => Err(e),
    };
    match moved {
        Ok(copied) => {
            let dropped = switch(app, ctx, id, (from, to)).await?;
            if let Err(e) = &dropped {
                ctx.warn(format!(
                    "tenant {id} moved, old rows on shard {from} not deleted: {e}"
                ));
            }
            operator_audit(
                req,
                ctx,
                id,
                "tenant.moved",
                json!({"from": from, "to": to, "rows": counted(&copied)}),
            );
            Ok(Response::json(
                200,
                &json!({
                    "id": id, "from": from, "to": to,
                    "rows": counted(&copied),
                    "old_rows_deleted": dropped.is_ok(),
                }),
            ))
        }
        Err(e) => {
            // Nothing changed for the tenant: it stays where it was and
            // may write again.
            app.meta.end_move(id, None).await?;
            super::gate::bump(app, id, ctx).await;
            Err(e)
        }
    }
}

/// The longest a move waits for writes admitted before its freeze.
pub const DRAIN_MS: u64 = 10_000;

/// Makes the freeze hold: every cached credential stale (or the move does
/// not go on), then no write admitted before it still running.
async fn freeze<P: Ports>(app: &App<P>, id: &str) -> Result<(), ApiError> {
    // Without the bump, cached credentials would not see the freeze and
    // writes could land on the old shard during the copy.
    app.gate.bump(id).await?;
    let running = app.gate.drain_writes(id, DRAIN_MS).await?;
    if running > 0 {
        return Err(ApiError::Conflict(
            "tenant_busy",
            format!(
                "tenant {id} has {running} writes admitted before the move still running \
                 after {} s; retry the move when they are done",
                DRAIN_MS / 1000
            ),
        ));
    }
    Ok(())
}

/// Points the directory at the new shard (the freeze ends), then deletes
/// the old copy; whether that deletion went through.
async fn switch<P: Ports>(
    app: &App<P>,
    ctx: &Ctx,
    id: &str,
    (from, to): (u32, u32),
) -> Result<crate::ports::StoreResult<()>, ApiError> {
    app.meta.end_move(id, Some(to)).await?;
    super::gate::bump(app, id, ctx).await;
    // What reached the old shard between the last copy and the switch (an
    // audit entry of a read during the freeze, written out by the gate) is
    // carried over before the old copy goes: the chain must not lose a
    // link. From here on everything is written to the new shard.
    let _ = app.gate.flush(id).await;
    Ok(match app.meta.copy_tenant(id, from, to, true).await {
        // The old copy goes last: until here the old shard still had
        // everything. A failure leaves rows no query reaches (the
        // directory points at the new shard); it is reported.
        Ok(_) => app.meta.drop_tenant(id, from).await,
        Err(e) => Err(e),
    })
}

/// Copies the tenant's rows and checks the copy; the rows per table.
async fn copy_over<P: Ports>(
    app: &App<P>,
    id: &str,
    from: u32,
    to: u32,
) -> Result<Vec<(String, u64)>, ApiError> {
    app.meta.enter(from);
    let _ = app.gate.flush(id).await;
    let busy = app.meta.busy(id).await?;
    if busy > 0 {
        return Err(ApiError::Conflict(
            "tenant_busy",
            format!(
                "tenant {id} has {busy} jobs, uploads or webhook deliveries in flight; \
                 retry the move when they are done"
            ),
        ));
    }
    // Rows a failed earlier move may have left there would make the
    // counts disagree: the new shard starts without any of the tenant's.
    app.meta.drop_tenant(id, to).await?;
    app.meta.copy_tenant(id, from, to, false).await?;
    // What landed while the first copy ran (audit entries the gate held,
    // a write admitted just before the freeze).
    let _ = app.gate.flush(id).await;
    app.meta.copy_tenant(id, from, to, true).await?;
    let there = app.meta.count_tenant(id, from).await?;
    let here = app.meta.count_tenant(id, to).await?;
    if there != here {
        let _ = app.meta.drop_tenant(id, to).await;
        return Err(ApiError::Unavailable("move_incomplete"));
    }
    Ok(here)
}
