//! Inspections at each change of custody: recorded by the carrier (or
//! staff) with photos of the order and damages in AIAG codes, idempotent
//! by `inspection_id`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, Caller};
use crate::domain::{FieldError, Inspection, InspectionIn, Role};
use crate::store::inspections::{InspectionRecord, Recorded};

fn answer(r: &InspectionRecord) -> Value {
    json!({"inspection_id": r.inspection.inspection_id, "stage": r.inspection.stage,
        "at": r.inspection.at, "new_damages": r.new_damages})
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/inspections",
    operation_id = "inspections_create",
    tag = "inspections",
    summary = "Record an inspection at a change of custody (its carrier, staff)",
    request_body = crate::http::openapi::schemas::InspectionBody,
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Recorded", body = crate::http::openapi::schemas::InspectionRecorded),
        (status = 200, description = "Sent before with the same body: the first answer", body = crate::http::openapi::schemas::InspectionRecorded),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = super::photos::readable(&caller, &state, &path).await?;
    let carrier = match &caller.0 {
        Role::Carrier(c) => Some(c.to_string()),
        _ => None,
    };
    let body: Value = super::body::json(&req, payload).await?;
    // Keys sorted (serde_json's maps are ordered): the same body, however
    // its keys were written, has the same digest.
    let digest: String = Sha256::digest(body.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let input: InspectionIn =
        serde_json::from_value(body).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let inspection = Inspection::try_from(input).map_err(ApiError::Invalid)?;
    // Every photo it names is one of this order's.
    let photos = state.store.photos(&id).await?;
    let strangers: Vec<FieldError> = inspection
        .photo_ids()
        .into_iter()
        .filter(|(_, p)| !photos.contains_key(*p))
        .map(|(field, _)| FieldError::new(field, "no photo of this order has this id"))
        .collect();
    if !strangers.is_empty() {
        return Err(ApiError::Invalid(strangers));
    }
    let now = state.clock.now();
    match state
        .store
        .record_inspection(&id, carrier.as_deref(), inspection, digest, now)
        .await?
    {
        Recorded::New(r) => Ok(HttpResponse::Created().json(answer(&r))),
        Recorded::Again(r) => Ok(HttpResponse::Ok().json(answer(&r))),
        Recorded::Conflict => Err(ApiError::Conflict(
            "inspection_conflict",
            "this inspection_id was recorded with another body".into(),
        )),
        Recorded::NotYours => Err(ApiError::Forbidden),
        Recorded::NoOrder => Err(ApiError::NotFound(format!("no order {id}"))),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/inspections",
    operation_id = "inspections_list",
    tag = "inspections",
    summary = "An order's inspections, oldest first, with the damages each found new (staff, its carrier)",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Inspections),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = super::photos::readable(&caller, &state, &path).await?;
    let all: Vec<Value> = state
        .store
        .inspections(&id)
        .await?
        .into_iter()
        .map(|r| {
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("digest");
            }
            v
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"inspections": all})))
}
