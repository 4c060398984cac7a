//! Checks recorded requests against GitHub's own REST API description
//! (`shared/fixtures/github-openapi/api.github.com.json.gz`, read where it
//! lies, never copied into the repository): each request must be a documented
//! operation (path and method), use only the operation's documented query
//! parameters, and send a JSON body with every required field present, no
//! field the description does not list, and values of the documented type
//! and enum (nested objects and array items included).
//!
//! It must never pass a request it did not look at: what it does not check,
//! it skips by a named rule in [`SKIP_RULES`], and [`Report::checked`] says
//! how many it did check, so a test can refuse to pass on nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flate2::read::GzDecoder;
use serde_json::Value;

use crate::github::RecordedRequest;

/// A kind of request that is not a REST API call, and why it is not checked.
pub struct SkipRule {
    pub name: &'static str,
    pub reason: &'static str,
    applies: fn(&RecordedRequest) -> bool,
}

/// Every request not checked is skipped by one of these; anything else is checked.
pub const SKIP_RULES: &[SkipRule] = &[SkipRule {
    name: "git smart HTTP",
    reason: "`/{owner}/{repo}.git/info/refs`, `git-upload-pack` and `git-receive-pack` \
             are git's wire protocol, served by github.com, not the REST API the description covers",
    applies: is_smart_http,
}];

fn is_smart_http(request: &RecordedRequest) -> bool {
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        [owner, repo, rest @ ..] if !owner.is_empty() && repo.ends_with(".git") => matches!(
            rest,
            ["info", "refs"] | ["git-upload-pack"] | ["git-receive-pack"]
        ),
        _ => false,
    }
}

/// The skip rule `request` falls under, if any.
pub fn skip_reason(request: &RecordedRequest) -> Option<&'static SkipRule> {
    SKIP_RULES.iter().find(|rule| (rule.applies)(request))
}

/// What checking a list of requests found.
#[derive(Debug, Default)]
pub struct Report {
    /// Requests matched against the description (all but the skipped).
    pub checked: usize,
    /// Requests left alone by a [`SKIP_RULES`] rule.
    pub skipped: usize,
    /// The `operationId`s the checked requests matched, e.g. `pulls/create`.
    pub operations: BTreeSet<String>,
    /// One message per nonconforming request, naming the request and every problem.
    pub problems: Vec<String>,
}

/// One message per request that GitHub's REST API description does not allow.
pub fn check(requests: &[RecordedRequest]) -> Vec<String> {
    report(requests).problems
}

/// [`check`] with the counts and operations seen, for tests that must not pass vacuously.
pub fn report(requests: &[RecordedRequest]) -> Report {
    spec().report(requests)
}

/// Where GitHub's REST API description is read from.
pub fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/github-openapi/api.github.com.json.gz")
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let file = File::open(&path).unwrap_or_else(|e| {
            panic!(
                "cannot open GitHub's REST API description {}: {e} \
                 (it lives in shared/fixtures/github-openapi beside the repository)",
                path.display()
            )
        });
        let doc: Value = serde_json::from_reader(BufReader::new(GzDecoder::new(file)))
            .unwrap_or_else(|e| panic!("{} is not gzipped JSON: {e}", path.display()));
        Spec::new(doc)
    })
}

/// The methods an OpenAPI path item can hold operations for.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A path template's segment.
enum Segment {
    Literal(String),
    /// `{name}`: one segment, or several when the description marks the
    /// parameter `x-multi-segment` (a git ref such as `heads/feature/x`).
    Param {
        multi: bool,
        integer: bool,
    },
    /// A segment mixing text and parameters, such as `{base}...{head}`.
    Mixed(Vec<Piece>),
}

enum Piece {
    Literal(String),
    Param,
}

impl Segment {
    fn matches_one(&self, concrete: &str) -> bool {
        match self {
            Segment::Literal(text) => text == concrete,
            Segment::Param { integer, .. } => {
                !concrete.is_empty() && (!integer || concrete.bytes().all(|b| b.is_ascii_digit()))
            }
            Segment::Mixed(pieces) => pieces_match(pieces, concrete),
        }
    }
}

fn pieces_match(pieces: &[Piece], concrete: &str) -> bool {
    match pieces.split_first() {
        None => concrete.is_empty(),
        Some((Piece::Literal(text), rest)) => concrete
            .strip_prefix(text.as_str())
            .is_some_and(|tail| pieces_match(rest, tail)),
        Some((Piece::Param, rest)) => (1..=concrete.len())
            .filter(|&i| concrete.is_char_boundary(i))
            .any(|i| pieces_match(rest, &concrete[i..])),
    }
}

fn segments_match(template: &[Segment], concrete: &[&str]) -> bool {
    match template.split_first() {
        None => concrete.is_empty(),
        Some((Segment::Param { multi: true, .. }, rest)) => (1..=concrete.len())
            .take_while(|&n| !concrete[n - 1].is_empty())
            .any(|n| segments_match(rest, &concrete[n..])),
        Some((segment, rest)) => concrete
            .split_first()
            .is_some_and(|(first, tail)| segment.matches_one(first) && segments_match(rest, tail)),
    }
}

/// One documented operation: a method on a path template.
struct Operation {
    method: String,
    template: String,
    segments: Vec<Segment>,
    /// Literal segments: when several templates match, the most literal one is GitHub's route.
    literals: usize,
    op: Value,
}

impl Operation {
    fn id(&self) -> &str {
        self.op["operationId"]
            .as_str()
            .unwrap_or("(no operationId)")
    }
}

/// The description, indexed by operation.
struct Spec {
    components: Value,
    operations: Vec<Operation>,
}

/// What a schema says about a value, with `allOf` merged and one entry per
/// `oneOf`/`anyOf` alternative.
#[derive(Clone, Default)]
struct Shape<'a> {
    required: BTreeSet<&'a str>,
    /// Each property's schemas: one per part of the schema that describes it, all must hold.
    properties: BTreeMap<&'a str, Vec<&'a Value>>,
    /// Whether properties beyond `properties` are allowed (`additionalProperties`).
    open: bool,
    items: Option<&'a Value>,
    allowed: Option<&'a Vec<Value>>,
    /// `type`s the value must have, one per part of the schema that names one.
    types: Vec<&'a str>,
    nullable: bool,
}

impl<'a> Shape<'a> {
    fn merged(&self, other: &Shape<'a>) -> Shape<'a> {
        let mut merged = self.clone();
        merged.required.extend(other.required.iter().copied());
        for (name, schemas) in &other.properties {
            merged
                .properties
                .entry(name)
                .or_default()
                .extend(schemas.iter().copied());
        }
        merged.items = merged.items.or(other.items);
        merged.allowed = merged.allowed.or(other.allowed);
        merged.types.extend(other.types.iter().copied());
        merged.nullable |= other.nullable;
        merged
    }
}

/// `a × b`: every shape of `a` merged with every shape of `b`.
fn product<'a>(a: Vec<Shape<'a>>, b: &[Shape<'a>]) -> Vec<Shape<'a>> {
    a.iter()
        .flat_map(|x| b.iter().map(move |y| x.merged(y)))
        .collect()
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

impl Spec {
    fn new(mut doc: Value) -> Spec {
        let mut spec = Spec {
            components: doc["components"].take(),
            operations: Vec::new(),
        };
        let Value::Object(paths) = doc["paths"].take() else {
            panic!("the REST API description has no `paths`");
        };
        for (template, item) in paths {
            let Value::Object(item) = item else { continue };
            for (method, op) in item {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let segments = spec.segments(&template, &op);
                spec.operations.push(Operation {
                    method: method.to_ascii_uppercase(),
                    literals: segments
                        .iter()
                        .filter(|s| matches!(s, Segment::Literal(_)))
                        .count(),
                    template: template.clone(),
                    segments,
                    op,
                });
            }
        }
        spec
    }

    /// Follow `$ref`s into `components` until a value that is not one.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            value = reference
                .strip_prefix("#/components")
                .and_then(|pointer| self.components.pointer(pointer))
                .unwrap_or_else(|| panic!("the description's $ref {reference} does not resolve"));
        }
        value
    }

    /// The operation's parameters with `$ref`s resolved.
    fn parameters<'a>(&'a self, op: &'a Value) -> impl Iterator<Item = &'a Value> + 'a {
        op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
    }

    fn segments(&self, template: &str, op: &Value) -> Vec<Segment> {
        let param = |name: &str| {
            let declared = self
                .parameters(op)
                .find(|p| p["in"] == "path" && p["name"] == name);
            Segment::Param {
                multi: declared.is_some_and(|p| p["x-multi-segment"] == true),
                integer: declared.is_some_and(|p| self.resolve(&p["schema"])["type"] == "integer"),
            }
        };
        template
            .trim_start_matches('/')
            .split('/')
            .map(|segment| {
                let inner = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
                match inner {
                    _ if !segment.contains('{') => Segment::Literal(segment.to_string()),
                    Some(name) if !name.contains(['{', '}']) => param(name),
                    _ => Segment::Mixed(mixed_pieces(segment)),
                }
            })
            .collect()
    }

    fn report(&self, requests: &[RecordedRequest]) -> Report {
        let mut report = Report::default();
        for request in requests {
            if skip_reason(request).is_some() {
                report.skipped += 1;
                continue;
            }
            report.checked += 1;
            let (operation, problems) = match self.operation(request) {
                Ok(operation) => {
                    report.operations.insert(operation.id().to_string());
                    let mut problems = self.query_problems(operation, request);
                    problems.extend(self.body_problems(operation, request));
                    if problems.is_empty() {
                        continue;
                    }
                    let label = format!(
                        "{} `{} {}`",
                        operation.id(),
                        operation.method,
                        operation.template
                    );
                    (label, problems)
                }
                Err(problem) => ("no documented operation".to_string(), vec![problem]),
            };
            report
                .problems
                .push(describe(request, &operation, &problems));
        }
        report
    }

    /// The documented operation `request` calls, or why there is none.
    fn operation(&self, request: &RecordedRequest) -> Result<&Operation, String> {
        let concrete: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        let on_path: Vec<&Operation> = self
            .operations
            .iter()
            .filter(|o| segments_match(&o.segments, &concrete))
            .collect();
        if on_path.is_empty() {
            return Err("no documented path matches".to_string());
        }
        on_path
            .iter()
            .filter(|o| o.method.eq_ignore_ascii_case(&request.method))
            .max_by_key(|o| (o.literals, std::cmp::Reverse(o.segments.len())))
            .copied()
            .ok_or_else(|| {
                let documented: BTreeSet<String> = on_path
                    .iter()
                    .map(|o| format!("{} {}", o.method, o.template))
                    .collect();
                format!(
                    "{} is not documented for this path; documented: {}",
                    request.method,
                    documented.into_iter().collect::<Vec<_>>().join(", ")
                )
            })
    }

    fn query_problems(&self, operation: &Operation, request: &RecordedRequest) -> Vec<String> {
        let documented: BTreeSet<&str> = self
            .parameters(&operation.op)
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        request
            .query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
            .filter(|name| !documented.contains(name))
            .map(|name| {
                format!("query parameter `{name}` is not documented (documented: {documented:?})")
            })
            .collect()
    }

    fn body_problems(&self, operation: &Operation, request: &RecordedRequest) -> Vec<String> {
        let Some(body) = operation.op.get("requestBody").map(|b| self.resolve(b)) else {
            return if request.body_len > 0 {
                vec!["sends a body, but the operation takes none".to_string()]
            } else {
                Vec::new()
            };
        };
        let Some(schema) = body.pointer("/content/application~1json/schema") else {
            // Not a JSON body (raw markdown, octet streams): nothing here to check.
            return Vec::new();
        };
        match &request.body {
            Some(value) => self.violations(schema, value, ""),
            None if request.body_len > 0 => vec!["the body is not JSON".to_string()],
            None if body["required"] == true => {
                vec!["the operation requires a body and none was sent".to_string()]
            }
            None => Vec::new(),
        }
    }

    /// The ways `schema` can be satisfied.
    fn shapes<'a>(&'a self, schema: &'a Value) -> Vec<Shape<'a>> {
        let schema = self.resolve(schema);
        let base = Shape {
            required: schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect(),
            properties: schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, schema)| (name.as_str(), vec![schema]))
                .collect(),
            open: matches!(schema.get("additionalProperties"), Some(v) if v != &Value::Bool(false)),
            items: schema.get("items"),
            allowed: schema["enum"].as_array(),
            types: schema["type"].as_str().into_iter().collect(),
            nullable: schema["nullable"] == true,
        };
        let mut shapes = vec![base];
        for member in schema["allOf"].as_array().into_iter().flatten() {
            shapes = product(shapes, &self.shapes(member));
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(alternatives) = schema[key].as_array() {
                let each: Vec<Shape> = alternatives.iter().flat_map(|a| self.shapes(a)).collect();
                shapes = product(shapes, &each);
            }
        }
        // Merging keeps the base's `open`: only the schema itself says whether
        // undocumented properties are allowed; its parts' `additionalProperties`
        // speak for the part alone.
        shapes
    }

    /// What is wrong with `value` under `schema` (empty when some alternative fits).
    fn violations(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let shapes = self.shapes(schema);
        let mut closest: Option<Vec<String>> = None;
        for shape in &shapes {
            let found = self.shape_violations(shape, value, at);
            if found.is_empty() {
                return found;
            }
            if closest.as_ref().is_none_or(|c| found.len() < c.len()) {
                closest = Some(found);
            }
        }
        let mut found = closest.unwrap_or_default();
        if shapes.len() > 1 {
            found.insert(
                0,
                format!(
                    "{} fits none of the schema's {} alternatives; the closest:",
                    label(at),
                    shapes.len()
                ),
            );
        }
        found
    }

    fn shape_violations(&self, shape: &Shape, value: &Value, at: &str) -> Vec<String> {
        if value.is_null() && shape.nullable {
            return Vec::new();
        }
        if let Some(expected) = shape.types.iter().find(|t| !has_type(value, t)) {
            return vec![format!("{} is {value}, not of type {expected}", label(at))];
        }
        let mut found = Vec::new();
        match value {
            Value::Object(fields) => {
                for name in &shape.required {
                    if !fields.contains_key(*name) {
                        found.push(format!("required `{}` is missing", join(at, name)));
                    }
                }
                for (name, field) in fields {
                    match shape.properties.get(name.as_str()) {
                        Some(schemas) => {
                            for schema in schemas {
                                found.extend(self.violations(schema, field, &join(at, name)));
                            }
                        }
                        None if !shape.open && !shape.properties.is_empty() => {
                            found.push(format!("`{}` is not a documented property", join(at, name)))
                        }
                        None => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(schema) = shape.items {
                    for (i, item) in items.iter().enumerate() {
                        found.extend(self.violations(schema, item, &format!("{at}[{i}]")));
                    }
                }
            }
            _ => {
                if let Some(allowed) = shape.allowed
                    && !allowed.contains(value)
                {
                    found.push(format!("{} is {value}, not one of {allowed:?}", label(at)));
                }
            }
        }
        found
    }
}

/// How a message names the value at `at`.
fn label(at: &str) -> String {
    if at.is_empty() {
        "the body".to_string()
    } else {
        format!("`{at}`")
    }
}

/// Whether `value` is of OpenAPI type `name` (unknown names accept anything).
fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn mixed_pieces(segment: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Literal(rest[..open].to_string()));
        }
        let close = rest[open..].find('}').map_or(rest.len(), |i| open + i + 1);
        pieces.push(Piece::Param);
        rest = &rest[close..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Literal(rest.to_string()));
    }
    pieces
}

fn describe(request: &RecordedRequest, operation: &str, problems: &[String]) -> String {
    let query = request
        .query
        .as_deref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let mut text = format!(
        "{} {}{query} ({operation}, answered {}):",
        request.method,
        request.path,
        request
            .status
            .map_or("nothing".to_string(), |s| s.to_string())
    );
    for problem in problems {
        text.push_str("\n  - ");
        text.push_str(problem);
    }
    if let Some(body) = &request.body {
        let body = body.to_string();
        let cut: String = body.chars().take(400).collect();
        text.push_str(&format!(
            "\n  body: {cut}{}",
            if cut.len() < body.len() { "…" } else { "" }
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(method: &str, target: &str, body: Option<Value>) -> RecordedRequest {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_string())),
            None => (target, None),
        };
        RecordedRequest {
            method: method.to_string(),
            path: path.to_string(),
            query,
            headers: BTreeMap::new(),
            body_len: body.as_ref().map_or(0, |b| b.to_string().len()),
            body,
            body_text: None,
            status: Some(200),
            injected_failure: false,
        }
    }

    /// The problems GitHub's description finds in one request.
    fn problems(method: &str, target: &str, body: Option<Value>) -> Vec<String> {
        check(&[request(method, target, body)])
    }

    fn assert_fails(method: &str, target: &str, body: Option<Value>, expected: &str) {
        let found = problems(method, target, body);
        assert_eq!(found.len(), 1, "{method} {target} should fail: {found:#?}");
        assert!(
            found[0].contains(expected),
            "{method} {target}: {expected:?} not in {}",
            found[0]
        );
    }

    #[test]
    fn the_bots_kinds_of_request_are_documented() {
        let sha = "aa218f56b14c9653891f9e74264a383fa43fefbd";
        let requests = [
            request("POST", "/app/installations/42/access_tokens", None),
            request("GET", "/repos/acme/widgets/issues/7", None),
            request(
                "GET",
                "/repos/acme/widgets/issues/7/comments?per_page=100&page=2",
                None,
            ),
            request(
                "PATCH",
                "/repos/acme/widgets/issues/comments/5",
                Some(json!({"body": "hi"})),
            ),
            request(
                "GET",
                "/repos/acme/widgets/git/ref/heads/gitkeeper/7-fix-it",
                None,
            ),
            request(
                "PATCH",
                "/repos/acme/widgets/git/refs/heads/gitkeeper/7-fix-it",
                Some(json!({"sha": sha, "force": true})),
            ),
            request(
                "POST",
                "/repos/acme/widgets/git/trees",
                Some(json!({"base_tree": sha, "tree": [
                    {"path": "a.txt", "mode": "100644", "type": "blob", "sha": sha},
                    {"path": "b.txt", "mode": "100644", "type": "blob", "sha": null},
                ]})),
            ),
            request(
                "DELETE",
                "/repos/acme/widgets/issues/7/labels/gitkeeper%3Aworking",
                None,
            ),
            request(
                "PATCH",
                "/repos/acme/widgets/check-runs/9",
                Some(json!({"status": "completed", "conclusion": "success",
                            "output": {"title": "t", "summary": "s"}})),
            ),
            request(
                "POST",
                "/repos/acme/widgets/pulls/comments/5/reactions",
                Some(json!({"content": "eyes"})),
            ),
        ];
        let report = report(&requests);
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
        assert_eq!(report.checked, requests.len());
        for id in [
            "git/get-ref",
            "git/update-ref",
            "issues/remove-label",
            "checks/update",
        ] {
            assert!(report.operations.contains(id), "{:?}", report.operations);
        }
    }

    #[test]
    fn an_undocumented_path_fails() {
        assert_fails(
            "GET",
            "/repos/acme/widgets/issues/7/frobnicate",
            None,
            "no documented path matches",
        );
        // `{issue_number}` is an integer: a word there is no issue.
        assert_fails(
            "GET",
            "/repos/acme/widgets/issues/seven",
            None,
            "no documented path matches",
        );
        assert_fails(
            "GET",
            "/api/v3/repos/acme/widgets/issues/7",
            None,
            "no documented path matches",
        );
    }

    #[test]
    fn an_undocumented_method_fails() {
        assert_fails(
            "PUT",
            "/repos/acme/widgets/issues/comments/5",
            Some(json!({"body": "hi"})),
            "PUT is not documented for this path",
        );
        // GitHub routes POST where it routes PATCH, but does not document it.
        assert_fails(
            "POST",
            "/repos/acme/widgets/git/refs/heads/main",
            Some(json!({"sha": "abc"})),
            "POST is not documented",
        );
    }

    #[test]
    fn a_missing_required_body_field_fails() {
        assert_fails(
            "POST",
            "/repos/acme/widgets/pulls",
            Some(json!({"title": "t", "base": "main"})),
            "required `head` is missing",
        );
        assert_fails(
            "POST",
            "/repos/acme/widgets/issues/7/comments",
            None,
            "requires a body and none was sent",
        );
        // Nested objects are checked too.
        assert_fails(
            "POST",
            "/repos/acme/widgets/check-runs",
            Some(json!({"name": "n", "head_sha": "abc", "output": {"title": "t"}})),
            "required `output.summary` is missing",
        );
        // A completed check run needs a conclusion (an `anyOf` alternative).
        assert_fails(
            "PATCH",
            "/repos/acme/widgets/check-runs/9",
            Some(json!({"status": "completed"})),
            "required `conclusion` is missing",
        );
    }

    #[test]
    fn a_ref_body_resolves_into_components() {
        // PUT interaction-limits' body is `$ref: #/components/schemas/interaction-limit`.
        assert_fails(
            "PUT",
            "/repos/acme/widgets/interaction-limits",
            Some(json!({"expiry": "one_day"})),
            "required `limit` is missing",
        );
        assert!(
            problems(
                "PUT",
                "/repos/acme/widgets/interaction-limits",
                Some(json!({"limit": "existing_users"}))
            )
            .is_empty()
        );
    }

    #[test]
    fn undocumented_query_parameters_properties_types_and_values_fail() {
        assert_fails(
            "GET",
            "/repos/acme/widgets/issues/7/comments?perpage=100",
            None,
            "query parameter `perpage` is not documented",
        );
        assert_fails(
            "POST",
            "/repos/acme/widgets/pulls/7/requested_reviewers",
            Some(json!({"reviewer": ["octocat"]})),
            "`reviewer` is not a documented property",
        );
        assert_fails(
            "POST",
            "/repos/acme/widgets/pulls",
            Some(json!({"title": "t", "head": "h", "base": "main", "draft": "yes"})),
            "`draft` is \"yes\", not of type boolean",
        );
        assert_fails(
            "POST",
            "/repos/acme/widgets/git/trees",
            Some(json!({"tree": [{"path": "a", "mode": "100644", "type": "blob", "sha": 7}]})),
            "`tree[0].sha` is 7, not of type string",
        );
        assert_fails(
            "POST",
            "/repos/acme/widgets/issues/7/reactions",
            Some(json!({"content": "eye"})),
            "`content` is \"eye\", not one of",
        );
        assert_fails(
            "GET",
            "/repos/acme/widgets/issues/7",
            Some(json!({"body": "hi"})),
            "sends a body, but the operation takes none",
        );
    }

    #[test]
    fn git_smart_http_is_skipped_and_nothing_else_on_git_paths() {
        let requests = [
            request(
                "GET",
                "/acme/widgets.git/info/refs?service=git-upload-pack",
                None,
            ),
            request("POST", "/acme/widgets.git/git-upload-pack", None),
            request("GET", "/acme/widgets.git/objects/info/packs", None),
        ];
        let report = report(&requests);
        assert_eq!((report.skipped, report.checked), (2, 1));
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        assert!(report.problems[0].contains("/objects/info/packs"));
    }

    /// A small description exercising what GitHub's uses: `$ref`s, `allOf`,
    /// `oneOf`, multi-segment and mixed path parameters.
    fn small_spec() -> Spec {
        Spec::new(json!({
            "paths": {
                "/things/{branch}/protection": {"put": {
                    "operationId": "things/protect",
                    "parameters": [{"$ref": "#/components/parameters/branch"}],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/named"},
                            {"required": ["size"], "properties": {"size": {"type": "integer"}}}
                        ],
                        "oneOf": [
                            {"required": ["red"], "properties": {"red": {}}},
                            {"required": ["blue"], "properties": {"blue": {}}}
                        ]
                    }}}}
                }},
                "/compare/{base}...{head}": {"get": {"operationId": "compare"}}
            },
            "components": {
                "parameters": {"branch": {
                    "name": "branch", "in": "path", "x-multi-segment": true,
                    "schema": {"type": "string"}
                }},
                "schemas": {"named": {"required": ["name"], "properties": {"name": {}}}}
            }
        }))
    }

    fn small(method: &str, target: &str, body: Option<Value>) -> Vec<String> {
        small_spec()
            .report(&[request(method, target, body)])
            .problems
    }

    #[test]
    fn all_of_merges_and_one_of_takes_any_complete_alternative() {
        let path = "/things/feature/x/protection";
        assert!(small("PUT", path, Some(json!({"name": "n", "size": 1, "red": 1}))).is_empty());
        assert!(
            small(
                "PUT",
                path,
                Some(json!({"name": "n", "size": 1, "blue": 1}))
            )
            .is_empty()
        );
        let none = small("PUT", path, Some(json!({"name": "n", "size": 1})));
        assert_eq!(none.len(), 1, "{none:#?}");
        assert!(none[0].contains("fits none of the schema's 2 alternatives"));
        let unnamed = small("PUT", path, Some(json!({"size": 1, "red": 1})));
        assert!(
            unnamed[0].contains("required `name` is missing"),
            "{unnamed:#?}"
        );
        let unknown = small(
            "PUT",
            path,
            Some(json!({"name": "n", "size": 1, "red": 1, "x": 0})),
        );
        assert!(
            unknown[0].contains("`x` is not a documented property"),
            "{unknown:#?}"
        );
    }

    #[test]
    fn multi_segment_and_mixed_parameters_match() {
        assert!(small("GET", "/compare/main...feature", None).is_empty());
        assert!(!small("GET", "/compare/main..feature", None).is_empty());
        assert!(!small("GET", "/things/protection", None).is_empty());
        assert!(!small("PUT", "/things//protection", Some(json!({}))).is_empty());
    }
}
