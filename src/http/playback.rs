//! Clip playback for customers (by tracking link) and staff: whole or by
//! range, 304 when the browser has it, or a short-lived S3 link.

use std::time::Duration;

use actix_web::http::header::{self, ByteRangeSpec, Range};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::TryStreamExt;

use super::{ApiError, AppState, Caller};
use crate::media::MediaError;
use crate::store::clips::ClipMeta;

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/clips/{clip}",
    operation_id = "playback_play_for_order",
    tag = "clips",
    summary = "Play a clip (Range supported; staff, its carrier)",
    params(
        ("id" = String, Path),
        ("clip" = String, Path),
        ("expires" = Option<i64>, Query, description = "With `sig`: a signed link from `GET .../link`, played without a token"),
        ("sig" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The clip", content_type = "video/mp4"),
        (status = 206, description = "Part of the clip", content_type = "video/mp4"),
        (status = 302, description = "A short-lived presigned link (S3 with redirects on)"),
        crate::http::openapi::schemas::ClipErrors,
    ),
    security(("bearer" = []))
)]
pub async fn play_for_order(
    caller: Option<Caller>,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    signed: web::Query<super::clip_links::Signed>,
) -> Result<HttpResponse, ApiError> {
    let (order, clip_id) = path.into_inner();
    let id = super::orders::order_id(&order)?;
    // A signed link (`GET .../link`) plays without a token, for a while.
    let by_link = signed.opens(&state.secret, id.as_str(), &clip_id, state.clock.now());
    let caller = match (caller, by_link) {
        (_, true) => None,
        (Some(c), false) => Some(c),
        (None, false) => return Err(ApiError::Unauthorized),
    };
    let state_ = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    if let Some(caller) = caller {
        caller.may_read(&state_)?;
    }
    let meta = clip_of(&state, &clip_id, id.as_str()).await?;
    play(&state, &req, meta).await
}

#[utoipa::path(
    get,
    path = "/api/v1/track/{token}/clips/{clip}",
    operation_id = "playback_play_for_customer",
    tag = "tracking",
    summary = "Play a clip from a tracking link (Range supported)",
    params(
        ("token" = String, Path),
        ("clip" = String, Path),
    ),
    responses(
        (status = 200, description = "The clip", content_type = "video/mp4"),
        (status = 206, description = "Part of the clip", content_type = "video/mp4"),
        (status = 302, description = "A short-lived presigned link (S3 with redirects on)"),
        crate::http::openapi::schemas::PublicClipErrors,
    ),
)]
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

pub(super) async fn clip_of(
    state: &AppState,
    clip_id: &str,
    order: &str,
) -> Result<ClipMeta, ApiError> {
    state
        .store
        .clip(clip_id)
        .await?
        .filter(|m| m.order_ids.iter().any(|o| o == order))
        .ok_or_else(|| ApiError::NotFound(format!("no clip {clip_id} for this order")))
}

/// Serves a clip: whole, or the requested range; 304 when the browser has
/// it; a short-lived S3 link instead where so configured.
pub(super) async fn play(
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
