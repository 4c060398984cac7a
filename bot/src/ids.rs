//! Newtypes for the ids that cross module boundaries, so an issue number can
//! never be passed where a comment id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A GitHub App installation.
    InstallationId(u64)
);
id_type!(
    /// GitHub's numeric repository id (stable across renames).
    RepoId(u64)
);
id_type!(
    /// The number of an issue or pull request within its repository.
    IssueNumber(u64)
);
id_type!(
    /// An issue comment or pull request review comment.
    CommentId(u64)
);
id_type!(
    /// A pull request review.
    ReviewId(u64)
);
id_type!(
    /// A row in the job store.
    JobId(i64)
);

/// The `X-GitHub-Delivery` GUID of one webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub String);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
