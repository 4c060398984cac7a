//! TLS set-up: rustls with the ring provider, installed once per process
//! (shared with the model backends).

pub use gitkeeper_backends::tls::install_crypto_provider;
