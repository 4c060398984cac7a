//! `.github/gitkeeper.yml`'s `validate:` section: the commands a repository
//! says prove a change (setup, checks, time limits, allowed environment
//! variables). Parsed with `serde-saphyr` (pure Rust, panic-free, errors with
//! line and column). Only the `validate` key is read here; other top-level
//! keys belong to other parts of Gitkeeper and are left alone. Nothing here
//! runs a command.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::commands::Stage;
use crate::SharedIoError;

/// Where the repository configuration lives.
pub const CONFIG_PATH: &str = ".github/gitkeeper.yml";

/// Largest configuration file read.
pub(crate) const MAX_CONFIG_BYTES: u64 = 256 * 1024;

/// Why `.github/gitkeeper.yml` could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not YAML, or YAML of the wrong shape.
    #[error(
        "{file}:{line}:{column}: {}{message}; fix the file (its format is in Gitkeeper's README, \"Validation: `.github/gitkeeper.yml` and the static checks\")",
        key_prefix(.key)
    )]
    Invalid {
        /// Repository-relative path.
        file: String,
        /// 1-based line (0 when unknown).
        line: u32,
        /// 1-based column (0 when unknown).
        column: u32,
        /// The key at that line as a path (`validate.checks[1].timeout`);
        /// empty when the line holds no key.
        #[serde(default)]
        key: String,
        /// What the parser said.
        message: String,
    },
    /// Too large to be a configuration file.
    #[error(
        "{file} is {size} bytes, more than the {max} a configuration file may have; shorten it"
    )]
    TooLarge {
        /// Repository-relative path.
        file: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Present but unreadable (not UTF-8, a directory, an I/O error).
    #[error("cannot read {file}: {reason}; make it a UTF-8 text file")]
    Unreadable {
        /// Repository-relative path.
        file: String,
        /// Why.
        reason: String,
        /// The I/O error, when the reason is one (not kept when serialized).
        #[source]
        #[serde(skip)]
        source: Option<SharedIoError>,
    },
}

/// The `validate:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateConfig {
    /// Commands that install dependencies (network allowed), in order;
    /// absent: detected, `[]`: none.
    #[serde(default)]
    pub setup: Option<Vec<ConfiguredCommand>>,
    /// Commands that must pass (no network), in order.
    #[serde(default)]
    pub checks: Vec<ConfiguredCommand>,
    /// Wall-clock limit for each command (`300`, `90s`, `10m`, `1h`).
    #[serde(default, with = "duration_opt")]
    pub timeout: Option<Duration>,
    /// Wall-clock limit for all commands of one validation together.
    #[serde(default, with = "duration_opt")]
    pub total_timeout: Option<Duration>,
    /// Environment variable names passed into the sandbox (values come from
    /// the host); nothing else is passed but the sandbox's own basics.
    #[serde(default)]
    pub env: Vec<String>,
    /// Set to `false` to skip detection when `checks` is empty (run nothing).
    #[serde(default)]
    pub detect: Option<bool>,
}

/// One command as written: `npm test`, `[npm, test]`, or a mapping with
/// `run`, and optionally `name`, `stage`, `timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfiguredCommand {
    /// The command line, split into arguments (`sh -c` when it uses shell syntax).
    pub argv: Vec<String>,
    /// The text as written, for reports.
    pub text: String,
    /// A label for reports.
    pub name: Option<String>,
    /// The stage, when given (otherwise inferred from the command).
    pub stage: Option<Stage>,
    /// This command's own time limit.
    pub timeout: Option<Duration>,
}

/// The `context:` section: where the repository keeps what Gitkeeper reads
/// first, when the default locations would miss it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// Gitkeeper doc paths, instead of docs/gitkeeper.md, GITKEEPER.md, .github/gitkeeper.md.
    #[serde(default)]
    pub doc_paths: Option<Vec<String>>,
    /// The Prisma schema file or folder.
    #[serde(default)]
    pub schema_path: Option<String>,
}

impl ContextConfig {
    /// `options` with the repository's paths put over the bot's.
    pub fn apply(
        &self,
        mut options: crate::context::ContextOptions,
    ) -> crate::context::ContextOptions {
        if let Some(paths) = &self.doc_paths {
            options.doc_paths = paths.clone();
        }
        if let Some(path) = &self.schema_path {
            options.schema_path = Some(path.clone());
        }
        options
    }
}

/// The `privacy:` section: paths whose content never goes to a paid model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Globs (`secrets/`, `*.pem`, `config/prod/**`) of paths kept local.
    #[serde(default)]
    pub local_only_paths: Vec<String>,
}

#[derive(Deserialize)]
struct FileShape {
    #[serde(default)]
    validate: Option<ValidateConfig>,
    #[serde(default)]
    context: Option<ContextConfig>,
    #[serde(default)]
    privacy: Option<PrivacyConfig>,
}

fn parse_file(file: &str, text: &str) -> Result<Option<FileShape>, ConfigError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_saphyr::from_str(text).map(Some).map_err(|err| {
        let (line, column) = err
            .location()
            .map_or((0, 0), |l| (to_u32(l.line()), to_u32(l.column())));
        ConfigError::Invalid {
            file: file.to_string(),
            line,
            column,
            key: key_path(text, line).unwrap_or_default(),
            message: plain_message(&err),
        }
    })
}

/// The `privacy:` section of the configuration text, if it has one.
pub fn parse_privacy_config(file: &str, text: &str) -> Result<Option<PrivacyConfig>, ConfigError> {
    Ok(parse_file(file, text)?.and_then(|shape| shape.privacy))
}

/// The `context:` section of the configuration text, if it has one.
pub fn parse_context_config(file: &str, text: &str) -> Result<Option<ContextConfig>, ConfigError> {
    Ok(parse_file(file, text)?.and_then(|shape| shape.context))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandMap {
    run: RunValue,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    stage: Option<Stage>,
    #[serde(default, with = "duration_opt")]
    timeout: Option<Duration>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RunValue {
    Text(String),
    Argv(Vec<String>),
}

/// Parses the configuration text; `Ok(None)` when it has no `validate:` key.
pub fn parse_config(file: &str, text: &str) -> Result<Option<ValidateConfig>, ConfigError> {
    let Some(config) = parse_file(file, text)?.and_then(|shape| shape.validate) else {
        return Ok(None);
    };
    for name in &config.env {
        if !is_env_name(name) {
            let line = line_of(text, name);
            return Err(ConfigError::Invalid {
                file: file.to_string(),
                line,
                column: 0,
                key: key_path(text, line).unwrap_or_default(),
                message: format!(
                    "`validate.env` entry `{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
                ),
            });
        }
    }
    Ok(Some(config))
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("key `{key}`: ")
    }
}

/// One line's structure as block YAML: the columns of its `- ` items and
/// of its `key:`, in order.
fn line_nodes(line: &str) -> Vec<(usize, Option<&str>)> {
    let mut nodes = Vec::new();
    let mut column = line.len() - line.trim_start_matches(' ').len();
    let mut rest = &line[column..];
    while rest == "-" || rest.starts_with("- ") {
        nodes.push((column, None));
        let after = rest[1..].trim_start_matches(' ');
        column += rest.len() - after.len();
        rest = after;
    }
    if rest.starts_with('#') {
        return nodes;
    }
    if let Some((key, _)) = rest.split_once(':') {
        let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
        let plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if plain {
            nodes.push((column, Some(key)));
        }
    }
    nodes
}

/// The key path of the block-YAML node at 1-based `line` of `text`
/// (`validate.checks[1].timeout`), read from the indentation: serde-saphyr
/// reports where a value is wrong but not under which key. `None` when
/// that line holds no key or item (an error past the end, a flow value).
pub(crate) fn key_path(text: &str, line: u32) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let here = line_nodes(lines.get(index)?);
    let mut limit = here.first()?.0;
    // Innermost first; an item's index is filled in once its siblings above are counted.
    let mut parts: Vec<String> = Vec::new();
    // (column, slot in `parts`, siblings above so far) of items still counting.
    let mut counting: Vec<(usize, usize, usize)> = Vec::new();
    let take = |nodes: &[(usize, Option<&str>)],
                parts: &mut Vec<String>,
                counting: &mut Vec<(usize, usize, usize)>| {
        for (column, key) in nodes.iter().rev() {
            match key {
                Some(key) => parts.push((*key).to_string()),
                None => {
                    counting.push((*column, parts.len(), 0));
                    parts.push(String::new());
                }
            }
        }
    };
    take(&here, &mut parts, &mut counting);
    for above in lines[..index].iter().rev() {
        let nodes = line_nodes(above);
        let Some(&(first, _)) = nodes.first() else {
            continue;
        };
        for (column, _, count) in &mut counting {
            if nodes.iter().any(|(c, k)| c == column && k.is_none()) {
                *count += 1;
            }
        }
        if first < limit {
            let outer: Vec<(usize, Option<&str>)> =
                nodes.iter().copied().filter(|(c, _)| *c < limit).collect();
            limit = first;
            counting.retain(|&(column, slot, count)| {
                let closed = column > limit;
                if closed {
                    parts[slot] = format!("[{count}]");
                }
                !closed
            });
            take(&outer, &mut parts, &mut counting);
        }
    }
    for (_, slot, count) in counting {
        parts[slot] = format!("[{count}]");
    }
    let mut path = String::new();
    for part in parts.iter().rev() {
        if !part.starts_with('[') && !path.is_empty() {
            path.push('.');
        }
        path.push_str(part);
    }
    (!path.is_empty()).then_some(path)
}

/// The parser's message without its own location suffix and source snippet.
fn plain_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

fn to_u32(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// 1-based line of the first occurrence of `needle` (0 when absent).
fn line_of(text: &str, needle: &str) -> u32 {
    text.find(needle)
        .map_or(0, |i| to_u32(text[..i].matches('\n').count() as u64 + 1))
}

fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Characters that need a shell to mean what they say.
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '$', '`', '(', ')', '{', '}', '*', '?', '~', '\n', '\\', '#',
];

/// Splits a command line into arguments; text using shell syntax (pipes,
/// `&&`, variables, globs, redirections, a leading `VAR=value`) becomes
/// `sh -c <text>`.
pub fn split_command(text: &str) -> Result<Vec<String>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the command is empty".to_string());
    }
    let assigns = text
        .split_whitespace()
        .next()
        .is_some_and(|w| w.contains('='));
    if assigns || text.contains(SHELL_SYNTAX) {
        return Ok(vec!["sh".into(), "-c".into(), text.to_string()]);
    }
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unclosed quote in `{text}`"));
    }
    if in_word {
        args.push(current);
    }
    Ok(args)
}

impl<'de> Deserialize<'de> for ConfiguredCommand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CommandVisitor)
    }
}

struct CommandVisitor;

impl<'de> Visitor<'de> for CommandVisitor {
    type Value = ConfiguredCommand;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a command: a string (`npm test`), a list of arguments, or a mapping with `run:`",
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let argv = split_command(v).map_err(E::custom)?;
        Ok(ConfiguredCommand {
            argv,
            text: v.trim().to_string(),
            name: None,
            stage: None,
            timeout: None,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut argv = Vec::new();
        while let Some(arg) = seq.next_element::<String>()? {
            argv.push(arg);
        }
        argv_command(argv).map_err(de::Error::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let m = CommandMap::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let mut command = match m.run {
            RunValue::Text(text) => self.visit_str::<A::Error>(&text)?,
            RunValue::Argv(argv) => argv_command(argv).map_err(de::Error::custom)?,
        };
        command.name = m.name;
        command.stage = m.stage;
        command.timeout = m.timeout;
        Ok(command)
    }
}

fn argv_command(argv: Vec<String>) -> Result<ConfiguredCommand, String> {
    if argv.first().is_none_or(|a| a.trim().is_empty()) {
        return Err("the command's argument list is empty; name the program first".to_string());
    }
    Ok(ConfiguredCommand {
        text: argv.join(" "),
        argv,
        name: None,
        stage: None,
        timeout: None,
    })
}

/// Parses `300`, `90s`, `10m`, `1h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{t}` is not a duration; write seconds (`300`) or a number with s, m or h (`90s`, `10m`, `1h30m`)"
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

mod duration_opt {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Duration>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration: seconds (`300`) or `90s`, `10m`, `1h`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Some(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(|s| Some(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(Some).map_err(E::custom)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_lists_and_mappings_are_commands() {
        let yaml = "validate:\n  setup:\n    - npm ci\n  checks:\n    - npm run typecheck\n    - [npx, vitest, run]\n    - run: npm test -- --reporter=dot\n      name: unit tests\n      stage: test\n      timeout: 10m\n  timeout: 300\n  total_timeout: 1h\n  env: [NODE_OPTIONS]\n";
        let config = parse_config(CONFIG_PATH, yaml)
            .expect("valid")
            .expect("has validate");
        assert_eq!(
            config.setup.as_deref().unwrap_or_default()[0].argv,
            ["npm", "ci"]
        );
        assert_eq!(config.checks[1].argv, ["npx", "vitest", "run"]);
        let third = &config.checks[2];
        assert_eq!(third.argv, ["npm", "test", "--", "--reporter=dot"]);
        assert_eq!(third.stage, Some(Stage::Test));
        assert_eq!(third.timeout, Some(Duration::from_secs(600)));
        assert_eq!(third.name.as_deref(), Some("unit tests"));
        assert_eq!(config.timeout, Some(Duration::from_secs(300)));
        assert_eq!(config.total_timeout, Some(Duration::from_secs(3600)));
        assert_eq!(config.env, ["NODE_OPTIONS"]);
    }

    #[test]
    fn shell_syntax_runs_under_sh() {
        assert_eq!(
            split_command("npm run a && npm run b").expect("ok"),
            ["sh", "-c", "npm run a && npm run b"]
        );
        assert_eq!(
            split_command("FOO=1 npm test").expect("ok"),
            ["sh", "-c", "FOO=1 npm test"]
        );
        assert_eq!(
            split_command("eslint 'src/**' --max-warnings=0").expect("ok"),
            ["sh", "-c", "eslint 'src/**' --max-warnings=0"]
        );
        assert_eq!(
            split_command("node \"a b.js\"").expect("ok"),
            ["node", "a b.js"]
        );
        assert!(split_command("  ").is_err());
        assert!(split_command("node 'a").is_err());
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("10").is_ok());
        assert!(parse_duration("5d").is_err());
    }

    #[test]
    fn file_without_validate_section_is_none() {
        assert_eq!(
            parse_config(CONFIG_PATH, "docs: [GITKEEPER.md]\n"),
            Ok(None)
        );
        assert_eq!(parse_config(CONFIG_PATH, "\n"), Ok(None));
    }

    #[test]
    fn bad_env_name_is_an_error_with_its_line() {
        let err = parse_config(CONFIG_PATH, "validate:\n  env:\n    - \"NOT OK\"\n")
            .expect_err("invalid");
        let ConfigError::Invalid { line, message, .. } = err else {
            panic!("wrong error");
        };
        assert_eq!(line, 3);
        assert!(message.contains("NOT OK"), "{message}");
    }

    #[test]
    fn the_key_of_a_line_is_its_path_from_the_indentation() {
        let text = "validate:\n  setup: []\n  checks:\n    - run: a\n      name: x\n\n    # a comment\n    - run: b\n      timeout: nope\n  env:\n    - \"NOT OK\"\ncontext:\n  schema_path: 3\n";
        assert_eq!(key_path(text, 1).as_deref(), Some("validate"));
        assert_eq!(key_path(text, 2).as_deref(), Some("validate.setup"));
        assert_eq!(key_path(text, 4).as_deref(), Some("validate.checks[0].run"));
        assert_eq!(
            key_path(text, 5).as_deref(),
            Some("validate.checks[0].name")
        );
        assert_eq!(
            key_path(text, 9).as_deref(),
            Some("validate.checks[1].timeout")
        );
        assert_eq!(key_path(text, 11).as_deref(), Some("validate.env[0]"));
        assert_eq!(key_path(text, 13).as_deref(), Some("context.schema_path"));
        assert_eq!(key_path(text, 6), None);
        assert_eq!(key_path(text, 99), None);
        assert_eq!(key_path(text, 0), None);
    }

    #[test]
    fn an_invalid_file_names_its_file_line_and_key() {
        let text = "validate:\n  checks:\n    - run: npm test\n      timeout: ten minutes\n";
        let err = parse_config(CONFIG_PATH, text).expect_err("invalid");
        let ConfigError::Invalid { line, key, .. } = &err else {
            panic!("wrong error {err:?}");
        };
        assert_eq!((*line, key.as_str()), (4, "validate.checks[0].timeout"));
        let shown = err.to_string();
        assert!(
            shown.starts_with(".github/gitkeeper.yml:4:")
                && shown.contains("key `validate.checks[0].timeout`: "),
            "{shown}"
        );

        let err = parse_config(CONFIG_PATH, "validate:\n  env:\n    - \"NOT OK\"\n")
            .expect_err("invalid");
        assert!(err.to_string().contains("key `validate.env[0]`"), "{err}");
    }

    #[test]
    fn privacy_lists_local_only_paths_beside_the_other_sections() {
        let yaml = "validate:\n  checks: [npm test]\nprivacy:\n  local_only_paths:\n    - secrets/\n    - \"*.pem\"\n";
        let privacy = parse_privacy_config(CONFIG_PATH, yaml)
            .expect("valid")
            .expect("has privacy");
        assert_eq!(privacy.local_only_paths, ["secrets/", "*.pem"]);
        // The other readers still accept the file.
        assert!(parse_config(CONFIG_PATH, yaml).expect("valid").is_some());
        let err = parse_privacy_config(CONFIG_PATH, "privacy:\n  local_only: [a]\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("local_only"), "{err}");
    }
}
