//! A whole world for end-to-end tests of the GitHub worker: the GitHub
//! double with a small repository and an issue, an Ollama double serving the
//! local models, and the bot's configuration pointing at both (local tiers
//! called directly, no runner).

use std::time::Duration;

use serde_json::{Value, json};

use crate::bot::{BotOptions, BotProcess, webhook_fixture};
use crate::github::{GithubDouble, GithubDoubleOptions};
use crate::models::{ModelDouble, Step};

pub const INSTALLATION: u64 = 42;
pub const OWNER: &str = "Codertocat";
pub const REPO: &str = "Hello-World";
pub const ISSUE: u64 = 7;
pub const TITLE: &str = "Fix the greeting punctuation in src/greet.ts";
pub const BODY: &str =
    "The greeting should read `Hello, <name>!` with a comma and an exclamation mark.";
/// The branch the bot works on for issue #7.
pub const BRANCH: &str = "gitkeeper/7-fix-the-greeting-punctuation-in-src";
pub use crate::models::{QWEN_7B, QWEN_14B};

pub const GREET: &str =
    "export function greet(name: string): string {\n  return `Hello ${name}`;\n}\n";
pub const GREET_FIXED: &str =
    "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n";

/// The repository's own check: runs in the sandbox on every attempt.
const REPO_CONFIG: &str = "validate:\n  setup: []\n  checks:\n    - run: [grep, -q, \"export function greet\", src/greet.ts]\n      name: greet is still exported\n      stage: syntax\n";

/// The model's answer that fixes the issue (whole-file block).
pub fn good_answer() -> String {
    format!("FILE: src/greet.ts\n```ts\n{GREET_FIXED}```\n")
}

/// An answer that applies but fails the repository's check.
pub fn breaking_answer() -> String {
    "FILE: src/greet.ts\n```ts\nexport const greeting = 'Hello';\n```\n".to_string()
}

/// The GitHub double, the model double, and where the bot keeps its data.
pub struct World {
    pub gh: GithubDouble,
    pub ollama: ModelDouble,
    pub dir: tempfile::TempDir,
}

impl World {
    /// A repository with `src/greet.ts` and its check, issue #7 asking to fix it.
    pub async fn start() -> World {
        let gh = GithubDouble::start(GithubDoubleOptions::default()).await;
        gh.add_installation(INSTALLATION, OWNER);
        gh.add_repo(INSTALLATION, OWNER, REPO).await;
        gh.push_files(
            OWNER,
            REPO,
            "main",
            &[
                ("README.md", "# Hello\n"),
                ("src/greet.ts", GREET),
                (".github/gitkeeper.yml", REPO_CONFIG),
            ],
            "Initial commit",
        )
        .await;
        gh.add_issue(OWNER, REPO, ISSUE, TITLE, BODY, "Codertocat");
        let ollama = ModelDouble::ollama(&[QWEN_7B, QWEN_14B]).await;
        World {
            gh,
            ollama,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Every model answers `step` when nothing else is scripted.
    pub fn default_answer(&self, step: Step) -> &Self {
        self.ollama.update_options(|o| o.default_step = Some(step));
        self
    }

    /// The bot's options: this world's GitHub and models, SQLite in `dir`.
    pub fn options(&self) -> BotOptions {
        let mut options = BotOptions::new(&self.gh.url(), self.gh.app_id());
        options.config_toml = Some(config_toml(&self.ollama.url()));
        options
    }

    pub async fn start_bot(&self) -> BotProcess {
        BotProcess::start(&self.options(), self.dir.path()).await
    }

    /// The status comments of jobs on `number` (the bot's, by marker).
    pub fn status_comments(&self, number: u64) -> Vec<String> {
        self.gh
            .comments(OWNER, REPO, number)
            .into_iter()
            .filter(|c| c.body.contains("<!-- gitkeeper:job="))
            .map(|c| c.body)
            .collect()
    }
}

/// The bot's own GitHub client for `gh`'s App, with short retry backoff,
/// for tests that call the bot's library against the double.
pub fn github_app(gh: &GithubDouble) -> std::sync::Arc<gitkeeper_bot::github::GithubApp> {
    let mut settings = gitkeeper_bot::config::Settings::default();
    settings.github.app_id = Some(gh.app_id());
    settings.github.private_key_path = Some(crate::github::test_app_key_path());
    settings.github.api_url = gh.url();
    gitkeeper_bot::github::GithubApp::from_settings(&settings)
        .expect("the double's settings are valid")
        .with_backoff(std::time::Duration::from_millis(5))
}

/// Local tiers on the Ollama double, called directly; cloud tiers keep
/// their defaults (no API key here, so they fail at once if reached).
pub fn config_toml(ollama_url: &str) -> String {
    format!(
        "[models.local-small]\nendpoint = \"{ollama_url}\"\nmax_retries = 0\ntimeout_secs = 30\n\n\
         [models.local-large]\nendpoint = \"{ollama_url}\"\nmax_retries = 0\ntimeout_secs = 30\n\n\
         [runner]\ntiers = []\n"
    )
}

/// `issues.labeled` with the trigger label on `number` (its only label).
pub fn labeled(number: u64) -> Value {
    labeled_with(number, &[])
}

/// `issues.labeled` with the trigger label on `number`, which also carries
/// `others`: GitHub sends every label the issue has in `issue.labels`.
pub fn labeled_with(number: u64, others: &[&str]) -> Value {
    let mut v = webhook_fixture("issues.labeled.json", INSTALLATION);
    v["label"]["name"] = json!("gitkeeper");
    v["issue"]["number"] = json!(number);
    v["issue"]["title"] = json!(TITLE);
    v["issue"]["body"] = json!(BODY);
    let label = v["label"].clone();
    let mut labels = vec![label.clone()];
    for name in others {
        let mut other = label.clone();
        other["name"] = json!(name);
        labels.push(other);
    }
    v["issue"]["labels"] = Value::Array(labels);
    v
}

/// A DeepSeek double (OpenAI wire format) answering `answer` by default, and
/// the bot's options for `world` with it as `cloud-deepseek` plus `extra`
/// settings (TOML appended to the config).
pub async fn with_deepseek(world: &World, answer: Step, extra: &str) -> (ModelDouble, BotOptions) {
    let deepseek = ModelDouble::openai(&["deepseek-chat"], Some("sk-ds-test")).await;
    deepseek.update_options(|o| o.default_step = Some(answer));
    let mut options = world.options();
    options.config_toml = Some(format!(
        "{}\n[models.cloud-deepseek]\nendpoint = \"{}\"\nmax_retries = 0\n\n{extra}",
        config_toml(&world.ollama.url()),
        deepseek.url()
    ));
    options
        .extra_env
        .push(("DEEPSEEK_API_KEY".into(), "sk-ds-test".into()));
    (deepseek, options)
}

/// `issue_comment.created` by `Codertocat` on `number` with `body`.
pub fn comment(number: u64, comment_id: u64, body: &str, on_pull: bool) -> Value {
    let mut v = webhook_fixture("issue_comment.created.json", INSTALLATION);
    v["issue"]["number"] = json!(number);
    v["issue"]["title"] = json!(TITLE);
    v["issue"]["body"] = json!(BODY);
    v["issue"]["labels"] = json!([]);
    if on_pull {
        v["issue"]["pull_request"] =
            json!({"url": format!("https://api.github.com/repos/{OWNER}/{REPO}/pulls/{number}")});
    } else if let Some(issue) = v["issue"].as_object_mut() {
        issue.remove("pull_request");
    }
    v["comment"]["id"] = json!(comment_id);
    v["comment"]["body"] = json!(body);
    v
}

/// `pull_request_review_comment.created` for comment `comment_id` on
/// `src/greet.ts` line `line` of pull request `number` (on the bot's branch).
pub fn review_comment(number: u64, comment_id: u64, line: u64, body: &str) -> Value {
    let mut v = webhook_fixture("pull_request_review_comment.created.json", INSTALLATION);
    v["pull_request"]["number"] = json!(number);
    v["pull_request"]["head"]["ref"] = json!(BRANCH);
    v["comment"]["id"] = json!(comment_id);
    v["comment"]["path"] = json!("src/greet.ts");
    v["comment"]["line"] = json!(line);
    v["comment"]["body"] = json!(body);
    v
}

/// `pull_request_review.submitted` for review `review_id` in `state` on pull request `number`.
pub fn review(number: u64, review_id: u64, state: &str, body: &str) -> Value {
    let mut v = webhook_fixture("pull_request_review.submitted.json", INSTALLATION);
    v["pull_request"]["number"] = json!(number);
    v["pull_request"]["head"]["ref"] = json!(BRANCH);
    v["review"]["id"] = json!(review_id);
    v["review"]["state"] = json!(state);
    v["review"]["body"] = json!(body);
    v
}

/// Wait until `n` jobs are in a final state (or waiting).
pub async fn settled(bot: &BotProcess, n: usize) -> Vec<Value> {
    bot.wait_for_jobs(n, Duration::from_secs(60)).await
}
