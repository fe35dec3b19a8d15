//! Short-lived signed links to a clip, for staff pages: a `<video>` cannot
//! send a bearer token, so the page asks (`GET .../link`) for a link that
//! plays (with `Range`, streaming) for five minutes and opens nothing else.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use super::{ApiError, AppState, Caller};
use crate::domain::utc;

/// How long a link plays.
const LIFETIME: Duration = Duration::minutes(5);

/// A link's signature over what it opens and until when.
fn mac(secret: &str, order: &str, clip: &str, expires: i64) -> Hmac<Sha256> {
    // Any key length is accepted by HMAC: this cannot fail.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(format!("clip\n{order}\n{clip}\n{expires}").as_bytes());
    m
}

fn sign(secret: &str, order: &str, clip: &str, expires: i64) -> String {
    hex::encode(mac(secret, order, clip, expires).finalize().into_bytes())
}

/// A signed link's query.
#[derive(Deserialize)]
pub struct Signed {
    expires: Option<i64>,
    sig: Option<String>,
}

impl Signed {
    /// Whether the query opens this clip of this order now.
    pub fn opens(&self, secret: &str, order: &str, clip: &str, now: DateTime<Utc>) -> bool {
        let (Some(expires), Some(sig)) = (self.expires, self.sig.as_deref()) else {
            return false;
        };
        let Ok(sig) = hex::decode(sig) else {
            return false;
        };
        expires >= now.timestamp() && mac(secret, order, clip, expires).verify_slice(&sig).is_ok()
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/clips/{clip}/link",
    operation_id = "clips_link",
    tag = "clips",
    summary = "A link that plays the clip for five minutes without a token, for a page's <video> (staff, its carrier)",
    params(
        ("id" = String, Path),
        ("clip" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::ClipLink),
        crate::http::openapi::schemas::ClipErrors,
    ),
    security(("bearer" = []))
)]
pub async fn link(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (order, clip) = path.into_inner();
    let id = super::orders::order_id(&order)?;
    let found = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    caller.may_read(&found)?;
    super::playback::clip_of(&state, &clip, id.as_str()).await?;
    let expires_at = state.clock.now() + LIFETIME;
    let expires = expires_at.timestamp();
    let sig = sign(&state.secret, id.as_str(), &clip, expires);
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(json!({
        "url": format!("{}/api/v1/orders/{id}/clips/{clip}?expires={expires}&sig={sig}", state.public_url),
        "expires_at": utc(expires_at),
        })))
}
