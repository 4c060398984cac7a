//! Static checks on changes to a small Next.js + Prisma repository written
//! to a tempdir: invented imports, models and fields are caught with a
//! message a model can act on; real code passes.

mod support;
use support::{repo, write};

use gitkeeper::context::{self, ContextOptions};
use gitkeeper::validate::{
    ChangeKind, ChangedFile, CheckRule, Contract, Finding, StaticReport, check_changes,
};

const PACKAGE_JSON: &str = r#"{
  "name": "shop",
  "private": true,
  "scripts": { "typecheck": "tsc --noEmit", "build": "next build" },
  "dependencies": {
    "next": "14.2.0",
    "react": "18.3.0",
    "@prisma/client": "5.10.0",
    "zod": "3.23.0",
    "server-only": "0.0.1",
    "@acme/ui": "workspace:*"
  },
  "devDependencies": { "typescript": "5.4.0", "prisma": "5.10.0", "@types/node": "20.0.0" }
}"#;

const TSCONFIG: &str = r#"{
  // Next.js defaults
  "compilerOptions": { "strict": true, "baseUrl": ".", "paths": { "@/*": ["./src/*"] } },
}"#;

const SCHEMA: &str = r#"generator client {
  provider = "prisma-client-js"
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

enum Role {
  ADMIN
  MEMBER
}

model User {
  id       Int       @id @default(autoincrement())
  email    String    @unique
  name     String?
  role     Role      @default(MEMBER)
  posts    Post[]
  invoices Invoice[]
}

model Post {
  id        Int     @id @default(autoincrement())
  title     String
  published Boolean @default(false)
  author    User    @relation(fields: [authorId], references: [id])
  authorId  Int
}

model Invoice {
  id     Int    @id @default(autoincrement())
  number String
  amount Int
  user   User   @relation(fields: [userId], references: [id])
  userId Int

  @@unique([userId, number])
}

model OrderItem {
  id Int @id
}
"#;

const DOC: &str = "# Shop\n\n## Protected paths\n- `prisma/migrations/` — applied migrations are history\n- `src/lib/session.ts`\n\n## Forbidden patterns\n- `console.log(` in `src/**` — use the logger\n\n## Required patterns\n- `import 'server-only'` in `src/server/**` — server modules must say so\n";

const DB_TS: &str = "import { PrismaClient } from '@prisma/client';\n\nconst globalForPrisma = globalThis as unknown as { prisma?: PrismaClient };\n\nexport const db = globalForPrisma.prisma ?? new PrismaClient();\n";

fn shop() -> tempfile::TempDir {
    repo(&[
        ("package.json", PACKAGE_JSON),
        ("package-lock.json", "{}"),
        ("tsconfig.json", TSCONFIG),
        ("prisma/schema.prisma", SCHEMA),
        (
            "prisma/migrations/001_init/migration.sql",
            "CREATE TABLE x();\n",
        ),
        ("docs/gitkeeper.md", DOC),
        ("src/lib/db.ts", DB_TS),
        (
            "src/lib/session.ts",
            "export async function getSession() { return null; }\n",
        ),
        ("src/components/index.ts", "export const Button = 1;\n"),
        ("src/styles/globals.css", "body {}\n"),
        ("packages/ui/package.json", r#"{"name":"@acme/ui"}"#),
        ("packages/ui/index.ts", "export const Card = 1;\n"),
    ])
}

/// Writes `files` into the repository and checks them as modified files.
fn check(dir: &tempfile::TempDir, files: &[(&str, &str)]) -> StaticReport {
    write(dir.path(), files);
    let changes: Vec<ChangedFile> = files
        .iter()
        .map(|(p, _)| ChangedFile::new(*p, ChangeKind::Modified))
        .collect();
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    check_changes(dir.path(), &changes, &contract)
}

fn rules(report: &StaticReport) -> Vec<CheckRule> {
    report.findings.iter().map(|f| f.rule).collect()
}

fn rules_and_lines(report: &StaticReport) -> Vec<(CheckRule, Option<u32>)> {
    report.findings.iter().map(|f| (f.rule, f.line)).collect()
}

fn only(report: &StaticReport, rule: CheckRule) -> &Finding {
    assert_eq!(rules(report), [rule], "findings: {:#?}", report.findings);
    &report.findings[0]
}

const GOOD_ROUTE: &str = r#"import { NextResponse, type NextRequest } from 'next/server';
import { readFile } from 'node:fs/promises';
import path from 'path';
import { z } from 'zod';
import { Card } from '@acme/ui';
import type { Invoice, Role, User } from '@prisma/client';
import { Prisma } from '@prisma/client';
import { db } from '@/lib/db';
import { getSession } from '../../../lib/session';
import { Button } from '@/components';
import '@/styles/globals.css';

const Query = z.object({ userId: z.number() });

export async function GET(req: NextRequest) {
  await getSession();
  const { userId } = Query.parse({ userId: Number(req.nextUrl.searchParams.get('u')) });
  const invoices: Invoice[] = await db.invoice.findMany({
    where: { userId, OR: [{ amount: { gt: 10 } }, { number: 'x' }] },
    select: { id: true, number: true, user: { select: { email: true } }, _count: true },
    orderBy: { amount: 'desc' },
    take: 10,
  });
  const one = await db.invoice.findUnique({ where: { userId_number: { userId, number: 'A1' } } });
  const data: Prisma.UserCreateInput = { email: 'a@b.c' };
  await db.$transaction(async (tx) => {
    await tx.user.create({ data: { ...data, name: 'n' } });
    await tx.orderItem.count();
  });
  const role: Role = 'ADMIN';
  const u: User | null = null;
  return NextResponse.json({ invoices, one, role, u, Card, Button, p: path.sep, r: readFile });
}
"#;

#[test]
fn real_code_passes_every_check() {
    let dir = shop();
    let report = check(&dir, &[("src/app/api/invoices/route.ts", GOOD_ROUTE)]);
    assert!(report.passed(), "{:#?}", report.findings);
    assert_eq!(report.checked, ["src/app/api/invoices/route.ts"]);
    assert!(report.skipped.is_empty());
}

#[test]
fn invented_relative_import_is_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/page.tsx",
            "import { format } from '../lib/format';\nexport default function Page() { return <p>{format(1)}</p>; }\n",
        )],
    );
    let f = only(&report, CheckRule::MissingImport);
    assert_eq!((f.line, f.column), (Some(1), Some(25)));
    assert!(f.message.contains("src/lib/format.ts"), "{}", f.message);
    assert_eq!(
        f.to_string().lines().next().unwrap_or_default(),
        f.to_string()
    );
    assert!(
        f.to_string()
            .starts_with("src/app/page.tsx:1:25: `../lib/format` does not exist")
    );
}

#[test]
fn alias_import_that_resolves_passes_and_one_that_does_not_is_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/a.ts",
            "import { db } from '@/lib/db';\nimport { x } from '@/lib/nope';\nexport { db, x };\n",
        )],
    );
    let f = only(&report, CheckRule::MissingImport);
    assert_eq!(f.line, Some(2));
    assert!(
        f.message.contains("path alias in tsconfig.json"),
        "{}",
        f.message
    );
    assert!(f.message.contains("src/lib/nope"), "{}", f.message);
}

#[test]
fn invented_package_is_caught_and_declared_ones_pass() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/lib/money.ts",
            "import Decimal from 'decimal.js';\nimport { z } from 'zod';\nimport { NextResponse } from 'next/server';\nimport { Card } from '@acme/ui/card';\nexport const m = [Decimal, z, NextResponse, Card];\n",
        )],
    );
    let f = only(&report, CheckRule::UndeclaredPackage);
    assert_eq!(f.line, Some(1));
    assert!(
        f.message
            .contains("`decimal.js` is not a dependency: package.json"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("zod"),
        "lists what exists: {}",
        f.message
    );
}

#[test]
fn node_builtins_with_and_without_prefix_pass_and_invented_ones_fail() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "scripts/seed.mjs",
            "import fs from 'fs';\nimport { join } from 'node:path';\nimport { readFile } from 'fs/promises';\nimport test from 'node:test';\nimport { x } from 'node:filesystem';\nconst c = require('crypto');\nexport { fs, join, readFile, test, x, c };\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownBuiltin);
    assert_eq!(f.line, Some(5));
}

#[test]
fn imports_into_the_prisma_generator_output_pass_before_generation() {
    let dir = shop();
    write(
        dir.path(),
        &[(
            "prisma/schema.prisma",
            &SCHEMA.replace(
                "provider = \"prisma-client-js\"",
                "provider = \"prisma-client\"\n  output   = \"../src/generated/prisma\"",
            ),
        )],
    );
    let report = check(
        &dir,
        &[(
            "src/lib/db2.ts",
            "import { PrismaClient, Invoices } from '@/generated/prisma';\nimport type { User } from '../generated/prisma/client';\nexport const prisma = new PrismaClient();\nexport type T = [Invoices, User];\n",
        )],
    );
    // The generated client is not there yet, but importing it is fine; the
    // invented model imported from it is not.
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert!(
        f.message
            .contains("`Invoices` is imported from @/generated/prisma"),
        "{}",
        f.message
    );
}

#[test]
fn invented_prisma_model_is_caught_with_the_models_that_exist() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/a.ts",
            "import { PrismaClient } from '@prisma/client';\nconst prisma = new PrismaClient();\nexport async function f() {\n  return prisma.invoices.findMany();\n}\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert_eq!((f.line, f.column), (Some(4), Some(17)));
    assert_eq!(
        f.to_string(),
        "src/app/a.ts:4:17: `prisma.invoices` — there is no model `Invoices` in prisma/schema.prisma; models are: User, Post, Invoice, OrderItem; did you mean `prisma.invoice`?"
    );
}

#[test]
fn client_imported_from_a_local_module_is_checked() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/server/report.ts",
            "import 'server-only';\nimport { db as database } from '@/lib/db';\nexport const r = () => database.customer.findMany();\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert!(
        f.message.starts_with("`database.customer`"),
        "{}",
        f.message
    );
}

#[test]
fn drizzle_style_db_that_is_not_prisma_is_left_alone() {
    let dir = shop();
    write(
        dir.path(),
        &[(
            "src/lib/drizzle.ts",
            "export const db = { select() { return 1; } };\n",
        )],
    );
    let report = check(
        &dir,
        &[(
            "src/app/d.ts",
            "import { db } from '@/lib/drizzle';\nexport const x = db.select();\nexport const y = db.anything.findMany();\n",
        )],
    );
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn invented_fields_in_where_select_and_data_are_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/f.ts",
            r#"import { db } from '@/lib/db';
export async function f() {
  await db.user.findFirst({ where: { emailAddress: 'a' } });
  await db.user.findMany({ select: { id: true, posts: { select: { body: true } } } });
  await db.post.create({ data: { title: 't', authorId: 1, slug: 's' } });
  await db.invoice.createMany({ data: [{ number: '1', amount: 1, userId: 1, currency: 'EUR' }] });
}
"#,
        )],
    );
    assert_eq!(
        rules(&report),
        [CheckRule::UnknownPrismaField; 4],
        "{:#?}",
        report.findings
    );
    let lines: Vec<Option<u32>> = report.findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, [Some(3), Some(4), Some(5), Some(6)]);
    let first = &report.findings[0];
    assert!(
        first.message.contains("model `User` in prisma/schema.prisma has no field `emailAddress`; its fields are: id, email, name, role, posts, invoices"),
        "{}",
        first.message
    );
    assert!(
        report.findings[1].message.contains("model `Post`"),
        "nested select is checked against the relation's model: {}",
        report.findings[1].message
    );
    assert!(report.findings[3].message.contains("`currency`"));
}

#[test]
fn invented_operation_and_argument_are_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/o.ts",
            "import { db } from '@/lib/db';\nexport const a = () => db.user.fetchAll();\nexport const b = () => db.user.findMany({ limit: 5, filter: {}, where: {} });\nexport const c = () => db.user.deleteMany({ where: {}, limit: 5 });\nexport const d = () => db.user.create({ data: { email: 'e' }, take: 1 });\n",
        )],
    );
    let found = rules_and_lines(&report);
    assert_eq!(
        found,
        [
            (CheckRule::UnknownPrismaOperation, Some(2)),
            (CheckRule::UnknownPrismaArgument, Some(3)),
            (CheckRule::UnknownPrismaArgument, Some(3)),
            (CheckRule::UnknownPrismaArgument, Some(5)),
        ],
        "{}",
        report.feedback(10)
    );
    assert!(
        report.findings[0]
            .message
            .contains("no operation `fetchAll`")
    );
    assert_eq!(
        report.findings[1].message,
        "`db.user.findMany({ limit: … })` — there is no argument `limit` here (did you mean `take`?); it takes: where, select, include, omit, orderBy, skip, take, cursor, distinct, relationLoadStrategy"
    );
    assert!(
        report.findings[2]
            .message
            .contains("(did you mean `where`?)")
    );
    assert!(
        report.findings[3]
            .message
            .contains("no argument `take` here; it takes: data, select"),
        "{}",
        report.findings[3].message
    );
}

#[test]
fn invented_prisma_namespace_type_and_client_import_are_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/t.ts",
            "import { Prisma, Invoices, Role } from '@prisma/client';\nexport type A = Prisma.InvoiceWhereInput;\nexport type B = Prisma.InvoicesWhereInput;\nexport const c = Prisma.sql`select 1`;\nexport type D = Prisma.TransactionClient;\nexport const e = (err: unknown) => err instanceof Prisma.PrismaClientKnownRequestError;\nexport type F = [Invoices, Role, Prisma.BatchPayload];\n",
        )],
    );
    assert_eq!(
        rules(&report),
        [CheckRule::UnknownPrismaModel, CheckRule::UnknownPrismaModel],
        "{:#?}",
        report.findings
    );
    assert_eq!(report.findings[0].line, Some(1));
    assert_eq!(report.findings[1].line, Some(3));
    assert!(
        report.findings[1]
            .message
            .contains("did you mean `Prisma.InvoiceWhereInput`?"),
        "{}",
        report.findings[1].message
    );
}

#[test]
fn typed_client_parameter_is_checked() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/p.ts",
            "import type { PrismaClient, Prisma } from '@prisma/client';\nexport const f = (client: PrismaClient) => client.account.count();\nexport const g = (tx: Prisma.TransactionClient) => tx.user.count();\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert_eq!(f.line, Some(2));
}

#[test]
fn syntax_error_is_reported_with_its_line() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/broken.tsx",
            "export default function Page() {\n  const x = ;\n  return <div>{x}</div>;\n}\n",
        )],
    );
    let f = only(&report, CheckRule::Syntax);
    assert_eq!(f.line, Some(2));
    assert!(f.message.contains("TSX"), "{}", f.message);
}

#[test]
fn json_and_prisma_syntax_errors_are_reported() {
    let dir = shop();
    let report = check(
        &dir,
        &[
            ("src/data/prices.json", "{\n  \"a\": 1,\n  \"b\": \n}\n"),
            (
                "prisma/schema.prisma",
                "model User {\n  id Int @id\n  email String @unique(\n}\n",
            ),
        ],
    );
    assert_eq!(
        rules(&report),
        [CheckRule::Json, CheckRule::PrismaSchema],
        "{:#?}",
        report.findings
    );
    assert_eq!(report.findings[0].line, Some(4));
    assert_eq!(report.findings[1].file, "prisma/schema.prisma");
    assert!(report.findings[1].line.is_some());
}

#[test]
fn duplicate_model_across_schema_files_is_reported() {
    let dir = repo(&[
        ("package.json", PACKAGE_JSON),
        (
            "prisma/schema/base.prisma",
            "datasource db {\n  provider = \"sqlite\"\n  url = \"file:dev.db\"\n}\nmodel User {\n  id Int @id\n}\n",
        ),
    ]);
    let report = check(
        &dir,
        &[(
            "prisma/schema/extra.prisma",
            "model User {\n  id Int @id\n}\n",
        )],
    );
    let f = only(&report, CheckRule::PrismaSchema);
    assert!(f.message.contains("already defined"), "{}", f.message);
}

#[test]
fn protected_path_is_caught_for_changes_deletes_and_renames() {
    let dir = shop();
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    std::fs::remove_file(dir.path().join("src/lib/session.ts")).expect("rm");
    write(
        dir.path(),
        &[(
            "src/lib/auth.ts",
            "export async function getSession() { return null; }\n",
        )],
    );
    let changes = [
        ChangedFile::new(
            "prisma/migrations/001_init/migration.sql",
            ChangeKind::Modified,
        ),
        ChangedFile::new(
            "prisma/migrations/002_new/migration.sql",
            ChangeKind::Deleted,
        ),
        ChangedFile::new(
            "src/lib/auth.ts",
            ChangeKind::Renamed("src/lib/session.ts".into()),
        ),
    ];
    let report = check_changes(dir.path(), &changes, &contract);
    assert_eq!(
        rules(&report),
        [CheckRule::ProtectedPath; 3],
        "{:#?}",
        report.findings
    );
    assert!(report.findings[0].message.starts_with("changing prisma/migrations/001_init/migration.sql is not allowed: the gitkeeper doc protects `prisma/migrations/` (docs/gitkeeper.md:"), "{}", report.findings[0].message);
    assert!(
        report.findings[0]
            .message
            .contains("applied migrations are history")
    );
    assert!(report.findings[1].message.starts_with("deleting "));
    assert_eq!(report.findings[2].file, "src/lib/session.ts");
    assert!(
        report.findings[2]
            .message
            .starts_with("moving src/lib/session.ts to src/lib/auth.ts")
    );
}

#[test]
fn forbidden_pattern_is_caught_with_its_line() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/log.ts",
            "export function f() {\n  console.log('debug');\n}\n",
        )],
    );
    let f = only(&report, CheckRule::ForbiddenPattern);
    assert_eq!(f.line, Some(2));
    assert!(f.message.contains("`console.log(`"), "{}", f.message);
    assert!(f.message.contains("use the logger"), "{}", f.message);
    // Out of the rule's scope it is fine.
    let report = check(&dir, &[("scripts/log.mjs", "console.log('ok');\n")]);
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn required_pattern_missing_is_caught() {
    let dir = shop();
    let report = check(
        &dir,
        &[("src/server/billing.ts", "export const total = 1;\n")],
    );
    let f = only(&report, CheckRule::RequiredPattern);
    assert_eq!(f.line, None);
    assert!(
        f.message.contains("lacks `import 'server-only'`"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("files matching `src/server/**`"),
        "{}",
        f.message
    );
    let report = check(
        &dir,
        &[(
            "src/server/billing.ts",
            "import 'server-only';\nexport const total = 1;\n",
        )],
    );
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn problems_already_in_the_file_are_reported_apart() {
    let dir = shop();
    let before = "import { x } from './gone';\nexport function f() {\n  console.log(x);\n}\n";
    let after = "import { x } from './gone';\nimport { y } from './also-gone';\nexport function f() {\n  console.log(x, y);\n}\n";
    write(dir.path(), &[("src/app/old.ts", after)]);
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    let change = ChangedFile {
        path: "src/app/old.ts".into(),
        kind: ChangeKind::Modified,
        before: Some(before.into()),
    };
    let report = check_changes(dir.path(), &[change], &contract);
    let f = only(&report, CheckRule::MissingImport);
    assert!(f.message.contains("./also-gone"));
    let pre: Vec<CheckRule> = report.preexisting.iter().map(|f| f.rule).collect();
    assert_eq!(pre, [CheckRule::MissingImport, CheckRule::ForbiddenPattern]);
}

#[test]
fn rules_from_the_base_package_cannot_be_weakened_by_the_change() {
    let dir = shop();
    let package =
        context::build(dir.path(), "add logging", &ContextOptions::default()).expect("package");
    // The attempt deletes the forbidden-pattern rule from the doc and logs.
    write(
        dir.path(),
        &[
            ("docs/gitkeeper.md", "# Shop\n"),
            ("src/app/log.ts", "console.log(1);\n"),
        ],
    );
    let contract =
        Contract::from_package(dir.path(), &ContextOptions::default(), &package).expect("contract");
    let changes = [ChangedFile::new("src/app/log.ts", ChangeKind::Added)];
    let report = check_changes(dir.path(), &changes, &contract);
    assert_eq!(rules(&report), [CheckRule::ForbiddenPattern]);
}

#[test]
fn unreadable_and_binary_files_are_skipped_not_failed() {
    let dir = shop();
    std::fs::write(dir.path().join("src/logo.png"), [0u8, 1, 2, 0, 3]).expect("write");
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    let changes = [
        ChangedFile::new("src/logo.png", ChangeKind::Added),
        ChangedFile::new("src/missing.ts", ChangeKind::Added),
        ChangedFile::new("../outside.ts", ChangeKind::Added),
    ];
    let report = check_changes(dir.path(), &changes, &contract);
    assert!(report.passed());
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["src/logo.png", "src/missing.ts", "../outside.ts"]);
}

#[test]
fn findings_serialize_to_json_and_feedback_is_capped() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/many.ts",
            "import a from './a';\nimport b from './b';\nimport c from './c';\nexport { a, b, c };\n",
        )],
    );
    assert_eq!(report.findings.len(), 3);
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json().expect("json")).expect("parse");
    assert_eq!(json["findings"][0]["rule"], "missing_import");
    assert_eq!(json["findings"][0]["file"], "src/app/many.ts");
    assert_eq!(json["findings"][0]["line"], 1);
    let feedback = report.feedback(2);
    assert_eq!(feedback.lines().count(), 3, "{feedback}");
    assert!(feedback.ends_with("… and 1 more problem(s) of the same kinds\n"));
}

#[test]
fn repository_without_package_json_or_schema_checks_only_what_it_can() {
    let dir = repo(&[("README.md", "# x\n")]);
    let report = check(
        &dir,
        &[(
            "index.js",
            "const x = require('left-pad');\nmodule.exports = prisma.anything;\n",
        )],
    );
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn group_by_and_distinct_field_lists_are_checked() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/g.ts",
            "import { db } from '@/lib/db';\nexport const a = () => db.invoice.groupBy({ by: ['userId', 'customerId'], _sum: { amount: true } });\nexport const b = () => db.user.findMany({ distinct: ['email'] });\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownPrismaField);
    assert!(f.message.contains("no field `customerId`"), "{}", f.message);
}

#[test]
fn inline_type_imports_from_prisma_client_are_checked() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/i.ts",
            "import { type User, type Customer } from '@prisma/client';\nexport type T = [User, Customer];\n",
        )],
    );
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert!(
        f.message
            .starts_with("`Customer` is imported from @prisma/client"),
        "{}",
        f.message
    );
}

#[test]
fn model_methods_of_an_extended_client_are_not_reported() {
    let dir = shop();
    write(
        dir.path(),
        &[(
            "src/lib/xdb.ts",
            "import { PrismaClient } from '@prisma/client';\nexport const xdb = new PrismaClient().$extends({ model: { user: { async signUp() {} } } });\n",
        )],
    );
    let report = check(
        &dir,
        &[(
            "src/app/x.ts",
            "import { xdb } from '@/lib/xdb';\nexport const a = () => xdb.user.signUp();\nexport const b = () => xdb.customer.findMany();\n",
        )],
    );
    // Extensions add methods, never models.
    let f = only(&report, CheckRule::UnknownPrismaModel);
    assert_eq!(f.line, Some(3));
}

fn shop_with_routes() -> tempfile::TempDir {
    let dir = shop();
    write(
        dir.path(),
        &[
            (
                "src/app/api/invoices/route.ts",
                "export async function GET() { return Response.json([]); }\nexport async function POST() { return Response.json({}); }\n",
            ),
            (
                "src/app/api/invoices/[id]/route.ts",
                "const handler = async () => Response.json({});\nexport { handler as GET, handler as DELETE };\n",
            ),
            (
                "src/app/(admin)/api/admin/[...path]/route.ts",
                "export const GET = () => new Response();\n",
            ),
            (
                "src/pages/api/health.ts",
                "export default function h(req, res) { res.end(); }\n",
            ),
        ],
    );
    dir
}

const CALLS: &str = r#"'use client';
import axios from 'axios';
import useSWR from 'swr';
export function Invoices({ id }: { id: number }) {
  const { data } = useSWR('/api/invoices?page=2');
  fetch(`/api/invoices/${id}`, { method: 'DELETE' });
  fetch('/api/invoice/1');
  fetch('/api/invoices', { method: 'PUT' });
  axios.patch(`/api/invoices/${id}`);
  fetch('/api/health');
  fetch('/api/admin/users/7');
  fetch('https://example.com/api/nothing');
  fetch(url);
  return data;
}
"#;

#[test]
fn api_calls_must_match_an_existing_route_and_method() {
    let dir = shop_with_routes();
    write(
        dir.path(),
        &[(
            "package.json",
            &PACKAGE_JSON.replace(
                "\"zod\": \"3.23.0\",",
                "\"zod\": \"3.23.0\", \"axios\": \"1\", \"swr\": \"2\",",
            ),
        )],
    );
    let report = check(&dir, &[("src/app/invoices/list.tsx", CALLS)]);
    let found = rules_and_lines(&report);
    assert_eq!(
        found,
        [
            (CheckRule::UnknownApiRoute, Some(7)),
            (CheckRule::UnknownApiRoute, Some(8)),
            (CheckRule::UnknownApiRoute, Some(9)),
        ],
        "{:#?}",
        report.findings
    );
    assert!(
        report.findings[0].message.starts_with("`fetch('/api/invoice/1')` — the app has no API route for this path; its API routes are: /api/admin/[...path] (src/app/(admin)/api/admin/[...path]/route.ts), /api/health (src/pages/api/health.ts), /api/invoices (src/app/api/invoices/route.ts), /api/invoices/[id]"),
        "{}",
        report.findings[0].message
    );
    assert!(
        report.findings[1].message.contains("called with PUT, but src/app/api/invoices/route.ts exports no PUT handler (it exports GET, POST)"),
        "{}",
        report.findings[1].message
    );
    assert!(
        report.findings[2].message.contains("PATCH"),
        "{}",
        report.findings[2].message
    );
}

#[test]
fn api_calls_are_not_judged_when_next_config_rewrites() {
    let dir = shop_with_routes();
    write(
        dir.path(),
        &[(
            "next.config.mjs",
            "export default { async rewrites() { return [{ source: '/api/:path*', destination: 'http://backend/:path*' }]; } };\n",
        )],
    );
    let report = check(
        &dir,
        &[(
            "src/app/x.ts",
            "export const f = () => fetch('/api/anything');\n",
        )],
    );
    assert!(report.passed(), "{:#?}", report.findings);
}

#[test]
fn feedback_names_a_repeated_problem_once() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/r.ts",
            "import { db } from '@/lib/db';\nexport const a = () => db.customer.count();\nexport const b = () => db.customer.count();\nexport const c = () => db.customer.count();\n",
        )],
    );
    assert_eq!(report.findings.len(), 3);
    let feedback = report.feedback(10);
    assert_eq!(feedback.lines().count(), 1, "{feedback}");
    assert!(
        feedback.trim_end().ends_with("(also on line 3, 4)"),
        "{feedback}"
    );
}

#[test]
fn a_model_answer_applied_with_the_edit_format_is_checked_end_to_end() {
    use gitkeeper::edits::{PathPolicy, apply_edits, parse_edits};
    let dir = shop();
    let package = context::build(
        dir.path(),
        "list a user's invoices",
        &ContextOptions::default(),
    )
    .expect("package");
    let answer = "FILE: src/app/api/users/[id]/invoices/route.ts\n```ts\nimport { NextResponse } from 'next/server';\nimport { db } from '@/lib/db';\nimport { paginate } from '@/lib/paginate';\n\nexport async function GET(_req: Request, { params }: { params: { id: string } }) {\n  const rows = await db.invoices.findMany({ where: { userId: Number(params.id) } });\n  const mine = await db.invoice.findMany({ where: { ownerId: Number(params.id) } });\n  return NextResponse.json(paginate([...rows, ...mine]));\n}\n```\n\nsrc/lib/db.ts\n<<<<<<< SEARCH\nexport const db = globalForPrisma.prisma ?? new PrismaClient();\n=======\nexport const db = globalForPrisma.prisma ?? new PrismaClient({ log: ['error'] });\n>>>>>>> REPLACE\n";
    let edits = parse_edits(answer).expect("parses");
    let policy = PathPolicy::new(Vec::new()).expect("policy");
    let applied = apply_edits(dir.path(), edits.edits(), &policy).expect("applies");
    let changes = ChangedFile::from_applied(&applied);
    let contract =
        Contract::from_package(dir.path(), &ContextOptions::default(), &package).expect("contract");
    let report = check_changes(dir.path(), &changes, &contract);
    let rules: Vec<CheckRule> = report.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        rules,
        [
            CheckRule::MissingImport,
            CheckRule::UnknownPrismaModel,
            CheckRule::UnknownPrismaField
        ],
        "{}",
        report.feedback(10)
    );
    let feedback = report.feedback(10);
    assert!(
        feedback.contains("src/app/api/users/[id]/invoices/route.ts:3:"),
        "{feedback}"
    );
    assert!(
        feedback.contains("`db.invoices` — there is no model `Invoices`"),
        "{feedback}"
    );
    assert!(feedback.contains("has no field `ownerId`"), "{feedback}");
    assert!(report.preexisting.is_empty());
}

#[test]
fn relation_filters_and_include_are_checked_against_the_related_model() {
    let dir = shop();
    let report = check(
        &dir,
        &[(
            "src/app/w.ts",
            r#"import { db } from '@/lib/db';
export const ok = () => db.post.findMany({
  where: { author: { email: 'a' }, AND: [{ published: true }], OR: [{ author: { is: { name: 'n' } } }] },
  include: { author: true },
});
export const ok2 = () => db.user.findMany({ where: { posts: { some: { title: { contains: 'x' } } } }, include: { _count: true } });
export const a = () => db.post.findMany({ where: { author: { nickname: 'a' } } });
export const b = () => db.user.findMany({ where: { posts: { some: { body: 'x' } } } });
export const c = () => db.user.findMany({ where: { posts: { title: 'x' } } });
export const d = () => db.user.findMany({ include: { email: true } });
export const e = () => db.post.findMany({ where: { OR: [{ slug: 'x' }] } });
"#,
        )],
    );
    let found = rules_and_lines(&report);
    assert_eq!(
        found,
        [
            (CheckRule::UnknownPrismaField, Some(7)),
            (CheckRule::UnknownPrismaField, Some(8)),
            (CheckRule::UnknownPrismaField, Some(9)),
            (CheckRule::UnknownPrismaField, Some(10)),
            (CheckRule::UnknownPrismaField, Some(11)),
        ],
        "{}",
        report.feedback(10)
    );
    let m = |i: usize| report.findings[i].message.as_str();
    assert!(
        m(0).contains("model `User`") && m(0).contains("`nickname`"),
        "{}",
        m(0)
    );
    assert!(
        m(1).contains("model `Post`") && m(1).contains("`body`"),
        "{}",
        m(1)
    );
    assert!(m(2).contains("`some`, `every` or `none`"), "{}", m(2));
    assert!(m(3).contains("`include` takes relations"), "{}", m(3));
    assert!(m(4).contains("`slug`"), "{}", m(4));
}

#[test]
fn the_validate_binary_prints_the_plan_and_fails_on_findings() {
    let dir = shop();
    write(
        dir.path(),
        &[(
            "src/app/bad.ts",
            "import { db } from '@/lib/db';\nexport const x = () => db.invoices.count();\n",
        )],
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitkeeper-validate"))
        .arg(dir.path())
        .args(["--level", "critical", "src/app/bad.ts"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[setup] npm ci (network)"), "{stdout}");
    assert!(stdout.contains("[build] npm run build"), "{stdout}");
    assert!(stdout.contains("+ human review label"), "{stdout}");
    assert!(
        stdout.contains("src/app/bad.ts:2:27: `db.invoices`"),
        "{stdout}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitkeeper-validate"))
        .arg(dir.path())
        .args(["--json", "src/lib/db.ts"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["level"]["level"], "standard");
    assert_eq!(json["static"]["checked"][0], "src/lib/db.ts");
    assert!(json["dependency_cache_key"].is_string());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gitkeeper-validate"))
        .arg(dir.path())
        .args(["--level", "extreme"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a validation level"));
}

#[test]
fn names_not_exported_by_a_local_module_are_caught() {
    let dir = shop();
    write(
        dir.path(),
        &[
            (
                "src/lib/money.ts",
                "export function toCents(n: number) { return n * 100; }\nexport const fromCents = (n: number) => n / 100;\nexport type Money = number;\nexport interface Price { amount: Money }\nexport enum Currency { EUR }\nconst internal = 1;\nexport { internal as rounding };\nexport * from './tax';\nexport * as fx from './fx';\n",
            ),
            (
                "src/lib/tax.ts",
                "export const vat = 0.2;\nexport default 1;\n",
            ),
            ("src/lib/fx.ts", "export const rate = 1;\n"),
            ("src/lib/legacy.js", "module.exports = { anything: 1 };\n"),
        ],
    );
    let report = check(
        &dir,
        &[(
            "src/app/price.ts",
            "import { toCents, fromCents, type Money, Price, Currency, rounding, vat, fx } from '@/lib/money';\nimport { formatMoney } from '@/lib/money';\nimport money from '../lib/money';\nimport { whatever } from '../lib/legacy';\nimport { db } from '@/lib/db';\nexport { getSession, getUser } from '@/lib/session';\nexport const all = [toCents, fromCents, Currency, rounding, vat, fx, formatMoney, money, whatever, db];\nexport type T = [Money, Price];\n",
        )],
    );
    let found = rules_and_lines(&report);
    assert_eq!(
        found,
        [
            (CheckRule::MissingExport, Some(2)),
            (CheckRule::MissingExport, Some(3)),
            (CheckRule::MissingExport, Some(6)),
        ],
        "{}",
        report.feedback(10)
    );
    assert_eq!(
        report.findings[0].message,
        "`formatMoney` is not exported by src/lib/money.ts (imported as `@/lib/money`); it exports: Currency, Money, Price, fromCents, fx, rounding, toCents, vat"
    );
    assert!(
        report.findings[1].message.contains("has no default export"),
        "{}",
        report.findings[1].message
    );
    assert!(
        report.findings[2]
            .message
            .starts_with("`getUser` is not exported by src/lib/session.ts"),
        "{}",
        report.findings[2].message
    );
}

#[test]
fn unchanged_files_importing_a_deleted_or_moved_file_are_caught() {
    let dir = shop();
    write(
        dir.path(),
        &[
            (
                "src/app/a.ts",
                "import { toCents } from '@/lib/money';\nexport const a = toCents;\n",
            ),
            (
                "src/app/b.ts",
                "import { toCents } from '../lib/money.js';\nexport const b = toCents;\n",
            ),
            (
                "src/app/c.tsx",
                "import { Button } from '@/components';\nexport const c = <Button />;\n",
            ),
            (
                "src/app/d.ts",
                "import { db } from '@/lib/db';\nexport const d = db;\n",
            ),
        ],
    );
    std::fs::rename(
        dir.path().join("src/lib/session.ts"),
        dir.path().join("src/lib/session2.ts"),
    )
    .expect("mv");
    write(
        dir.path(),
        &[(
            "src/lib/currency.ts",
            "export const toCents = (n: number) => n * 100;\n",
        )],
    );
    std::fs::remove_file(dir.path().join("src/components/index.ts")).expect("rm");
    let contract = Contract::load(dir.path(), &ContextOptions::default()).expect("contract");
    let changes = [
        ChangedFile::new(
            "src/lib/currency.ts",
            ChangeKind::Renamed("src/lib/money.ts".into()),
        ),
        ChangedFile::new("src/components/index.ts", ChangeKind::Deleted),
    ];
    let report = check_changes(dir.path(), &changes, &contract);
    let got: Vec<(&str, CheckRule, Option<u32>)> = report
        .findings
        .iter()
        .map(|f| (f.file.as_str(), f.rule, f.line))
        .collect();
    assert_eq!(
        got,
        [
            ("src/app/a.ts", CheckRule::MissingImport, Some(1)),
            ("src/app/b.ts", CheckRule::MissingImport, Some(1)),
            ("src/app/c.tsx", CheckRule::MissingImport, Some(1)),
        ],
        "{}",
        report.feedback(10)
    );
    assert_eq!(
        report.findings[0].to_string(),
        "src/app/a.ts:1: still imports `@/lib/money`, but this change moves src/lib/money.ts to src/lib/currency.ts; update this import (or keep the file)"
    );
    assert!(
        report.findings[2]
            .message
            .contains("this change deletes src/components/index.ts")
    );
}

#[test]
fn imports_of_gitignored_generated_files_pass_before_they_are_generated() {
    let dir = shop();
    write(
        dir.path(),
        &[
            (".gitignore", "node_modules\n/src/gql/\n*.gen.ts\n"),
            ("src/app/.gitignore", "generated-*\n"),
        ],
    );
    let report = check(
        &dir,
        &[(
            "src/app/q.ts",
            "import { graphql } from '@/gql';\nimport { routeTree } from '../routeTree.gen';\nimport { x } from './generated-types';\nimport { y } from './not-generated';\nexport const all = [graphql, routeTree, x, y];\n",
        )],
    );
    let f = only(&report, CheckRule::MissingImport);
    assert_eq!(f.line, Some(4));
}
