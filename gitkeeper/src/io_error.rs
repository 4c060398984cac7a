//! An I/O error that errors can carry as their `source` and still be
//! `Clone` and `Eq`: several of this crate's errors are cloned (a validator
//! reports one failure on every attempt) and compared in tests, which a bare
//! `std::io::Error` forbids. It only wraps: it must never change what the
//! error says.

use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

/// A shared `io::Error`; two are equal when their kind and message are.
#[derive(Debug, Clone)]
pub struct SharedIoError(Arc<io::Error>);

impl SharedIoError {
    /// The I/O error itself, for its kind or OS code.
    pub fn io(&self) -> &io::Error {
        &self.0
    }
}

impl From<io::Error> for SharedIoError {
    fn from(error: io::Error) -> Self {
        SharedIoError(Arc::new(error))
    }
}

impl fmt::Display for SharedIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Error for SharedIoError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for SharedIoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for SharedIoError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_and_compares_as_the_io_error_it_wraps() {
        let denied = || io::Error::new(io::ErrorKind::PermissionDenied, "no access");
        let shared = SharedIoError::from(denied());
        assert_eq!(shared.to_string(), denied().to_string());
        assert_eq!(shared.io().kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(shared, SharedIoError::from(denied()));
        assert_ne!(
            shared,
            SharedIoError::from(io::Error::new(io::ErrorKind::NotFound, "no access"))
        );
    }
}
