//! The context package: what a model reads before changing a repository.
