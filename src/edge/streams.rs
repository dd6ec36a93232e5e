//! Responses whose bodies stream: a stored object, read and decrypted a
//! chunk of segments at a time, and a job's event stream.

use super::*;
use crate::app::Ctx;

/// A response whose body streams: a stored object (decrypted segment by
/// segment) or a job's event stream; `None` for a body held in memory.
pub(super) fn stream(
    env: &Env,
    c: &Config,
    obs: &Obs,
    ctx: &Ctx,
    resp: &http::Response,
) -> worker::Result<Option<Response>> {
    match resp.stream.clone() {
        Some(http::StreamSpec::Blob {
            key,
            shard,
            size,
            start,
            len,
        }) => {
            let dbs = d1::Databases::of(env)?;
            dbs.enter(shard);
            let regions = regions::Regions::bind(env, dbs, c)?;
            let blobs = EncryptedBlobs {
                inner: R2Blobs(env.bucket("DOCUMENTS")?, obs.clone(), None, regions),
                keys: c.master_keys.clone(),
                entropy: CryptoEntropy,
                plain: !c.encrypt_at_rest,
                cipher: webcrypto::WebCryptoCipher::new()
                    .map_err(|e| worker::Error::RustError(e.to_string()))?,
            };
            let headers = headers_of(resp)?;
            let body = blob_stream(blobs, key, size, start, len, ctx.request_id.clone());
            // A fixed-length stream, so the response keeps its
            // Content-Length and a client can tell a cut-short body from a
            // whole one.
            let fixed: worker::worker_sys::FixedLengthStream =
                worker::FixedLengthStream::wrap(body, len).into();
            let out = Response::from_body(worker::ResponseBody::Stream(fixed.readable()))?
                .with_status(resp.status)
                .with_headers(headers);
            Ok(Some(out))
        }
        Some(http::StreamSpec::JobEvents {
            tenant_id,
            shard,
            job_id,
            key_id,
            slot,
        }) => {
            let Ok(dbs) = d1::Databases::of(env) else {
                return Ok(None);
            };
            dbs.enter(shard);
            let regions = regions::Regions::bind(env, dbs.clone(), c)?;
            let gate = tenant::DoTenant(env.durable_object("TENANT").ok(), obs.clone(), regions);
            let slot = slot.map(|s| (gate, s));
            let body =
                events::job_events(D1Meta(dbs, obs.clone()), slot, tenant_id, job_id, key_id);
            let headers = headers_of(resp)?;
            Ok(Some(Response::from_stream(body)?.with_headers(headers)))
        }
        None => Ok(None),
    }
}

/// A stored object's bytes `start .. start + len`, read and decrypted a
/// chunk of segments at a time: memory stays at one chunk whatever the
/// size. A failure mid-way ends the stream with an error, so the client
/// sees a body shorter than its `Content-Length`, never wrong bytes.
fn blob_stream(
    blobs: EncryptedBlobs<R2Blobs, CryptoEntropy, webcrypto::WebCryptoCipher>,
    key: String,
    size: u64,
    start: u64,
    len: u64,
    request_id: String,
) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>> {
    use crate::ports::BlobStore;
    let end = start + len;
    let blobs = std::rc::Rc::new(blobs);
    futures_util::stream::unfold(Some(start), move |pos| {
        let (blobs, key, request_id) = (blobs.clone(), key.clone(), request_id.clone());
        async move {
            let pos = pos.filter(|p| *p < end)?;
            let n = crate::documents::STREAM_CHUNK.min(end - pos);
            match blobs.read_range(&key, size, pos, n).await {
                Ok(Some(chunk)) if chunk.len() as u64 == n => Some((Ok(chunk), Some(pos + n))),
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        _ => "object missing or shorter than recorded".into(),
                    };
                    log(json!({"level": "error", "msg": "download stream failed",
                        "request_id": request_id, "offset": pos, "error": why}));
                    Some((Err(worker::Error::RustError(why)), None))
                }
            }
        }
    })
}
