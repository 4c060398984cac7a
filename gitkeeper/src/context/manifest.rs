//! `package.json`: the package's name, dependencies, scripts, workspaces and
//! which package manager runs it (the `packageManager` field first, then the
//! lock file present). Used to tell the model what it may import and later to
//! check that generated imports exist.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::imports::package_name;
use super::read::RepoRoot;

/// Largest package.json read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// A JavaScript package manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// npm (`package-lock.json`).
    Npm,
    /// pnpm (`pnpm-lock.yaml`).
    Pnpm,
    /// Yarn (`yarn.lock`).
    Yarn,
    /// Bun (`bun.lock`, `bun.lockb`).
    Bun,
}

impl PackageManager {
    /// The command name (`pnpm`).
    pub fn command(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Pnpm => "pnpm",
            PackageManager::Yarn => "yarn",
            PackageManager::Bun => "bun",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "npm" => Some(Self::Npm),
            "pnpm" => Some(Self::Pnpm),
            "yarn" => Some(Self::Yarn),
            "bun" => Some(Self::Bun),
            _ => None,
        }
    }
}

/// Lock files in the order they decide the package manager.
const LOCK_FILES: &[(&str, PackageManager)] = &[
    ("bun.lock", PackageManager::Bun),
    ("bun.lockb", PackageManager::Bun),
    ("pnpm-lock.yaml", PackageManager::Pnpm),
    ("yarn.lock", PackageManager::Yarn),
    ("package-lock.json", PackageManager::Npm),
    ("npm-shrinkwrap.json", PackageManager::Npm),
];

/// How the package manager was determined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "file")]
pub enum ManagerSource {
    /// The `packageManager` field of package.json.
    PackageManagerField,
    /// A lock file (its name).
    LockFile(String),
}

/// The package manager and where that knowledge came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageManagerInfo {
    /// Which one.
    pub kind: PackageManager,
    /// Version from the `packageManager` field (`9.1.0`), if given.
    pub version: Option<String>,
    /// Field or lock file.
    pub source: ManagerSource,
}

/// What package.json (plus lock files and pnpm-workspace.yaml) says.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Repository-relative path of the package.json.
    pub path: String,
    /// `name`.
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `type` (`module` or `commonjs`).
    pub module_type: Option<String>,
    /// `dependencies`: name → version range.
    pub dependencies: BTreeMap<String, String>,
    /// `devDependencies`.
    pub dev_dependencies: BTreeMap<String, String>,
    /// `peerDependencies`.
    pub peer_dependencies: BTreeMap<String, String>,
    /// `optionalDependencies`.
    pub optional_dependencies: BTreeMap<String, String>,
    /// `scripts`: name → command.
    pub scripts: BTreeMap<String, String>,
    /// Package manager, if it can be told.
    pub package_manager: Option<PackageManagerInfo>,
    /// Workspace globs (`workspaces` or pnpm-workspace.yaml `packages`).
    pub workspaces: Vec<String>,
    /// `prisma.schema`: where the Prisma CLI is told the schema is.
    pub prisma_schema: Option<String>,
    /// Problems that did not stop reading (several lock files, …).
    pub warnings: Vec<String>,
}

/// Why package.json could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not valid JSON.
    #[error("{path} is not valid JSON: {source}; fix it so dependencies can be checked")]
    Syntax {
        /// Repository-relative path.
        path: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// Valid JSON but not an object.
    #[error("{path} must contain a JSON object at the top level")]
    NotAnObject {
        /// Repository-relative path.
        path: String,
    },
}

impl Manifest {
    /// Parses package.json text (lock files are not looked at).
    pub fn parse(path: &str, text: &str) -> Result<Self, ManifestError> {
        let value: Value =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|source| {
                ManifestError::Syntax {
                    path: path.to_string(),
                    source,
                }
            })?;
        let Value::Object(obj) = value else {
            return Err(ManifestError::NotAnObject {
                path: path.to_string(),
            });
        };
        let string = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
        let map = |key: &str| -> BTreeMap<String, String> {
            match obj.get(key) {
                Some(Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        (k.clone(), v)
                    })
                    .collect(),
                _ => BTreeMap::new(),
            }
        };
        let workspaces = match obj.get("workspaces") {
            Some(Value::Array(items)) => strings(items),
            Some(Value::Object(w)) => match w.get("packages") {
                Some(Value::Array(items)) => strings(items),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let package_manager = string("packageManager").and_then(|field| {
            let field = field.split('+').next().unwrap_or(&field).to_string();
            let (name, version) = match field.split_once('@') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (field.clone(), None),
            };
            PackageManager::from_name(&name).map(|kind| PackageManagerInfo {
                kind,
                version,
                source: ManagerSource::PackageManagerField,
            })
        });
        let prisma_schema = obj
            .get("prisma")
            .and_then(|p| p.get("schema"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Manifest {
            path: path.to_string(),
            name: string("name"),
            version: string("version"),
            description: string("description"),
            module_type: string("type"),
            dependencies: map("dependencies"),
            dev_dependencies: map("devDependencies"),
            peer_dependencies: map("peerDependencies"),
            optional_dependencies: map("optionalDependencies"),
            scripts: map("scripts"),
            package_manager,
            workspaces,
            prisma_schema,
            warnings: Vec::new(),
        })
    }

    /// The version range of a dependency of any kind, if declared.
    pub fn dependency(&self, name: &str) -> Option<&str> {
        [
            &self.dependencies,
            &self.dev_dependencies,
            &self.peer_dependencies,
            &self.optional_dependencies,
        ]
        .into_iter()
        .find_map(|m| m.get(name).map(String::as_str))
    }

    /// True when the package is declared in any dependency list.
    pub fn has_dependency(&self, name: &str) -> bool {
        self.dependency(name).is_some()
    }

    /// True when a bare import specifier (`lodash/fp`, `@types/node`) names a
    /// declared package.
    pub fn declares_import(&self, specifier: &str) -> bool {
        package_name(specifier).is_some_and(|name| {
            self.has_dependency(name)
                || self.has_dependency(&format!(
                    "@types/{}",
                    name.replace('/', "__").trim_start_matches('@')
                ))
        })
    }

    /// The command that runs a script with this package manager (`pnpm run build`).
    pub fn script_command(&self, script: &str) -> Option<String> {
        self.scripts.contains_key(script).then(|| {
            let pm = self
                .package_manager
                .as_ref()
                .map_or("npm", |p| p.kind.command());
            format!("{pm} run {script}")
        })
    }
}

fn strings(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Reads `package.json` at the root with lock files and pnpm workspaces.
pub(crate) fn load(root: &RepoRoot, rel: &str) -> Option<Result<Manifest, ManifestError>> {
    let text = root.read_text(rel, MAX_MANIFEST_BYTES).ok()?;
    Some(Manifest::parse(rel, &text).map(|mut manifest| {
        let dir = super::imports::parent_dir(rel);
        let at = |name: &str| {
            if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            }
        };
        let locks: Vec<(&str, PackageManager)> = LOCK_FILES
            .iter()
            .copied()
            .filter(|(name, _)| root.is_file(&at(name)))
            .collect();
        if manifest.package_manager.is_none() {
            if let Some((name, kind)) = locks.first() {
                manifest.package_manager = Some(PackageManagerInfo {
                    kind: *kind,
                    version: None,
                    source: ManagerSource::LockFile((*name).to_string()),
                });
            }
        }
        let kinds: Vec<PackageManager> = locks.iter().map(|(_, k)| *k).collect();
        if kinds.windows(2).any(|w| w[0] != w[1]) {
            let names: Vec<&str> = locks.iter().map(|(n, _)| *n).collect();
            manifest.warnings.push(format!(
                "lock files of several package managers ({}); remove the stale ones",
                names.join(", ")
            ));
        }
        if manifest.workspaces.is_empty() {
            if let Ok(yaml) = root.read_text(&at("pnpm-workspace.yaml"), MAX_MANIFEST_BYTES) {
                manifest.workspaces = pnpm_workspace_packages(&yaml);
            }
        }
        manifest
    }))
}

/// The `packages:` list of a pnpm-workspace.yaml (block or flow style).
pub(crate) fn pnpm_workspace_packages(yaml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_packages = false;
    for line in yaml.lines() {
        let line = line.split(" #").next().unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            in_packages = false;
            if let Some(rest) = trimmed.strip_prefix("packages:") {
                let rest = rest.trim();
                if let Some(flow) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                    out.extend(flow.split(',').map(unquote).filter(|s| !s.is_empty()));
                } else {
                    in_packages = true;
                }
            }
            continue;
        }
        if in_packages {
            if let Some(item) = trimmed.strip_prefix('-') {
                let item = unquote(item);
                if !item.is_empty() {
                    out.push(item);
                }
            }
        }
    }
    out
}

fn unquote(s: &str) -> String {
    s.trim().trim_matches(|c| c == '"' || c == '\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const PACKAGE: &str = r#"{
      "name": "solar-sprint",
      "version": "0.2.0",
      "private": true,
      "type": "module",
      "packageManager": "pnpm@9.1.0+sha512.abc",
      "scripts": { "build": "next build", "test": "vitest run" },
      "dependencies": { "next": "14.2.3", "@prisma/client": "^5.14.0", "react": "^18" },
      "devDependencies": { "typescript": "^5", "@types/react": "^18", "@types/node": "^20" },
      "workspaces": { "packages": ["packages/*"] },
      "prisma": { "schema": "db/schema.prisma" }
    }"#;

    #[test]
    fn package_json_fields_are_read() {
        let m = Manifest::parse("package.json", PACKAGE).expect("parses");
        assert_eq!(m.name.as_deref(), Some("solar-sprint"));
        assert_eq!(m.dependency("next"), Some("14.2.3"));
        assert!(m.has_dependency("typescript"));
        assert_eq!(m.workspaces, ["packages/*"]);
        assert_eq!(m.prisma_schema.as_deref(), Some("db/schema.prisma"));
        let pm = m.package_manager.as_ref().expect("field");
        assert_eq!(
            (pm.kind, pm.version.as_deref()),
            (PackageManager::Pnpm, Some("9.1.0"))
        );
        assert_eq!(m.script_command("build").as_deref(), Some("pnpm run build"));
        assert_eq!(m.script_command("lint"), None);
    }

    #[test]
    fn imports_are_checked_against_declared_packages() {
        let m = Manifest::parse("package.json", PACKAGE).expect("parses");
        assert!(m.declares_import("@prisma/client"));
        assert!(m.declares_import("next/server"));
        assert!(m.declares_import("react/jsx-runtime"));
        assert!(!m.declares_import("lodash/fp"));
        assert!(!m.declares_import("./local"));
    }

    #[test]
    fn lock_file_decides_the_package_manager_when_the_field_is_absent() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("package.json"), r#"{"name":"x"}"#).expect("write");
        fs::write(dir.path().join("yarn.lock"), "").expect("write");
        fs::write(dir.path().join("package-lock.json"), "{}").expect("write");
        let root = RepoRoot::new(dir.path()).expect("root");
        let m = load(&root, "package.json")
            .expect("exists")
            .expect("parses");
        let pm = m.package_manager.expect("from lock");
        assert_eq!(pm.kind, PackageManager::Yarn);
        assert_eq!(pm.source, ManagerSource::LockFile("yarn.lock".into()));
        assert!(m.warnings[0].contains("several package managers"));
    }

    #[test]
    fn bun_text_lock_file_means_bun() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("package.json"), r#"{"name":"x"}"#).expect("write");
        fs::write(dir.path().join("bun.lock"), "{}").expect("write");
        let root = RepoRoot::new(dir.path()).expect("root");
        let m = load(&root, "package.json")
            .expect("exists")
            .expect("parses");
        assert_eq!(m.package_manager.map(|p| p.kind), Some(PackageManager::Bun));
    }

    #[test]
    fn pnpm_workspace_yaml_lists_packages() {
        let yaml = "packages:\n  - 'apps/*'\n  - \"packages/*\" # libs\n  - '!**/test/**'\ncatalog:\n  react: ^18\n";
        assert_eq!(
            pnpm_workspace_packages(yaml),
            ["apps/*", "packages/*", "!**/test/**"]
        );
        assert_eq!(
            pnpm_workspace_packages("packages: [a, 'b/*']"),
            ["a", "b/*"]
        );
    }

    #[test]
    fn invalid_package_json_is_an_error_not_a_panic() {
        assert!(matches!(
            Manifest::parse("package.json", "{ nope"),
            Err(ManifestError::Syntax { .. })
        ));
        assert!(matches!(
            Manifest::parse("package.json", "[1]"),
            Err(ManifestError::NotAnObject { .. })
        ));
    }

    #[test]
    fn a_syntax_error_keeps_the_parsers_error_and_its_position() {
        let Err(err) = Manifest::parse("package.json", "{\n  \"name\": ,\n}") else {
            panic!("invalid JSON parsed");
        };
        let source = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<serde_json::Error>())
            .expect("the serde_json error is the source");
        assert_eq!((source.line(), source.column()), (2, 11));
        assert_eq!(
            err.to_string(),
            format!(
                "package.json is not valid JSON: {source}; fix it so dependencies can be checked"
            )
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_package_json_and_workspace_yaml_never_panic(
                text in "\\PC{0,200}",
                key in "(name|dependencies|workspaces|packageManager|prisma|scripts)",
                value in "(\"[a-z@/.0-9+]{0,12}\"|\\{\\}|\\[\\]|1|null|\\{\"schema\":\"x\"\\})",
            ) {
                let _ = Manifest::parse("package.json", &text);
                let _ = Manifest::parse("package.json", &format!("{{\"{key}\": {value}}}"));
                let _ = pnpm_workspace_packages(&text);
            }
        }
    }
}
