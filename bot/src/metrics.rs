//! Prometheus metrics: webhooks by event and outcome, jobs by state, request
//! latency. Served as text at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::queue::JobState;

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

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.5, 14))
}

/// The bot's metrics, shared by ingress and workers.
pub struct Metrics {
    registry: Registry,
    webhooks: Family<WebhookLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    jobs: Family<StateLabels, Gauge>,
    jobs_finished: Family<StateLabels, Counter>,
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
        Self {
            registry,
            webhooks,
            latency,
            jobs,
            jobs_finished,
        }
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
