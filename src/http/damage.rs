//! `GET /api/v1/damage-codes`: the AIAG / ECG damage codes inspections use,
//! named in English and Chinese.

use actix_web::HttpResponse;

use super::{ApiError, Caller};
use crate::domain::DamageCodes;

#[utoipa::path(
    get,
    path = "/api/v1/damage-codes",
    operation_id = "damage_codes",
    tag = "inspections",
    summary = "The damage codes: areas, types and severities (any role)",
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::DamageCodes),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn codes(_caller: Caller) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "private, max-age=3600"))
        .json(DamageCodes::get()))
}
