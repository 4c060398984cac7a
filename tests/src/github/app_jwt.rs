//! The test App's key pair (in `tests/fixtures/`, made for these tests only) and
//! helpers that sign App JWTs with it, valid or deliberately broken.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The test App's private key (PKCS#1 PEM), what the bot is configured with.
pub fn test_app_key_path() -> PathBuf {
    fixture("app-key.pem")
}

/// The test App's public key (SPKI PEM), what the double verifies JWTs with.
pub fn test_app_public_key_path() -> PathBuf {
    fixture("app-key.pub.pem")
}

/// A second private key that belongs to no App: JWTs signed with it must be refused.
pub fn other_test_key_path() -> PathBuf {
    fixture("other-key.pem")
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Sign arbitrary `claims` with RS256 and the PEM key at `key_path`.
pub fn sign_jwt(key_path: &std::path::Path, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&read(key_path.to_path_buf()))
        .unwrap_or_else(|e| panic!("{} is not an RSA PEM key: {e}", key_path.display()));
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key)
        .unwrap_or_else(|e| panic!("cannot sign JWT: {e}"))
}

/// A valid App JWT for `app_id`, signed with the test key the way octocrab does
/// (issued 60 s in the past, expiring 9 minutes from now).
pub fn mint_app_jwt(app_id: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    sign_jwt(
        &test_app_key_path(),
        &json!({ "iss": app_id.to_string(), "iat": now - 60, "exp": now + 540 }),
    )
}
