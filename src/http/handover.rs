//! The handover at the door: the customer signs on their tracking page and
//! gets the code to tell the driver; the proof of delivery PDF, for the
//! customer and for staff and the order's carrier.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::json;

use super::{ApiError, AppState, Caller};
use crate::domain::{Handover, HandoverIn, OrderId, Stage};
use crate::media::pod::{self, PodInput};
use crate::store::handover::{Proved, Signing};
use crate::store::photos::PhotoCopy;
use crate::store::photos::PhotoRecord;

#[utoipa::path(
    post,
    path = "/api/v1/track/{token}/handover",
    operation_id = "handover_sign",
    tag = "tracking",
    summary = "The customer accepts the car (or writes what is wrong) and signs; answers the code to tell the driver",
    request_body = crate::http::openapi::schemas::HandoverBody,
    params(("token" = String, Path)),
    responses(
        (status = 201, description = "Signed: the code (a retry with the same body answers the same code)", body = crate::http::openapi::schemas::HandoverCode),
        crate::http::openapi::schemas::WriteErrors,
    ),
)]
pub async fn sign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = super::track::resolve(&state, &path).await?;
    let input: HandoverIn = super::body::json(&req, payload).await?;
    let handover = Handover::try_from(input).map_err(ApiError::Invalid)?;
    let snap = state
        .store
        .order_snapshot(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this tracking link is not valid".into()))?;
    let not_ready = |why: &str| ApiError::Conflict("handover_not_ready", why.into());
    if snap.state.milestone != crate::domain::Milestone::OutForDelivery {
        return Err(not_ready(
            "the car can be signed for once it is out for delivery to you",
        ));
    }
    if !snap
        .inspections
        .iter()
        .any(|i| i.inspection.stage == Stage::Delivery)
    {
        return Err(not_ready(
            "the driver records the car's condition at your door first; then you can sign",
        ));
    }
    match state
        .store
        .sign_handover(&id, &handover, state.clock.now())
        .await?
    {
        Signing::Code(code) => Ok(HttpResponse::Created().json(json!({"handover_code": code}))),
        Signing::Conflict => Err(ApiError::Conflict(
            "handover_conflict",
            "you signed for this delivery already; tell the driver the code you were given".into(),
        )),
        Signing::NotOut => Err(not_ready(
            "the car can be signed for once it is out for delivery to you",
        )),
        Signing::NoOrder => Err(ApiError::NotFound("this tracking link is not valid".into())),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/pod.pdf",
    operation_id = "pod_for_staff",
    tag = "inspections",
    summary = "The proof of delivery, a PDF (staff, its carrier)",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn pdf_for_staff(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::photos::readable(&caller, &state, &path).await?;
    pdf(&state, &id, false).await
}

#[utoipa::path(
    get,
    path = "/api/v1/track/{token}/pod.pdf",
    operation_id = "pod_for_customer",
    tag = "tracking",
    summary = "The proof of delivery of the customer's car, a PDF",
    params(("token" = String, Path)),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
        crate::http::openapi::schemas::PublicErrors,
    ),
)]
pub async fn pdf_for_customer(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::track::resolve(&state, &path).await?;
    pdf(&state, &id, true).await
}

/// The PDF of an order; `by_link`: for a customer's link, which stops
/// working some days after delivery (staff keep reading it).
async fn pdf(state: &AppState, id: &OrderId, by_link: bool) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no order {id}"));
    let snap = state
        .store
        .order_snapshot(id)
        .await?
        .ok_or_else(not_found)?;
    if by_link && super::track::expired(state, &snap.state) {
        return Err(not_found());
    }
    let handover = state.store.handover(id, true).await?;
    // Every photo the document shows, as its thumbnail.
    let mut wanted: Vec<&str> = snap
        .inspections
        .iter()
        .flat_map(|r| r.inspection.photos.iter().map(|p| p.photo_id.as_str()))
        .collect();
    if let Some(Proved::Away(a)) = handover.as_ref().and_then(|h| h.proved.as_ref()) {
        wanted.extend(a.photo_ids.iter().map(String::as_str));
    }
    let mut thumbs = HashMap::new();
    for p in wanted {
        let object = PhotoRecord::object(id.as_str(), p, PhotoCopy::Thumb);
        if let Some(b) = state.clips.get_whole(&object).await? {
            thumbs.insert(p.to_owned(), b);
        }
    }
    let order = snap.state.clone();
    let inspections = snap.inspections;
    let bytes = web::block(move || {
        pod::render(&PodInput {
            order: &order,
            inspections: &inspections,
            handover: handover.as_ref(),
            thumbs: &thumbs,
        })
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .map_err(|e| {
        tracing::error!("proof of delivery for {id}: {e}");
        match e {
            pod::PodError::NoFont => ApiError::Unavailable,
            pod::PodError::Write(_) => ApiError::Internal,
        }
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"pod-{id}.pdf\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}
