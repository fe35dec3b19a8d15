//! JSON request bodies, read only after the caller is authorised (actix
//! would otherwise judge the body before the credential): 415 for another
//! content type, 413 past 1 MiB, 400 for malformed JSON, 422 for JSON of
//! the wrong shape.

use actix_web::{HttpRequest, web};
use serde::de::DeserializeOwned;

use super::ApiError;
use super::events::{read_body, require_json};

pub async fn json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T, ApiError> {
    require_json(req)?;
    let body = read_body(req, payload).await?;
    serde_json::from_slice(&body).map_err(|e| {
        if e.is_data() {
            ApiError::invalid("body", e.to_string())
        } else {
            ApiError::BadRequest(format!("malformed JSON: {e}"))
        }
    })
}

/// A required field of a body, parsed: 422 naming the field when it is
/// missing or does not parse.
pub fn required<T>(
    field: &str,
    value: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ApiError> {
    let value = value.ok_or_else(|| ApiError::invalid(field, "is required"))?;
    parse(value).map_err(|m| ApiError::invalid(field, m))
}
