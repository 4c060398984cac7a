//! GitHub's error responses: `{"message", "documentation_url", "status"}` with
//! the status codes and wording GitHub uses, and the request-body checks
//! (400 for unparsable JSON, 422 for missing or mistyped fields) that produce them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// Where GitHub points generic errors (bad credentials, unknown routes).
pub(crate) const REST_DOCS: &str = "https://docs.github.com/rest";

/// An error answer in GitHub's shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub documentation_url: String,
    pub errors: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>, docs: &str) -> Self {
        Self {
            status,
            message: message.into(),
            documentation_url: docs.to_string(),
            errors: None,
        }
    }

    /// GitHub hides what a caller may not see behind the same 404 as what does not exist.
    pub fn not_found(docs: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not Found", docs)
    }

    pub fn bad_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Bad credentials", REST_DOCS)
    }

    pub fn requires_authentication(docs: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Requires authentication", docs)
    }

    pub fn jwt(message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message, REST_DOCS)
    }

    pub fn not_accessible_by_integration(docs: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Resource not accessible by integration",
            docs,
        )
    }

    /// 422 for a request that does not match the operation's schema.
    pub fn invalid_request(detail: &str, docs: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Invalid request.\n\n{detail}"),
            docs,
        )
    }

    /// 422 "Validation Failed" with GitHub's `errors` array.
    pub fn validation_failed(
        resource: &str,
        field: &str,
        code: &str,
        message: &str,
        docs: &str,
    ) -> Self {
        let mut error = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", docs);
        error.errors = Some(json!([{
            "resource": resource,
            "code": code,
            "field": field,
            "message": message,
        }]));
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": self.status.as_u16().to_string(),
        });
        if let Some(errors) = self.errors {
            body["errors"] = errors;
        }
        json_response(self.status, &body)
    }
}

/// A JSON answer with the content type GitHub sends.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Parse a request body that must be a JSON object; an empty body counts as `{}`.
pub(crate) fn json_object(body: &[u8], docs: &str) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::invalid_request(
            &format!("{other} is not an object."),
            docs,
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
            docs,
        )),
    }
}

/// A required string field, with GitHub's 422 wording when it is missing or not a string.
pub(crate) fn required_string(
    body: &Map<String, Value>,
    field: &str,
    docs: &str,
) -> Result<String, ApiError> {
    match body.get(field) {
        None => Err(ApiError::invalid_request(
            &format!("\"{field}\" wasn't supplied."),
            docs,
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ApiError::invalid_request(
            &format!("For 'properties/{field}', {other} is not a string."),
            docs,
        )),
    }
}

/// A numeric path segment; anything else is a route GitHub does not have.
pub(crate) fn path_number(segment: &str, docs: &str) -> Result<u64, ApiError> {
    segment.parse().map_err(|_| ApiError::not_found(docs))
}
