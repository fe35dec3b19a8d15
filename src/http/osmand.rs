//! The Traccar Client / OsmAnd listener, on its own port
//! (`VINPATH_OSMAND_LISTEN`): a report per request, read as Traccar reads
//! it, answered as the app expects. 200 means recorded (the app then
//! drops its copy); anything else, it keeps the report and sends it again.

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::ApiError;
use crate::devices::{Devices, osmand};
use crate::domain::{DeviceId, EventStatus, Protocol};

/// Every path and method: the app posts to whatever URL it was given.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.default_service(web::to(report));
}

fn pairs(text: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("unreadable fields: {e}")))
}

async fn report(
    req: HttpRequest,
    body: web::Bytes,
    devices: web::Data<Devices>,
) -> Result<HttpResponse, ApiError> {
    metrics::counter!("vinpath_device_requests_total", "protocol" => "osmand").increment(1);
    let now = devices.clock.now();
    let mime = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let report = if req.method() == Method::POST && mime == "application/json" {
        osmand::from_json(&body, now)
    } else {
        let mut fields = pairs(req.query_string())?;
        if req.method() == Method::POST && mime == "application/x-www-form-urlencoded" {
            let text = std::str::from_utf8(&body)
                .map_err(|_| ApiError::BadRequest("the form is not UTF-8".into()))?;
            fields.extend(pairs(text)?);
        }
        osmand::from_fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())), now)
    }
    .map_err(|e| ApiError::BadRequest(e.0))?;
    let id = DeviceId::parse(Protocol::Osmand, &report.device_id).map_err(ApiError::BadRequest)?;
    let Some(device) = devices.find(Protocol::Osmand, &id).await? else {
        Devices::unregistered(Protocol::Osmand);
        return Err(ApiError::UnknownDevice);
    };
    let fix = report.fix;
    let outcomes = devices
        .record(
            &device,
            std::slice::from_ref(&fix),
            Some((fix.emergency, fix.at)),
        )
        .await?;
    match outcomes.first() {
        Some(o) if o.status == EventStatus::Rejected => Err(ApiError::BadRequest(format!(
            "{}: {}",
            o.code.as_deref().unwrap_or("rejected"),
            o.message.as_deref().unwrap_or("the fix was refused")
        ))),
        _ => Ok(HttpResponse::Ok().finish()),
    }
}
