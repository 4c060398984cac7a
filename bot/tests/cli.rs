//! The command line as a maintainer uses it: the real binary, a temp data dir.
//! (Also makes cargo build `target/*/gitkeeper-bot` for the end-to-end tests.)

// Test code: a failed unwrap is a failing test with its message.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

#[allow(
    clippy::disallowed_methods,
    reason = "synchronous tests of the binary: there is no runtime to block"
)]
fn bot(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitkeeper-bot"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GITKEEPER_DATA__DIR", dir)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run gitkeeper-bot")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_prints_defaults_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(
        dir.path(),
        &["check-config"],
        &[
            ("GITKEEPER_GITHUB__WEBHOOK_SECRET", "s3cret-value"),
            ("GITKEEPER_DATABASE__URL", "postgres://gk:pa55word@db/gk"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("listen = \"127.0.0.1:3000\""), "{stdout}");
    assert!(stdout.contains("label = \"gitkeeper\""), "{stdout}");
    assert!(
        !stdout.contains("s3cret-value") && !stdout.contains("pa55word"),
        "{stdout}"
    );
    assert!(stdout.contains("[redacted]"), "{stdout}");
}

#[test]
fn invalid_config_is_one_line_naming_the_key_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(
        dir.path(),
        &["check-config"],
        &[("GITKEEPER_WORKER__CONCURRENCY", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("worker.concurrency"), "{stderr}");

    std::fs::write(
        dir.path().join("gitkeeper.toml"),
        "[server]\nlisten = \"nowhere\"\n",
    )
    .unwrap();
    let out = bot(dir.path(), &["serve"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("server.listen"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn migrate_then_jobs_lists_an_empty_queue() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(dir.path(), &["migrate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("gitkeeper.db").exists());
    let out = bot(dir.path(), &["jobs", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "[]");
    let out = bot(dir.path(), &["jobs", "--state", "nonsense"], &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown job state"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn version_and_help_on_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(dir.path(), &["--version"], &[]);
    assert!(
        text(&out.stdout).starts_with("gitkeeper-bot "),
        "{}",
        text(&out.stdout)
    );
    for sub in ["serve", "jobs", "migrate", "check-config"] {
        let out = bot(dir.path(), &[sub, "--help"], &[]);
        assert!(out.status.success(), "{sub}");
        assert!(
            text(&out.stdout).contains("Usage:"),
            "{sub}: {}",
            text(&out.stdout)
        );
    }
}

/// A small Next.js + Prisma repository written for this test.
fn write_shop(root: &std::path::Path) {
    let files: &[(&str, &str)] = &[
        (
            "package.json",
            r#"{"name":"shop","version":"1.2.0","dependencies":{"next":"14.2.0","react":"18.3.1","@prisma/client":"5.10.0"},"devDependencies":{"typescript":"5.4.0","prisma":"5.10.0"},"scripts":{"build":"next build","typecheck":"tsc --noEmit"}}"#,
        ),
        (
            "tsconfig.json",
            "{\n  // aliases\n  \"compilerOptions\": {\"baseUrl\": \".\", \"paths\": {\"@/*\": [\"src/*\"]}}\n}\n",
        ),
        (
            "prisma/schema.prisma",
            "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n\nmodel Order {\n  id    Int    @id @default(autoincrement())\n  total Int\n  items Item[]\n}\n\nmodel Item {\n  id      Int   @id\n  order   Order @relation(fields: [orderId], references: [id])\n  orderId Int\n}\n",
        ),
        (
            "docs/gitkeeper.md",
            "# Gitkeeper\n\n## Protected paths\n\n- `prisma/migrations/**`\n\n## Conventions\n\n- Money is stored in cents.\n",
        ),
        (
            "src/lib/orders.ts",
            "import { db } from '@/lib/db';\n\nexport async function orderTotal(id: number) {\n  const order = await db.order.findUnique({ where: { id } });\n  return order?.total ?? 0;\n}\n",
        ),
        (
            "src/lib/db.ts",
            "import { PrismaClient } from '@prisma/client';\nexport const db = new PrismaClient();\n",
        ),
        (
            "src/app/page.tsx",
            "export default function Page() {\n  return <main>Welcome</main>;\n}\n",
        ),
    ];
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

#[test]
fn context_prints_the_chosen_files_with_reasons_and_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shop");
    write_shop(&repo);
    let repo_arg = repo.to_str().unwrap();
    let task = "orderTotal should include tax in src/lib/orders.ts";

    let out = bot(dir.path(), &["context", repo_arg, "--task", task], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.contains("project   shop 1.2.0"), "{summary}");
    assert!(summary.contains("Next.js"), "{summary}");
    assert!(
        summary.contains("docs/gitkeeper.md (1 protected"),
        "{summary}"
    );
    assert!(summary.contains("prisma/schema.prisma"), "{summary}");
    assert!(
        summary
            .lines()
            .any(|l| l.contains("src/lib/orders.ts") && l.contains("named in task")),
        "{summary}"
    );

    let out = bot(
        dir.path(),
        &[
            "context",
            repo_arg,
            "--task",
            task,
            "--json",
            "--max-tokens",
            "3000",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let package: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(package["budget"]["max_tokens"], 3000);
    assert!(package["budget"]["used_tokens"].as_u64().unwrap() <= 3000);
    let files = package["files"].as_array().unwrap();
    let orders = files
        .iter()
        .find(|f| f["path"] == "src/lib/orders.ts")
        .expect("the named file is selected");
    assert!(orders["tokens"].as_u64().unwrap() > 0);
    // Its import through the `@/*` alias comes along.
    assert!(
        files.iter().any(|f| f["path"] == "src/lib/db.ts"),
        "{files:?}"
    );
    assert!(
        package["schema"]["summary"]
            .as_str()
            .unwrap()
            .contains("Order"),
        "{package}"
    );
}

#[test]
fn context_on_a_missing_directory_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let out = bot(
        dir.path(),
        &["context", "/nonexistent/repo", "--task", "anything"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/nonexistent/repo"), "{stderr}");
}

#[test]
fn prune_prints_what_it_deleted_and_a_dry_run_deletes_nothing() {
    use gitkeeper_bot::ids::DeliveryId;
    use gitkeeper_bot::queue::{self, Delivery};
    let dir = tempfile::tempdir().unwrap();
    // Two deliveries from 200 days ago and one from now, in the store `prune` opens.
    let url = format!("sqlite://{}", dir.path().join("gitkeeper.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = queue::open(&url, None).await.unwrap();
        let now = queue::now_ms();
        for (id, at) in [
            ("old-1", now - 200 * 86_400_000),
            ("old-2", now - 200 * 86_400_000),
            ("new", now),
        ] {
            let delivery = Delivery {
                id: DeliveryId(id.into()),
                event: "issues".into(),
                outcome: "ignored".into(),
            };
            store.accept(&delivery, None, at).await.unwrap();
        }
    });
    let counted = "2 webhook deliveries, 0 finished jobs, 0 stored prompts";
    for _ in 0..2 {
        let out = bot(dir.path(), &["prune", "--dry-run"], &[]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!("would delete {counted}")),
            "{stdout}"
        );
        assert!(stdout.contains("deliveries 30 days"), "{stdout}");
    }
    let out = bot(dir.path(), &["prune"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("deleted {counted}")));
    let out = bot(dir.path(), &["prune"], &[]);
    assert!(
        text(&out.stdout).contains("deleted 0 webhook deliveries"),
        "{}",
        text(&out.stdout)
    );
}
