//! Admin routes: carriers, dispatchers and their credentials.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, Caller};
use crate::domain::CarrierId;

#[derive(Deserialize)]
pub struct NewCarrier {
    carrier_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
pub struct NewDispatcher {
    name: Option<String>,
}

fn name(field: &str, n: Option<String>) -> Result<String, ApiError> {
    match n.map(|n| n.trim().to_owned()) {
        Some(n) if !n.is_empty() && n.chars().count() <= 200 => Ok(n),
        Some(_) => Err(ApiError::invalid(field, "must be 1 to 200 characters")),
        None => Err(ApiError::invalid(field, "is required")),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/carriers",
    operation_id = "admin_create_carrier",
    tag = "credentials",
    summary = "Make a carrier and its first API key (admin)",
    request_body = crate::http::openapi::schemas::NewCarrier,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::CarrierCreated),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create_carrier(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let body: NewCarrier = super::body::json(&req, payload).await?;
    let id = super::body::required("carrier_id", body.carrier_id.as_deref(), CarrierId::parse)?;
    let name = name("name", body.name)?;
    let now = state.clock.now().timestamp_millis();
    match state.store.create_carrier(&id, &name, now).await? {
        Some(key) => Ok(HttpResponse::Created().json(json!({
            "carrier_id": id, "api_key": key.token, "credential_id": key.credential_id,
        }))),
        None => Err(ApiError::Conflict("exists", format!("carrier {id} exists"))),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/dispatchers",
    operation_id = "admin_create_dispatcher",
    tag = "credentials",
    summary = "Make a dispatcher token (admin)",
    request_body = crate::http::openapi::schemas::NewDispatcher,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::DispatcherCreated),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create_dispatcher(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let body: NewDispatcher = super::body::json(&req, payload).await?;
    let name = name("name", body.name)?;
    let now = state.clock.now().timestamp_millis();
    let issued = state.store.create_dispatcher(&name, now).await?;
    Ok(HttpResponse::Created().json(json!({
        "name": name, "token": issued.token, "credential_id": issued.credential_id,
    })))
}

/// `POST /api/v1/carriers/{carrier_id}/keys`: another key, for rotation.
#[utoipa::path(
    post,
    path = "/api/v1/carriers/{carrier_id}/keys",
    operation_id = "admin_add_carrier_key",
    tag = "credentials",
    summary = "Give a carrier another API key, for rotation (admin)",
    params(
        ("carrier_id" = String, Path),
    ),
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::KeyIssued),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn add_carrier_key(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let unknown = || ApiError::NotFound(format!("no carrier {}", path.as_str()));
    let id = CarrierId::parse(&path).map_err(|_| unknown())?;
    let now = state.clock.now().timestamp_millis();
    let issued = state
        .store
        .add_carrier_key(&id, now)
        .await?
        .ok_or_else(unknown)?;
    Ok(HttpResponse::Created().json(json!({
        "credential_id": issued.credential_id, "api_key": issued.token,
    })))
}

/// `GET /api/v1/credentials`: every carrier key and dispatcher token.
#[utoipa::path(
    get,
    path = "/api/v1/credentials",
    operation_id = "admin_credentials",
    tag = "credentials",
    summary = "Every carrier key and dispatcher token, never a secret (admin)",
    responses(
        (status = 200, description = "Done", body = Vec<crate::http::openapi::schemas::Credential>),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn credentials(
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    Ok(HttpResponse::Ok().json(state.store.credentials().await?))
}

/// `DELETE /api/v1/credentials/{credential_id}`: 401 on every instance
/// within a second, and its sockets close.
#[utoipa::path(
    delete,
    path = "/api/v1/credentials/{credential_id}",
    operation_id = "admin_revoke",
    tag = "credentials",
    summary = "Revoke a credential everywhere within a second (admin)",
    params(
        ("credential_id" = String, Path),
    ),
    responses(
        (status = 204, description = "Done"),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    // The admin token is the one credential that can revoke; revoking it
    // would lock every operator out. It is changed by configuration.
    if path.as_str() == "admin" {
        return Err(ApiError::Conflict(
            "revoke_self",
            "the admin token cannot be revoked; set VINPATH_ADMIN_TOKEN to change it".into(),
        ));
    }
    if state.store.revoke(&path).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound(format!(
            "no credential {}",
            path.as_str()
        )))
    }
}
