//! Realistic schemas (app-style, introspected-style, MongoDB, multi-schema,
//! multi-file, badly formatted) and malformed ones.

use super::*;

const BLOG: &str = r#"// This is your Prisma schema file,
// learn more about it in the docs: https://pris.ly/d/prisma-schema

generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["fullTextSearch", "relationJoins"]
}

datasource db {
  provider  = "postgresql"
  url       = env("DATABASE_URL")
  directUrl = env("DIRECT_URL") // for migrations
}

/// A person who can sign in.
model User {
  id        Int      @id @default(autoincrement())
  /// Unique login.
  email     String   @unique
  name      String?
  role      Role     @default(USER)
  posts     Post[]
  profile   Profile?
  // people this user follows
  following User[]   @relation("Follows")
  followers User[]   @relation("Follows")
  manager   User?    @relation("Reports", fields: [managerId], references: [id])
  managerId Int?
  reports   User[]   @relation("Reports")
  createdAt DateTime @default(now())
  updatedAt DateTime @updatedAt
}

model Profile {
  id     Int    @id @default(autoincrement())
  bio    String
  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade)
  userId Int    @unique
}

model Post {
  id         Int        @id @default(autoincrement())
  title      String     @db.VarChar(255)
  content    String?
  published  Boolean    @default(false)
  author     User       @relation(fields: [authorId], references: [id])
  authorId   Int
  categories Category[]
  tags       Tag[]      @relation("PostTags")

  @@index([authorId, published])
}

model Category {
  id    Int    @id @default(autoincrement())
  name  String @unique
  posts Post[]
}

model Tag {
  id    Int    @id @default(autoincrement())
  label String
  posts Post[] @relation("PostTags")
}

enum Role {
  USER
  ADMIN // can do anything
  /// Read-only staff.
  AUDITOR @map("auditor")
}
"#;

/// Shaped like `prisma db pull` output for an existing PostgreSQL database.
const INTROSPECTED: &str = r#"generator client {
  provider        = "prisma-client-js"
  previewFeatures = ["multiSchema", "views", "postgresqlExtensions"]
}

datasource db {
  provider   = "postgresql"
  url        = env("DATABASE_URL")
  schemas    = ["auth", "public"]
  extensions = [pgcrypto, postgis(version: "3.4")]
}

model auth_users {
  id                 String            @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  email              String            @unique(map: "users_email_key") @db.VarChar(320)
  encrypted_password String?           @db.VarChar(255)
  created_at         DateTime          @default(now()) @db.Timestamptz(6)
  org_members        org_members[]

  @@map("users")
  @@schema("auth")
}

/// This table contains check constraints and requires additional setup for migrations. Visit https://pris.ly/d/check-constraints for more info.
model organizations {
  id          BigInt        @id @default(autoincrement())
  slug        String        @unique @db.VarChar(64)
  name        String        @db.VarChar(200)
  plan        plan_tier     @default(free)
  settings    Json          @default("{}") @db.JsonB
  location    Unsupported("geography(Point, 4326)")?
  search      Unsupported("tsvector")?
  price_cents Decimal       @default(0) @db.Decimal(12, 2)
  members     org_members[]
  invoices    invoices[]

  @@index([search], map: "organizations_search_idx", type: Gin)
  @@schema("public")
}

model org_members {
  org_id     BigInt
  user_id    String        @db.Uuid
  role       String        @default("member") @db.VarChar(32)
  joined_at  DateTime      @default(now()) @map("joinedAt") @db.Timestamptz(6)
  organizations organizations @relation(fields: [org_id], references: [id], onDelete: Cascade, onUpdate: NoAction, map: "org_members_org_id_fkey")
  users      auth_users    @relation(fields: [user_id], references: [id], onDelete: Cascade)

  @@id([org_id, user_id])
  @@unique([user_id, org_id], map: "org_members_user_org_key")
  @@index([user_id], map: "idx_org_members_user")
  @@schema("public")
}

model invoices {
  id        Int           @id @default(autoincrement())
  org_id    BigInt
  total     Decimal       @db.Decimal(12, 2)
  status    invoice_status @default(draft)
  issued_on DateTime      @db.Date
  organizations organizations @relation(fields: [org_id], references: [id])

  @@index([org_id, status])
  @@map("invoice")
  @@schema("public")
}

view org_member_counts {
  org_id BigInt @unique
  count  Int

  @@schema("public")
}

enum plan_tier {
  free
  pro
  enterprise

  @@schema("public")
}

enum invoice_status {
  draft
  sent
  paid   @map("PAID")
  void

  @@map("invoice_state")
  @@schema("public")
}
"#;

const MONGO: &str = r#"datasource db {
  provider = "mongodb"
  url      = env("DATABASE_URL")
}

model Customer {
  id        String    @id @default(auto()) @map("_id") @db.ObjectId
  email     String    @unique
  address   Address?
  phones    Phone[]
  orders    Order[]
}

model Order {
  id         String   @id @default(auto()) @map("_id") @db.ObjectId
  customer   Customer @relation(fields: [customerId], references: [id])
  customerId String   @db.ObjectId
  lines      OrderLine[]
  shipTo     Address
}

type Address {
  street String
  city   String
  zip    String?
  geo    Geo?
}

type Geo {
  lat Float
  lng Float
}

type Phone {
  kind   String @default("mobile")
  number String
}

type OrderLine {
  sku      String
  quantity Int    @default(1)
}
"#;

const MESSY: &str = "generator   client{\n\tprovider=\"prisma-client-js\"\n\toutput = \"../src/generated/prisma\"   // custom output\n}\n\n\n   model    Account\n{\n\tid String @id   @default( cuid( ) )\n  balance  Decimal@default(0)\n  ownerId String?\n\towner User?@relation( fields :[ ownerId ] ,references:[id] )\n  @@index(\n    [ownerId],\n    map: \"acct_owner\"\n  )\n}\nmodel User {\n id String @id\n accounts Account[] }\n";

#[test]
fn blog_schema_parses_with_config_blocks() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    assert_eq!(s.provider().as_deref(), Some("postgresql"));
    let client = &s.generators[0];
    assert_eq!(
        client.get_str("provider").as_deref(),
        Some("prisma-client-js")
    );
    assert_eq!(
        client.get("previewFeatures"),
        Some(r#"["fullTextSearch", "relationJoins"]"#)
    );
    assert_eq!(s.datasources[0].get("url"), Some(r#"env("DATABASE_URL")"#));
    assert_eq!(s.datasources[0].comments, ["for migrations"]);
    assert_eq!(
        s.model_names().collect::<Vec<_>>(),
        ["User", "Profile", "Post", "Category", "Tag"]
    );
}

#[test]
fn fields_keep_types_arity_attributes_and_comments() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    let user = s.model("User").expect("User");
    assert_eq!(user.doc.as_deref(), Some("A person who can sign in."));
    let email = user.field("email").expect("email");
    assert_eq!(email.doc.as_deref(), Some("Unique login."));
    assert!(email.attribute("unique").is_some());
    assert!(user.field("name").expect("name").is_optional());
    assert!(user.field("posts").expect("posts").is_list());
    let following = user.field("following").expect("following");
    assert_eq!(following.comments, ["people this user follows"]);
    let id = user.field("id").expect("id");
    assert_eq!(
        id.attribute("default").and_then(|a| a.positional(0)),
        Some("autoincrement()")
    );
    let title = s
        .model("Post")
        .and_then(|p| p.field("title"))
        .expect("title");
    let varchar = title.attribute("db.VarChar").expect("native type");
    assert_eq!(varchar.raw_args.as_deref(), Some("255"));
    let index = s
        .model("Post")
        .and_then(|p| p.attribute("index"))
        .expect("@@index");
    assert_eq!(index.positional(0), Some("[authorId, published]"));
}

#[test]
fn relations_are_resolved_from_both_ends() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    let rels = s.relations();
    let find = |m: &str, f: &str| {
        rels.iter()
            .find(|r| r.model == m && r.field == f)
            .unwrap_or_else(|| panic!("relation {m}.{f}"))
    };
    let author = find("Post", "author");
    assert_eq!(author.fields, ["authorId"]);
    assert_eq!(author.references, ["id"]);
    assert_eq!(author.back_field.as_deref(), Some("posts"));
    assert_eq!(find("User", "posts").back_field.as_deref(), Some("author"));
    assert_eq!(find("User", "profile").back_field.as_deref(), Some("user"));
    // Self-relations pair the other field with the same name.
    assert_eq!(
        find("User", "following").back_field.as_deref(),
        Some("followers")
    );
    assert_eq!(
        find("User", "manager").back_field.as_deref(),
        Some("reports")
    );
    assert_eq!(
        find("User", "reports").back_field.as_deref(),
        Some("manager")
    );
    // Implicit many-to-many, unnamed and named.
    assert_eq!(
        find("Post", "categories").back_field.as_deref(),
        Some("posts")
    );
    assert_eq!(find("Tag", "posts").back_field.as_deref(), Some("tags"));
    assert_eq!(find("Post", "tags").name.as_deref(), Some("PostTags"));
}

#[test]
fn enum_values_keep_attributes_and_comments() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    assert_eq!(
        s.enum_values("Role"),
        Some(vec!["USER", "ADMIN", "AUDITOR"])
    );
    let role = s.enumeration("Role").expect("Role");
    assert_eq!(role.values[1].comments, ["can do anything"]);
    assert_eq!(role.values[2].doc.as_deref(), Some("Read-only staff."));
    assert_eq!(
        role.values[2].attributes[0].positional(0),
        Some("\"auditor\"")
    );
}

#[test]
fn lookups_for_validation() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    assert!(s.has_field("User", "email"));
    assert!(!s.has_field("User", "password"));
    assert!(!s.has_field("Nope", "email"));
    assert_eq!(
        s.model_ignore_case("user").map(|m| m.name.as_str()),
        Some("User")
    );
    assert_eq!(
        s.model_for_accessor("post").map(|m| m.name.as_str()),
        Some("Post")
    );
    assert!(s.model_for_accessor("Post").is_none());
    assert_eq!(
        s.accessors(),
        ["user", "profile", "post", "category", "tag"]
    );
    assert!(s.defines("Role"));
    assert_eq!(client_accessor("OrderItem"), "orderItem");
    assert_eq!(client_accessor("URL"), "uRL");
    assert_eq!(client_accessor("auth_users"), "auth_users");
}

#[test]
fn summary_is_one_line_per_item_with_both_relation_ends() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    let summary = s.summary();
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 1, "{summary}");
    assert_eq!(lines[0], "datasource db: postgresql");
    let post = lines[3];
    assert!(
        post.starts_with("model Post: id Int @id @default(autoincrement()); title String; "),
        "{post}"
    );
    assert!(
        post.contains("author User (authorId → User.id; ↔ User.posts)"),
        "{post}"
    );
    assert!(
        lines[1].contains("posts Post[] (↔ Post.author)"),
        "{}",
        lines[1]
    );
    assert!(!summary.contains("@db."), "{summary}");
    assert_eq!(lines[6], "enum Role: USER, ADMIN, AUDITOR");
}

#[test]
fn focused_summary_shows_the_touched_models_their_relations_and_enums_only() {
    let s = parse_schema("prisma/schema.prisma", BLOG).expect("parses");
    let summary = s.summary_of(&["Profile"]);
    let lines: Vec<&str> = summary.lines().collect();
    // Profile, the User it relates to, User's enum; the rest only named.
    assert_eq!(lines[0], "datasource db: postgresql");
    assert!(lines[1].starts_with("model User: "), "{summary}");
    assert!(
        lines[2].starts_with("model Profile: ")
            && lines[2].contains("(userId → User.id; ↔ User.profile)"),
        "{summary}"
    );
    assert_eq!(lines[3], "enum Role: USER, ADMIN, AUDITOR");
    assert_eq!(
        lines[4],
        "other models (fields not shown): Post, Category, Tag"
    );
    assert_eq!(lines.len(), 5, "{summary}");
    // Nothing touched: names only, far smaller than the whole summary.
    let bare = s.summary_of(&[]);
    assert_eq!(
        bare,
        "datasource db: postgresql\nother models (fields not shown): User, Profile, Post, Category, Tag\nother enums: Role\n"
    );
    // Unknown names are ignored rather than invented.
    assert_eq!(s.summary_of(&["Nope"]), bare);
}

#[test]
fn introspected_schema_with_maps_native_types_and_multi_schema() {
    let s = parse_schema("prisma/schema.prisma", INTROSPECTED).expect("parses");
    assert_eq!(s.models.len(), 4);
    assert_eq!(s.views.len(), 1);
    assert_eq!(s.enums.len(), 2);
    let users = s.model("auth_users").expect("auth_users");
    assert_eq!(users.db_name(), "users");
    assert_eq!(users.db_schema().as_deref(), Some("auth"));
    let id = users.field("id").expect("id");
    assert_eq!(
        id.attribute("default").and_then(|a| a.positional(0)),
        Some(r#"dbgenerated("gen_random_uuid()")"#)
    );
    assert!(id.attribute("db.Uuid").is_some());
    let email = users.field("email").expect("email");
    assert_eq!(
        email.attribute("unique").and_then(|a| a.arg("map")),
        Some("\"users_email_key\"")
    );
    let orgs = s.model("organizations").expect("organizations");
    assert_eq!(
        orgs.doc
            .as_deref()
            .map(|d| d.starts_with("This table contains check constraints")),
        Some(true)
    );
    let location = orgs.field("location").expect("location");
    assert_eq!(location.field_type.name, "Unsupported");
    assert_eq!(
        location.field_type.unsupported.as_deref(),
        Some("geography(Point, 4326)")
    );
    assert!(location.is_optional());
    assert_eq!(
        location.type_text(),
        "Unsupported(\"geography(Point, 4326)\")?"
    );
    let price = orgs.field("price_cents").expect("price");
    assert_eq!(
        price
            .attribute("db.Decimal")
            .and_then(|a| a.raw_args.as_deref()),
        Some("12, 2")
    );
    let members = s.model("org_members").expect("org_members");
    assert_eq!(
        members.attribute("id").and_then(|a| a.positional(0)),
        Some("[org_id, user_id]")
    );
    assert_eq!(
        members.field("joined_at").map(Field::db_name).as_deref(),
        Some("joinedAt")
    );
    let rel = members
        .field("organizations")
        .and_then(|f| f.attribute("relation"))
        .expect("relation");
    assert_eq!(rel.arg("onDelete"), Some("Cascade"));
    assert_eq!(rel.arg("map"), Some("\"org_members_org_id_fkey\""));
    assert_eq!(
        s.model("invoices").map(Model::db_name).as_deref(),
        Some("invoice")
    );
    let status = s.enumeration("invoice_status").expect("enum");
    assert_eq!(status.attributes.len(), 2);
    assert_eq!(
        s.datasources[0].get("extensions"),
        Some(r#"[pgcrypto, postgis(version: "3.4")]"#)
    );
    let view = &s.views[0];
    assert_eq!(view.kind, BlockKind::View);
    assert!(s.has_field("org_member_counts", "count"));
    let summary = s.summary();
    assert!(
        summary.contains("model auth_users (table auth.users): "),
        "{summary}"
    );
    assert!(summary.contains("@@id([org_id, user_id])"), "{summary}");
    assert!(
        summary
            .contains("view org_member_counts (schema public): org_id BigInt @unique; count Int"),
        "{summary}"
    );
    assert!(
        summary.contains("members org_members[] (↔ org_members.organizations)"),
        "{summary}"
    );
}

#[test]
fn mongodb_composite_types_are_parsed() {
    let s = parse_schema("prisma/schema.prisma", MONGO).expect("parses");
    assert_eq!(s.provider().as_deref(), Some("mongodb"));
    assert_eq!(s.types.len(), 4);
    let address = s.composite_type("Address").expect("Address");
    assert_eq!(address.kind, BlockKind::Type);
    assert!(s.has_field("Address", "geo"));
    let customer = s.model("Customer").expect("Customer");
    assert_eq!(
        customer.field("address").map(Field::type_text).as_deref(),
        Some("Address?")
    );
    assert_eq!(
        customer.field("id").map(Field::db_name).as_deref(),
        Some("_id")
    );
    // Composite types are not relations.
    assert!(
        s.relations()
            .iter()
            .all(|r| r.field != "address" && r.field != "phones")
    );
    assert!(
        s.summary()
            .contains("type OrderLine: sku String; quantity Int @default(1)")
    );
}

#[test]
fn messy_spacing_still_parses() {
    let s = parse_schema("schema.prisma", MESSY).expect("parses");
    assert_eq!(
        s.generators[0].get_str("output").as_deref(),
        Some("../src/generated/prisma")
    );
    let account = s.model("Account").expect("Account");
    assert_eq!(account.fields.len(), 4);
    let id = account.field("id").expect("id");
    assert_eq!(
        id.attribute("default").and_then(|a| a.positional(0)),
        Some("cuid( )")
    );
    let balance = account.field("balance").expect("balance");
    assert_eq!(balance.field_type.name, "Decimal");
    assert!(balance.attribute("default").is_some());
    let owner = account.field("owner").expect("owner");
    assert!(owner.is_optional());
    assert_eq!(
        owner.attribute("relation").and_then(|a| a.arg("fields")),
        Some("[ ownerId ]")
    );
    let index = account.attribute("index").expect("@@index");
    assert_eq!(index.arg("map"), Some("\"acct_owner\""));
    assert_eq!(index.positional(0), Some("[ownerId]"));
    let user = s.model("User").expect("User");
    assert_eq!(user.fields.len(), 2);
    let rels = s.relations();
    assert!(
        rels.iter()
            .any(|r| r.field == "owner" && r.back_field.as_deref() == Some("accounts"))
    );
}

#[test]
fn multi_file_schema_merges_and_relates_across_files() {
    let files = vec![
        (
            "prisma/schema/schema.prisma".to_string(),
            "datasource db {\n  provider = \"sqlite\"\n  url = \"file:dev.db\"\n}\n".to_string(),
        ),
        (
            "prisma/schema/user.prisma".to_string(),
            "model User {\n  id Int @id\n  posts Post[]\n}\n".to_string(),
        ),
        (
            "prisma/schema/post.prisma".to_string(),
            "model Post {\n  id Int @id\n  author User @relation(fields: [authorId], references: [id])\n  authorId Int\n}\n".to_string(),
        ),
    ];
    let s = parse_files(&files).expect("parses");
    assert_eq!(s.files.len(), 3);
    assert_eq!(
        s.model("Post").map(|m| m.position.file.as_str()),
        Some("prisma/schema/post.prisma")
    );
    let posts = s
        .relations()
        .into_iter()
        .find(|r| r.field == "posts")
        .expect("posts");
    assert_eq!(posts.back_field.as_deref(), Some("author"));
}

#[test]
fn duplicate_model_across_files_names_both_places() {
    let files = vec![
        (
            "a.prisma".to_string(),
            "model User {\n  id Int @id\n}\n".to_string(),
        ),
        (
            "b.prisma".to_string(),
            "\n\nmodel User {\n  id Int @id\n}\n".to_string(),
        ),
    ];
    let err = parse_files(&files).expect_err("duplicate");
    assert_eq!(
        (err.file.as_str(), err.line, err.column),
        ("b.prisma", 3, 1)
    );
    assert!(
        err.message.contains("already defined at a.prisma:1:1"),
        "{err}"
    );
}

#[test]
fn unterminated_block_reports_line_and_column_of_its_start() {
    let src = "datasource db {\n  provider = \"postgresql\"\n}\n\n  model User {\n  id Int @id\n  email String\n";
    let err = parse_schema("prisma/schema.prisma", src).expect_err("unterminated");
    assert_eq!((err.line, err.column), (5, 3));
    assert!(
        err.message.contains("`model User` is never closed"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "prisma/schema.prisma:5:3: `model User` is never closed: add `}` after its last line"
    );
}

#[test]
fn block_missing_its_brace_before_the_next_block_is_reported_at_its_start() {
    let src = "model User {\n  id Int @id\n\nmodel Post {\n  id Int @id\n}\n";
    let err = parse_schema("s.prisma", src).expect_err("unterminated");
    assert_eq!((err.line, err.column), (1, 1));
}

#[test]
fn malformed_schemas_give_positioned_errors() {
    let cases: &[(&str, u32, u32, &str)] = &[
        ("model User {\n  id\n}\n", 2, 5, "has no type"),
        (
            "model User {\n  id Int @default(now(\n}\n",
            2,
            18,
            "never closed",
        ),
        (
            "modle User {\n}\n",
            1,
            1,
            "unexpected `modle` at the top level",
        ),
        ("model {\n}\n", 1, 7, "expected a name after `model`"),
        (
            "model User\n  id Int\n}\n",
            2,
            3,
            "expected `{` after `model User`",
        ),
        (
            "generator client {\n  provider \"x\"\n}\n",
            2,
            12,
            "expected `=` after `provider`",
        ),
        (
            "model A {\n  b String @\n}\n",
            2,
            12,
            "expected an attribute name",
        ),
        (
            "model A {\n  id Int @id @@map(\"a\")\n}\n",
            2,
            14,
            "`@@` attributes belong on their own line",
        ),
        ("type Name = String\n", 1, 11, "type alias"),
        (
            "model A {\n  n Unsupported(x)\n}\n",
            2,
            17,
            "`Unsupported` takes the database type",
        ),
        ("model A {\n  id Int @id\n} }\n", 3, 3, "unexpected `}`"),
    ];
    for (src, line, column, message) in cases {
        let err = parse_schema("s.prisma", src).expect_err(src);
        assert!(err.message.contains(message), "{src:?}: {err}");
        assert_eq!((err.line, err.column), (*line, *column), "{src:?}: {err}");
    }
}

#[test]
fn empty_and_comment_only_schemas_are_valid() {
    assert_eq!(parse_schema("s.prisma", "").expect("empty").models.len(), 0);
    let s = parse_schema("s.prisma", "// nothing yet\n/// still nothing\n").expect("comments");
    assert!(s.models.is_empty());
}

#[test]
fn large_generated_schema_parses_quickly() {
    let mut src = String::from(
        "datasource db {\n  provider = \"postgresql\"\n  url = env(\"DATABASE_URL\")\n}\n",
    );
    for i in 0..400usize {
        src.push_str(&format!(
            "\n/// Table {i}\nmodel T{i} {{\n  id String @id @default(uuid()) @db.Uuid\n  name String @db.VarChar(120)\n  parentId String? @map(\"parent_id\") @db.Uuid\n  parent T{p}? @relation(\"T{i}Parent\", fields: [parentId], references: [id])\n  children T{i}[] @relation(\"T{i}Children\")\n  createdAt DateTime @default(now()) @map(\"created_at\")\n\n  @@index([parentId])\n  @@map(\"t_{i}\")\n}}\n",
            p = i.saturating_sub(1)
        ));
    }
    let started = std::time::Instant::now();
    let s = parse_schema("prisma/schema.prisma", &src).expect("parses");
    assert_eq!(s.models.len(), 400);
    assert!(started.elapsed().as_secs() < 2);
    assert_eq!(s.model("T7").map(Model::db_name).as_deref(), Some("t_7"));
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parser_never_panics_on_arbitrary_text(src in "\\PC{0,400}") {
            let _ = parse_schema("s.prisma", &src);
        }

        #[test]
        fn parser_never_panics_on_prisma_like_tokens(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("model"), Just("enum"), Just("type"), Just("view"), Just("datasource"),
                    Just("generator"), Just("User"), Just("id"), Just("Int"), Just("String"),
                    Just("{"), Just("}"), Just("("), Just(")"), Just("["), Just("]"), Just("@"),
                    Just("@@"), Just("@db.VarChar(255)"), Just("?"), Just("="), Just(","),
                    Just(":"), Just("\""), Just("\"x\""), Just("\n"), Just(" "), Just("//c"),
                    Just("///d"), Just("Unsupported(\"p\")"), Just("."), Just("é"), Just("-1"),
                ],
                0..80,
            )
        ) {
            let src: String = parts.concat();
            if let Ok(schema) = parse_schema("s.prisma", &src) {
                let _ = schema.summary();
                let _ = schema.relations();
            }
        }
    }
}

/// Found by the `prisma` fuzz target: `type_text` wrote the database type
/// with Rust's `{:?}` escapes (`\0`), which Prisma reads as other text.
#[test]
fn unsupported_type_text_parses_back_to_the_same_type() {
    let db = "point\u{0}\"q\"\\x\ty";
    let source = format!(
        "model M {{\n  id Int @id\n  loc {}?\n}}\n",
        quote_for_test(db)
    );
    let schema = parse_schema("schema.prisma", &source).expect("parses");
    let field = schema.models[0].field("loc").expect("field");
    assert_eq!(field.field_type.unsupported.as_deref(), Some(db));
    let again = format!(
        "model M {{\n  id Int @id\n  loc {}\n}}\n",
        field.type_text()
    );
    let reparsed = parse_schema("schema.prisma", &again).expect("type_text parses back");
    assert_eq!(
        reparsed.models[0].field("loc").expect("field").field_type,
        field.field_type
    );
}

/// `Unsupported("…")` with `db` escaped by hand, as a schema author writes it.
fn quote_for_test(db: &str) -> String {
    let escaped = db
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\t', "\\t");
    format!("Unsupported(\"{escaped}\")")
}
