//! Per-minute rollups of finished jobs: by outcome and format (processing
//! time), queue wait, and LLM tokens and cost per model. Pure: the app
//! reads the jobs that finished in whole minutes and stores what this computes,
//! replacing what an earlier pass stored for the same minutes (so passes
//! may overlap), and the operator's metrics read the rollups back.

use super::metrics::{Rollup, Stats};
use crate::jobs::Job;
use std::collections::BTreeMap;

/// A finished job as the operator's metrics see it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTiming {
    pub job: Job,
    /// The document's media type (the format processed).
    pub media_type: String,
}

/// Rollup name prefix of jobs by outcome and format: `job:<outcome>:<type>`.
pub const JOB_PREFIX: &str = "job:";
/// Rollup name of the wait between creation and the first start.
pub const QUEUE_WAIT: &str = "queue_wait";
/// Minutes each pass goes back over already rolled-up minutes, for jobs
/// whose row was written a little after the minute they finished in.
pub const RECHECK_MINUTES: u64 = 5;

/// LLM work of the jobs that finished in one minute, for one model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LlmRollup {
    pub minute: u64,
    pub model: String,
    /// Commands that used the model.
    pub commands: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

/// Whether a rollup name is one of the job rollups (not a route).
pub fn is_job_rollup(name: &str) -> bool {
    name.starts_with(JOB_PREFIX) || name == QUEUE_WAIT
}

/// The rollups of these jobs (each counted in the minute it finished).
/// Processing time is from the last start to the end (0 when it never
/// started); the queue wait, from creation to the first start.
pub fn roll_up(jobs: &[JobTiming]) -> (Vec<Rollup>, Vec<LlmRollup>) {
    let mut rows: BTreeMap<(u64, String), Stats> = BTreeMap::new();
    let mut llm: BTreeMap<(u64, String), LlmRollup> = BTreeMap::new();
    for t in jobs {
        let job = &t.job;
        let Some(finished) = job.finished_at_ms else {
            continue;
        };
        let minute = finished / 60_000;
        let processing = job.started_at_ms.map_or(0, |s| finished.saturating_sub(s));
        let name = format!("{JOB_PREFIX}{}:{}", job.status.as_str(), t.media_type);
        rows.entry((minute, name))
            .or_default()
            .record(200, processing);
        if let Some(started) = job.started_at_ms {
            rows.entry((minute, QUEUE_WAIT.to_string()))
                .or_default()
                .record(200, started.saturating_sub(job.created_at_ms));
        }
        for usage in job.command_states.iter().filter_map(|c| c.llm.as_ref()) {
            let model = usage.model.clone().unwrap_or_else(|| "(none)".into());
            let m = llm.entry((minute, model.clone())).or_insert(LlmRollup {
                minute,
                model,
                ..LlmRollup::default()
            });
            m.commands += 1;
            m.input_tokens += u64::from(usage.input_tokens);
            m.output_tokens += u64::from(usage.output_tokens);
            m.cost_usd += usage.cost_usd;
        }
    }
    let rows = rows
        .into_iter()
        .map(|((minute, name), stats)| Rollup {
            minute,
            name,
            stats,
        })
        .collect();
    (rows, llm.into_values().collect())
}

/// Which minutes `[from, to)` a pass rolls up: from a little before where
/// the last pass stopped (at most `max_back` minutes ago) to the current
/// minute included. The current minute is rolled up as far as it has
/// gone; since every pass starts [`RECHECK_MINUTES`] before the last one
/// ended, the next pass replaces it with its full count.
pub fn pass_range(mark: Option<u64>, now_ms: u64, max_back: u64) -> Option<(u64, u64)> {
    let to = now_ms / 60_000 + 1;
    let oldest = to.saturating_sub(max_back);
    let from = mark
        .map_or(oldest, |m| m.saturating_sub(RECHECK_MINUTES))
        .max(oldest);
    (from < to).then_some((from, to))
}

/// Job figures over a window, from its rollups.
#[derive(Debug, Default)]
pub struct JobFigures {
    /// Outcome -> jobs.
    pub outcomes: BTreeMap<String, u64>,
    /// Media type -> (outcome -> jobs, processing time).
    pub formats: BTreeMap<String, (BTreeMap<String, u64>, Stats)>,
    pub queue_wait: Stats,
}

impl JobFigures {
    /// Sums the job rollups among `rows` (route rows are skipped).
    pub fn from_rows(rows: &[(String, Stats)]) -> JobFigures {
        let mut out = JobFigures::default();
        for (name, stats) in rows {
            if name == QUEUE_WAIT {
                out.queue_wait.merge(stats);
                continue;
            }
            let Some((outcome, media_type)) = name
                .strip_prefix(JOB_PREFIX)
                .and_then(|rest| rest.split_once(':'))
            else {
                continue;
            };
            *out.outcomes.entry(outcome.to_string()).or_default() += stats.count;
            let f = out.formats.entry(media_type.to_string()).or_default();
            *f.0.entry(outcome.to_string()).or_default() += stats.count;
            f.1.merge(stats);
        }
        out
    }

    pub fn finished(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::Command;
    use crate::jobs::{CommandState, Job, JobStatus};
    use crate::llm::engine::LlmUsage;

    fn job(status: JobStatus, created: u64, started: Option<u64>, finished: u64) -> Job {
        let commands: Vec<Command> = serde_json::from_str(r#"[{"name":"extract"}]"#).unwrap();
        Job {
            id: format!("job_{created}"),
            tenant_id: "t".into(),
            document_id: "doc_1".into(),
            command_states: CommandState::pending(&commands),
            commands,
            webhook_url: None,
            llm_training_opt_in: false,
            resources: None,
            created_by: None,
            status,
            progress: 100,
            attempts: 1,
            deliveries: 1,
            error: None,
            created_at_ms: created,
            started_at_ms: started,
            finished_at_ms: Some(finished),
            lease_until_ms: None,
        }
    }

    fn timing(job: Job, media_type: &str) -> JobTiming {
        JobTiming {
            job,
            media_type: media_type.into(),
        }
    }

    #[test]
    fn jobs_roll_up_by_minute_outcome_and_format() {
        let m = 60_000;
        let mut with_llm = job(
            JobStatus::Succeeded,
            10 * m,
            Some(10 * m + 500),
            11 * m + 10,
        );
        with_llm.command_states[0].llm = Some(LlmUsage {
            model: Some("ai/small".into()),
            input_tokens: 100,
            output_tokens: 20,
            cost_usd: 0.5,
            ..LlmUsage::default()
        });
        let jobs = [
            timing(with_llm, "text/plain"),
            timing(
                job(
                    JobStatus::Succeeded,
                    11 * m,
                    Some(11 * m + 40),
                    11 * m + 140,
                ),
                "text/plain",
            ),
            timing(
                job(JobStatus::Failed, 11 * m, None, 11 * m + 5_000),
                "application/pdf",
            ),
            timing(
                job(JobStatus::Succeeded, 11 * m, Some(11 * m), 12 * m),
                "text/plain",
            ),
        ];
        let (rows, llm) = roll_up(&jobs);
        let find = |minute: u64, name: &str| {
            rows.iter()
                .find(|r| r.minute == minute && r.name == name)
                .map(|r| r.stats.clone())
        };
        let ok = find(11, "job:succeeded:text/plain").unwrap();
        assert_eq!(ok.count, 2);
        assert_eq!(ok.sum_ms, (60_000 + 10 - 500) + 100);
        let failed = find(11, "job:failed:application/pdf").unwrap();
        assert_eq!(
            (failed.count, failed.sum_ms),
            (1, 0),
            "never started: no processing time"
        );
        assert_eq!(
            find(11, QUEUE_WAIT).unwrap().count,
            2,
            "only started jobs waited"
        );
        assert_eq!(find(12, "job:succeeded:text/plain").unwrap().count, 1);
        assert_eq!(rows.len(), 5);
        assert_eq!(
            llm,
            vec![LlmRollup {
                minute: 11,
                model: "ai/small".into(),
                commands: 1,
                input_tokens: 100,
                output_tokens: 20,
                cost_usd: 0.5
            }]
        );

        let figures = JobFigures::from_rows(
            &rows
                .iter()
                .map(|r| (r.name.clone(), r.stats.clone()))
                .chain([("GET /v1/documents".to_string(), Stats::default())])
                .collect::<Vec<_>>(),
        );
        assert_eq!(figures.finished(), 4);
        assert_eq!(figures.outcomes["succeeded"], 3);
        assert_eq!(figures.formats["application/pdf"].0["failed"], 1);
        assert!(is_job_rollup("job:failed:text/plain") && is_job_rollup(QUEUE_WAIT));
        assert!(!is_job_rollup("POST /v1/jobs"));
    }

    #[test]
    fn a_pass_covers_from_a_little_before_its_mark_to_now() {
        let now = 1_000 * 60_000 + 30_000; // minute 1000, half gone
        assert_eq!(pass_range(None, now, 60), Some((941, 1001)));
        assert_eq!(pass_range(Some(990), now, 60), Some((985, 1001)));
        // Far behind: no further back than max_back.
        assert_eq!(pass_range(Some(10), now, 60), Some((941, 1001)));
        // Right after a pass, the minutes it covered are covered again.
        assert_eq!(pass_range(Some(1001), now, 60), Some((996, 1001)));
        assert_eq!(pass_range(None, 30_000, 60), Some((0, 1)));
    }
}
