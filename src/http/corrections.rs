//! `POST /api/v1/orders/{id}/events/{event_id}/void`: a dispatcher voids a
//! mis-scan or a bad fix, and gets the order as recomputed without it.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::auth::Audited;
use super::{ApiError, AppState, Caller};
use crate::correct::{Void, Voided};

/// The longest reason kept.
const MAX_REASON: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoidIn {
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/events/{event_id}/void",
    operation_id = "orders_void_event",
    tag = "orders",
    summary = "Void a mis-scan or a bad fix; answers the order recomputed from the rest of its history (admin, dispatcher)",
    description = "The event stays in the history with `void: {reason, at, by}`. A truck's fix is voided for every car it moved. The customer's page and `/ws/track` get a `correction` event. Voiding twice changes nothing more.",
    params(
        ("id" = String, Path),
        ("event_id" = String, Path, description = "The event's `event_id` in the order's history"),
    ),
    request_body = crate::http::openapi::schemas::VoidRequest,
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Order),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn void(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let (raw_id, event_id) = path.into_inner();
    let id = super::orders::order_id(&raw_id)?;
    let body: VoidIn = super::body::json(&req, payload).await?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::invalid(
            "reason",
            format!("say why, in 1 to {MAX_REASON} characters"),
        ));
    }
    // Who voided it, as the audit log names them.
    let by = req
        .extensions()
        .get::<Audited>()
        .map(|a| a.credential_id.clone())
        .unwrap_or_else(|| "admin".into());
    let v = Void {
        order: &id,
        event_id: &event_id,
        reason,
        by: &by,
        at: state.clock.now(),
    };
    match crate::correct::void(&state.store, &state.clips, &v).await? {
        Voided::Done(order) => Ok(HttpResponse::Ok().json(order.internal_view())),
        Voided::NoEvent => Err(ApiError::NotFound(format!(
            "order {id}'s history has no scan or fix {event_id}"
        ))),
        Voided::NoOrder => Err(ApiError::NotFound(format!(
            "no order {id} that can still be corrected (archived orders cannot)"
        ))),
    }
}
