//! The repository's own TypeScript build, for real: the fixture project's
//! dependencies come from the npm registry (`npm ci` in the sandbox, with
//! network for setup only), `tsc` judges every attempt, a type error is fed
//! back to the model, and a second job of the same repository restores the
//! install from the cache instead of running `npm ci` again.
//!
//! Needs `node`/`npm` and the npm registry (`.ci/run` installs Node).

use std::time::Duration;

use gitkeeper_e2e::bot::BotProcess;
use gitkeeper_e2e::models::Step;
use gitkeeper_e2e::world::{
    BRANCH, GREET_FIXED, ISSUE, OWNER, REPO, World, comment, config_toml, good_answer, labeled,
};

const PACKAGE_JSON: &str = r#"{
  "name": "shop",
  "private": true,
  "scripts": { "typecheck": "tsc --noEmit" },
  "dependencies": { "@prisma/client": "5.22.0" },
  "devDependencies": { "typescript": "5.6.3" }
}
"#;

/// The data model: users and their orders.
const SCHEMA: &str = "datasource db {\n  provider = \"postgresql\"\n  url      = env(\"DATABASE_URL\")\n}\n\ngenerator client {\n  provider = \"prisma-client-js\"\n}\n\nmodel User {\n  id     Int     @id @default(autoincrement())\n  email  String  @unique\n  orders Order[]\n}\n\nmodel Order {\n  id     Int  @id @default(autoincrement())\n  total  Int\n  userId Int\n  user   User @relation(fields: [userId], references: [id])\n}\n";

/// Data access beside the typed code. The Prisma client is generated at
/// deploy time (its engines are not fetched here), so `tsc` checks `src/`
/// only; Gitkeeper's static checks read `lib/` against the schema.
const ORDERS: &str = "import { PrismaClient } from \"@prisma/client\";\n\nconst prisma = new PrismaClient();\n\nexport async function ordersOf(userId: number) {\n  return prisma.order.findMany({ where: { userId } });\n}\n";

const TSCONFIG: &str = r#"{
  "compilerOptions": { "strict": true, "noEmit": true, "target": "es2020", "module": "commonjs", "skipLibCheck": true },
  "include": ["src/**/*.ts"]
}
"#;

const REPO_CONFIG: &str = "validate:\n  setup:\n    - npm ci --ignore-scripts --no-audit --no-fund\n  checks:\n    - run: npm run typecheck\n      stage: typecheck\n  timeout: 5m\n";

/// What npm writes as the lock file for `PACKAGE_JSON` (from the registry).
fn lock_file() -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), PACKAGE_JSON).unwrap();
    let out = std::process::Command::new("npm")
        .args([
            "install",
            "--package-lock-only",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
        ])
        .current_dir(dir.path())
        .output()
        .expect("npm is needed by these tests (.ci/run installs it)");
    assert!(
        out.status.success(),
        "npm could not make the lock file (is the npm registry reachable?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.path().join("package-lock.json")).unwrap()
}

/// The fixture pushed onto the World's main branch: the TypeScript project
/// with its lock file from the registry, the Prisma schema and `lib/`.
async fn typed_world() -> World {
    let world = World::start().await;
    world
        .gh
        .push_files(
            OWNER,
            REPO,
            "main",
            &[
                ("package.json", PACKAGE_JSON),
                ("package-lock.json", &lock_file()),
                ("tsconfig.json", TSCONFIG),
                (".github/gitkeeper.yml", REPO_CONFIG),
                ("prisma/schema.prisma", SCHEMA),
                ("lib/orders.ts", ORDERS),
            ],
            "A TypeScript + Prisma project with a typecheck script",
        )
        .await;
    world
}

/// The bot on `world`, local-small with `attempts` attempts, standard validation.
async fn typed_bot(world: &World, attempts: u32) -> BotProcess {
    let mut options = world.options();
    options.config_toml = Some(format!(
        "{}\n[[route.ladder]]\nname = \"typed\"\ntiers = [{{ model = \"local-small\", attempts = {attempts} }}]\nvalidation = \"standard\"\n",
        config_toml(&world.ollama.url())
    ));
    BotProcess::start(&options, world.dir.path()).await
}

/// Milliseconds `npm ci` takes for the fixture with nothing cached.
fn timed_npm_ci() -> u128 {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), PACKAGE_JSON).unwrap();
    std::fs::write(dir.path().join("package-lock.json"), lock_file()).unwrap();
    let started = std::time::Instant::now();
    let out = std::process::Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .env("npm_config_cache", dir.path().join("npm-cache"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed().as_millis()
}

/// An answer that compiles nowhere: the function claims to return a number.
fn type_error_answer() -> String {
    let wrong = GREET_FIXED.replace("): string {", "): number {");
    format!("FILE: src/greet.ts\n```ts\n{wrong}```\n")
}

/// Duration of the validation row whose check name contains `name`, from a
/// PR description's table (`| name | ✅ passed | 1.2 s |`).
fn row_duration(body: &str, name: &str) -> Option<String> {
    body.lines()
        .find(|l| l.starts_with("| ") && l.contains(name))
        .and_then(|l| l.split('|').nth(3))
        .map(|d| d.trim().to_string())
}

#[tokio::test]
async fn tsc_judges_attempts_a_type_error_is_fed_back_and_a_second_job_reuses_the_install() {
    let world = typed_world().await;
    world.ollama.push(Step::reply(type_error_answer()));
    world.ollama.push(Step::reply(good_answer()));
    world.ollama.push(Step::reply(good_answer()));
    let bot = typed_bot(&world, 2).await;

    bot.webhook("issues", "d-typed", &labeled(ISSUE)).await;
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(300)).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    // The first answer failed tsc; its error, with file and line, reached the second prompt.
    let prompts = world.ollama.prompts();
    assert_eq!(prompts.len(), 2);
    assert!(prompts[1].contains("TS2322"), "{}", prompts[1]);
    assert!(prompts[1].contains("src/greet.ts"), "{}", prompts[1]);
    let first = world.gh.pulls(OWNER, REPO)[0].body.clone();
    assert!(
        first.contains("| npm run typecheck | ✅ passed |"),
        "{first}"
    );
    let head = world.gh.branch_sha(OWNER, REPO, BRANCH).await.unwrap();
    assert_eq!(
        world
            .gh
            .file_at(OWNER, REPO, &head, "src/greet.ts")
            .await
            .as_deref(),
        Some(GREET_FIXED)
    );

    // A second job of the same repository: the install comes from the cache.
    let number = world.gh.pulls(OWNER, REPO)[0].number;
    let id = world
        .gh
        .add_comment(OWNER, REPO, number, "Codertocat", "/gitkeeper retry");
    bot.webhook(
        "issue_comment",
        "d-again",
        &comment(number, id, "/gitkeeper retry", true),
    )
    .await;
    let jobs = bot.wait_for_jobs(2, Duration::from_secs(300)).await;
    assert!(
        jobs.iter().all(|j| j["state"] == "succeeded"),
        "{jobs:#?}\n{}",
        bot.log()
    );
    let second = world.gh.pulls(OWNER, REPO)[0].body.clone();
    assert!(second.contains("setup (cached: "), "{second}");
    assert!(!second.contains("| npm ci"), "npm ci ran again:\n{second}");
    assert!(
        second.contains("| npm run typecheck | ✅ passed |"),
        "{second}"
    );
    // What the cache saves: `npm ci` with an empty npm cache, timed here,
    // against the restore the second job reported.
    eprintln!(
        "dependency install: npm ci without any cache {} ms; restored from Gitkeeper's cache in the second job: {:?}",
        timed_npm_ci(),
        row_duration(&second, "setup (cached")
    );
}

/// An answer rewriting `lib/orders.ts` with `body` after the import.
fn orders_answer(body: &str) -> String {
    format!(
        "FILE: lib/orders.ts\n```ts\nimport {{ PrismaClient }} from \"@prisma/client\";\n{body}\n```\n"
    )
}

#[tokio::test]
async fn invented_imports_models_and_fields_are_caught_before_any_build() {
    let world = typed_world().await;
    world.gh.add_issue(
        OWNER,
        REPO,
        9,
        "Add orderTotal to lib/orders.ts",
        "Sum the totals of a user's orders in lib/orders.ts.",
        "Codertocat",
    );
    let prisma = "const prisma = new PrismaClient();\n";
    for body in [
        // An import of a file that does not exist.
        format!(
            "import {{ sum }} from \"./math\";\n{prisma}export async function orderTotal(userId: number) {{\n  return sum((await prisma.order.findMany({{ where: {{ userId }} }})).map((o) => o.total));\n}}"
        ),
        // A model the schema does not have.
        format!(
            "{prisma}export async function orderTotal(userId: number) {{\n  const rows = await prisma.invoice.findMany({{ where: {{ userId }} }});\n  return rows.length;\n}}"
        ),
        // A field Order does not have.
        format!(
            "{prisma}export async function orderTotal(userId: number) {{\n  const rows = await prisma.order.findMany({{ where: {{ customerId: userId }} }});\n  return rows.length;\n}}"
        ),
        // What the schema allows.
        format!(
            "{prisma}export async function orderTotal(userId: number) {{\n  const rows = await prisma.order.findMany({{ where: {{ userId }} }});\n  return rows.reduce((sum, o) => sum + o.total, 0);\n}}"
        ),
    ] {
        world.ollama.push(Step::reply(orders_answer(&body)));
    }
    let bot = typed_bot(&world, 4).await;
    let mut event = labeled(9);
    event["issue"]["title"] = serde_json::json!("Add orderTotal to lib/orders.ts");
    event["issue"]["body"] =
        serde_json::json!("Sum the totals of a user's orders in lib/orders.ts.");
    bot.webhook("issues", "d-orders", &event).await;
    let jobs = bot.wait_for_jobs(1, Duration::from_secs(300)).await;
    assert_eq!(jobs[0]["state"], "succeeded", "{jobs:#?}\n{}", bot.log());

    let prompts = world.ollama.prompts();
    assert_eq!(prompts.len(), 4);
    // Each retry prompt names what the static checks found, and no build ran
    // on those attempts (the typecheck never reported on them).
    for (prompt, invented) in prompts[1..].iter().zip(["./math", "invoice", "customerId"]) {
        let feedback = prompt.rsplit("What went wrong").next().unwrap_or("");
        assert!(feedback.contains("static checks failed"), "{feedback}");
        assert!(feedback.contains(invented), "{invented} not in {feedback}");
        assert!(
            !feedback.contains("npm run typecheck"),
            "a build ran: {feedback}"
        );
    }
    let pull = &world.gh.pulls(OWNER, REPO)[0];
    assert!(
        pull.body.contains("| npm run typecheck | ✅ passed |"),
        "{}",
        pull.body
    );
    for note in [
        "| 1 | 1 | `local-small` | validation_failed",
        "| 3 | 1 | `local-small` | validation_failed",
        "| 4 | 1 | `local-small` | passed",
    ] {
        assert!(pull.body.contains(note), "{note} not in {}", pull.body);
    }
}
