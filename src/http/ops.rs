//! Health and readiness.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{ApiError, AppState};

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "ops_healthz",
    tag = "operations",
    summary = "Alive",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Health),
    ),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// How long the clip store may take to answer a readiness check (its
/// client retries a store that is down for minutes).
const CLIPS_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Ready when Redis and the clip store both answer now.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "ops_readyz",
    tag = "operations",
    summary = "Ready: Redis, the live channels and the clip store answer",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Readiness),
        crate::http::openapi::schemas::NotReady,
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let clips = async {
        match tokio::time::timeout(CLIPS_ANSWER_WITHIN, state.clips.ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %super::error::chain(&e), "clip store does not answer");
                false
            }
            Err(_) => {
                tracing::warn!("clip store does not answer within 2 s");
                false
            }
        }
    };
    let (redis, clips) = futures_util::join!(state.store.ping(), clips);
    // Live updates reach this instance's sockets only while its
    // subscription hears the channel.
    let live = state.hub.listening();
    if !live {
        tracing::warn!("the live channel is silent");
    }
    if redis.is_err() || !clips || !live {
        return Err(ApiError::Unavailable);
    }
    Ok(HttpResponse::Ok()
        .json(json!({"status": "ready", "redis": "ok", "clips": "ok", "live": "ok"})))
}
