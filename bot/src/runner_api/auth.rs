//! Runner tokens: made here, shown once, stored only as SHA-256 hex, checked
//! from `Authorization: Bearer`. A token never reaches a log or an error.

use axum::http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every runner token starts with this, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "gkr_";

/// A fresh token: the prefix and 32 random bytes in hex.
pub fn new_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    SecretString::from(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The bearer token in `headers`, if there is one.
pub fn bearer(headers: &HeaderMap) -> Option<SecretString> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty())
        .then(|| SecretString::from(token.to_string()))
}

/// True when `given` is the configured admin token (compared in constant time).
pub fn is_admin(given: &SecretString, admin: &SecretString) -> bool {
    let (a, b) = (
        Sha256::digest(given.expose_secret().as_bytes()),
        Sha256::digest(admin.expose_secret().as_bytes()),
    );
    a.ct_eq(&b).into()
}

/// A runner name: what `runner-token create` accepts and listings show.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert!(a.expose_secret().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose_secret().len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a.expose_secret(), b.expose_secret());
        let hash = token_hash(a.expose_secret());
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(a.expose_secret()));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!format!("{a:?}").contains(&a.expose_secret()[4..]));
    }

    #[test]
    fn bearer_header_is_parsed_strictly() {
        let mut h = HeaderMap::new();
        assert!(bearer(&h).is_none());
        h.insert("authorization", HeaderValue::from_static("Bearer gkr_x"));
        assert_eq!(bearer(&h).unwrap().expose_secret(), "gkr_x");
        h.insert("authorization", HeaderValue::from_static("bearer  gkr_y "));
        assert_eq!(bearer(&h).unwrap().expose_secret(), "gkr_y");
        h.insert("authorization", HeaderValue::from_static("Basic dXNlcg=="));
        assert!(bearer(&h).is_none());
        h.insert("authorization", HeaderValue::from_static("Bearer "));
        assert!(bearer(&h).is_none());
    }

    #[test]
    fn admin_token_must_match_exactly() {
        let admin = SecretString::from("s3cret".to_string());
        assert!(is_admin(&SecretString::from("s3cret".to_string()), &admin));
        assert!(!is_admin(&SecretString::from("s3cre".to_string()), &admin));
        assert!(!is_admin(
            &SecretString::from("s3cret ".to_string()),
            &admin
        ));
    }

    #[test]
    fn runner_names_are_plain() {
        assert!(valid_name("mac-mini.m4_1"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("mac/../x"));
        assert!(!valid_name(&"x".repeat(65)));
    }
}
