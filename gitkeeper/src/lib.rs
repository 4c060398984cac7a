//! Gitkeeper's repository library: what a repository promises (its contract:
//! the gitkeeper doc, schema, manifests) and what a model needs to read to change
//! it (the context package). It must never touch the network or GitHub.

#![warn(missing_docs)]

pub mod context;
pub mod edits;
pub mod fuzzing;
mod io_error;
pub mod sanitize;
pub mod validate;

pub use io_error::SharedIoError;
