//! Routing: classify the task, pick the first matching ladder of the
//! escalation matrix, apply label overrides (`gitkeeper:local`,
//! `gitkeeper:cloud`) and `/gitkeeper escalate`, and return the decision
//! with its reasons as a [`Route`] (later shown in the PR description).
//! Pure: no I/O, no model calls; it must never route to a model that is not
//! configured.

mod classify;
mod config;
pub mod privacy;

use std::fmt;

use gitkeeper::context::ContextPackage;
use serde::{Deserialize, Serialize};

/// Routing classifies into the trail's task types (see [`crate::trail`]).
pub use crate::trail::TaskType;
pub use classify::{Classification, TaskInput, classify};
pub use config::{
    AgentSettings, LadderSettings, RouteConfigError, RouteSettings, TierMode, TierSpec,
    ValidationLevel, default_ladders,
};

use crate::models::{ModelSettings, ModelsSettings};

/// Label that keeps a task on local (free) tiers.
pub const LOCAL_LABEL: &str = "gitkeeper:local";
/// Label that sends a task straight to paid (cloud) tiers.
pub const CLOUD_LABEL: &str = "gitkeeper:cloud";

/// One step of the chosen ladder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTier {
    /// The `[models.<name>]` entry.
    pub model: String,
    pub attempts: u32,
    /// Has a price: subject to the cost guard and approval.
    pub paid: bool,
    /// Answer once with edits, or work through tools.
    #[serde(default)]
    pub mode: TierMode,
}

/// The routing decision and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub classification: Classification,
    /// The `[[route.ladder]]` used.
    pub ladder: String,
    pub tiers: Vec<RouteTier>,
    /// Index of the first tier to try (after `escalate`).
    pub start: usize,
    pub checker: Option<String>,
    /// The ladder's checker whatever the complexity: it reviews every change
    /// whose validation proved nothing about it.
    #[serde(default)]
    pub unproven_checker: Option<String>,
    pub validation: ValidationLevel,
    pub reasons: Vec<String>,
}

impl Route {
    /// The tiers that will be tried, in order.
    pub fn active_tiers(&self) -> &[RouteTier] {
        &self.tiers[self.start.min(self.tiers.len())..]
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.classification;
        let tiers: Vec<String> = self
            .active_tiers()
            .iter()
            .map(|t| {
                format!(
                    "{}×{}{}{}",
                    t.model,
                    t.attempts,
                    if t.mode == TierMode::Agent {
                        " (agent)"
                    } else {
                        ""
                    },
                    if t.paid { " ($)" } else { "" }
                )
            })
            .collect();
        write!(
            f,
            "{} task, complexity {}/10, ~{} file(s) ~{} lines{} → ladder `{}`: {}; checker {}; validation {}",
            c.task_type,
            c.complexity,
            c.estimated_files,
            c.estimated_lines,
            if c.security_critical {
                ", security-critical"
            } else {
                ""
            },
            self.ladder,
            tiers.join(" → "),
            self.checker.as_deref().unwrap_or("none"),
            self.validation.as_str(),
        )
    }
}

/// Why no route could be chosen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    #[error(
        "no [[route.ladder]] matches a {task_type} task of complexity {complexity} (~{files} files, ~{lines} lines): add a ladder without conditions at the end of the matrix"
    )]
    NoLadder {
        task_type: TaskType,
        complexity: u8,
        files: u32,
        lines: u32,
    },
    #[error(
        "the label `{label}` leaves no tier: no configured ladder has a {kind} model; add one to [[route.ladder]] tiers or remove the label"
    )]
    NoTierLeft {
        label: &'static str,
        kind: &'static str,
    },
    #[error(
        "the task touches local-only paths ({paths}), which never go to a paid model, and no configured ladder has a local model: add a local model to a [[route.ladder]]'s tiers"
    )]
    NoLocalTier { paths: String },
    #[error(transparent)]
    Config(#[from] RouteConfigError),
}

/// True when a model costs money per call.
pub fn is_paid(model: &ModelSettings) -> bool {
    model.price_in > 0.0 || model.price_out > 0.0
}

/// Choose the route for `task`. `escalations` is how many times a
/// maintainer asked to `escalate`: the ladder starts that many tiers higher.
pub fn route(
    task: &TaskInput,
    package: Option<&ContextPackage>,
    settings: &RouteSettings,
    models: &ModelsSettings,
    escalations: u32,
) -> Result<Route, RouteError> {
    settings.validate(models)?;
    let classification = classify(task, package);
    let c = &classification;
    let ladder = settings
        .ladder
        .iter()
        .find(|l| matches(l, c))
        .ok_or(RouteError::NoLadder {
            task_type: c.task_type,
            complexity: c.complexity,
            files: c.estimated_files,
            lines: c.estimated_lines,
        })?;
    let mut reasons = classification.reasons.clone();
    reasons.push(format!(
        "ladder `{}` is the first whose conditions hold",
        ladder.name
    ));
    let tier = |spec: &TierSpec, default: u32| RouteTier {
        model: spec.model().to_string(),
        attempts: spec.attempts(default),
        paid: models.get(spec.model()).is_some_and(is_paid),
        mode: spec.mode(),
    };
    let mut tiers: Vec<RouteTier> = ladder
        .tiers
        .iter()
        .map(|t| tier(t, ladder.attempts))
        .collect();

    let has_label = |name: &str| task.labels.iter().any(|l| l.eq_ignore_ascii_case(name));
    let private = !task.local_only.is_empty();
    for (label, want_paid, kind) in [
        (LOCAL_LABEL, false, "local"),
        (CLOUD_LABEL, true, "paid (cloud)"),
    ] {
        // Local-only paths keep the task local, whatever the labels say.
        let applies = match want_paid {
            false => private || has_label(label),
            true => !private && has_label(label),
        };
        if !applies {
            continue;
        }
        tiers.retain(|t| t.paid == want_paid);
        if tiers.is_empty() {
            // Borrow the matching tiers of the other ladders, in matrix order.
            for other in &settings.ladder {
                for spec in &other.tiers {
                    let t = tier(spec, other.attempts);
                    if t.paid == want_paid && !tiers.iter().any(|x| x.model == t.model) {
                        tiers.push(t);
                    }
                }
            }
        }
        if tiers.is_empty() && private {
            return Err(RouteError::NoLocalTier {
                paths: privacy::list(&task.local_only),
            });
        }
        if tiers.is_empty() {
            return Err(RouteError::NoTierLeft { label, kind });
        }
        if private {
            reasons.push(format!(
                "the task touches local-only paths ({}) → local tiers only: no paid model is called",
                privacy::list(&task.local_only)
            ));
        } else {
            reasons.push(format!("label `{label}` → {kind} tiers only"));
        }
    }

    let start = usize::try_from(escalations)
        .unwrap_or(usize::MAX)
        .min(tiers.len() - 1);
    if escalations > 0 {
        reasons.push(format!(
            "escalated {escalations}× → starting at tier {} ({})",
            start + 1,
            tiers[start].model
        ));
    }
    let mut checker = ladder
        .checker
        .clone()
        .filter(|_| c.complexity >= settings.checker_min_complexity);
    if private
        && checker
            .as_deref()
            .is_some_and(|m| models.get(m).is_some_and(is_paid))
    {
        reasons.push(format!(
            "no checker: `{}` is paid and the task touches local-only paths",
            checker.take().unwrap_or_default()
        ));
    }
    if let Some(checker) = &checker {
        reasons.push(format!(
            "checker `{checker}` (complexity {} ≥ {})",
            c.complexity, settings.checker_min_complexity
        ));
    }
    Ok(Route {
        classification,
        ladder: ladder.name.clone(),
        tiers,
        start,
        checker,
        unproven_checker: ladder.checker.clone(),
        validation: ladder.validation,
        reasons,
    })
}

fn matches(ladder: &LadderSettings, c: &Classification) -> bool {
    ladder.min_complexity.is_none_or(|m| c.complexity >= m)
        && ladder.max_complexity.is_none_or(|m| c.complexity <= m)
        && ladder.max_files.is_none_or(|m| c.estimated_files <= m)
        && ladder.max_lines.is_none_or(|m| c.estimated_lines <= m)
}

#[cfg(test)]
mod tests;
