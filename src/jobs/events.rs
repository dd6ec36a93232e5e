//! Server-Sent Events for `GET /v1/jobs/{id}/events`: the frames, pure.
//! The edge polls the job and writes a frame each time it changes, and a
//! final `done` frame when it ends.

use super::Job;

/// How often the edge looks at the job, and for how long at most before
/// it ends the stream (clients reconnect; `retry:` tells them when).
pub const POLL_MS: u64 = 500;
pub const MAX_STREAM_MS: u64 = 5 * 60 * 1000;

/// The frame for the job's current state: `progress` while it runs,
/// `done` once it has ended. `data` is the job as `GET /v1/jobs/{id}`
/// returns it.
pub fn frame(job: &Job, seq: u64) -> String {
    let event = if job.status.is_terminal() {
        "done"
    } else {
        "progress"
    };
    let mut view = serde_json::to_value(job.view()).unwrap_or_default();
    // A stream may be opened by a reader of a shared document: where the
    // job reports is shown as its origin only.
    if let Some(url) = job.webhook_url.as_deref() {
        view["webhook_url"] = crate::webhooks::origin_of(url).into();
    }
    let data = serde_json::to_string(&view).unwrap_or_else(|_| "{}".into());
    format!("id: {seq}\nevent: {event}\nretry: 2000\ndata: {data}\n\n")
}

/// Sent when the job disappeared (its document was deleted).
pub const GONE: &str = "event: gone\ndata: {}\n\n";
/// Sent when the key that opened the stream was revoked or expired.
pub const REVOKED: &str = "event: revoked\ndata: {}\n\n";
/// Every how many polls the stream checks its credential (10 s).
pub const VERIFY_EVERY: u64 = 20;
/// Sent when the stream reaches its time limit before the job ended.
pub const TIMEOUT: &str = "event: timeout\ndata: {}\n\n";
/// A comment line that keeps intermediaries from closing an idle stream.
pub const KEEP_ALIVE: &str = ": keep-alive\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobStatus;

    fn job(status: JobStatus) -> Job {
        crate::jobs::sample_job(status)
    }

    #[test]
    fn frames_carry_the_job_and_say_when_it_is_done() {
        let f = frame(&job(JobStatus::Running), 3);
        assert!(f.starts_with("id: 3\nevent: progress\n"));
        assert!(f.contains("\"progress\":40"));
        assert!(f.ends_with("\n\n"));
        assert!(frame(&job(JobStatus::Succeeded), 4).contains("event: done"));
    }
}
