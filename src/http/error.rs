//! The one error type of the HTTP edge: every 4xx and 5xx of an API route
//! is `application/problem+json` (RFC 9457) with a stable `code`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::FieldError;
use crate::store::StoreError;

/// An answer other than success, as the client should see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a valid bearer credential is required")]
    Unauthorized,
    #[error("this credential may not do this")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("some fields are invalid")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the requested range is outside the {0} bytes of the clip")]
    RangeNotSatisfiable(u64),
    #[error("{1}")]
    TooMany(&'static str, String),
    #[error("no carrier registered this device (POST /api/v1/devices)")]
    UnknownDevice,
    #[error("the store is unavailable; retry shortly")]
    Unavailable,
    #[error("something went wrong on our side")]
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(code, _) => code,
            ApiError::Invalid(_) => "invalid_field",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            ApiError::TooMany(code, _) => code,
            ApiError::UnknownDevice => "unknown_device",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }
}

/// The whole cause chain of an error, for the log.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::NotReplicated { .. } => {
                tracing::warn!(error = %chain(&e), "redis unavailable");
                ApiError::Unavailable
            }
            _ => {
                tracing::error!(error = %chain(&e), "store failure");
                ApiError::Internal
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::TooMany(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnknownDevice => StatusCode::FORBIDDEN,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let errors = match self {
            ApiError::Invalid(fields) => json!(fields),
            _ => json!([]),
        };
        let body = json!({
            "type": format!("https://vinpath.dev/problems/{}", self.code()),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.to_string(),
            "code": self.code(),
            "errors": errors,
        });
        let mut res = HttpResponse::build(status);
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        match self {
            ApiError::Unavailable => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            ApiError::Unauthorized => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            ApiError::RangeNotSatisfiable(size) => {
                res.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            _ => {}
        }
        res.body(body.to_string())
    }
}
