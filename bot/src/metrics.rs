//! Prometheus metrics: webhooks by event and outcome, jobs by state, request
//! latency; model attempts by tier and outcome, model latency, tokens and
//! cost; runners online, queue depth, the oldest runnable job's wait and the
//! day's spend against the cap. Served as text at `/metrics`.
//!
//! Per-process counters (webhooks, finished jobs, attempts) count what this
//! replica did; gauges read from the store (jobs, queue, runners, spend)
//! show the state every replica shares.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::queue::{JobState, OpsSnapshot};
use crate::trail::Attempt;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub event: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    /// 1-based tier of the route.
    pub tier: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// The `[models.<name>]` entry (names come from the configuration).
    pub model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TokenLabels {
    pub model: String,
    /// `prompt` or `completion`.
    pub kind: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

/// Model calls take from a fraction of a second to many minutes.
fn model_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.25, 2.0, 13))
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The bot's metrics, shared by ingress and workers.
pub struct Metrics {
    registry: Registry,
    webhooks: Family<WebhookLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    jobs: Family<StateLabels, Gauge>,
    jobs_finished: Family<StateLabels, Counter>,
    ops: OpsMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("gitkeeper");
        let webhooks = Family::<WebhookLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        let jobs_finished = Family::<StateLabels, Counter>::default();
        registry.register(
            "webhooks_received",
            "Webhook deliveries by event and outcome",
            webhooks.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            latency.clone(),
        );
        registry.register("jobs", "Jobs in the store by state", jobs.clone());
        registry.register(
            "jobs_finished",
            "Job runs finished by this process, by resulting state",
            jobs_finished.clone(),
        );
        let ops = OpsMetrics::register(&mut registry);
        Self {
            registry,
            webhooks,
            latency,
            jobs,
            jobs_finished,
            ops,
        }
    }
}

/// The model, runner and queue metrics, registered beside the others.
struct OpsMetrics {
    attempts: Family<AttemptLabels, Counter>,
    model_latency: Family<ModelLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabels, Counter<f64, AtomicU64>>,
    runners_online: Gauge,
    runner_tiers: Gauge,
    queue_depth: Gauge,
    queue_oldest: FloatGauge,
    spend_today_max: FloatGauge,
    budget_per_repo_day: FloatGauge,
}

impl OpsMetrics {
    fn register(registry: &mut Registry) -> Self {
        let ops = Self {
            attempts: Family::default(),
            model_latency: Family::new_with_constructor(
                model_latency_histogram as fn() -> Histogram,
            ),
            tokens: Family::default(),
            cost: Family::default(),
            runners_online: Gauge::default(),
            runner_tiers: Gauge::default(),
            queue_depth: Gauge::default(),
            queue_oldest: FloatGauge::default(),
            spend_today_max: FloatGauge::default(),
            budget_per_repo_day: FloatGauge::default(),
        };
        registry.register(
            "model_attempts",
            "Model attempts of jobs run by this process, by route tier and outcome",
            ops.attempts.clone(),
        );
        registry.register(
            "model_call_duration_seconds",
            "Wall time of answered model calls, by model",
            ops.model_latency.clone(),
        );
        registry.register(
            "model_tokens",
            "Tokens of model calls, by model and kind (prompt or completion)",
            ops.tokens.clone(),
        );
        registry.register(
            "model_cost_usd",
            "What model calls cost, by model (USD)",
            ops.cost.clone(),
        );
        for (name, help, gauge) in [
            (
                "runners_online",
                "gitkeeper-runner processes online and not draining",
                &ops.runners_online,
            ),
            (
                "runner_tiers",
                "Tiers served through gitkeeper-runner ([runner] tiers)",
                &ops.runner_tiers,
            ),
            (
                "queue_depth",
                "Queued jobs that may run now (retry delays passed)",
                &ops.queue_depth,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        for (name, help, gauge) in [
            (
                "queue_oldest_seconds",
                "How long the longest-waiting runnable job has waited (0 when none)",
                &ops.queue_oldest,
            ),
            (
                "repo_spend_today_max_usd",
                "The most one repository spent on models today (UTC)",
                &ops.spend_today_max,
            ),
            (
                "budget_usd_per_repo_per_day",
                "[route] max_usd_per_repo_per_day",
                &ops.budget_per_repo_day,
            ),
        ] {
            registry.register(name, help, gauge.clone());
        }
        ops
    }
}

/// The `X-GitHub-Event` values a label may carry; anything else is `other`.
/// The header is chosen by whoever sends the request, so it never becomes a
/// label as it came: a label is a time series kept until the process ends.
const EVENT_LABELS: &[&str] = &[
    "ping",
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "installation",
    "installation_repositories",
];

/// `event` as a metric label: one of [`EVENT_LABELS`], `none` or `other`.
pub fn event_label(event: &str) -> &'static str {
    if event.is_empty() {
        return "none";
    }
    EVENT_LABELS
        .iter()
        .find(|known| **known == event)
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    /// Count a delivery; `event` is mapped to a bounded label ([`event_label`]).
    pub fn webhook(&self, event: &str, outcome: &'static str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                event: event_label(event).into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.latency
            .get_or_create(&RouteLabels {
                route: route.into(),
                status,
            })
            .observe(seconds);
    }

    pub fn job_finished(&self, state: JobState) {
        self.jobs_finished
            .get_or_create(&StateLabels {
                state: state.as_str().into(),
            })
            .inc();
    }

    /// Count one model attempt of a job: by tier and outcome, and, for a
    /// call that was answered, its latency, tokens and cost by model.
    pub fn attempt(&self, attempt: &Attempt) {
        self.ops
            .attempts
            .get_or_create(&AttemptLabels {
                tier: attempt.tier.to_string(),
                outcome: attempt.outcome.as_str().into(),
            })
            .inc();
        if attempt.served_model.is_empty() {
            return;
        }
        let model = ModelLabels {
            model: attempt.model.clone(),
        };
        self.ops
            .model_latency
            .get_or_create(&model)
            .observe(attempt.latency_ms as f64 / 1000.0);
        for (kind, n) in [
            ("prompt", attempt.prompt_tokens),
            ("completion", attempt.completion_tokens),
        ] {
            self.ops
                .tokens
                .get_or_create(&TokenLabels {
                    model: attempt.model.clone(),
                    kind: kind.into(),
                })
                .inc_by(u64::from(n));
        }
        if attempt.cost_usd > 0.0 {
            self.ops.cost.get_or_create(&model).inc_by(attempt.cost_usd);
        }
    }

    /// The settings the alerts compare with: runner tiers and the daily cap.
    pub fn configured(&self, runner_tiers: usize, budget_usd_per_repo_per_day: f64) {
        self.ops
            .runner_tiers
            .set(i64::try_from(runner_tiers).unwrap_or(i64::MAX));
        self.ops
            .budget_per_repo_day
            .set(budget_usd_per_repo_per_day);
    }

    /// The shared queue and spend as read at `now` (ms), and the runners online.
    pub fn observe_store(&self, snapshot: &OpsSnapshot, runners_online: usize, now: i64) {
        self.ops.queue_depth.set(snapshot.runnable);
        let waited_ms = snapshot
            .oldest_runnable_since
            .map_or(0, |since| now.saturating_sub(since).max(0));
        self.ops.queue_oldest.set(waited_ms as f64 / 1000.0);
        self.ops.spend_today_max.set(snapshot.top_repo_spend_usd);
        self.ops
            .runners_online
            .set(i64::try_from(runners_online).unwrap_or(i64::MAX));
    }

    /// Render in the Prometheus text format, with job counts read just now.
    pub fn render(&self, job_counts: &[(JobState, i64)]) -> String {
        for state in JobState::ALL {
            let n = job_counts
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n);
            self.jobs
                .get_or_create(&StateLabels {
                    state: state.as_str().into(),
                })
                .set(n);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            return format!("# metrics encoding failed: {e}\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms() {
        let m = Metrics::default();
        m.webhook("issues", "queued");
        m.webhook("issues", "queued");
        m.request("/webhooks", 202, 0.002);
        let text = m.render(&[(JobState::Queued, 3)]);
        assert!(
            text.contains(
                "gitkeeper_webhooks_received_total{event=\"issues\",outcome=\"queued\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("gitkeeper_jobs{state=\"queued\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("gitkeeper_jobs{state=\"failed\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("gitkeeper_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }

    #[test]
    fn attempts_count_by_tier_and_outcome_and_answered_calls_by_model() {
        use crate::queue::tests::attempt;
        use crate::trail::AttemptOutcome;
        let m = Metrics::default();
        // 1200 prompt and 300 completion tokens, 8.5 s each.
        m.attempt(&attempt(
            1,
            "local-small",
            AttemptOutcome::ParseFailed,
            0.0,
            0,
        ));
        m.attempt(&attempt(
            1,
            "local-small",
            AttemptOutcome::ParseFailed,
            0.0,
            0,
        ));
        m.attempt(&attempt(2, "cloud-claude", AttemptOutcome::Passed, 0.25, 0));
        let mut skipped = attempt(2, "cloud-claude", AttemptOutcome::SkippedBudget, 0.0, 0);
        skipped.served_model.clear();
        m.attempt(&skipped);
        let text = m.render(&[]);
        for line in [
            "gitkeeper_model_attempts_total{tier=\"1\",outcome=\"parse_failed\"} 2",
            "gitkeeper_model_attempts_total{tier=\"2\",outcome=\"passed\"} 1",
            "gitkeeper_model_attempts_total{tier=\"2\",outcome=\"skipped_budget\"} 1",
            "gitkeeper_model_tokens_total{model=\"local-small\",kind=\"prompt\"} 2400",
            "gitkeeper_model_tokens_total{model=\"cloud-claude\",kind=\"completion\"} 300",
            "gitkeeper_model_cost_usd_total{model=\"cloud-claude\"} 0.25",
            "gitkeeper_model_call_duration_seconds_count{model=\"cloud-claude\"} 1",
            "gitkeeper_model_call_duration_seconds_sum{model=\"local-small\"} 17.0",
            "gitkeeper_model_call_duration_seconds_bucket{le=\"16.0\",model=\"cloud-claude\"} 1",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        // A skipped attempt made no call: no latency, tokens or cost for it.
        assert!(!text.contains("gitkeeper_model_cost_usd_total{model=\"local-small\"}"));
    }

    #[test]
    fn the_store_snapshot_sets_the_queue_runner_and_budget_gauges() {
        let m = Metrics::default();
        m.configured(1, 20.0);
        let snapshot = OpsSnapshot {
            runnable: 4,
            oldest_runnable_since: Some(10_000),
            top_repo_spend_usd: 17.5,
        };
        m.observe_store(&snapshot, 0, 100_000);
        let text = m.render(&[]);
        for line in [
            "gitkeeper_queue_depth 4",
            "gitkeeper_queue_oldest_seconds 90.0",
            "gitkeeper_runners_online 0",
            "gitkeeper_runner_tiers 1",
            "gitkeeper_repo_spend_today_max_usd 17.5",
            "gitkeeper_budget_usd_per_repo_per_day 20.0",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        m.observe_store(&OpsSnapshot::default(), 2, 200_000);
        let text = m.render(&[]);
        assert!(
            text.contains("gitkeeper_queue_oldest_seconds 0.0"),
            "{text}"
        );
        assert!(text.contains("gitkeeper_runners_online 2"), "{text}");
    }

    #[test]
    fn event_names_nobody_vouched_for_share_one_label() {
        let m = Metrics::default();
        let before = m.render(&[]).len();
        for i in 0..500 {
            m.webhook(
                &format!("random-event-{i}-{}", "x".repeat(200)),
                "bad_signature",
            );
        }
        m.webhook("", "malformed");
        m.webhook("issues", "queued");
        let text = m.render(&[]);
        assert!(!text.contains("random-event"), "{text}");
        assert!(
            text.contains(
                "gitkeeper_webhooks_received_total{event=\"other\",outcome=\"bad_signature\"} 500"
            ),
            "{text}"
        );
        assert!(text.contains("event=\"none\""), "{text}");
        assert!(text.contains("event=\"issues\""), "{text}");
        assert!(text.len() < before + 2_000, "{} bytes", text.len());
    }
}
