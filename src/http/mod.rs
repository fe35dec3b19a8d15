//! The HTTP edge: routes, extractors, authentication and problem+json
//! errors. Handlers turn wire input into domain types and call the store.

mod admin;
mod audit;
mod auth;
mod body;
mod cameras;
mod clip_links;
mod clips;
mod corrections;
mod damage;
mod devices;
mod error;
mod events;
mod fleet;
mod handover;
mod inspections;
pub mod metrics;
pub mod openapi;
mod ops;
mod orders;
pub mod osmand;
mod page;
pub mod pages;
mod photos;
mod playback;
mod receive;
mod sites;
mod track;
mod webhooks;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};

pub use auth::Caller;
pub use error::{ApiError, chain};

use crate::clock::Clock;
use crate::live::fleet::FleetFeed;
use crate::live::{Hub, LiveOptions};
use crate::media::ClipStore;
use crate::store::Store;

/// What every handler shares: cheap handles and settings.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hub: Hub,
    pub fleet: FleetFeed,
    pub clock: Clock,
    /// SHA-256 of a configured admin token, checked without Redis.
    pub admin_hash: Option<String>,
    /// Base of links handed to customers, without a trailing slash.
    pub public_url: String,
    /// Days a tracking link keeps working after delivery.
    pub link_days: i64,
    pub clips: ClipStore,
    pub max_clip_bytes: u64,
    /// Answer clip reads on S3 with a 302 to a presigned URL.
    pub clip_redirect: bool,
    /// How the pages look: map tiles, the seller's name and support.
    pub look: pages::PageLook,
    /// The instance secret (shared by every instance): signs clip links.
    pub secret: std::sync::Arc<str>,
    pub live: LiveOptions,
    /// Webhook URLs on loopback or private addresses are allowed.
    pub webhook_allow_private: bool,
}

impl AppState {
    pub fn tracking_url(&self, token: &str) -> String {
        format!("{}/t/{token}", self.public_url)
    }

    /// The prefix of a customer's clip links.
    pub fn clip_base(&self, token: &str) -> String {
        format!("{}/api/v1/track/{token}/clips/", self.public_url)
    }

    /// Where a customer's link plays the cameras that show its car.
    pub fn camera_base(&self, token: &str) -> String {
        format!("{}/api/v1/track/{token}/cameras/", self.public_url)
    }

    /// Where a customer's link reads its car's photos.
    pub fn photo_base(&self, token: &str) -> String {
        format!("{}/api/v1/track/{token}/photos/", self.public_url)
    }
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::PathConfig::default().error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
    )
    .route("/healthz", web::get().to(ops::healthz))
    .route("/readyz", web::get().to(ops::readyz))
    .route("/metrics", web::get().to(metrics::render))
    .route("/api/openapi.json", web::get().to(openapi::document))
    .route("/api/docs", web::get().to(openapi::docs))
    .route("/t/{token}", web::get().to(pages::track))
    .route("/dispatch", web::get().to(pages::dispatch))
    .route("/assets/{path:.*}", web::get().to(pages::asset))
    .service(
        web::scope("/api/v1")
            .route("/carriers", web::post().to(admin::create_carrier))
            .route("/dispatchers", web::post().to(admin::create_dispatcher))
            .route(
                "/carriers/{carrier_id}/keys",
                web::post().to(admin::add_carrier_key),
            )
            .route("/credentials", web::get().to(admin::credentials))
            .route("/audit", web::get().to(audit::list))
            .route(
                "/credentials/{credential_id}",
                web::delete().to(admin::revoke),
            )
            .route("/devices", web::post().to(devices::register))
            .route("/devices", web::get().to(devices::list))
            .route(
                "/devices/{protocol}/{device_id}",
                web::delete().to(devices::delete),
            )
            .route("/webhooks", web::post().to(webhooks::create))
            .route("/webhooks", web::get().to(webhooks::list))
            .route("/webhooks/{id}", web::delete().to(webhooks::delete))
            .route(
                "/webhooks/{id}/deliveries",
                web::get().to(webhooks::deliveries),
            )
            .route(
                "/webhooks/{id}/deliveries/{delivery_id}/retry",
                web::post().to(webhooks::retry),
            )
            .route("/orders", web::post().to(orders::create))
            .route("/orders/{id}", web::get().to(orders::get))
            .route("/orders/{id}", web::patch().to(orders::patch))
            .route("/orders/{id}/cancel", web::post().to(orders::cancel))
            .route(
                "/orders/{id}/events/{event_id}/void",
                web::post().to(corrections::void),
            )
            .route(
                "/orders/{id}/tracking-token",
                web::post().to(orders::rotate_tracking),
            )
            .route("/orders/{id}/history", web::get().to(orders::history))
            .route("/events", web::post().to(events::post))
            .route("/fleet", web::get().to(fleet::list))
            .route("/track/{token}", web::get().to(track::view))
            .route("/sites", web::post().to(sites::create))
            .route("/sites", web::get().to(sites::list))
            .route("/damage-codes", web::get().to(damage::codes))
            .route("/orders/{id}/photos", web::post().to(photos::upload))
            .route(
                "/orders/{id}/inspections",
                web::post().to(inspections::create),
            )
            .route("/orders/{id}/inspections", web::get().to(inspections::list))
            .route(
                "/orders/{id}/pod.pdf",
                web::get().to(handover::pdf_for_staff),
            )
            .route("/track/{token}/handover", web::post().to(handover::sign))
            .route("/cameras", web::post().to(cameras::register))
            .route("/cameras", web::get().to(cameras::list))
            .route(
                "/cameras/{camera_id}/{file}",
                web::get().to(cameras::staff_file),
            )
            .route(
                "/track/{token}/cameras/{camera_id}/{file}",
                web::get().to(cameras::customer_file),
            )
            .route("/ingest/{secret}/{name}", web::put().to(cameras::ingest))
            .route(
                "/ingest/{secret}/{name}",
                web::delete().to(cameras::ingest_delete),
            )
            .route(
                "/track/{token}/pod.pdf",
                web::get().to(handover::pdf_for_customer),
            )
            .route("/orders/{id}/photos/{photo_id}", web::get().to(photos::get))
            .route(
                "/track/{token}/photos/{photo_id}",
                web::get().to(photos::get_for_customer),
            )
            .route("/orders/{id}/route", web::put().to(sites::put_route))
            .route("/alerts", web::get().to(sites::alerts))
            .route("/alerts/{alert_id}/ack", web::post().to(sites::ack))
            .route(
                "/orders/{id}/clips",
                web::post().to(clips::upload_for_order),
            )
            .route(
                "/trucks/{id}/clips",
                web::post().to(clips::upload_for_truck),
            )
            .route(
                "/orders/{id}/clips/{clip}",
                web::get().to(playback::play_for_order),
            )
            .route(
                "/orders/{id}/clips/{clip}/link",
                web::get().to(clip_links::link),
            )
            .route(
                "/track/{token}/clips/{clip}",
                web::get().to(playback::play_for_customer),
            )
            // A recorded broadcast's segments (after `.../link`).
            .route(
                "/orders/{id}/clips/{clip}/{file}",
                web::get().to(cameras::recording_for_order),
            )
            .route(
                "/track/{token}/clips/{clip}/{file}",
                web::get().to(cameras::recording_for_customer),
            ),
    )
    .route("/ws/track/{token}", web::get().to(track::socket))
    .route("/ws/fleet", web::get().to(fleet::socket))
    .default_service(web::to(not_found));
}

/// Unknown routes: problem+json under `/api` and `/ws`, a page elsewhere.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if path.starts_with("/api/") || path.starts_with("/ws/") {
        return Err(ApiError::NotFound("no such route".into()));
    }
    let look = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.look.clone())
        .unwrap_or_default();
    Ok(pages::not_found(&look))
}

/// Headers every answer carries.
pub use audit::record as audit_writes;

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .add((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

/// A path fit for the log: tracking tokens hidden, query strings dropped.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/t/", "/api/v1/track/", "/ws/track/", "/api/v1/ingest/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map(|i| &rest[i..]).unwrap_or("");
            return format!("{prefix}<token>{tail}");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/t/abc"), "/t/<token>");
        assert_eq!(
            loggable_path("/api/v1/track/abc/clips/1"),
            "/api/v1/track/<token>/clips/1"
        );
        assert_eq!(loggable_path("/api/v1/orders/X"), "/api/v1/orders/X");
        assert_eq!(
            loggable_path("/api/v1/ingest/vpcam_secret/live3.ts"),
            "/api/v1/ingest/<token>/live3.ts"
        );
    }
}
