//! What the static checks found, phrased for the model that must fix it:
//! every finding names the file, the line (and column when known), the rule
//! broken and what to do instead. Findings serialize to JSON for reports.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckRule {
    /// A TS/TSX/JS/JSX file does not parse.
    Syntax,
    /// A JSON file does not parse.
    Json,
    /// A Prisma schema file does not parse.
    PrismaSchema,
    /// A relative or aliased import names a file that does not exist.
    MissingImport,
    /// An import names something the repository module does not export.
    MissingExport,
    /// A bare import names a package that package.json does not declare.
    UndeclaredPackage,
    /// A `node:` import names a module Node.js does not have.
    UnknownBuiltin,
    /// Code names a Prisma model (or enum, or type) the schema lacks.
    UnknownPrismaModel,
    /// Code names a field the Prisma model lacks.
    UnknownPrismaField,
    /// Code calls an operation Prisma Client's model delegates lack.
    UnknownPrismaOperation,
    /// Code passes an operation an argument Prisma Client does not take.
    UnknownPrismaArgument,
    /// Code calls an API route the app does not have (or a method it lacks).
    UnknownApiRoute,
    /// A change touches a path the gitkeeper doc protects.
    ProtectedPath,
    /// A changed file contains a pattern the gitkeeper doc forbids.
    ForbiddenPattern,
    /// A changed file lacks a pattern the gitkeeper doc requires.
    RequiredPattern,
    /// A package.json takes a dependency from a URL, git or a path.
    RemoteDependency,
    /// A change edits a package.json script the validation runs.
    CheckedScript,
    /// A new file has the name of an existing file elsewhere (a note, not a failure).
    MisplacedFile,
}

impl CheckRule {
    /// The rule's id in reports (`missing_import`).
    pub fn as_str(self) -> &'static str {
        match self {
            CheckRule::Syntax => "syntax",
            CheckRule::Json => "json",
            CheckRule::PrismaSchema => "prisma_schema",
            CheckRule::MissingImport => "missing_import",
            CheckRule::MissingExport => "missing_export",
            CheckRule::UndeclaredPackage => "undeclared_package",
            CheckRule::UnknownBuiltin => "unknown_builtin",
            CheckRule::UnknownPrismaModel => "unknown_prisma_model",
            CheckRule::UnknownPrismaField => "unknown_prisma_field",
            CheckRule::UnknownPrismaOperation => "unknown_prisma_operation",
            CheckRule::UnknownPrismaArgument => "unknown_prisma_argument",
            CheckRule::UnknownApiRoute => "unknown_api_route",
            CheckRule::ProtectedPath => "protected_path",
            CheckRule::ForbiddenPattern => "forbidden_pattern",
            CheckRule::RequiredPattern => "required_pattern",
            CheckRule::RemoteDependency => "remote_dependency",
            CheckRule::CheckedScript => "checked_script",
            CheckRule::MisplacedFile => "misplaced_file",
        }
    }
}

impl fmt::Display for CheckRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Repository-relative path.
    pub file: String,
    /// 1-based line, when the problem has one.
    pub line: Option<u32>,
    /// 1-based column (characters), when known.
    pub column: Option<u32>,
    /// The check that found it.
    pub rule: CheckRule,
    /// What is wrong and what to do instead, without the location.
    pub message: String,
}

impl Finding {
    pub(crate) fn new(file: &str, rule: CheckRule, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            line: None,
            column: None,
            rule,
            message: message.into(),
        }
    }

    pub(crate) fn at(mut self, line: u32, column: Option<u32>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }
}

/// `src/a.ts:12:5: message` — the form fed back to a model.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// A changed file the checks could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Repository-relative path.
    pub path: String,
    /// Why (binary, too large, outside the repository, …).
    pub reason: String,
}

/// The outcome of the static checks on one attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticReport {
    /// Problems the change introduced; any one fails the attempt.
    pub findings: Vec<Finding>,
    /// Problems that were already in the changed files before the change
    /// (only known when the changes carry their previous content).
    pub preexisting: Vec<Finding>,
    /// Changed files that were checked, in order.
    pub checked: Vec<String>,
    /// Changed files that could not be read.
    pub skipped: Vec<SkippedFile>,
    /// Likely mistakes that do not fail the attempt by themselves (a new
    /// file named like an existing one elsewhere): told to the model with
    /// the findings, and to the maintainer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Finding>,
}

impl StaticReport {
    /// True when the change introduced no problem.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings as lines for a retry prompt: the same problem in the
    /// same file once (with the other lines it is on), at most `max` lines
    /// (the rest counted), most important rules first.
    pub fn feedback(&self, max: usize) -> String {
        let mut findings: Vec<&Finding> = self.findings.iter().collect();
        findings.sort_by_key(|f| (f.rule, f.file.clone(), f.line, f.column));
        let mut groups: Vec<(&Finding, Vec<u32>)> = Vec::new();
        for f in findings {
            match groups
                .iter_mut()
                .find(|(g, _)| g.file == f.file && g.rule == f.rule && g.message == f.message)
            {
                Some((_, lines)) => lines.extend(f.line),
                None => groups.push((f, Vec::new())),
            }
        }
        let mut out = String::new();
        for (f, also) in groups.iter().take(max) {
            out.push_str(&f.to_string());
            if !also.is_empty() {
                let lines: Vec<String> = also.iter().map(u32::to_string).collect();
                out.push_str(&format!(" (also on line {})", lines.join(", ")));
            }
            out.push('\n');
        }
        if groups.len() > max {
            out.push_str(&format!(
                "… and {} more problem(s) of the same kinds\n",
                groups.len() - max
            ));
        }
        out
    }

    /// Pretty JSON for reports.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}
