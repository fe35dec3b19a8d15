//! The pages: the customer's tracking page, the dispatchers' live map, and
//! their assets, embedded in the binary so one file deploys. Pages carry a
//! content security policy with no inline script.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;
use sha2::Digest;
use std::sync::LazyLock;

use super::{ApiError, AppState};

#[derive(RustEmbed)]
#[folder = "web/"]
#[include = "pages/*"]
#[include = "node_modules/leaflet/dist/leaflet.js"]
#[include = "node_modules/leaflet/dist/leaflet.css"]
#[include = "node_modules/leaflet/dist/images/*"]
#[include = "node_modules/topojson-client/dist/topojson-client.min.js"]
#[include = "node_modules/hls.js/dist/hls.light.min.js"]
#[include = "node_modules/world-atlas/land-110m.json"]
#[include = "node_modules/world-atlas/land-50m.json"]
#[include = "node_modules/swagger-ui-dist/swagger-ui.css"]
#[include = "node_modules/swagger-ui-dist/swagger-ui-bundle.js"]
struct Web;

/// How the pages look: where the map's tiles come from, and whose the
/// tracking page is (the seller's name and how to reach them).
#[derive(Debug, Clone, Default)]
pub struct PageLook {
    /// A `{z}/{x}/{y}` URL template; empty: the offline basemap only.
    pub url: String,
    pub attribution: String,
    /// `wgs84` or `gcj02` (Chinese providers such as AMap and Tencent).
    pub datum: String,
    /// The seller customers bought from (`VINPATH_BRAND_NAME`).
    pub brand: String,
    /// How customers reach the seller's support, a phone number or an
    /// address (`VINPATH_SUPPORT_CONTACT`; empty: not shown).
    pub support: String,
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; \
    media-src 'self' blob: https:; connect-src 'self' ws: wss: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A page with the tile settings in its body's data attributes.
fn page(name: &str, status: actix_web::http::StatusCode, look: &PageLook) -> HttpResponse {
    let html = Web::get(&format!("pages/{name}"))
        .map(|f| String::from_utf8_lossy(&f.data).into_owned())
        .unwrap_or_default();
    let config = format!(
        "data-tile-url=\"{}\" data-tile-attribution=\"{}\" data-tile-datum=\"{}\" data-brand=\"{}\" data-support=\"{}\"",
        escape(&look.url),
        escape(&look.attribution),
        escape(&look.datum),
        escape(&look.brand),
        escape(&look.support)
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html.replace("{{CONFIG}}", &config))
}

/// The friendly page for a link that does not work, as a 404.
pub fn not_found(look: &PageLook) -> HttpResponse {
    page(
        "notfound.html",
        actix_web::http::StatusCode::NOT_FOUND,
        look,
    )
}

/// `GET /t/{token}`: the tracking page, the friendly 404 in every case
/// where the API would answer 404, and a "temporarily unavailable" page
/// (503) while Redis cannot say: an outage never tells a customer their
/// link is dead.
pub async fn track(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let order = match super::track::resolve(&state, &path).await {
        Ok(id) => state.store.order(&id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match order {
        Ok(Some(o)) if !super::track::expired(&state, &o) => {
            page("track.html", actix_web::http::StatusCode::OK, &state.look)
        }
        Ok(_) | Err(ApiError::NotFound(_)) => not_found(&state.look),
        Err(_) => {
            let mut res = page(
                "unavailable.html",
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                &state.look,
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            res
        }
    }
}

pub async fn dispatch(state: web::Data<AppState>) -> HttpResponse {
    page(
        "dispatch.html",
        actix_web::http::StatusCode::OK,
        &state.look,
    )
}

/// The cities the map names, picked from GeoNames at build time (see
/// `build.rs`).
const CITIES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cities.json"));

/// `GET /assets/{path}`: the pages' scripts, styles and map data.
pub async fn asset(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let (data, hash, mime) = if path == "cities.json" {
        static HASH: LazyLock<[u8; 32]> = LazyLock::new(|| sha2::Sha256::digest(CITIES).into());
        (
            std::borrow::Cow::Borrowed(CITIES),
            *HASH,
            "application/json".to_owned(),
        )
    } else {
        let key = if path.starts_with("node_modules/") {
            path
        } else {
            format!("pages/{path}")
        };
        let Some(file) = Web::get(&key) else {
            return HttpResponse::NotFound()
                .content_type("text/plain")
                .body("not found");
        };
        let mime = file.metadata.mimetype().to_owned();
        (file.data, file.metadata.sha256_hash(), mime)
    };
    let etag = format!(
        "\"{}\"",
        hash.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_str(&mime)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(data.into_owned())
}
