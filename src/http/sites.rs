//! Sites, routes and alerts.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Caller};
use crate::domain::{Position, SiteId};
use crate::store::sites::{Center, SiteRecord};

#[derive(Deserialize)]
pub struct SiteIn {
    site_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    area: Option<Value>,
    center: Option<Center>,
    radius_m: Option<f64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/sites",
    operation_id = "sites_create",
    tag = "sites",
    summary = "Add a plant, warehouse or compound (admin)",
    request_body = crate::http::openapi::schemas::Site,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::Site),
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
    let body: SiteIn = super::body::json(&req, payload).await?;
    let id = super::body::required("site_id", body.site_id.as_deref(), SiteId::parse)?;
    let kind = body
        .kind
        .filter(|k| ["plant", "warehouse", "compound"].contains(&k.as_str()))
        .ok_or_else(|| ApiError::invalid("kind", "must be plant, warehouse or compound"))?;
    if let Some(c) = body.center {
        Position::parse(c.lat, c.lon).map_err(|m| ApiError::invalid("center", m))?;
    }
    let record = SiteRecord {
        site_id: id.to_string(),
        name: body.name.unwrap_or_else(|| id.to_string()),
        kind,
        area: body.area,
        center: body.center,
        radius_m: body.radius_m,
    };
    record.info().map_err(|m| {
        ApiError::invalid(
            if record.area.is_some() {
                "area"
            } else {
                "radius_m"
            },
            m,
        )
    })?;
    if !state.store.create_site(&record).await? {
        return Err(ApiError::Conflict("exists", format!("site {id} exists")));
    }
    Ok(HttpResponse::Created().json(record))
}

#[utoipa::path(
    get,
    path = "/api/v1/sites",
    operation_id = "sites_list",
    tag = "sites",
    summary = "Every site (staff, carriers)",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Sites),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    Ok(HttpResponse::Ok().json(json!({"sites": state.store.sites().await?})))
}

#[derive(Deserialize)]
pub struct LineString {
    #[serde(rename = "type")]
    kind: String,
    coordinates: Vec<Vec<f64>>,
}

/// `PUT /api/v1/orders/{id}/route`: the planned road, a GeoJSON LineString.
#[utoipa::path(
    put,
    path = "/api/v1/orders/{id}/route",
    operation_id = "sites_put_route",
    tag = "orders",
    summary = "Set an order's planned route (admin, dispatcher)",
    request_body = crate::http::openapi::schemas::Route,
    params(
        ("id" = String, Path),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Route),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn put_route(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    let id = super::orders::order_id(&path)?;
    let line: LineString = super::body::json(&req, payload).await?;
    if line.kind != "LineString" {
        return Err(ApiError::invalid("type", "must be LineString"));
    }
    if line.coordinates.len() < 2 || line.coordinates.len() > 10_000 {
        return Err(ApiError::invalid(
            "coordinates",
            "a route has 2 to 10000 positions",
        ));
    }
    let mut coords = Vec::with_capacity(line.coordinates.len());
    for (i, c) in line.coordinates.iter().enumerate() {
        let (Some(&lon), Some(&lat)) = (c.first(), c.get(1)) else {
            return Err(ApiError::invalid(
                &format!("coordinates[{i}]"),
                "a position is [lon, lat]",
            ));
        };
        Position::parse(lat, lon)
            .map_err(|m| ApiError::invalid(&format!("coordinates[{i}]"), m))?;
        coords.push([lon, lat]);
    }
    if !state.store.set_route(&id, &coords).await? {
        return Err(ApiError::NotFound(format!("no order {id}")));
    }
    Ok(HttpResponse::Ok()
        .json(json!({"order_id": id, "type": "LineString", "coordinates": coords})))
}

#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    operation_id = "sites_alerts",
    tag = "fleet",
    summary = "Open alerts (admin, dispatcher)",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Alerts),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn alerts(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.dispatcher()?;
    Ok(HttpResponse::Ok().json(json!({"alerts": state.store.alerts().await?})))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AckIn {
    note: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/alerts/{alert_id}/ack",
    operation_id = "alerts_ack",
    tag = "fleet",
    summary = "Acknowledge an open alert, with a note; every dispatcher sees it (admin, dispatcher)",
    description = "The alert stays open until its cause clears, now with `ack: {by, at, note}`; `/ws/fleet` gets an `alert` event with `state: \"acked\"`. Acknowledging again replaces the note.",
    params(("alert_id" = String, Path, description = "As `GET /api/v1/alerts` lists it")),
    request_body = crate::http::openapi::schemas::AckRequest,
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::Alert),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn ack(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    use actix_web::HttpMessage;
    caller.dispatcher()?;
    let body: AckIn = super::body::json(&req, payload).await?;
    let note = body.note.unwrap_or_default();
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(ApiError::invalid("note", "at most 500 characters"));
    }
    let by = req
        .extensions()
        .get::<super::auth::Audited>()
        .map(|a| a.credential_id.clone())
        .unwrap_or_else(|| "admin".into());
    let ack = json!({"by": by, "at": crate::domain::utc(state.clock.now()), "note": note});
    match state.store.ack_alert(&path, &ack).await? {
        Some(alert) => Ok(HttpResponse::Ok().json(alert)),
        None => Err(ApiError::NotFound(format!(
            "no open alert {} (it may have cleared)",
            path.as_str()
        ))),
    }
}
