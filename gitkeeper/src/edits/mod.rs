//! The edit format models answer in, its parser, and the safe applier.
//! Nothing here writes outside the work directory, into `.git/` or onto a
//! protected path, and nothing is written unless every edit applies.

mod apply;
mod diff;
mod format;
pub mod fuzz;
mod matching;
mod parse;
mod paths;

pub use apply::{
    AppliedEdits, ApplyError, EditRejection, FileChange, RejectionReason, apply_edits, plan_edits,
};
pub use diff::Diff;
pub use format::{Edit, EditKind, Edits, FORMAT_DOC, RenderError, WHOLE_FILE_DOC, render_edits};
pub use matching::{Closest, MatchFailure, MatchStrategy, Replaced, replace_in_text};
pub use parse::{
    ParseError, ParseOptions, ParseProblem, ParsedEdits, parse_edits, parse_edits_with,
};
pub use paths::{Links, PathPolicy, PathProblem, PolicyError, normalize_path, resolve_below};
