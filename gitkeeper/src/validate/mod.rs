//! Validation that lives in the library: which commands prove a change in a
//! repository ([`commands`], from `.github/gitkeeper.yml` ([`config`]) or
//! detected, picked by [`ValidationLevel`]) and the fast static checks that
//! run before any build ([`check_changes`]: syntax, imports and exports,
//! Prisma models, fields, operations and arguments, API routes, gitkeeper
//! rules, dependencies only from the registry, scripts the validation runs
//! left alone, and notes on new files named like existing ones elsewhere),
//! and whether the checks could exercise a change at all ([`proof`]) on an attempt's [`ChangedFile`]s against the repository's
//! [`Contract`]. Nothing here spawns a process or touches the network;
//! running commands in a sandbox is the bot's job. The README section
//! "Validation: `.github/gitkeeper.yml` and the static checks" documents the
//! configuration and every check for users.

pub mod api_routes;
pub mod changes;
pub mod commands;
pub mod config;
pub mod contract;
pub mod findings;
pub mod misplaced;
pub mod proof;
pub mod static_checks;

mod exports_check;
mod imports_check;
mod manifest_check;
mod prisma_usage;
mod syntax;

pub use changes::{ChangeKind, ChangedFile};
pub use commands::{
    Command, CommandPlan, CommandsError, LevelPlan, LockFile, Origin, PlanSource, Stage,
    ValidationLevel, load_config_file, lock_file_hash, lock_files, plan_commands,
    repo_context_options, repo_local_only_paths,
};
pub use config::{
    CONFIG_PATH, ConfigError, ConfiguredCommand, ContextConfig, PrivacyConfig, ValidateConfig,
    parse_config, parse_context_config, parse_privacy_config,
};
pub use contract::{Contract, ContractError};
pub use findings::{CheckRule, Finding, SkippedFile, StaticReport};
pub use manifest_check::scripts_run_by;
pub use misplaced::misplaced_files;
pub use static_checks::check_changes;
