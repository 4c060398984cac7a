//! `[route]` in `gitkeeper.toml`: the escalation matrix (`[[route.ladder]]`,
//! first match wins), the cost guard, the checker and agent mode's budgets
//! (`[route.agent]`). The defaults implement seed 004's four task types and
//! seed 000's routing table; the `complex` ladder's cloud tiers work as
//! agents (seed 003).

use serde::{Deserialize, Serialize};

use crate::models::ModelsSettings;
/// How a tier works (edits or agent); the attempt trail records it too.
pub use crate::trail::TierMode;

/// How thoroughly a ladder's result is validated (seed 004): one type for
/// the route and the command planner; config accepts `quick|standard|complex|critical`
/// and the older `syntax|tests|semantic|full`.
pub use gitkeeper::validate::ValidationLevel;

/// One tier of a ladder: a model name, or a table with its own attempts
/// and mode (`mode = "agent"` works through tools; default `edits`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TierSpec {
    Model(String),
    Table {
        model: String,
        attempts: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<TierMode>,
    },
}

impl TierSpec {
    pub fn model(&self) -> &str {
        match self {
            TierSpec::Model(m) | TierSpec::Table { model: m, .. } => m,
        }
    }

    /// How the tier works: its `mode`, else edits.
    pub fn mode(&self) -> TierMode {
        match self {
            TierSpec::Table {
                mode: Some(mode), ..
            } => *mode,
            _ => TierMode::Edits,
        }
    }

    pub fn attempts(&self, default: u32) -> u32 {
        match self {
            TierSpec::Table {
                attempts: Some(n), ..
            } => *n,
            _ => default,
        }
    }
}

/// One `[[route.ladder]]`: when it applies and how it climbs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LadderSettings {
    pub name: String,
    /// Applies when the task's complexity is at least this.
    #[serde(default)]
    pub min_complexity: Option<u8>,
    /// Applies when the task's complexity is at most this.
    #[serde(default)]
    pub max_complexity: Option<u8>,
    /// Applies when the task is estimated to touch at most this many files.
    #[serde(default)]
    pub max_files: Option<u32>,
    /// Applies when the task is estimated to change at most this many lines.
    #[serde(default)]
    pub max_lines: Option<u32>,
    /// Models tried in order, cheapest first.
    pub tiers: Vec<TierSpec>,
    /// Attempts per tier unless a tier says otherwise.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The model that reviews the final diff (from `checker_min_complexity` up).
    #[serde(default)]
    pub checker: Option<String>,
    #[serde(default = "default_validation")]
    pub validation: ValidationLevel,
}

fn default_attempts() -> u32 {
    3
}

fn default_validation() -> ValidationLevel {
    ValidationLevel::Standard
}

impl LadderSettings {
    /// A ladder without conditions (it matches every task) climbing `tiers` (model, attempts).
    pub fn new(
        name: &str,
        tiers: &[(&str, u32)],
        checker: Option<&str>,
        validation: ValidationLevel,
    ) -> Self {
        Self {
            name: name.into(),
            min_complexity: None,
            max_complexity: None,
            max_files: None,
            max_lines: None,
            tiers: tiers
                .iter()
                .map(|(m, n)| TierSpec::Table {
                    model: (*m).into(),
                    attempts: Some(*n),
                    mode: None,
                })
                .collect(),
            attempts: default_attempts(),
            checker: checker.map(str::to_string),
            validation,
        }
    }
}

/// The default escalation matrix: seed 004's task types, bounded by seed
/// 000's table (one file under 50 lines → local small; one file of 50–200
/// lines → local large; several files, new features, architecture and
/// security → cloud).
pub fn default_ladders() -> Vec<LadderSettings> {
    let mut critical = LadderSettings::new(
        "critical",
        &[("cloud-claude", 2), ("cloud-deepseek", 2)],
        Some("cloud-claude"),
        ValidationLevel::Critical,
    );
    critical.min_complexity = Some(9);
    let mut quick = LadderSettings::new(
        "quick-edit",
        &[("local-small", 2), ("cloud-deepseek", 1)],
        None,
        ValidationLevel::Quick,
    );
    quick.max_complexity = Some(2);
    quick.max_files = Some(1);
    quick.max_lines = Some(49);
    let mut standard = LadderSettings::new(
        "standard",
        &[
            ("local-large", 3),
            ("cloud-deepseek", 2),
            ("cloud-claude", 1),
        ],
        Some("local-large"),
        ValidationLevel::Standard,
    );
    standard.max_complexity = Some(5);
    standard.max_files = Some(1);
    standard.max_lines = Some(200);
    let mut complex = LadderSettings::new(
        "complex",
        &[("cloud-deepseek", 3), ("cloud-claude", 3)],
        Some("local-large"),
        ValidationLevel::Complex,
    );
    // Multi-file features: the cloud models look around before they write.
    for tier in &mut complex.tiers {
        if let TierSpec::Table { mode, .. } = tier {
            *mode = Some(TierMode::Agent);
        }
    }
    vec![critical, quick, standard, complex]
}

/// `[route.agent]`: the budgets of an agent-mode attempt. Every cap fails
/// closed: the call that would pass it is not made, and the attempt ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentSettings {
    /// Tool-call counts at which the agent is told to wrap up (seed 003).
    pub warn_at: Vec<u32>,
    /// Most tool calls in one agent session (a tier, its `finish` retries included).
    pub max_tool_calls: u32,
    /// Most tokens (prompt and answer, every call of the session together).
    pub max_tokens_per_attempt: u64,
    /// After this many malformed calls (bad JSON, unknown tool, missing
    /// arguments, an answer without a tool call) the tier goes on in edit mode.
    pub max_malformed_calls: u32,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            warn_at: vec![50, 100, 200, 500],
            max_tool_calls: 600,
            max_tokens_per_attempt: 2_000_000,
            max_malformed_calls: 3,
        }
    }
}

/// `[route]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteSettings {
    /// The escalation matrix; the first ladder whose conditions hold is used.
    pub ladder: Vec<LadderSettings>,
    /// When a paid tier's call fails (down, misconfigured), answer with `fallback_model`.
    pub fallback_to_local: bool,
    pub fallback_model: String,
    /// USD one task may spend on paid tiers (0: never call a paid tier).
    pub max_usd_per_task: f64,
    /// USD one repository may spend per UTC day.
    pub max_usd_per_repo_per_day: f64,
    /// Park the job before its first paid call until a maintainer approves.
    pub require_approval_for_cloud: bool,
    /// The checker reviews tasks of at least this complexity (seed 004: 5).
    pub checker_min_complexity: u8,
    /// Below this confidence a checker's pass counts as a failed attempt.
    pub min_confidence: f64,
    /// After this many parse/apply failures a tier answers with whole files.
    pub whole_file_after_failures: u32,
    /// Agent mode's budgets.
    pub agent: AgentSettings,
}

impl Default for RouteSettings {
    fn default() -> Self {
        Self {
            ladder: default_ladders(),
            fallback_to_local: true,
            fallback_model: "local-large".into(),
            max_usd_per_task: 2.0,
            max_usd_per_repo_per_day: 20.0,
            require_approval_for_cloud: false,
            checker_min_complexity: 5,
            min_confidence: 0.8,
            whole_file_after_failures: 2,
            agent: AgentSettings::default(),
        }
    }
}

/// A `[route]` value that cannot work; the message names the key and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid configuration [route] {key}: {fix}")]
pub struct RouteConfigError {
    pub key: String,
    pub fix: String,
}

impl RouteSettings {
    /// Check that every ladder names models that exist and can be climbed.
    pub fn validate(&self, models: &ModelsSettings) -> Result<(), RouteConfigError> {
        let err = |key: String, fix: String| Err(RouteConfigError { key, fix });
        let known = || models.names().collect::<Vec<_>>().join(", ");
        if self.ladder.is_empty() {
            return err(
                "ladder".into(),
                "define at least one [[route.ladder]] (or remove them all to use the defaults)"
                    .into(),
            );
        }
        for (i, ladder) in self.ladder.iter().enumerate() {
            let key = format!("ladder[{i}] ({})", ladder.name);
            if ladder.tiers.is_empty() {
                return err(key, "list at least one model in tiers".into());
            }
            for tier in &ladder.tiers {
                if models.get(tier.model()).is_none() {
                    return err(
                        key,
                        format!(
                            "tier `{}` is not a [models.<name>]; known: {}",
                            tier.model(),
                            known()
                        ),
                    );
                }
                if tier.attempts(ladder.attempts) == 0 {
                    return err(
                        key,
                        format!("tier `{}` has 0 attempts: use 1 or more", tier.model()),
                    );
                }
            }
            if let Some(checker) = &ladder.checker {
                if models.get(checker).is_none() {
                    return err(
                        key,
                        format!(
                            "checker `{checker}` is not a [models.<name>]; known: {}",
                            known()
                        ),
                    );
                }
            }
        }
        if self.fallback_to_local && models.get(&self.fallback_model).is_none() {
            return err(
                "fallback_model".into(),
                format!(
                    "`{}` is not a [models.<name>]; known: {}",
                    self.fallback_model,
                    known()
                ),
            );
        }
        for (key, value) in [
            ("max_usd_per_task", self.max_usd_per_task),
            ("max_usd_per_repo_per_day", self.max_usd_per_repo_per_day),
        ] {
            if !value.is_finite() || value < 0.0 {
                return err(
                    key.into(),
                    format!("{value} is not an amount: USD, 0 or more"),
                );
            }
        }
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return err(
                "min_confidence".into(),
                format!("{} is outside 0..=1 (default 0.8)", self.min_confidence),
            );
        }
        if self.whole_file_after_failures == 0 {
            return err(
                "whole_file_after_failures".into(),
                "use 1 or more (default 2)".into(),
            );
        }
        let agent = &self.agent;
        for (key, value, default) in [
            ("agent.max_tool_calls", u64::from(agent.max_tool_calls), 600),
            (
                "agent.max_tokens_per_attempt",
                agent.max_tokens_per_attempt,
                2_000_000,
            ),
            (
                "agent.max_malformed_calls",
                u64::from(agent.max_malformed_calls),
                3,
            ),
        ] {
            if value == 0 {
                return err(key.into(), format!("use 1 or more (default {default})"));
            }
        }
        Ok(())
    }
}
