//! The dispatchers' fleet: its list and its websocket.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{ApiError, AppState, Caller};
use crate::live;

#[utoipa::path(
    get,
    path = "/api/v1/fleet",
    operation_id = "fleet_list",
    tag = "fleet",
    summary = "Every active car and truck (admin, dispatcher)",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Fleet),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    Ok(HttpResponse::Ok().json(state.store.fleet().await?.to_json()))
}

pub async fn socket(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let (res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|_| ApiError::BadRequest("this is a websocket endpoint".into()))?;
    actix_web::rt::spawn(live::fleet::serve(
        session,
        stream,
        state.store.clone(),
        state.fleet.clone(),
        state.live.clone(),
        // The credential it was opened with: its revocation closes it.
        matches!(caller.0, crate::domain::Role::Dispatcher { .. })
            .then(|| super::auth::token(&req).map(|t| crate::store::auth::hash(&t)))
            .flatten(),
    ));
    Ok(res)
}
