//! Webhook signature check: HMAC-SHA256 over the raw body, compared in
//! constant time, before anything parses the body.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// True when `header` (`sha256=<hex>`) is the HMAC of `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// True when `header` could be a signature at all (`sha256=` and 64 hex
/// digits): one that cannot is refused before the body is read.
pub fn well_formed(header: Option<&str>) -> bool {
    header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .is_some_and(|hex_sig| {
            hex_sig.len() == 64 && hex_sig.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// The `X-Hub-Signature-256` value GitHub would send for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sha256_of_64_hex_digits_is_well_formed() {
        assert!(well_formed(Some(&sign(b"k", b"body"))));
        assert!(!well_formed(None));
        assert!(!well_formed(Some("sha256=00")));
        assert!(!well_formed(Some(
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d"
        )));
        assert!(!well_formed(Some(&format!("sha256={}", "z".repeat(64)))));
    }

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" documentation.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            Some(header)
        ));
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            header
        );
    }

    #[test]
    fn rejects_wrong_secret_missing_and_malformed_headers() {
        let sig = sign(b"secret", b"body");
        assert!(verify(b"secret", b"body", Some(&sig)));
        assert!(!verify(b"other", b"body", Some(&sig)));
        assert!(!verify(b"secret", b"body!", Some(&sig)));
        assert!(!verify(b"secret", b"body", None));
        assert!(!verify(b"secret", b"body", Some("sha1=abc")));
        assert!(!verify(b"secret", b"body", Some("sha256=zz")));
        assert!(!verify(b"secret", b"body", Some("sha256=")));
    }
}
