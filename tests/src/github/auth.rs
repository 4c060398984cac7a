//! App authentication as GitHub does it: RS256 App JWTs checked against the
//! App's public key (issuer, expiry, the ten-minute ceiling), installation
//! access tokens minted for them, and the token checks every repository
//! endpoint runs. It must never let a token reach a repository outside its
//! installation, nor accept a JWT GitHub would refuse.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, Validation};
use rand::Rng as _;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use super::error::{ApiError, json_object, json_response, path_number};
use super::shapes::{self, timestamp};
use super::state::{Ctx, GithubState, RepoKey, Token};

const CREATE_TOKEN_DOCS: &str =
    "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app";

pub(crate) const JWT_NOT_DECODED: &str = "A JSON web token could not be decoded";
pub(crate) const EXP_INVALID: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
pub(crate) const EXP_TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
pub(crate) const IAT_INVALID: &str = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

/// GitHub's ceiling on a JWT's lifetime.
const MAX_JWT_LIFETIME_SECS: i64 = 600;
/// How much clock drift the checks forgive.
const CLOCK_SKEW_SECS: i64 = 30;
/// How far in the future `iat` may be.
const MAX_IAT_AHEAD_SECS: i64 = 60;

pub(crate) fn routes() -> Router<Arc<Ctx>> {
    Router::new().route("/app", get(get_app)).route(
        "/app/installations/{installation_id}/access_tokens",
        post(create_installation_token),
    )
}

/// Access level of a permission, ordered so that `write` satisfies `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Read,
    Write,
    Admin,
}

impl Level {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "read" => Some(Level::Read),
            "write" => Some(Level::Write),
            "admin" => Some(Level::Admin),
            _ => None,
        }
    }
}

/// What an `Authorization` header carries.
pub(crate) enum Credential {
    /// `token X` or `Bearer X`.
    Token(String),
    /// HTTP Basic.
    Basic { user: String, password: String },
    /// Present but not understood.
    Malformed,
}

pub(crate) fn credential(headers: &HeaderMap) -> Option<Credential> {
    let value = headers.get(header::AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Credential::Malformed);
    };
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    Some(match scheme.to_ascii_lowercase().as_str() {
        "token" | "bearer" if !rest.is_empty() => Credential::Token(rest.to_string()),
        "basic" => STANDARD
            .decode(rest)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| {
                pair.split_once(':')
                    .map(|(user, password)| Credential::Basic {
                        user: user.to_string(),
                        password: password.to_string(),
                    })
            })
            .unwrap_or(Credential::Malformed),
        _ => Credential::Malformed,
    })
}

/// Check `Authorization: Bearer <App JWT>` the way GitHub does.
pub(crate) fn verify_app_jwt(st: &GithubState, headers: &HeaderMap) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, jwt)| jwt.trim().to_string())
        .ok_or_else(|| ApiError::jwt(JWT_NOT_DECODED))?;

    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Value>(&bearer, &st.app.key, &validation)
        .map_err(|_| ApiError::jwt(JWT_NOT_DECODED))?
        .claims;

    let issuer_ok = match claims.get("iss") {
        Some(Value::Number(n)) => n.as_u64() == Some(st.app.id),
        Some(Value::String(s)) => *s == st.app.id.to_string() || *s == st.app.client_id,
        _ => false,
    };
    if !issuer_ok {
        return Err(ApiError::jwt(JWT_NOT_DECODED));
    }

    let now = Utc::now().timestamp();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .filter(|exp| *exp > now)
        .ok_or_else(|| ApiError::jwt(EXP_INVALID))?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .filter(|iat| *iat <= now + MAX_IAT_AHEAD_SECS)
        .ok_or_else(|| ApiError::jwt(IAT_INVALID))?;
    if exp - iat > MAX_JWT_LIFETIME_SECS + CLOCK_SKEW_SECS
        || exp - now > MAX_JWT_LIFETIME_SECS + CLOCK_SKEW_SECS
    {
        return Err(ApiError::jwt(EXP_TOO_FAR));
    }
    Ok(())
}

/// Whether `token` may see the repository `key` at all.
pub(crate) fn token_reaches(st: &GithubState, token: &Token, key: &RepoKey) -> bool {
    let in_installation = st
        .repos
        .get(key)
        .is_some_and(|repo| repo.installation_id == token.installation_id);
    let selected = token
        .repositories
        .as_ref()
        .is_none_or(|repos| repos.contains(key));
    in_installation && selected
}

/// Whether `token` carries `permission` at `level` or higher.
pub(crate) fn token_allows(token: &Token, permission: &str, level: Level) -> bool {
    token
        .permissions
        .get(permission)
        .and_then(|granted| Level::parse(granted))
        .is_some_and(|granted| granted >= level)
}

/// Authorise a REST call on `owner/repo` needing `permission` at `level`.
/// Missing credentials → 401, unknown or expired token → 401 "Bad credentials",
/// a repository the token cannot see → 404, too little permission → 403.
pub(crate) fn repo_access(
    st: &GithubState,
    headers: &HeaderMap,
    owner: &str,
    repo: &str,
    (permission, level): (&str, Level),
    docs: &str,
) -> Result<RepoKey, ApiError> {
    let secret = match credential(headers) {
        None => return Err(ApiError::requires_authentication(docs)),
        Some(Credential::Token(token)) => token,
        Some(Credential::Basic { password, .. }) => password,
        Some(Credential::Malformed) => return Err(ApiError::bad_credentials()),
    };
    let token = st
        .live_token(&secret)
        .ok_or_else(ApiError::bad_credentials)?;
    let key = RepoKey::new(owner, repo);
    if !token_reaches(st, token, &key) {
        return Err(ApiError::not_found(docs));
    }
    if !token_allows(token, permission, level) {
        return Err(ApiError::not_accessible_by_integration(docs));
    }
    Ok(key)
}

/// Mint an installation token and remember it.
pub(crate) fn mint_token(
    st: &mut GithubState,
    installation_id: u64,
    permissions: BTreeMap<String, String>,
    repositories: Option<BTreeSet<RepoKey>>,
) -> String {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(36)
        .map(char::from)
        .collect();
    let token = format!("ghs_{secret}");
    let lifetime = chrono::Duration::from_std(st.token_lifetime).unwrap_or(chrono::Duration::MAX);
    let expires_at = Utc::now()
        .checked_add_signed(lifetime)
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
    st.tokens.insert(
        token.clone(),
        Token {
            installation_id,
            expires_at,
            permissions,
            repositories,
        },
    );
    token
}

async fn get_app(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let mut st = ctx.lock();
    verify_app_jwt(&st, &headers)?;
    let body = shapes::app(&ctx.origin, &mut st);
    Ok(json_response(StatusCode::OK, &body))
}

async fn create_installation_token(
    State(ctx): State<Arc<Ctx>>,
    Path(installation_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let docs = CREATE_TOKEN_DOCS;
    let mut st = ctx.lock();
    verify_app_jwt(&st, &headers)?;
    let installation_id = path_number(&installation_id, docs)?;
    let installation = st
        .installations
        .get(&installation_id)
        .ok_or_else(|| ApiError::not_found(docs))?;
    let request = json_object(&body, docs)?;

    let permissions = match request.get("permissions") {
        None | Some(Value::Null) => installation.permissions.clone(),
        Some(Value::Object(wanted)) => {
            let mut granted = BTreeMap::new();
            for (name, level) in wanted {
                let wanted_level = level.as_str().and_then(Level::parse);
                let held_level = installation
                    .permissions
                    .get(name)
                    .and_then(|l| Level::parse(l));
                match (wanted_level, held_level) {
                    (Some(w), Some(h)) if w <= h => {
                        granted
                            .insert(name.clone(), level.as_str().unwrap_or_default().to_string());
                    }
                    _ => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "The permissions requested are not granted to this installation.",
                            docs,
                        ));
                    }
                }
            }
            granted
        }
        Some(other) => {
            return Err(ApiError::invalid_request(
                &format!("For 'properties/permissions', {other} is not an object."),
                docs,
            ));
        }
    };

    let account = installation.account.clone();
    let mut selected: Option<BTreeSet<RepoKey>> = None;
    let not_accessible = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is at least one repository that does not exist or is not accessible to the parent installation.",
            docs,
        )
    };
    if let Some(names) = request.get("repositories") {
        let names = names.as_array().ok_or_else(|| {
            ApiError::invalid_request(
                &format!("For 'properties/repositories', {names} is not an array."),
                docs,
            )
        })?;
        for name in names {
            let key = RepoKey::new(&account, name.as_str().unwrap_or_default());
            match st.repos.get(&key) {
                Some(repo) if repo.installation_id == installation_id => {
                    selected.get_or_insert_with(BTreeSet::new).insert(key);
                }
                _ => return Err(not_accessible()),
            }
        }
    }
    if let Some(ids) = request.get("repository_ids") {
        let ids = ids.as_array().ok_or_else(|| {
            ApiError::invalid_request(
                &format!("For 'properties/repository_ids', {ids} is not an array."),
                docs,
            )
        })?;
        for id in ids {
            let found = st
                .repos
                .iter()
                .find(|(_, repo)| {
                    Some(repo.id) == id.as_u64() && repo.installation_id == installation_id
                })
                .map(|(key, _)| key.clone())
                .ok_or_else(not_accessible)?;
            selected.get_or_insert_with(BTreeSet::new).insert(found);
        }
    }

    let selection = if selected.is_some() {
        "selected"
    } else {
        "all"
    };
    let token = mint_token(&mut st, installation_id, permissions.clone(), selected);
    st.tokens_issued += 1;
    let expires_at = st.tokens[&token].expires_at;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "token": token,
            "expires_at": timestamp(expires_at),
            "permissions": permissions,
            "repository_selection": selection,
        }),
    ))
}
