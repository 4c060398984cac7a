//! App credentials: the RS256 JWT (iat backdated 60 s, exp 9 min later, as
//! GitHub allows at most 10 min) and installation tokens cached until five
//! minutes before they expire.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use octocrab::jsonwebtoken::EncodingKey;
use octocrab::models::AppId;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::GithubError;
use crate::config::GithubSettings;
use crate::ids::InstallationId;

/// How long before expiry a cached installation token is replaced.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The App id and its signing key. `Debug` never shows the key.
#[derive(Clone)]
pub struct AppCredentials {
    pub app_id: u64,
    key: EncodingKey,
}

impl std::fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl AppCredentials {
    /// Load from `[github]`: `app_id` and `private_key` or `private_key_path`.
    pub fn from_settings(settings: &GithubSettings) -> Result<Self, GithubError> {
        let app_id = settings.app_id.ok_or_else(|| {
            GithubError::NotConfigured(
                "github.app_id is not set: put the App ID from the App's settings page in gitkeeper.toml [github] app_id or GITKEEPER_GITHUB__APP_ID".into(),
            )
        })?;
        let pem: Vec<u8> = match (&settings.private_key, &settings.private_key_path) {
            (Some(pem), _) => pem.expose_secret().as_bytes().to_vec(),
            (None, Some(path)) => std::fs::read(path).map_err(|e| GithubError::Key {
                what: format!("cannot read {}", path.display()),
                source: Box::new(e),
            })?,
            (None, None) => {
                return Err(GithubError::NotConfigured(
                    "github.private_key_path is not set: point it at the App's .pem file in gitkeeper.toml [github] private_key_path or GITKEEPER_GITHUB__PRIVATE_KEY_PATH".into(),
                ))
            }
        };
        // The parser's error never includes key material.
        let key = EncodingKey::from_rsa_pem(&pem).map_err(|e| GithubError::Key {
            what: "not an RSA private key in PEM form".into(),
            source: Box::new(e),
        })?;
        Ok(Self { app_id, key })
    }

    /// A fresh App JWT.
    pub fn jwt(&self) -> Result<SecretString, GithubError> {
        octocrab::auth::create_jwt(AppId(self.app_id), &self.key)
            .map(SecretString::from)
            .map_err(|e| GithubError::Key {
                what: "signing the App JWT failed".into(),
                source: Box::new(e),
            })
    }
}

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    expires_at: DateTime<Utc>,
}

/// Installation tokens by installation, reused until shortly before expiry.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<InstallationId, CachedToken>>,
}

impl TokenCache {
    /// The cached token, or one from `fetch` when missing or about to expire.
    /// The lock is held while fetching so concurrent jobs ask GitHub once.
    pub async fn get<F, Fut>(
        &self,
        id: InstallationId,
        fetch: F,
    ) -> Result<SecretString, GithubError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, DateTime<Utc>), GithubError>>,
    {
        let mut tokens = self.tokens.lock().await;
        let margin = chrono::Duration::from_std(TOKEN_REFRESH_MARGIN).unwrap_or_default();
        if let Some(cached) = tokens.get(&id) {
            if cached.expires_at - margin > Utc::now() {
                return Ok(cached.token.clone());
            }
        }
        let (token, expires_at) = fetch().await?;
        tokens.insert(
            id,
            CachedToken {
                token: token.clone(),
                expires_at,
            },
        );
        Ok(token)
    }

    /// Forget a token GitHub rejected.
    pub async fn invalidate(&self, id: InstallationId) {
        self.tokens.lock().await.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn token_is_reused_until_five_minutes_before_expiry() {
        let cache = TokenCache::default();
        let calls = AtomicU32::new(0);
        let fetch = |minutes: i64| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok((
                    SecretString::from(format!("t{minutes}")),
                    Utc::now() + chrono::Duration::minutes(minutes),
                ))
            }
        };
        let a = cache.get(InstallationId(1), || fetch(60)).await.unwrap();
        let b = cache.get(InstallationId(1), || fetch(60)).await.unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A token with four minutes left is replaced.
        cache.invalidate(InstallationId(1)).await;
        cache.get(InstallationId(1), || fetch(4)).await.unwrap();
        cache.get(InstallationId(1), || fetch(60)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn missing_settings_name_the_key_and_debug_hides_the_key() {
        let err = AppCredentials::from_settings(&GithubSettings::default()).unwrap_err();
        assert!(err.to_string().contains("github.app_id"), "{err}");
        let settings = GithubSettings {
            app_id: Some(1),
            private_key: Some(SecretString::from(
                "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----",
            )),
            ..GithubSettings::default()
        };
        let err = AppCredentials::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("not a key"), "{err}");
        assert!(err.contains("private key"), "{err}");
    }
}
