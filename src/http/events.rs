//! `POST /api/v1/events`: a carrier's batch, one result per event.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::{ApiError, AppState, Caller};
use crate::domain::CarrierEvent;
use crate::domain::event::raw_event_id;

/// Largest body and batch a carrier may send.
pub const MAX_BODY: usize = 1024 * 1024;
pub const MAX_EVENTS: usize = 1000;

pub(super) fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the events as application/json".into(),
        ))
    }
}

/// Reads the body up to `MAX_BODY`, refusing early from Content-Length.
pub(super) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::BytesMut, ApiError> {
    read_body_up_to(req, payload, MAX_BODY, "a batch").await
}

/// Reads a body of at most `max` bytes (`what` it is, for the refusal),
/// refusing early from Content-Length.
pub(super) async fn read_body_up_to(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
    what: &str,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || ApiError::TooLarge(format!("{what} is at most {max} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(max));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("could not read the body: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[utoipa::path(
    post,
    path = "/api/v1/events",
    operation_id = "events_post",
    tag = "events",
    summary = "A carrier's batch of scans and GPS fixes: one result per event (carrier)",
    request_body = crate::http::openapi::schemas::EventsIn,
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::EventsOut),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn post(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let carrier = caller.carrier()?.clone();
    require_json(&req)?;
    let body = read_body(&req, payload).await?;
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    let Some(Value::Array(raw)) = doc.get("events").cloned() else {
        return Err(ApiError::BadRequest(
            "the body needs an \"events\" array".into(),
        ));
    };
    if raw.len() > MAX_EVENTS {
        return Err(ApiError::TooLarge(format!(
            "a batch holds at most {MAX_EVENTS} events"
        )));
    }
    let now = state.clock.now();
    let ids: Vec<Option<String>> = raw.iter().map(raw_event_id).collect();
    let parsed = raw
        .into_iter()
        .map(|r| CarrierEvent::parse(r, now))
        .collect();
    let outcomes = crate::ingest::ingest(&state.store, &carrier, parsed, now).await?;
    let results: Vec<Value> = ids
        .into_iter()
        .zip(outcomes)
        .map(|(id, o)| {
            let mut r = json!({"event_id": id, "status": o.status.as_str()});
            if let Some(c) = o.code {
                r["code"] = json!(c);
            }
            if let Some(m) = o.message {
                r["message"] = json!(m);
            }
            r
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"results": results})))
}
