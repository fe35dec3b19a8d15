//! Customer tracking by link: the public view and its websocket. An
//! unknown, malformed, rotated or expired token gets the same 404.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::Deserialize;

use super::{ApiError, AppState};
use crate::domain::{Milestone, OrderId};
use crate::live;

fn not_found() -> ApiError {
    ApiError::NotFound("this tracking link is not valid".into())
}

/// The order a current, unexpired tracking token opens.
pub(super) async fn resolve(state: &AppState, token: &str) -> Result<OrderId, ApiError> {
    if token.is_empty() || token.len() > 128 {
        return Err(not_found());
    }
    let id = state
        .store
        .order_by_tracking(token)
        .await?
        .ok_or_else(not_found)?;
    Ok(id)
}

pub(super) fn expired(state: &AppState, order: &crate::domain::OrderState) -> bool {
    order.milestone == Milestone::Delivered
        && order
            .delivered_at
            .is_some_and(|d| d + Duration::days(state.link_days) < state.clock.now())
}

#[utoipa::path(
    get,
    path = "/api/v1/track/{token}",
    operation_id = "track_view",
    tag = "tracking",
    summary = "What a customer's tracking link shows",
    params(
        ("token" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::TrackView),
        crate::http::openapi::schemas::PublicErrors,
    ),
)]
pub async fn view(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = resolve(&state, &path).await?;
    let snap = state
        .store
        .order_snapshot(&id)
        .await?
        .ok_or_else(not_found)?;
    if expired(&state, &snap.state) {
        return Err(not_found());
    }
    let base = state.clip_base(&path);
    let photos = state.photo_base(&path);
    let mut view = snap.public_view(|c| format!("{base}{c}"), |p| format!("{photos}{p}"));
    view["cameras"] = state
        .store
        .camera_views(&snap.state, &state.camera_base(&path), state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
pub struct Resume {
    after: Option<String>,
}

pub async fn socket(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<Resume>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = resolve(&state, &path).await?;
    let order = state.store.order(&id).await?.ok_or_else(not_found)?;
    if expired(&state, &order) {
        return Err(not_found());
    }
    let slot = state
        .hub
        .claim_link(&order.link_hash)
        .await?
        .ok_or_else(|| {
            ApiError::TooMany(
                "too_many_sockets",
                format!(
                    "this tracking link has {} pages open already; close one",
                    crate::live::limits::PER_LINK
                ),
            )
        })?;
    let (res, session, stream) = actix_ws::handle(&req, body)
        .map_err(|_| ApiError::BadRequest("this is a websocket endpoint".into()))?;
    let socket = live::track::TrackSocket {
        store: state.store.clone(),
        hub: state.hub.clone(),
        order: id,
        after: query.into_inner().after,
        clip_base: state.clip_base(&path),
        photo_base: state.photo_base(&path),
        camera_base: state.camera_base(&path),
        opts: state.live.clone(),
        // The link this socket was opened with (not the order's, read
        // again: a rotation may have come between).
        link_hash: crate::store::auth::hash(&path),
        expires_at: order
            .delivered_at
            .filter(|_| order.milestone == Milestone::Delivered)
            .map(|d| d + Duration::days(state.link_days)),
        link_days: state.link_days,
        clock: state.clock.clone(),
        slot,
    };
    actix_web::rt::spawn(live::track::serve(session, stream, socket));
    Ok(res)
}
