use super::*;

fn task(title: &str, body: &str, labels: &[&str]) -> TaskInput {
    TaskInput {
        title: title.into(),
        body: body.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        local_only: Vec::new(),
    }
}

fn route_of(title: &str, body: &str, labels: &[&str], escalations: u32) -> Route {
    route(
        &task(title, body, labels),
        None,
        &RouteSettings::default(),
        &ModelsSettings::default(),
        escalations,
    )
    .unwrap()
}

fn first_model(r: &Route) -> &str {
    &r.active_tiers()[0].model
}

// Seed 000, §2.2 routing table.

#[test]
fn one_file_under_50_lines_goes_to_local_small() {
    let r = route_of(
        "Fix typo in README.md",
        "`recieve` should be `receive`.",
        &[],
        0,
    );
    assert_eq!(r.ladder, "quick-edit");
    assert_eq!(first_model(&r), "local-small");
    assert!(r.classification.estimated_lines < 50);
    assert_eq!(r.classification.estimated_files, 1);
}

#[test]
fn one_file_of_50_to_200_lines_goes_to_local_large() {
    let r = route_of(
        "Add pagination to lib/projects.ts",
        "Return 20 items at a time.",
        &[],
        0,
    );
    assert_eq!(r.classification.task_type, TaskType::Implement);
    assert!(
        (50..=200).contains(&r.classification.estimated_lines),
        "{r}"
    );
    assert_eq!(r.ladder, "standard");
    assert_eq!(first_model(&r), "local-large");
    assert!(!r.tiers[0].paid);
}

#[test]
fn multi_file_change_goes_to_the_api() {
    let r = route_of(
        "Use the shared date format in lib/a.ts and lib/b.ts",
        "",
        &[],
        0,
    );
    assert_eq!(r.classification.estimated_files, 2);
    assert_eq!(r.ladder, "complex");
    assert!(r.active_tiers().iter().all(|t| t.paid), "{r}");
    // Multi-file work: the cloud tiers look around as agents (seed 003).
    assert!(
        r.active_tiers().iter().all(|t| t.mode == TierMode::Agent),
        "{r}"
    );
    assert!(
        r.to_string().contains("cloud-deepseek×3 (agent) ($)"),
        "{r}"
    );
}

#[test]
fn local_tiers_answer_with_edits_unless_a_tier_says_agent() {
    let r = route_of(
        "Add pagination to lib/projects.ts",
        "Return 20 items at a time.",
        &[],
        0,
    );
    assert!(r.tiers.iter().all(|t| t.mode == TierMode::Edits), "{r}");
    let settings: RouteSettings = toml::from_str(
        "[[ladder]]\nname = \"all\"\ntiers = [\"local-small\", { model = \"local-large\", attempts = 1, mode = \"agent\" }]\n\n[agent]\nmax_tool_calls = 40\nwarn_at = [10]\n",
    )
    .unwrap();
    assert_eq!(settings.agent.max_tool_calls, 40);
    assert_eq!(
        settings.agent.max_malformed_calls, 3,
        "the other budgets keep their defaults"
    );
    let r = route(
        &task("Fix a typo", "", &[]),
        None,
        &settings,
        &ModelsSettings::default(),
        0,
    )
    .unwrap();
    let modes: Vec<TierMode> = r.tiers.iter().map(|t| t.mode).collect();
    assert_eq!(modes, [TierMode::Edits, TierMode::Agent]);
    let mut zero = settings.clone();
    zero.agent.max_tool_calls = 0;
    let err = zero.validate(&ModelsSettings::default()).unwrap_err();
    assert!(err.to_string().contains("agent.max_tool_calls"), "{err}");
}

#[test]
fn new_feature_goes_to_the_api() {
    let r = route_of(
        "Create /api/projects endpoint",
        "List the user's projects.",
        &[],
        0,
    );
    assert!(r.classification.new_feature);
    assert!(r.classification.complexity >= 6);
    assert_eq!(first_model(&r), "cloud-deepseek");
}

#[test]
fn refactor_of_more_than_three_files_goes_to_the_api() {
    let r = route_of("Refactor the fetch helpers across the codebase", "", &[], 0);
    assert_eq!(r.classification.task_type, TaskType::Refactor);
    assert!(r.classification.estimated_files > 3);
    assert_eq!(r.ladder, "complex");
}

#[test]
fn security_critical_goes_to_the_api() {
    let r = route_of("Fix password reset token expiry", "", &[], 0);
    assert!(r.classification.security_critical);
    assert_eq!(r.ladder, "critical");
    assert_eq!(first_model(&r), "cloud-claude");
    assert!(
        r.reasons.iter().any(|x| x.contains("security-critical")),
        "{:?}",
        r.reasons
    );
}

// Seed 004, escalation matrix.

#[test]
fn quick_edit_climbs_local_14b_then_flash_without_checker() {
    let r = route_of("Fix typo in a comment", "", &[], 0);
    assert!(r.classification.complexity <= 2);
    let models: Vec<_> = r
        .tiers
        .iter()
        .map(|t| (t.model.as_str(), t.attempts))
        .collect();
    assert_eq!(models, [("local-small", 2), ("cloud-deepseek", 1)]);
    assert_eq!(r.checker, None);
    assert_eq!(r.validation, ValidationLevel::Quick);
}

#[test]
fn standard_development_has_three_local_attempts_and_tests() {
    let r = route_of("Add unit tests for lib/session.ts", "", &[], 0);
    assert_eq!(r.classification.task_type, TaskType::Test);
    assert!((3..=5).contains(&r.classification.complexity), "{r}");
    assert_eq!(r.ladder, "standard");
    assert_eq!(r.tiers[0].attempts, 3);
    assert_eq!(r.validation, ValidationLevel::Standard);
    // Below complexity 5 the task is self-validating (seed 004).
    assert_eq!(r.checker, None);
}

#[test]
fn complex_architecture_gets_a_checker_and_semantic_validation() {
    let r = route_of(
        "Restructure the API layer",
        "Split handlers from data access.",
        &[],
        0,
    );
    assert!((6..=8).contains(&r.classification.complexity), "{r}");
    assert_eq!(r.ladder, "complex");
    assert_eq!(r.checker.as_deref(), Some("local-large"));
    assert_eq!(r.validation, ValidationLevel::Complex);
}

#[test]
fn critical_task_has_two_attempts_a_cloud_checker_and_manual_review() {
    let r = route_of("Migrate user passwords to argon2", "", &[], 0);
    assert!(r.classification.complexity >= 9);
    assert_eq!(r.tiers[0].attempts, 2);
    assert_eq!(r.checker.as_deref(), Some("cloud-claude"));
    assert_eq!(r.validation, ValidationLevel::Critical);
}

// Overrides.

#[test]
fn local_label_keeps_a_complex_task_on_local_tiers() {
    let r = route_of("Create /api/projects endpoint", "", &[LOCAL_LABEL], 0);
    let models: Vec<_> = r.tiers.iter().map(|t| t.model.as_str()).collect();
    assert_eq!(models, ["local-small", "local-large"]);
    assert!(r.reasons.iter().any(|x| x.contains(LOCAL_LABEL)));
}

#[test]
fn cloud_label_skips_local_tiers() {
    let r = route_of("Fix typo in README.md", "", &[CLOUD_LABEL], 0);
    assert_eq!(first_model(&r), "cloud-deepseek");
    assert!(r.tiers.iter().all(|t| t.paid));
}

#[test]
fn escalate_starts_at_the_next_tier_and_stops_at_the_last() {
    let r = route_of("Fix typo in README.md", "", &[], 1);
    assert_eq!(r.start, 1);
    assert_eq!(first_model(&r), "cloud-deepseek");
    let r = route_of("Fix typo in README.md", "", &[], 9);
    assert_eq!(r.start, r.tiers.len() - 1);
    assert!(r.reasons.iter().any(|x| x.contains("escalated 9×")));
}

#[test]
fn labels_set_the_task_type() {
    let r = route_of("Dates are off by one", "", &["bug"], 0);
    assert_eq!(r.classification.task_type, TaskType::Fix);
}

#[test]
fn schema_changes_are_security_critical() {
    let r = route_of("Add a `bio` field in prisma/schema.prisma", "", &[], 0);
    assert!(r.classification.security_critical, "{r}");
}

#[test]
fn ladder_with_an_unknown_model_names_it() {
    let mut settings = RouteSettings::default();
    settings.ladder[1].tiers[0] = TierSpec::Model("local-tiny".into());
    let err = route(
        &task("x", "", &[]),
        None,
        &settings,
        &ModelsSettings::default(),
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("[route] ladder[1] (quick-edit)"), "{err}");
    assert!(err.contains("`local-tiny`"), "{err}");
}

#[test]
fn route_display_names_ladder_tiers_and_checker() {
    let r = route_of("Restructure the API layer", "", &[], 0);
    let text = r.to_string();
    assert!(text.contains("ladder `complex`"), "{text}");
    assert!(
        text.contains("cloud-deepseek×3 (agent) ($) → cloud-claude×3 (agent) ($)"),
        "{text}"
    );
    assert!(text.contains("checker local-large"), "{text}");
}

proptest::proptest! {
    #[test]
    fn any_issue_text_classifies_within_bounds(title in "\\PC{0,80}", body in "\\PC{0,400}", label in "\\PC{0,12}") {
        let c = classify(&task(&title, &body, &[&label]), None);
        proptest::prop_assert!(c.complexity <= 10);
        proptest::prop_assert!(c.estimated_files >= 1);
        proptest::prop_assert!(c.security_critical || c.complexity <= 8);
        proptest::prop_assert!(!c.reasons.is_empty());
    }
}

#[test]
fn a_task_touching_local_only_paths_climbs_local_tiers_only_even_when_labelled_cloud() {
    let mut input = task(
        "Add rate limiting to the billing API",
        "Several files in src/billing need a limiter; this is a new feature.",
        &["gitkeeper:cloud"],
    );
    input.local_only = vec!["src/billing/keys.ts".into()];
    let r = route(
        &input,
        None,
        &RouteSettings::default(),
        &ModelsSettings::default(),
        0,
    )
    .unwrap();
    assert!(!r.tiers.is_empty());
    assert!(r.tiers.iter().all(|t| !t.paid), "{:?}", r.tiers);
    assert!(
        r.reasons
            .iter()
            .any(|reason| reason.contains("local-only paths (`src/billing/keys.ts`)")),
        "{:?}",
        r.reasons
    );
    // A paid checker is dropped too.
    assert!(
        r.checker
            .as_deref()
            .is_none_or(|m| !is_paid(ModelsSettings::default().get(m).unwrap())),
        "{:?}",
        r.checker
    );
}

#[test]
fn local_only_paths_with_no_local_model_anywhere_is_an_error_naming_them() {
    let mut settings = RouteSettings::default();
    for ladder in &mut settings.ladder {
        ladder.tiers.retain(|t| t.model().starts_with("cloud"));
    }
    settings.fallback_to_local = false;
    let mut input = task("Fix typo in secrets/README.md", "", &[]);
    input.local_only = vec!["secrets/README.md".into()];
    let err = route(&input, None, &settings, &ModelsSettings::default(), 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`secrets/README.md`"), "{err}");
    assert!(err.contains("local model"), "{err}");
}
