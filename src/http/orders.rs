//! Order routes: create, read, change, cancel, rotate the link, history.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::page::Page;
use super::{ApiError, AppState, Caller};
use crate::domain::order::{NewOrderIn, OrderPatchIn};
use crate::domain::{NewOrder, OrderId, OrderPatch, OrderState};
use crate::ingest::Cancelled;
use crate::store::StoreError;
use crate::store::archive::ArchivedOrder;
use crate::store::history::{HistoryEntry, cursor_key};
use crate::store::orders::{CreateError, PatchError};
use crate::store::spill::SpilledPart;

pub(super) fn order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).map_err(|_| ApiError::NotFound(format!("no order {raw}")))
}

/// A page of an active order's history: its oldest parts from the object
/// store (where they moved to bound Redis's memory), then Redis's. Read
/// again if a part moved while it was read, so no entry falls between.
async fn live_history(
    state: &AppState,
    id: &OrderId,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<HistoryEntry>, bool), ApiError> {
    for _ in 0..3 {
        let parts = state.store.spilled(id).await?;
        let page = history_page(state, id, &parts, after, limit).await?;
        if state.store.spilled(id).await?.len() == parts.len() {
            return Ok(page);
        }
    }
    Err(ApiError::Unavailable)
}

async fn history_page(
    state: &AppState,
    id: &OrderId,
    parts: &[SpilledPart],
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<HistoryEntry>, bool), ApiError> {
    let after_key = after.and_then(cursor_key);
    let mut entries = Vec::new();
    for part in parts {
        if entries.len() > limit {
            break;
        }
        let newer = cursor_key(&part.last).is_some_and(|l| after_key.is_none_or(|a| l > a));
        if newer {
            let raw = crate::jobs::read_part(&state.clips, part).await?;
            entries.extend(part.entries(&raw, after_key));
        }
    }
    if entries.len() <= limit {
        // One past the page, to know whether more follow.
        let (rest, _) = state
            .store
            .history(id, after, limit + 1 - entries.len())
            .await?;
        entries.extend(rest);
    }
    let more = entries.len() > limit;
    entries.truncate(limit);
    Ok((entries, more))
}

/// An order the caller may see: in Redis, or in the archive.
struct Readable {
    id: OrderId,
    order: OrderState,
    archived: Option<ArchivedOrder>,
}

/// Reads an order the caller may see, or answers 404 / 403.
async fn readable(state: &AppState, caller: &Caller, raw: &str) -> Result<Readable, ApiError> {
    let id = order_id(raw)?;
    let (order, archived) = match state.store.order(&id).await? {
        Some(order) => (order, None),
        None => {
            let key = ArchivedOrder::object_key(id.as_str());
            let not_found = || ApiError::NotFound(format!("no order {id}"));
            let bytes = state.clips.get_whole(&key).await?.ok_or_else(not_found)?;
            let archived: ArchivedOrder = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("archived order {id}: {e}")))?;
            (archived.state()?, Some(archived))
        }
    };
    caller.may_read(&order)?;
    Ok(Readable {
        id,
        order,
        archived,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/orders",
    operation_id = "orders_create",
    tag = "orders",
    summary = "Make an order; answers its customer's tracking link (admin, dispatcher)",
    request_body = crate::http::openapi::schemas::NewOrder,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::OrderCreated),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let body: NewOrderIn = super::body::json(&req, payload).await?;
    let order = NewOrder::parse(body).map_err(ApiError::Invalid)?;
    let token = match state.store.create_order(&order, state.clock.now()).await {
        Ok(t) => t,
        Err(CreateError::Exists) => {
            return Err(ApiError::Conflict(
                "exists",
                format!("order {} exists", order.order_id),
            ));
        }
        Err(CreateError::UnknownCarrier) => {
            return Err(ApiError::invalid(
                "carrier_id",
                format!("unknown carrier {}", order.carrier_id),
            ));
        }
        Err(CreateError::Store(e)) => return Err(e.into()),
    };
    Ok(HttpResponse::Created().json(json!({
        "order_id": order.order_id,
        "tracking_token": token.0,
        "tracking_url": state.tracking_url(&token.0),
        "warnings": order.warnings,
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    operation_id = "orders_get",
    tag = "orders",
    summary = "An order (staff, its carrier)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Order),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = readable(&state, &caller, &path).await?;
    let mut view = found.order.internal_view();
    if found.archived.is_some() {
        view["archived"] = serde_json::Value::Bool(true);
    }
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    patch,
    path = "/api/v1/orders/{id}",
    operation_id = "orders_patch",
    tag = "orders",
    summary = "Change an order's VIN, carrier, destination or promise (admin, dispatcher)",
    request_body = crate::http::openapi::schemas::OrderPatch,
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Order),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let id = order_id(&path)?;
    let body: OrderPatchIn = super::body::json(&req, payload).await?;
    let patch = OrderPatch::parse(body).map_err(ApiError::Invalid)?;
    if patch.is_empty() {
        return Err(ApiError::invalid(
            "body",
            "name at least one of destination, promised_by, carrier_id, vin",
        ));
    }
    match state.store.patch_order(&id, &patch).await {
        Ok(order) => {
            let mut view = order.internal_view();
            view["warnings"] = json!(patch.warnings);
            Ok(HttpResponse::Ok().json(view))
        }
        Err(PatchError::NotFound) => Err(ApiError::NotFound(format!("no order {id}"))),
        Err(PatchError::UnknownCarrier) => Err(ApiError::invalid("carrier_id", "unknown carrier")),
        Err(PatchError::VinLocked) => Err(ApiError::invalid(
            "vin",
            "the VIN is final once the car is produced",
        )),
        Err(PatchError::Store(e)) => Err(e.into()),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/cancel",
    operation_id = "orders_cancel",
    tag = "orders",
    summary = "Cancel an order (admin, dispatcher)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Order),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn cancel(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let id = order_id(&path)?;
    match crate::ingest::cancel(&state.store, &id, state.clock.now()).await? {
        Cancelled::Done => {}
        Cancelled::UnknownOrder => return Err(ApiError::NotFound(format!("no order {id}"))),
        Cancelled::Delivered => {
            return Err(ApiError::Conflict(
                "illegal_transition",
                "a delivered order cannot be cancelled".into(),
            ));
        }
    }
    let order = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    Ok(HttpResponse::Ok().json(order.internal_view()))
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/tracking-token",
    operation_id = "orders_rotate_tracking",
    tag = "orders",
    summary = "Replace the customer's tracking link (admin, dispatcher)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::TrackingLink),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn rotate_tracking(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let id = order_id(&path)?;
    let token = state
        .store
        .rotate_tracking(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    Ok(HttpResponse::Ok().json(json!({
        "order_id": id,
        "tracking_token": token.0,
        "tracking_url": state.tracking_url(&token.0),
    })))
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/history",
    operation_id = "orders_history",
    tag = "orders",
    summary = "An order's history, oldest first, every event with vinpath's verdict",
    params(
        ("id" = String, Path),
        ("after" = Option<String>, Query, description = "The cursor after which to read (`next` of the previous page)"),
        ("limit" = Option<u32>, Query, description = "At most this many"),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::HistoryPage),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn history(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let found = readable(&state, &caller, &path).await?;
    let (after, limit) = query.read()?;
    let (entries, more) = match &found.archived {
        Some(a) => a.history(after, limit),
        None => live_history(&state, &found.id, after, limit).await?,
    };
    let next = if more {
        entries.last().map(|e| e.cursor.clone())
    } else {
        None
    };
    let events: Vec<_> = entries
        .iter()
        .map(|e| e.to_json_with_void(&found.order.voids))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"events": events, "next": next})))
}
