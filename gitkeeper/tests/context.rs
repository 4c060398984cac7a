//! Context packages built from small repositories written to a tempdir.

mod support;
use support::{repo, write};

use std::path::Path;

use gitkeeper::context::imports::{ImportTarget, Resolver};
use gitkeeper::context::tokens::count_tokens;
use gitkeeper::context::{self, ContextOptions, ContractRole, Reason};

fn paths(pkg: &context::ContextPackage) -> Vec<&str> {
    pkg.files.iter().map(|f| f.path.as_str()).collect()
}

const TSCONFIG: &str = r#"{
  // aliases
  "compilerOptions": { "strict": true, "paths": { "@/*": ["./src/*"], }, },
}"#;

#[test]
fn import_graph_follows_aliases_and_index_files_from_named_files() {
    let dir = repo(&[
        ("tsconfig.json", TSCONFIG),
        (
            "src/app/page.tsx",
            "import { Button } from '@/components';\nimport { db } from '../lib/db';\nexport default function Page() { return <Button onClick={() => db} /> }\n",
        ),
        ("src/components/index.ts", "export * from './Button';\n"),
        (
            "src/components/Button.tsx",
            "export function Button(p: object) { return null }\n",
        ),
        ("src/lib/db.ts", "export const db = {};\n"),
        ("src/lib/unrelated.ts", "export const weather = 'sunny';\n"),
        (
            "src/app/admin/page.tsx",
            "import Page from '../page';\nexport default Page;\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "Fix the layout of src/app/page.tsx",
        &ContextOptions::default(),
    )
    .expect("package");
    let reasons = |p: &str| pkg.file(p).map(|f| f.reasons.clone()).unwrap_or_default();
    assert!(
        reasons("src/app/page.tsx")
            .iter()
            .any(|r| matches!(r, Reason::NamedInTask { .. }))
    );
    assert!(
        reasons("src/components/index.ts").iter().any(|r| matches!(
            r,
            Reason::ImportedBySeed { seed, hops: 1 } if seed == "src/app/page.tsx"
        )),
        "{:?}",
        paths(&pkg)
    );
    assert!(
        reasons("src/lib/db.ts")
            .iter()
            .any(|r| matches!(r, Reason::ImportedBySeed { hops: 1, .. }))
    );
    // Two hops through the index file, and an importer of the named file.
    assert!(
        reasons("src/components/Button.tsx")
            .iter()
            .any(|r| matches!(r, Reason::ImportedBySeed { hops: 2, .. }))
    );
    assert!(
        reasons("src/app/admin/page.tsx")
            .iter()
            .any(|r| matches!(r, Reason::ImportsSeed { hops: 1, .. }))
    );
    assert!(pkg.file("src/lib/unrelated.ts").is_none());
    let ts = pkg.tsconfig.as_ref().expect("tsconfig");
    assert_eq!(ts.alias_candidates("@/lib/db"), ["src/lib/db"]);
}

#[test]
fn resolver_is_usable_on_its_own_for_validation() {
    let dir = repo(&[("tsconfig.json", TSCONFIG)]);
    let ts = context::tsconfig::load_tsconfig(dir.path(), "tsconfig.json").expect("tsconfig");
    let resolver = Resolver::new(
        ["src/lib/db.ts", "src/ui/index.tsx"].map(String::from),
        vec![ts],
    );
    assert_eq!(
        resolver.resolve("src/app/page.tsx", "@/lib/db"),
        ImportTarget::File("src/lib/db.ts".into())
    );
    assert_eq!(
        resolver.resolve("src/app/page.tsx", "../ui"),
        ImportTarget::File("src/ui/index.tsx".into())
    );
    assert_eq!(
        resolver.resolve("src/app/page.tsx", "@/lib/nope"),
        ImportTarget::Unresolved
    );
    assert_eq!(
        resolver.resolve("src/app/page.tsx", "zod"),
        ImportTarget::Package("zod".into())
    );
}

#[test]
fn selection_respects_the_token_budget_and_max_files() {
    let mut files: Vec<(String, String)> = (0..30)
        .map(|i| {
            let body: String = (0..60)
                .map(|j| format!("export function invoiceTotal{i}_{j}(lines: number[]) {{ return lines.length * {j}; }}\n"))
                .collect();
            (format!("src/invoices/part{i:02}.ts"), body)
        })
        .collect();
    files.push((
        "package.json".into(),
        r#"{"name":"billing","dependencies":{"next":"14.0.0"}}"#.into(),
    ));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = repo(&refs);
    for (max_files, max_tokens) in [(5, 3_000), (10, 12_000), (3, 1_500), (40, 6_000)] {
        let options = ContextOptions {
            max_files,
            max_tokens,
            ..ContextOptions::default()
        };
        let pkg =
            context::build(dir.path(), "invoice totals are wrong", &options).expect("package");
        let rendered = pkg.render_for_prompt();
        let counted = count_tokens(&rendered);
        assert!(pkg.files.len() <= max_files, "{} files", pkg.files.len());
        assert!(counted <= max_tokens, "{counted} > {max_tokens}");
        assert_eq!(pkg.budget.used_tokens, counted);
        for f in &pkg.files {
            assert_eq!(f.tokens, count_tokens(&f.content), "{}", f.path);
        }
        assert!(
            pkg.files.len() > 1,
            "something relevant fits in {max_tokens}"
        );
    }
}

#[test]
fn a_named_file_too_big_for_the_budget_is_cut_with_the_elision_marked() {
    let big: String = (0..3000)
        .map(|i| format!("export const setting{i} = {i};\n"))
        .collect();
    let dir = repo(&[
        ("src/config/settings.ts", &big),
        ("src/a.ts", "export const a = 1;\n"),
    ]);
    let options = ContextOptions {
        max_tokens: 4_000,
        ..ContextOptions::default()
    };
    let pkg =
        context::build(dir.path(), "Change src/config/settings.ts", &options).expect("package");
    let file = pkg.file("src/config/settings.ts").expect("named file kept");
    let cut = file.truncated.as_ref().expect("cut");
    assert!(cut.kept_lines > 0);
    assert_eq!(cut.kept_lines + cut.elided_lines, 3000);
    assert!(file.content.starts_with("export const setting0 = 0;\n"));
    assert!(
        file.content
            .trim_end()
            .ends_with(&format!("// … {} lines elided …", cut.elided_lines))
    );
    assert!(pkg.budget.used_tokens <= 4_000);
}

#[test]
fn repository_without_schema_manifest_or_doc_still_yields_a_package() {
    let dir = repo(&[
        (
            "app/main.py",
            "def handle_order(order):\n    return order.total\n",
        ),
        ("app/orders.py", "class Order:\n    total = 0\n"),
        ("requirements.txt", "flask==3.0\n"),
    ]);
    let pkg = context::build(
        dir.path(),
        "orders are missing their total",
        &ContextOptions::default(),
    )
    .expect("package");
    assert!(pkg.schema.is_none());
    assert!(pkg.manifest.is_none());
    assert!(pkg.tsconfig.is_none());
    assert!(pkg.gitkeeper_doc.paths.is_empty());
    assert!(pkg.gitkeeper_doc.rules.is_empty());
    assert_eq!(pkg.project.stack_summary(), "Flask + Python");
    assert!(paths(&pkg).contains(&"app/orders.py"), "{:?}", paths(&pkg));
    assert!(pkg.render_for_prompt().contains("# Directory tree"));

    let empty = tempfile::tempdir().expect("tempdir");
    let pkg =
        context::build(empty.path(), "anything", &ContextOptions::default()).expect("package");
    assert!(pkg.files.is_empty());
    assert_eq!(pkg.tree.total_files, 0);
}

#[test]
fn gitignored_files_and_secrets_never_appear() {
    let dir = repo(&[
        (".gitignore", "secret/\n*.generated.ts\n"),
        ("secret/keys.ts", "export const sessionKey = 'hunter2';\n"),
        ("src/api.generated.ts", "export const session = 1;\n"),
        (
            "src/session.ts",
            "export function getSession() { return null }\n",
        ),
        (".env", "SESSION_SECRET=hunter2\n"),
        (
            "node_modules/session-lib/index.js",
            "module.exports = 'session'\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "Fix session handling in secret/keys.ts, src/api.generated.ts and .env",
        &ContextOptions::default(),
    )
    .expect("package");
    let rendered = pkg.render_for_prompt();
    assert!(!rendered.contains("hunter2"));
    for hidden in ["secret", "generated", ".env", "node_modules"] {
        assert!(
            !pkg.tree.text.contains(hidden),
            "{hidden} in tree:\n{}",
            pkg.tree.text
        );
        assert!(
            paths(&pkg).iter().all(|p| !p.contains(hidden)),
            "{:?}",
            paths(&pkg)
        );
    }
    assert!(paths(&pkg).contains(&"src/session.ts"));
}

#[test]
fn named_files_are_selected_with_reason_named_in_task() {
    let dir = repo(&[
        (
            "src/lib/session.ts",
            "export function getSession() { return null }\n",
        ),
        (
            "src/components/UserCard.tsx",
            "export function UserCard() { return null }\n",
        ),
        ("src/lib/other.ts", "export const other = 1;\n"),
    ]);
    let pkg = context::build(
        dir.path(),
        "Use src/lib/session.ts in the UserCard component",
        &ContextOptions::default(),
    )
    .expect("package");
    for path in ["src/lib/session.ts", "src/components/UserCard.tsx"] {
        let file = pkg.file(path).expect("selected");
        let first = file.reasons.first().expect("reason");
        assert!(
            first.to_string().starts_with("named in task"),
            "{path}: {first}"
        );
    }
    assert_eq!(
        &pkg.files[0].path, "src/lib/session.ts",
        "named files come first"
    );
}

#[test]
fn identifiers_named_in_the_task_select_the_files_defining_them() {
    let dir = repo(&[
        (
            "src/lib/money.ts",
            "export function formatCents(c: number) { return (c / 100).toFixed(2) }\n",
        ),
        (
            "src/lib/dates.ts",
            "export const formatDate = (d: Date) => d.toISOString();\n",
        ),
        (
            "src/app/page.tsx",
            "import { formatCents } from '../lib/money';\nexport default () => formatCents(1);\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "formatCents rounds negative amounts wrong",
        &ContextOptions::default(),
    )
    .expect("package");
    let money = pkg.file("src/lib/money.ts").expect("defining file");
    assert!(money.reasons.contains(&Reason::DefinesIdentifier {
        identifier: "formatCents".into()
    }));
    assert!(pkg.file("src/app/page.tsx").is_some_and(|f| {
        f.reasons
            .iter()
            .any(|r| matches!(r, Reason::ImportsSeed { .. }))
    }));
}

#[test]
fn contract_files_come_first_and_are_parsed_and_summarized() {
    let dir = repo(&[
        (
            "package.json",
            r#"{"name":"solar","version":"0.2.0","dependencies":{"next":"14.2.3","@prisma/client":"5.0.0"},"devDependencies":{"typescript":"5.4.0"}}"#,
        ),
        ("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        ("tsconfig.json", TSCONFIG),
        (
            "prisma/schema.prisma",
            "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n\nmodel User {\n  id Int @id\n  posts Post[]\n}\n\nmodel Post {\n  id Int @id\n  author User @relation(fields: [authorId], references: [id])\n  authorId Int\n}\n",
        ),
        (
            "docs/gitkeeper.md",
            "# Rules\n\n## Protected paths\n- `prisma/migrations/`\n",
        ),
        ("AGENTS.md", "Run pnpm test before committing.\n"),
        (
            "src/app/page.tsx",
            "export default function Page() { return null }\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "Show the user's posts on the page",
        &ContextOptions::default(),
    )
    .expect("package");
    let roles: Vec<ContractRole> = pkg
        .files
        .iter()
        .filter_map(|f| match f.reasons.first() {
            Some(Reason::AlwaysIncluded { role }) => Some(*role),
            _ => None,
        })
        .collect();
    // The schema, package.json and tsconfig are summarized in the header
    // (models the task touches, dependency names, aliases), not included whole.
    assert_eq!(roles, [ContractRole::GitkeeperDoc]);
    assert_eq!(pkg.files[1].path, "AGENTS.md");
    assert!(
        pkg.gitkeeper_doc
            .rules
            .is_protected("prisma/migrations/1/migration.sql")
    );
    let schema = pkg
        .schema
        .as_ref()
        .and_then(|s| s.schema.as_ref())
        .expect("schema");
    assert!(schema.has_field("Post", "authorId"));
    let manifest = pkg.manifest.as_ref().expect("manifest");
    assert_eq!(
        manifest.package_manager.as_ref().map(|p| p.kind.command()),
        Some("pnpm")
    );
    assert_eq!(
        pkg.project.stack_summary(),
        "Next.js 14 + TypeScript 5 + Prisma 5"
    );
    let rendered = pkg.render_for_prompt();
    assert!(
        rendered.contains("model Post: id Int @id; author User (authorId → User.id; ↔ User.posts)")
    );
    assert!(rendered.contains("Client accessors: prisma.user, prisma.post"));
    // Lock files are never selected.
    assert!(pkg.file("pnpm-lock.yaml").is_none());
}

#[test]
fn broken_contract_files_become_warnings_not_errors() {
    let dir = repo(&[
        ("package.json", "{ not json"),
        ("tsconfig.json", "{ \"compilerOptions\": "),
        ("prisma/schema.prisma", "model User {\n  id Int @id\n"),
        ("src/index.ts", "export const x = 1;\n"),
    ]);
    let pkg = context::build(dir.path(), "change x", &ContextOptions::default()).expect("package");
    assert!(pkg.manifest.is_none());
    assert!(pkg.tsconfig.is_none());
    let schema = pkg.schema.as_ref().expect("schema located");
    let err = schema.error.as_ref().expect("parse error");
    assert_eq!(
        (err.file.as_str(), err.line, err.column),
        ("prisma/schema.prisma", 1, 1)
    );
    assert_eq!(pkg.warnings.len(), 3, "{:?}", pkg.warnings);
    assert!(
        pkg.render_for_prompt()
            .contains("The schema does not parse: prisma/schema.prisma:1:1")
    );
}

#[test]
fn binary_and_oversized_files_are_skipped() {
    let dir = repo(&[
        ("src/logo.png", "\u{0}\u{1}PNG invoice"),
        ("src/data.bin", "invoice\u{0}invoice"),
        ("src/invoice.ts", "export const invoice = 1;\n"),
    ]);
    write(
        dir.path(),
        &[("src/huge-invoice.ts", &"// invoice\n".repeat(40_000))],
    );
    let pkg = context::build(dir.path(), "invoice", &ContextOptions::default()).expect("package");
    assert_eq!(paths(&pkg), ["src/invoice.ts"]);
    assert_eq!(pkg.tree.total_files, 4, "binary files are still listed");
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_repository_are_not_followed() {
    let outside = repo(&[("secret.ts", "export const invoiceToken = 'hunter2';\n")]);
    let dir = repo(&[("src/invoice.ts", "export const invoice = 1;\n")]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.ts"),
        dir.path().join("src/link.ts"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(
        outside.path().join("secret.ts"),
        dir.path().join("package.json"),
    )
    .expect("symlink");
    let pkg = context::build(
        dir.path(),
        "invoice token in src/link.ts",
        &ContextOptions::default(),
    )
    .expect("package");
    assert!(!pkg.render_for_prompt().contains("hunter2"));
    assert!(pkg.manifest.is_none());
}

#[test]
fn package_round_trips_through_json() {
    let dir = repo(&[
        (
            "docs/gitkeeper.md",
            "## Forbidden patterns\n- `console.log(`\n",
        ),
        ("src/a.ts", "export const a = 1;\n"),
    ]);
    let pkg = context::build(
        dir.path(),
        "change a in src/a.ts",
        &ContextOptions::default(),
    )
    .expect("package");
    let json = pkg.to_json().expect("json");
    let back: context::ContextPackage = serde_json::from_str(&json).expect("parses back");
    assert_eq!(back, pkg);
    assert_eq!(back.render_for_prompt(), pkg.render_for_prompt());
    assert!(
        !back
            .gitkeeper_doc
            .rules
            .forbidden_in("src/b.ts", "console.log(1)")
            .is_empty()
    );
}

#[test]
fn missing_repository_is_an_error_that_says_what_to_pass() {
    let err = context::build(
        Path::new("/definitely/not/here"),
        "x",
        &ContextOptions::default(),
    )
    .expect_err("missing");
    assert!(
        err.to_string().contains("cannot read repository directory"),
        "{err}"
    );
    let dir = repo(&[("file.txt", "x")]);
    let err = context::build(
        &dir.path().join("file.txt"),
        "x",
        &ContextOptions::default(),
    )
    .expect_err("not a dir");
    assert!(err.to_string().contains("is not a directory"), "{err}");
}

#[test]
fn monorepo_schema_and_nearest_instructions() {
    let dir = repo(&[
        (
            "package.json",
            r#"{"name":"mono","workspaces":["apps/*","packages/*"]}"#,
        ),
        ("AGENTS.md", "Root rules.\n"),
        ("apps/web/AGENTS.md", "Web rules.\n"),
        ("apps/api/AGENTS.md", "API rules.\n"),
        (
            "apps/web/src/billing/invoice-page.tsx",
            "export function InvoicePage() { return null }\n",
        ),
        (
            "packages/db/prisma/schema.prisma",
            "model Invoice {\n  id Int @id\n  total Int\n}\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "InvoicePage shows the wrong total",
        &ContextOptions::default(),
    )
    .expect("package");
    let schema = pkg.schema.as_ref().expect("schema");
    assert_eq!(schema.location.files, ["packages/db/prisma/schema.prisma"]);
    assert_eq!(pkg.gitkeeper_doc.instructions[0].path, "apps/web/AGENTS.md");
    assert!(pkg.file("apps/web/AGENTS.md").is_some());
    assert!(pkg.file("apps/api/AGENTS.md").is_none());
    assert_eq!(pkg.manifest.as_ref().map(|m| m.workspaces.len()), Some(2));
}

const SHOP_SCHEMA: &str = "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n\n\
model User {\n  id Int @id\n  orders Order[]\n}\n\n\
model Order {\n  id Int @id\n  status OrderStatus\n  user User @relation(fields: [userId], references: [id])\n  userId Int\n  lines OrderLine[]\n}\n\n\
model OrderLine {\n  id Int @id\n  order Order @relation(fields: [orderId], references: [id])\n  orderId Int\n  sku String\n}\n\n\
model Warehouse {\n  id Int @id\n  city String\n  kind WarehouseKind\n}\n\n\
model AuditEntry {\n  id Int @id\n  note String\n}\n\n\
enum OrderStatus {\n  OPEN\n  SHIPPED\n}\n\n\
enum WarehouseKind {\n  HUB\n  STORE\n}\n";

#[test]
fn schema_summary_shows_the_models_the_task_and_its_files_touch() {
    let dir = repo(&[
        ("prisma/schema.prisma", SHOP_SCHEMA),
        (
            "src/app/audit/page.tsx",
            "export default async function AuditPage() {\n  const rows = await prisma.auditEntry.findMany();\n  return rows.length;\n}\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "Orders list shows shipped orders twice on the audit page",
        &ContextOptions::default(),
    )
    .expect("package");
    let summary = &pkg.schema.as_ref().expect("schema").summary;
    // Named by the task, with the models it relates to and the enum it uses.
    assert!(
        summary.contains("model Order: id Int @id; status OrderStatus;"),
        "{summary}"
    );
    assert!(summary.contains("model User: "), "{summary}");
    assert!(summary.contains("model OrderLine: "), "{summary}");
    assert!(
        summary.contains("enum OrderStatus: OPEN, SHIPPED"),
        "{summary}"
    );
    // Used by a file picked for the task.
    assert!(
        summary.contains("model AuditEntry: id Int @id; note String"),
        "{summary}"
    );
    // Untouched: only named.
    assert!(!summary.contains("model Warehouse:"), "{summary}");
    assert!(!summary.contains("enum WarehouseKind:"), "{summary}");
    assert!(
        summary.contains("other models (fields not shown): Warehouse"),
        "{summary}"
    );
    assert!(summary.contains("other enums: WarehouseKind"), "{summary}");
    assert!(pkg.render_for_prompt().contains(summary.as_str()));
    // The raw schema is not an always-included file: it is selected, like
    // any file, when it ranks for the task; the summary stands in otherwise.
    let raw = pkg.file("prisma/schema.prisma").expect("ranks for orders");
    assert!(
        matches!(raw.reasons[0], Reason::Relevant { .. }),
        "{:?}",
        raw.reasons
    );
    let unrelated = context::build(
        dir.path(),
        "The navbar colours are wrong",
        &ContextOptions::default(),
    )
    .expect("package");
    assert!(
        unrelated.file("prisma/schema.prisma").is_none(),
        "{:?}",
        paths(&unrelated)
    );
    let summary = &unrelated.schema.as_ref().expect("schema").summary;
    assert!(!summary.contains("model Order:"), "{summary}");
}

#[test]
fn package_json_is_summarized_as_dependency_and_script_names() {
    let manifest = r#"{"name":"shop","version":"1.0.0","scripts":{"dev":"next dev --turbo","test":"vitest run"},"dependencies":{"next":"14.2.3","zod":"^3.23.8"},"devDependencies":{"typescript":"5.4.5"}}"#;
    let dir = repo(&[
        ("package.json", manifest),
        ("tsconfig.json", TSCONFIG),
        (
            "src/lib/cart.ts",
            "export function cartTotal(lines: number[]) { return lines.length }\n",
        ),
    ]);
    let pkg = context::build(
        dir.path(),
        "cartTotal ignores discounts",
        &ContextOptions::default(),
    )
    .expect("package");
    let rendered = pkg.render_for_prompt();
    assert!(rendered.contains("scripts: dev, test"), "{rendered}");
    assert!(rendered.contains("Dependencies: next, zod\n"), "{rendered}");
    assert!(
        rendered.contains("Dev dependencies: typescript\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("Import aliases: @/* → src/*"),
        "{rendered}"
    );
    // Neither file is spent whole: no versions, no commands, no file blocks.
    assert!(
        !rendered.contains("^3.23.8") && !rendered.contains("next dev --turbo"),
        "{rendered}"
    );
    assert!(pkg.file("package.json").is_none() && pkg.file("tsconfig.json").is_none());
    assert_eq!(paths(&pkg), ["src/lib/cart.ts"]);
    // Named in the task, package.json is selected like any other file.
    let named = context::build(
        dir.path(),
        "Move zod to devDependencies in package.json",
        &ContextOptions::default(),
    )
    .expect("package");
    let file = named.file("package.json").expect("named file selected");
    assert!(matches!(file.reasons[0], Reason::NamedInTask { .. }));
}

#[test]
fn a_long_instruction_file_is_cut_to_its_share_of_the_budget() {
    let rules: String = (0..600)
        .map(|i| format!("- Rule {i}: keep components small and name files in kebab-case.\n"))
        .collect();
    let dir = repo(&[
        ("AGENTS.md", rules.as_str()),
        (
            "src/lib/cart.ts",
            "export function cartTotal(lines: number[]) { return lines.length }\n",
        ),
    ]);
    let options = ContextOptions::default();
    let pkg = context::build(dir.path(), "cartTotal ignores discounts", &options).expect("package");
    let agents = pkg.file("AGENTS.md").expect("instructions included");
    assert!(agents.truncated.is_some(), "cut, not whole");
    assert!(
        agents.tokens <= options.max_tokens / 16,
        "{} > {}",
        agents.tokens,
        options.max_tokens / 16
    );
    assert!(agents.content.starts_with("- Rule 0:"));
    assert!(pkg.file("src/lib/cart.ts").is_some());
}
