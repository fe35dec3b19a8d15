//! Webhook endpoints (contract v2, "Webhooks"), managed by an admin: made
//! with a secret shown once, listed, removed; their deliveries listed and
//! sent again.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, Caller};
use crate::domain::utc;
use crate::store::webhooks::{Delivery, Webhook};
use crate::webhooks::event::TYPES;
use crate::webhooks::sign::new_secret;
use crate::webhooks::target::{self, TargetError};

#[derive(Deserialize)]
pub struct WebhookIn {
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<String>,
}

fn shown(w: &Webhook) -> serde_json::Value {
    json!({
        "webhook_id": w.webhook_id,
        "url": w.url,
        "events": w.events,
        "description": w.description,
        "created_at": w.created_at,
        "disabled": w.disabled,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    operation_id = "webhooks_create",
    tag = "webhooks",
    summary = "Subscribe an endpoint; its secret is shown once (admin)",
    request_body = crate::http::openapi::schemas::NewWebhook,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::Webhook),
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
    caller.admin()?;
    let body: WebhookIn = super::body::json(&req, payload).await?;
    let url = body
        .url
        .ok_or_else(|| ApiError::invalid("url", "is required"))?;
    let events = body
        .events
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::invalid("events", "name at least one event type"))?;
    if let Some(bad) = events.iter().find(|e| !TYPES.contains(&e.as_str())) {
        return Err(ApiError::invalid(
            "events",
            format!("unknown event type {bad:?}; known: {}", TYPES.join(", ")),
        ));
    }
    match target::resolve(&url, state.webhook_allow_private).await {
        Ok(_) => {}
        Err(e @ (TargetError::Scheme | TargetError::Unresolvable | TargetError::Private)) => {
            return Err(ApiError::invalid("url", e.to_string()));
        }
    }
    let w = Webhook {
        webhook_id: format!("wh_{}", ulid::Ulid::generate().to_string().to_lowercase()),
        url,
        events,
        description: body.description.unwrap_or_default(),
        secret: new_secret(),
        created_at: utc(state.clock.now()),
        disabled: false,
    };
    state.store.create_webhook(&w).await?;
    let mut shown = shown(&w);
    shown["secret"] = json!(w.secret);
    Ok(HttpResponse::Created().json(shown))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    operation_id = "webhooks_list",
    tag = "webhooks",
    summary = "Every endpoint (admin)",
    responses(
        (status = 200, description = "Done", body = Vec<crate::http::openapi::schemas::Webhook>),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let all: Vec<_> = state.store.webhooks().await?.iter().map(shown).collect();
    Ok(HttpResponse::Ok().json(all))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    operation_id = "webhooks_delete",
    tag = "webhooks",
    summary = "Remove an endpoint (admin)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 204, description = "Done"),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    if state.store.delete_webhook(&id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("no such webhook".into()))
    }
}

async fn known(state: &AppState, id: &str) -> Result<(), ApiError> {
    let hooks = state.store.webhooks().await?;
    if hooks.iter().any(|h| h.webhook_id == id) {
        Ok(())
    } else {
        Err(ApiError::NotFound("no such webhook".into()))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    operation_id = "webhooks_deliveries",
    tag = "webhooks",
    summary = "An endpoint's deliveries, newest first (admin)",
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = Vec<crate::http::openapi::schemas::Delivery>),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    known(&state, &id).await?;
    let list: Vec<_> = state
        .store
        .deliveries_of(&id, 100)
        .await?
        .iter()
        .map(Delivery::to_json)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry",
    operation_id = "webhooks_retry",
    tag = "webhooks",
    summary = "Send a delivery again (admin)",
    params(
        ("id" = String, Path),
        ("delivery_id" = String, Path),
    ),
    responses(
        (status = 202, description = "Done", body = crate::http::openapi::schemas::Delivery),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn retry(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let (id, delivery_id) = path.into_inner();
    known(&state, &id).await?;
    let Some(mut d) = state.store.delivery(&id, &delivery_id).await? else {
        return Err(ApiError::NotFound("no such delivery".into()));
    };
    if d.status == "pending" {
        return Err(ApiError::Conflict(
            "pending",
            "the delivery is still being tried".into(),
        ));
    }
    let now = state.clock.now();
    d.status = "pending".into();
    d.next_attempt_at = Some(utc(now));
    if !state.store.redeliver(&d, now.timestamp_millis()).await? {
        // Another retry queued it meanwhile.
        return Err(ApiError::Conflict(
            "pending",
            "the delivery is still being tried".into(),
        ));
    }
    Ok(HttpResponse::Accepted().json(d.to_json()))
}
