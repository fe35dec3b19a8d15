//! Clip routes: uploads by carriers (for an order, or for every car on a
//! truck) and playback with ranges for customers and staff.

use std::time::Duration;

use actix_web::http::header::{self, ByteRangeSpec, Range};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use chrono::DateTime;
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, Caller};
use crate::domain::{CarrierId, TruckId};
use crate::media::sniff::{SNIFF_BYTES, video_type};
use crate::media::{MediaError, UploadError};
use crate::store::clips::{AttachError, Claim, ClipMeta};

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
            if order.carrier_id != carrier.as_str() {
                return Err(ApiError::Forbidden);
            }
            Ok(vec![order.order_id])
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
    let result = store_clip(&state, &carrier, kind, captured_at, order_ids, &mut payload).await;
    if let Some(mut p) = pending {
        p.open = false;
        let made = result.as_ref().ok().map(|m| m.clip_id.as_str());
        if let Err(e) = state.store.settle_upload(&carrier, &p.key, made).await {
            tracing::warn!(error = %super::error::chain(&e), "could not settle an idempotency key");
        }
    }
    let meta = result?;
    Ok(HttpResponse::Created().json(json!({"clip_id": meta.clip_id, "order_ids": meta.order_ids})))
}

fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!("a clip is at most {max} bytes"))
}

/// Sniffs, streams into storage and records the clip; on any failure
/// nothing is left behind.
async fn store_clip(
    state: &AppState,
    carrier: &CarrierId,
    kind: String,
    captured_at: chrono::DateTime<chrono::Utc>,
    order_ids: Vec<String>,
    payload: &mut web::Payload,
) -> Result<ClipMeta, ApiError> {
    let max = state.max_clip_bytes;
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match payload.next().await {
            Some(chunk) => {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("the upload broke off: {e}")))?;
                head.extend_from_slice(&chunk);
                if head.len() as u64 > max {
                    return Err(too_large(max));
                }
            }
            None => break,
        }
    }
    let content_type = video_type(&head)
        .ok_or_else(|| ApiError::UnsupportedMediaType("a clip must be MP4 or WebM video".into()))?;
    let clip_id = ulid::Ulid::generate().to_string();
    let key = format!("clips/{clip_id}");
    let rest = payload.map_err(|e| e.to_string());
    let size = match state.clips.upload(&key, Bytes::from(head), rest, max).await {
        Ok(size) => size,
        Err(UploadError::TooLarge(max)) => return Err(too_large(max)),
        Err(UploadError::Broken(m)) => {
            return Err(ApiError::BadRequest(format!("the upload broke off: {m}")));
        }
        Err(UploadError::Store(e)) => return Err(e.into()),
    };
    let now = state.clock.now();
    let mut meta = ClipMeta {
        clip_id,
        key,
        content_type: content_type.to_owned(),
        size,
        kind,
        captured_at,
        carrier_id: carrier.to_string(),
        order_ids,
        created_at: now,
    };
    let delete = async |key: &str| {
        if let Err(d) = state.clips.delete(key).await {
            tracing::error!(error = %d, key, "could not delete an unrecorded clip");
        }
    };
    match state.store.attach_clip(&meta, now).await {
        Ok(reached) if reached.is_empty() => {
            delete(&meta.key).await;
            Err(ApiError::Conflict(
                "order_changed",
                "the order is no longer this carrier's".into(),
            ))
        }
        Ok(reached) => {
            meta.order_ids = reached;
            Ok(meta)
        }
        Err(AttachError::NotRecorded(e)) => {
            delete(&meta.key).await;
            Err(e.into())
        }
        // Recorded: the clip stays for the orders that have it, and the
        // retention sweep knows it.
        Err(AttachError::Partial(e)) => Err(e.into()),
    }
}

pub async fn play_for_order(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (order, clip_id) = path.into_inner();
    let id = super::orders::order_id(&order)?;
    let state_ = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    caller.may_read(&state_)?;
    let meta = clip_of(&state, &clip_id, id.as_str()).await?;
    play(&state, &req, meta).await
}

pub async fn play_for_customer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, clip_id) = path.into_inner();
    let id = super::track::resolve(&state, &token).await?;
    let order = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound("this tracking link is not valid".into()))?;
    if super::track::expired(&state, &order) {
        return Err(ApiError::NotFound("this tracking link is not valid".into()));
    }
    let meta = clip_of(&state, &clip_id, id.as_str()).await?;
    play(&state, &req, meta).await
}

async fn clip_of(state: &AppState, clip_id: &str, order: &str) -> Result<ClipMeta, ApiError> {
    state
        .store
        .clip(clip_id)
        .await?
        .filter(|m| m.order_ids.iter().any(|o| o == order))
        .ok_or_else(|| ApiError::NotFound(format!("no clip {clip_id} for this order")))
}

/// Serves a clip: whole, or the requested range; 304 when the browser has
/// it; a short-lived S3 link instead where so configured.
async fn play(
    state: &AppState,
    req: &HttpRequest,
    meta: ClipMeta,
) -> Result<HttpResponse, ApiError> {
    let etag = format!("\"{}\"", meta.clip_id);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim() == "*"
                || v.split(',')
                    .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    if state.clip_redirect
        && let Some(url) = state
            .clips
            .presigned(&meta.key, Duration::from_secs(300))
            .await?
    {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let range = match req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
    {
        None => None,
        Some(raw) => match raw.parse::<Range>() {
            Ok(Range::Bytes(specs)) => Some(
                first_satisfiable(&specs, meta.size)
                    .ok_or(ApiError::RangeNotSatisfiable(meta.size))?,
            ),
            // An unknown unit is ignored, as RFC 9110 allows.
            _ => None,
        },
    };
    let got = match state.clips.get(&meta.key, range).await {
        Ok(g) => g,
        Err(MediaError::Store(object_store::Error::NotFound { .. })) => {
            return Err(ApiError::NotFound(format!(
                "clip {} is no longer kept",
                meta.clip_id
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let body = got
        .into_stream()
        .map_err(|e| actix_web::error::ErrorServiceUnavailable(e.to_string()));
    let mut res = match range {
        Some((start, end)) => {
            let mut r = HttpResponse::PartialContent();
            r.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", meta.size),
            ));
            r.no_chunking(end - start + 1);
            r
        }
        None => {
            let mut r = HttpResponse::Ok();
            r.no_chunking(meta.size);
            r
        }
    };
    Ok(res
        .insert_header((header::CONTENT_TYPE, meta.content_type))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .streaming(body))
}

fn first_satisfiable(specs: &[ByteRangeSpec], size: u64) -> Option<(u64, u64)> {
    specs.iter().find_map(|s| s.to_satisfiable_range(size))
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
