//! The device registry (contract v2, "Devices"): a carrier (or an admin
//! for it) registers the trackers its trucks and phones carry, lists and
//! removes them.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ApiError, AppState, Caller};
use crate::domain::{CarrierId, Device, DeviceId, FixTarget, OrderId, Protocol, Role, TruckId};
use crate::store::devices::Registration;

#[derive(Deserialize)]
pub struct DeviceIn {
    device_id: Option<String>,
    protocol: Option<String>,
    carrier_id: Option<String>,
    truck_id: Option<String>,
    order_id: Option<String>,
}

fn protocol(raw: Option<&str>) -> Result<Protocol, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::invalid("protocol", "is required"))?;
    Protocol::parse(raw).ok_or_else(|| ApiError::invalid("protocol", "must be jt808 or osmand"))
}

/// The carrier a request acts for: a carrier itself, or the one an admin
/// names.
async fn acting_carrier(
    caller: &Caller,
    state: &AppState,
    named: Option<&str>,
) -> Result<CarrierId, ApiError> {
    match &caller.0 {
        Role::Carrier(c) => match named {
            Some(n) if n != c.as_str() => Err(ApiError::Forbidden),
            _ => Ok(c.clone()),
        },
        Role::Admin => {
            let id = super::body::required("carrier_id", named, CarrierId::parse)?;
            if !state.store.carrier_exists(&id).await? {
                return Err(ApiError::invalid("carrier_id", "no such carrier"));
            }
            Ok(id)
        }
        _ => Err(ApiError::Forbidden),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/devices",
    operation_id = "devices_register",
    tag = "devices",
    summary = "Register a tracker (a carrier for itself, an admin for a carrier)",
    request_body = crate::http::openapi::schemas::NewDevice,
    responses(
        (status = 201, description = "Done", body = crate::http::openapi::schemas::Device),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn register(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body: DeviceIn = super::body::json(&req, payload).await?;
    let carrier_id = acting_carrier(&caller, &state, body.carrier_id.as_deref()).await?;
    let protocol = protocol(body.protocol.as_deref())?;
    let device_id = super::body::required("device_id", body.device_id.as_deref(), |s| {
        DeviceId::parse(protocol, s)
    })?;
    let target = match (body.truck_id.as_deref(), body.order_id.as_deref()) {
        (Some(t), None) => {
            FixTarget::Truck(TruckId::parse(t).map_err(|m| ApiError::invalid("truck_id", m))?)
        }
        (None, Some(o)) => {
            let id = OrderId::parse(o).map_err(|m| ApiError::invalid("order_id", m))?;
            match state.store.order(&id).await? {
                Some(order) if order.carrier_id == carrier_id => FixTarget::Order(id),
                _ => {
                    return Err(ApiError::invalid(
                        "order_id",
                        "no such order of this carrier",
                    ));
                }
            }
        }
        _ => {
            return Err(ApiError::invalid(
                "truck_id",
                "name exactly one of truck_id (a truck's tracker) or order_id (a car's own)",
            ));
        }
    };
    let device = Device {
        protocol,
        device_id,
        carrier_id,
        target,
    };
    match state.store.register_device(&device).await? {
        Registration::Done(d) => Ok(HttpResponse::Created().json(d.to_json())),
        Registration::HeldByAnother => Err(ApiError::Conflict(
            "device_taken",
            "another carrier holds this device".into(),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/devices",
    operation_id = "devices_list",
    tag = "devices",
    summary = "Registered trackers (a carrier sees its own)",
    responses(
        (status = 200, description = "Done", body = Vec<crate::http::openapi::schemas::Device>),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let carrier = match &caller.0 {
        Role::Carrier(c) => Some(c.clone()),
        _ => {
            caller.dispatcher()?;
            None
        }
    };
    let devices = state.store.devices(carrier.as_ref()).await?;
    let list: Vec<_> = devices.iter().map(Device::to_json).collect();
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(
    delete,
    path = "/api/v1/devices/{protocol}/{device_id}",
    operation_id = "devices_delete",
    tag = "devices",
    summary = "Remove a tracker",
    params(
        ("protocol" = String, Path),
        ("device_id" = String, Path),
    ),
    responses(
        (status = 204, description = "Done"),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (protocol_raw, id_raw) = path.into_inner();
    let carrier = match &caller.0 {
        Role::Carrier(c) => Some(c.clone()),
        _ => {
            caller.admin()?;
            None
        }
    };
    let not_found = || ApiError::NotFound("no such device".into());
    let protocol = Protocol::parse(&protocol_raw).ok_or_else(not_found)?;
    let id = DeviceId::parse(protocol, &id_raw).map_err(|_| not_found())?;
    if state
        .store
        .delete_device(protocol, &id, carrier.as_ref())
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(not_found())
    }
}
