//! The deployment files in `deploy/` checked with the tools that read them:
//! `systemd-analyze verify` for the unit, `docker-compose config` for the
//! compose file, `promtool` for the alert rules, `yamllint` and the bot's own
//! `check-config` for the Kubernetes manifests. A missing tool fails the test
//! with the package to install (`.ci/run` installs them); nothing is skipped.
//! No image is built (registries are not reachable from CI).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gitkeeper_e2e::bot::bot_binary;
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(relative: &str) -> String {
    let path = deploy_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `program` on PATH, or a failure naming the Debian package that has it.
fn tool(program: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{program}` is not installed: `apt-get install -y {package}` (.ci/run installs it)"
    );
    Command::new(program)
}

fn run(mut command: Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// `out`, after checking that its command succeeded (else fail with `what`
/// and everything the command printed).
fn succeeded(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Fail when one of the variables `env` sets is a secret (the webhook
/// secret, the database URL, a token), naming `place`.
fn assert_no_secret(env: &[(String, String)], place: &str) {
    for (name, _) in env {
        assert!(
            !name.contains("SECRET") && !name.contains("DATABASE__URL") && !name.contains("TOKEN"),
            "{name} is a secret set in {place}"
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every YAML document in `relative`, as JSON (PyYAML's safe loader).
fn yaml_documents(relative: &str) -> Vec<Value> {
    let mut command = tool("python3", "python3 python3-yaml");
    command.args([
        "-c",
        "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)",
    ]);
    command.arg(deploy_dir().join(relative));
    let out = succeeded(
        run(command),
        &format!(
            "{relative} is not YAML PyYAML reads (apt-get install -y python3-yaml if the module is missing)"
        ),
    );
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(documents)) => documents,
        other => panic!("{relative}: unexpected documents {other:?}"),
    }
}

/// The bot's `check-config` with `env` (and nothing else of ours) and
/// `config` as the file: fails on an unknown `GITKEEPER_<SECTION>__<KEY>`.
fn check_config(config: &Path, env: &[(String, String)]) -> Output {
    let mut command = Command::new(bot_binary());
    command.arg("--config").arg(config).arg("check-config");
    for (name, _) in std::env::vars() {
        if name.starts_with("GITKEEPER_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    run(command)
}

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let unit = read("gitkeeper-bot.service");
    // verify checks that ExecStart names an executable: point it at the
    // binary just built instead of /usr/local/bin.
    let bin = bot_binary();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("gitkeeper-bot.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/gitkeeper-bot", &bin.display().to_string()),
    )
    .unwrap();
    let mut command = tool("systemd-analyze", "systemd");
    command.arg("verify").arg(&copy);
    let out = succeeded(run(command), "systemd-analyze verify failed");
    // An unknown or misspelt key is only a warning: none is accepted.
    let warnings = text(&out.stderr);
    assert!(
        !warnings.contains("gitkeeper-bot.service"),
        "systemd-analyze warns about the unit: {warnings}"
    );
    for option in [
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
        "ProtectHome=true",
        "PrivateTmp=true",
        "CapabilityBoundingSet=",
        "RestrictNamespaces=user mnt pid net ipc uts cgroup",
        "LoadCredential=app.pem:",
        "EnvironmentFile=/etc/gitkeeper/bot.env",
        "KillSignal=SIGTERM",
    ] {
        assert!(
            unit.lines().any(|l| l.starts_with(option)),
            "the unit lacks {option}"
        );
    }
    assert!(
        !unit.contains("MemoryDenyWriteExecute=true"),
        "Node.js (validation) needs W+X memory for its JIT"
    );
    // Secrets come from the environment file and the credential, never the unit.
    let environment: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%d", "/run/credentials")))
        .collect();
    assert_no_secret(&environment, "the unit: put it in /etc/gitkeeper/bot.env");
    let keys: Vec<(String, String)> = environment
        .into_iter()
        .filter(|(k, _)| k.starts_with("GITKEEPER_"))
        .collect();
    succeeded(
        check_config(&dir.path().join("absent.toml"), &keys),
        "the unit's GITKEEPER_* variables are not settings the bot knows",
    );
}

/// `docker compose` when the plugin is there, else `docker-compose`.
fn compose() -> Command {
    let plugin = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if plugin {
        let mut command = Command::new("docker");
        command.arg("compose");
        command
    } else {
        tool("docker-compose", "docker-compose")
    }
}

#[test]
fn the_compose_file_is_valid_and_refuses_to_start_without_its_secrets() {
    let file = deploy_dir().join("compose.yml");
    let required = [
        ("GITKEEPER_GITHUB__APP_ID", "123456"),
        ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "compose-webhook-secret"),
        ("GITKEEPER_POSTGRES_PASSWORD", "compose-db-password"),
    ];
    let mut command = compose();
    command
        .arg("-f")
        .arg(&file)
        .arg("config")
        .envs(required.iter().copied());
    let out = succeeded(run(command), "compose config failed");
    let resolved = text(&out.stdout);
    for expected in [
        "postgres://gitkeeper:compose-db-password@postgres:5432/gitkeeper",
        "compose-webhook-secret",
        "/run/secrets/app_pem",
        "service_healthy",
        "seccomp:unconfined",
    ] {
        assert!(resolved.contains(expected), "{expected}:\n{resolved}");
    }
    // Each secret is required: without it compose stops and names it.
    for (missing, _) in required {
        let mut command = compose();
        command.arg("-f").arg(&file).arg("config").envs(
            required
                .iter()
                .copied()
                .filter(|(name, _)| *name != missing),
        );
        command.env_remove(missing);
        let out = run(command);
        assert!(
            !out.status.success(),
            "compose config passed without {missing}"
        );
        assert!(text(&out.stderr).contains(missing), "{}", text(&out.stderr));
    }
}

#[test]
fn the_alert_rules_load_and_fire_on_the_series_they_watch() {
    let dir = deploy_dir().join("prometheus");
    for args in [
        ["check", "rules", "gitkeeper-alerts.yml"],
        ["test", "rules", "gitkeeper-alerts.test.yml"],
    ] {
        let mut command = tool("promtool", "prometheus");
        command.args(args).current_dir(&dir);
        succeeded(run(command), &format!("promtool {}", args.join(" ")));
    }
    // Every metric an alert reads is one the bot exports (a counter family
    // shows once it has a sample).
    let metrics = gitkeeper_bot::metrics::Metrics::default();
    metrics.job_finished(gitkeeper_bot::queue::JobState::Failed);
    let exported = metrics.render(&[]);
    let families: BTreeSet<&str> = exported
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let rules = read("prometheus/gitkeeper-alerts.yml");
    let mut read_metrics = BTreeSet::new();
    for expr in rules.split("gitkeeper_").skip(1) {
        let name: String = expr
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        // `gitkeeper-alerts.yml` and `gitkeeper-bot` in prose are not metrics.
        if !name.is_empty() {
            read_metrics.insert(name);
        }
    }
    assert!(read_metrics.len() >= 6, "{read_metrics:?}");
    for name in read_metrics {
        let family = format!("gitkeeper_{}", name.trim_end_matches("_total"));
        assert!(
            families.contains(family.as_str()),
            "the alerts read {family}, which /metrics does not export:\n{exported}"
        );
    }
}

/// The first document of `kind` in `documents`.
fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {documents:#?}"))
}

#[test]
fn the_kubernetes_manifests_lint_and_describe_several_probed_replicas() {
    let mut command = tool("yamllint", "yamllint");
    command
        .args([
            "-c",
            ".yamllint.yml",
            "-s",
            "kubernetes",
            "prometheus",
            "compose.yml",
        ])
        .current_dir(deploy_dir());
    succeeded(run(command), "yamllint");

    let kustomization = &yaml_documents("kubernetes/kustomization.yaml")[0];
    let mut documents = Vec::new();
    for resource in kustomization["resources"].as_array().unwrap() {
        documents.extend(yaml_documents(&format!(
            "kubernetes/{}",
            resource.as_str().unwrap()
        )));
    }
    let deployment = find(&documents, "Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], *pod_labels);
    let pdb = find(&documents, "PodDisruptionBudget");
    assert_eq!(pdb["apiVersion"], "policy/v1");
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], *pod_labels);
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap() >= 1);
    let service = find(&documents, "Service");
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(pod_labels[key], *value, "the Service selects other pods");
    }

    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // Shutdown drains for [worker] shutdown_grace_secs: the pod must wait longer.
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() > 30);

    // Secrets come from the Secret; the rest are settings the bot knows,
    // with the ConfigMap's gitkeeper.toml as the file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gitkeeper.toml");
    let configmap = find(&documents, "ConfigMap");
    std::fs::write(
        &config,
        configmap["data"]["gitkeeper.toml"].as_str().unwrap(),
    )
    .unwrap();
    let mut env = Vec::new();
    for var in container["env"].as_array().unwrap() {
        let name = var["name"].as_str().unwrap().to_string();
        let value = match (&var["value"], &var["valueFrom"]["secretKeyRef"]) {
            (Value::String(v), _) => {
                assert!(
                    !name.contains("SECRET") && !name.contains("DATABASE__URL"),
                    "{name} is given in the manifest: take it from the Secret"
                );
                v.clone()
            }
            (_, Value::Object(secret)) => {
                assert_eq!(secret["name"], "gitkeeper");
                match name.as_str() {
                    "GITKEEPER_GITHUB__APP_ID" => "123456".into(),
                    "GITKEEPER_DATABASE__URL" => "postgres://gitkeeper@db:5432/gitkeeper".into(),
                    _ => "from-the-secret".into(),
                }
            }
            other => panic!("{name}: neither a value nor a secret: {other:?}"),
        };
        if name != "GITKEEPER_CONFIG" {
            env.push((name, value));
        }
    }
    assert!(
        env.iter()
            .any(|(k, _)| k == "GITKEEPER_GITHUB__WEBHOOK_SECRET"),
        "{env:?}"
    );
    let out = succeeded(
        check_config(&config, &env),
        "the manifests' settings do not load",
    );
    let effective = text(&out.stdout);
    assert!(effective.contains("0.0.0.0:3000"), "{effective}");
    assert!(
        !effective.contains("from-the-secret"),
        "check-config shows a secret: {effective}"
    );
}

/// The `NAME=value` pairs of the Dockerfile's `ENV` instructions (with
/// their `\` continuation lines).
fn dockerfile_env(dockerfile: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut continued = false;
    for line in dockerfile.lines() {
        let body = match line.strip_prefix("ENV ") {
            Some(body) => body,
            None if continued => line,
            None => continue,
        };
        continued = body.trim_end().ends_with('\\');
        let body = body.trim().trim_end_matches('\\').trim();
        if let Some((name, value)) = body.split_once('=') {
            pairs.push((name.to_string(), value.to_string()));
        }
    }
    pairs
}

#[test]
fn the_dockerfile_builds_in_two_stages_and_runs_unprivileged_with_the_sandbox() {
    let dockerfile = read("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[1].contains("-slim"), "{stages:?}");
    for package in ["git", "nodejs", "npm", "bubblewrap", "ca-certificates"] {
        assert!(
            dockerfile.split_whitespace().any(|w| w == package),
            "the runtime image lacks {package}"
        );
    }
    let user = dockerfile
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root"), "{user}");
    // No secret is baked in: ENV only sets what is not one.
    let env = dockerfile_env(&dockerfile);
    assert!(env.len() >= 3, "{env:?}");
    assert_no_secret(&env, "the image");
    let settings: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k != "GITKEEPER_CONFIG")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    succeeded(
        check_config(&dir.path().join("absent.toml"), &settings),
        "the image's settings do not load",
    );
    let ignore = std::fs::read_to_string(deploy_dir().join("../.dockerignore")).unwrap();
    for excluded in ["target/", ".git/", "deploy/secrets/", "deploy/compose.env"] {
        assert!(
            ignore.lines().any(|l| l == excluded),
            ".dockerignore lets {excluded} into the build context"
        );
    }
}
