//! Clip uploads by carriers (for an order, or for every car on a truck).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::DateTime;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, Caller};
use crate::domain::{CarrierId, TruckId};
use crate::media::MediaError;
use crate::store::uploads::Claim;

const KINDS: [&str; 4] = ["transport", "storage", "inspection", "handover"];

#[derive(Deserialize)]
pub struct ClipQuery {
    kind: Option<String>,
    captured_at: Option<String>,
}

impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> Self {
        tracing::warn!(error = %super::error::chain(&e), "clip store failed");
        ApiError::Unavailable
    }
}

/// Where an upload goes.
enum Target {
    Order(String),
    Truck(TruckId),
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/clips",
    operation_id = "clips_upload_for_order",
    tag = "clips",
    summary = "Upload a video of one car (MP4 or WebM body; carrier, staff)",
    request_body(content = crate::http::openapi::schemas::Video, content_type = "application/octet-stream", description = "The clip, streamed: MP4 or WebM, judged by its bytes"),
    params(
        ("id" = String, Path),
        ("kind" = Option<String>, Query, description = "transport, storage, inspection or handover"),
        ("captured_at" = Option<String>, Query, description = "When it was filmed (RFC 3339)"),
    ),
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::ClipStored),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn upload_for_order(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ClipQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    upload(
        caller,
        state,
        req,
        Target::Order(path.into_inner()),
        query.into_inner(),
        payload,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/trucks/{id}/clips",
    operation_id = "clips_upload_for_truck",
    tag = "clips",
    summary = "Upload a video of a truck: a clip of every car aboard (carrier)",
    request_body(content = crate::http::openapi::schemas::Video, content_type = "application/octet-stream", description = "The clip, streamed: MP4 or WebM, judged by its bytes"),
    params(
        ("id" = String, Path),
        ("kind" = Option<String>, Query, description = "transport, storage, inspection or handover"),
        ("captured_at" = Option<String>, Query, description = "When it was filmed (RFC 3339)"),
    ),
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::ClipStored),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn upload_for_truck(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ClipQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let truck =
        TruckId::parse(&path).map_err(|_| ApiError::NotFound(format!("no truck {path}")))?;
    upload(
        caller,
        state,
        req,
        Target::Truck(truck),
        query.into_inner(),
        payload,
    )
    .await
}

/// The orders an upload attaches to, checked before a byte is stored.
async fn targets(
    state: &AppState,
    carrier: &CarrierId,
    target: &Target,
) -> Result<Vec<String>, ApiError> {
    match target {
        Target::Order(raw) => {
            let id = super::orders::order_id(raw)?;
            let order = state
                .store
                .order(&id)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
            if &order.carrier_id != carrier {
                return Err(ApiError::Forbidden);
            }
            Ok(vec![order.order_id.to_string()])
        }
        Target::Truck(truck) => {
            let orders = state
                .store
                .orders_on_truck(carrier, truck)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no truck {truck} of yours")))?;
            if orders.is_empty() {
                return Err(ApiError::Conflict(
                    "empty_truck",
                    format!("no car is on truck {truck}"),
                ));
            }
            Ok(orders)
        }
    }
}

async fn upload(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    target: Target,
    query: ClipQuery,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let carrier = caller.carrier()?.clone();
    let kind = query
        .kind
        .filter(|k| KINDS.contains(&k.as_str()))
        .ok_or_else(|| {
            ApiError::invalid("kind", "must be transport, storage, inspection or handover")
        })?;
    let captured_at = query
        .captured_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| ApiError::invalid("captured_at", "must be an RFC 3339 time"))?
        .to_utc();
    let max = state.max_clip_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let order_ids = targets(&state, &carrier, &target).await?;
    let idem = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255))
        .map(|k| {
            k.map(str::to_owned).ok_or_else(|| {
                ApiError::invalid("Idempotency-Key", "must be 1 to 255 visible characters")
            })
        })
        .transpose()?;
    if let Some(key) = &idem {
        match state.store.claim_upload(&carrier, key).await? {
            Claim::New => {}
            Claim::Busy => {
                return Err(ApiError::Conflict(
                    "upload_in_progress",
                    "an upload with this Idempotency-Key is under way".into(),
                ));
            }
            Claim::Done(clip_id) => {
                let meta = state.store.clip(&clip_id).await?;
                let order_ids = meta.map(|m| m.order_ids).unwrap_or_default();
                return Ok(
                    HttpResponse::Ok().json(json!({"clip_id": clip_id, "order_ids": order_ids}))
                );
            }
        }
    }
    // Should this request be dropped mid-upload (the client went away),
    // the key is freed for the retry.
    let pending = idem.as_ref().map(|key| Pending {
        store: state.store.clone(),
        carrier: carrier.clone(),
        key: key.clone(),
        open: true,
    });
    let truck_id = match &target {
        Target::Truck(t) => Some(t.to_string()),
        Target::Order(_) => None,
    };
    let to = (order_ids, truck_id);
    let mut recorded = None;
    let result = super::receive::store_clip(
        &state,
        &carrier,
        kind,
        captured_at,
        to,
        &mut payload,
        &mut recorded,
    )
    .await;
    if let Some(mut p) = pending {
        p.open = false;
        // A clip recorded, even for only some of its orders, is the one a
        // retry with this key finds: never a second clip.
        let made = recorded.as_deref();
        if let Err(e) = state.store.settle_upload(&carrier, &p.key, made).await {
            tracing::warn!(error = %super::error::chain(&e), "could not settle an idempotency key");
        }
    }
    let meta = result?;
    Ok(HttpResponse::Created().json(json!({"clip_id": meta.clip_id, "order_ids": meta.order_ids})))
}

pub(super) fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!("a clip is at most {max} bytes"))
}

/// An idempotency key claimed for an upload under way.
struct Pending {
    store: crate::store::Store,
    carrier: CarrierId,
    key: String,
    open: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.open {
            let (store, carrier, key) = (
                self.store.clone(),
                self.carrier.clone(),
                std::mem::take(&mut self.key),
            );
            actix_web::rt::spawn(async move {
                let _ = store.settle_upload(&carrier, &key, None).await;
            });
        }
    }
}
