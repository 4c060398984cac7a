//! Sanitizing untrusted issue and comment text before it reaches a prompt.
