//! The static checks never panic, whatever a model (or anyone) writes into a
//! changed file: arbitrary text and token soup made of the constructs the
//! checks look for, in every file kind they read.

mod support;
use support::{repo, write};

use gitkeeper::context::ContextOptions;
use gitkeeper::validate::{ChangeKind, ChangedFile, Contract, check_changes};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const TOKENS: &[&str] = &[
    "prisma",
    "db",
    "tx",
    "Prisma",
    ".",
    "user",
    "invoices",
    "findMany",
    "create",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    ";",
    "=",
    "=>",
    "where",
    "select",
    "include",
    "data",
    "orderBy",
    "_count",
    "AND",
    "import",
    "export",
    "from",
    "type",
    "'@prisma/client'",
    "'./x'",
    "'@/lib/db'",
    "'node:fs'",
    "'node:nope'",
    "'zod'",
    "'../../..'",
    "require(",
    "import(",
    "new PrismaClient()",
    "const",
    "let",
    "async",
    "await",
    "function",
    "$transaction",
    "$extends",
    "<div>",
    "</div>",
    "`",
    "'",
    "\"",
    "/*",
    "*/",
    "//",
    "\n",
    "\t",
    "\u{0}",
    "é",
    "🎉",
    "${",
    "...",
    "?",
    "!",
    "\\",
    "model",
    "@id",
    "@@unique([a, b])",
    "console.log(",
    "import 'server-only'",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.join(" "))
}

fn content() -> impl Strategy<Value = String> {
    prop_oneof![soup(), any::<String>(), "\\PC{0,200}"]
}

#[test]
fn static_checks_never_panic_on_arbitrary_file_contents() {
    let dir = repo(&[
        (
            "package.json",
            r#"{"name":"p","dependencies":{"@prisma/client":"5","zod":"3","next":"14"}}"#,
        ),
        (
            "tsconfig.json",
            r#"{"compilerOptions":{"paths":{"@/*":["./src/*"]}}}"#,
        ),
        (
            "prisma/schema.prisma",
            "model User {\n  id Int @id\n  email String\n  posts Post[]\n}\nmodel Post {\n  id Int @id\n  author User @relation(fields: [authorId], references: [id])\n  authorId Int\n  @@unique([id, authorId])\n}\n",
        ),
        (
            "docs/gitkeeper.md",
            "## Forbidden patterns\n- `console.log(`\n- `/\\bany\\b/`\n## Required patterns\n- `import 'server-only'` in `src/server/**`\n## Protected paths\n- `prisma/migrations/`\n",
        ),
        (
            "src/app/api/users/[id]/route.ts",
            "export async function GET() {}\n",
        ),
        (
            "src/lib/db.ts",
            "import { PrismaClient } from '@prisma/client';\nexport const db = new PrismaClient();\n",
        ),
    ]);
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    let paths: &'static [&str] = &[
        "src/app/page.tsx",
        "src/server/a.ts",
        "src/lib/b.js",
        "src/lib/c.jsx",
        "src/lib/d.mjs",
        "src/data/e.json",
        "tsconfig.json",
        "prisma/schema.prisma",
        "README.md",
    ];
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let kinds = prop_oneof![
        Just(ChangeKind::Modified),
        Just(ChangeKind::Added),
        Just(ChangeKind::Deleted),
        Just(ChangeKind::Renamed("src/lib/db.ts".to_string())),
    ];
    let strategy = (
        prop::sample::select(paths),
        content(),
        prop::option::of(content()),
        kinds,
    );
    runner
        .run(&strategy, |(path, text, before, kind)| {
            write(dir.path(), &[(path, text.as_str())]);
            let change = ChangedFile {
                path: path.to_string(),
                kind,
                before,
            };
            let report = check_changes(dir.path(), &[change], &contract);
            for f in &report.findings {
                prop_assert!(!f.message.is_empty());
                prop_assert!(f.line.is_none_or(|l| l >= 1));
                prop_assert!(!f.to_string().is_empty());
            }
            prop_assert!(report.to_json().is_ok());
            Ok(())
        })
        .expect("no panic and well-formed findings");
    // A contract read from a repository full of such files is also fine.
    write(dir.path(), &[("prisma/schema.prisma", "model { ((( @@")]);
    let broken = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    let report = check_changes(
        dir.path(),
        &[ChangedFile::new(
            "prisma/schema.prisma",
            ChangeKind::Modified,
        )],
        &broken,
    );
    assert!(!report.passed());
}
