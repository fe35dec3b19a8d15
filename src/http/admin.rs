//! Admin routes: carriers and dispatchers.

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
        Some(key) => Ok(HttpResponse::Created().json(json!({"carrier_id": id, "api_key": key}))),
        None => Err(ApiError::Conflict("exists", format!("carrier {id} exists"))),
    }
}

pub async fn create_dispatcher(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let body: NewDispatcher = super::body::json(&req, payload).await?;
    let name = name("name", body.name)?;
    let token = state.store.create_dispatcher(&name).await?;
    Ok(HttpResponse::Created().json(json!({"name": name, "token": token})))
}
