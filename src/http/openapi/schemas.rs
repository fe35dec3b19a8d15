//! The shapes of request and response bodies as the OpenAPI document
//! describes them. The handlers read and write JSON through their own
//! wire types; these mirror them for the document (`tests` in
//! `tests/service/openapi.rs` and schemathesis check the two agree).

#![allow(dead_code)]

use serde_json::Value;
use utoipa::ToSchema;

/// An error: `application/problem+json` (RFC 9457) with a stable `code`.
#[derive(ToSchema)]
pub struct Problem {
    r#type: String,
    title: String,
    status: u16,
    detail: String,
    /// Stable, for programs: `invalid_field`, `not_found`, `exists`, ...
    code: String,
    /// The fields at fault, for `invalid_field`.
    errors: Vec<FieldError>,
}

#[derive(ToSchema)]
pub struct FieldError {
    field: String,
    message: String,
}

/// A place: WGS-84 degrees.
#[derive(ToSchema)]
pub struct Place {
    name: Option<String>,
    address: Option<String>,
    lat: f64,
    lon: f64,
}

#[derive(ToSchema)]
pub struct NewOrder {
    #[schema(example = "JD-2026-000123")]
    order_id: String,
    #[schema(example = "LNAA2AA17SF000001")]
    vin: Option<String>,
    model: Option<String>,
    carrier_id: String,
    origin: Place,
    destination: Place,
    /// RFC 3339.
    promised_by: Option<String>,
}

#[derive(ToSchema)]
pub struct OrderCreated {
    order_id: String,
    tracking_token: String,
    tracking_url: String,
    /// Doubts about accepted values (such as a VIN whose check digit is off).
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Value>,
}

#[derive(ToSchema)]
pub struct OrderPatch {
    vin: Option<String>,
    carrier_id: Option<String>,
    destination: Option<Place>,
    promised_by: Option<String>,
}

/// Where a vehicle was last seen.
#[derive(ToSchema)]
pub struct Position {
    at: String,
    lat: f64,
    lon: f64,
    speed_kmh: Option<f64>,
    heading: Option<f64>,
}

/// An order as staff and its carrier see it.
#[derive(ToSchema)]
pub struct Order {
    order_id: String,
    carrier_id: String,
    milestone: String,
    milestone_at: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    vin: Option<String>,
    model: Option<String>,
    #[schema(value_type = Option<Object>)]
    origin: Option<Value>,
    #[schema(value_type = Option<Object>)]
    destination: Option<Value>,
    promised_by: Option<String>,
    eta: Option<String>,
    position: Option<Position>,
    truck_id: Option<String>,
    /// True when read from the archive.
    archived: Option<bool>,
}

/// Why an event is voided (kept with it in the history).
#[derive(ToSchema)]
pub struct VoidRequest {
    /// 1 to 500 characters.
    #[schema(example = "scanned the wrong car")]
    reason: String,
}

#[derive(ToSchema)]
pub struct TrackingLink {
    order_id: String,
    tracking_token: String,
    tracking_url: String,
}

/// One carrier event: a scan (`kind` `scan`) or a GPS fix (`gps`).
#[derive(ToSchema)]
pub struct CarrierEvent {
    event_id: String,
    /// `scan` or `gps`.
    kind: String,
    occurred_at: String,
    order_id: Option<String>,
    truck_id: Option<String>,
    milestone: Option<String>,
    site_id: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    note: Option<String>,
    vin: Option<String>,
    speed_kmh: Option<f64>,
    heading: Option<f64>,
    hdop: Option<f64>,
    /// A `delivered` scan: the six digits the customer was given when
    /// they signed.
    #[schema(example = "483920")]
    handover_code: Option<String>,
    /// A `delivered` scan when nobody was there, with `photo_ids` (at
    /// least two) of where the car was left.
    customer_not_available: Option<bool>,
    photo_ids: Option<Vec<String>>,
}

#[derive(ToSchema)]
pub struct EventsIn {
    events: Vec<CarrierEvent>,
}

#[derive(ToSchema)]
pub struct EventResult {
    event_id: Option<String>,
    /// `accepted`, `duplicate`, `filtered`, `stale` or `rejected`.
    status: String,
    code: Option<String>,
    message: Option<String>,
}

#[derive(ToSchema)]
pub struct EventsOut {
    results: Vec<EventResult>,
}

/// A page of an order's history, oldest first; `next` for the following.
#[derive(ToSchema)]
pub struct HistoryPage {
    #[schema(value_type = Vec<Object>)]
    events: Vec<Value>,
    next: Option<String>,
}

#[derive(ToSchema)]
pub struct Fleet {
    #[schema(value_type = Vec<Object>)]
    fleet: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    trucks: Vec<Value>,
}

/// An order as its customer sees it (no carrier-internal detail).
#[derive(ToSchema)]
pub struct TrackView {
    order_id: String,
    milestone: String,
    vin_masked: Option<String>,
    model: Option<String>,
    eta: Option<String>,
    promised_by: Option<String>,
    position: Option<Position>,
    #[schema(value_type = Vec<Object>)]
    timeline: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    clips: Vec<Value>,
    /// The planned route a dispatcher set, `[lat, lon]` points (simplified
    /// to a few hundred); empty without one.
    route: Vec<[f64; 2]>,
}

#[derive(ToSchema)]
pub struct Center {
    lat: f64,
    lon: f64,
}

/// A plant, warehouse or compound: a circle (`center`, `radius_m`) or a
/// GeoJSON polygon (`area`).
#[derive(ToSchema)]
pub struct Site {
    site_id: String,
    name: Option<String>,
    /// `plant`, `warehouse` or `compound`.
    kind: String,
    center: Option<Center>,
    radius_m: Option<f64>,
    #[schema(value_type = Option<Object>)]
    area: Option<Value>,
}

/// A photo kept for an order's inspections.
#[derive(ToSchema)]
pub struct PhotoStored {
    #[schema(example = "ph_3f2a9c0d1e4b5a6978877665")]
    photo_id: String,
    #[schema(example = "image/jpeg")]
    content_type: String,
    width: u32,
    height: u32,
    /// When and where it was taken, from its EXIF (null without).
    taken_at: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// A photo of an inspection and the view it shows.
#[derive(ToSchema)]
pub struct InspectionPhoto {
    photo_id: String,
    /// front, rear, left, right, interior, odometer, vin, keys or damage
    #[schema(example = "front")]
    view: String,
}

/// A damage in AIAG codes (`GET /api/v1/damage-codes`).
#[derive(ToSchema)]
pub struct Damage {
    #[schema(example = "10")]
    area: String,
    #[schema(example = "12")]
    r#type: String,
    #[schema(example = "2")]
    severity: String,
    photo_ids: Option<Vec<String>>,
    note: Option<String>,
}

/// An inspection at a change of custody. Pickup and delivery need photos
/// of front, rear, left, right, interior and odometer.
#[derive(ToSchema)]
pub struct InspectionBody {
    #[schema(example = "sf-insp-0001")]
    inspection_id: String,
    /// pickup, gate_in, gate_out or delivery
    #[schema(example = "pickup")]
    stage: String,
    #[schema(example = "2026-11-25T08:05:00+08:00")]
    at: String,
    lat: Option<f64>,
    lon: Option<f64>,
    #[schema(example = "Wang Qiang")]
    inspector: String,
    odometer_km: Option<f64>,
    battery_soc_pct: Option<f64>,
    keys: Option<i64>,
    items: Option<Vec<String>>,
    photos: Vec<InspectionPhoto>,
    damages: Option<Vec<Damage>>,
}

/// A camera on a truck's deck or in a warehouse bay.
#[derive(ToSchema)]
pub struct CameraBody {
    #[schema(example = "yue-a-12345-deck")]
    camera_id: String,
    /// A truck camera (a carrier's own trucks; an admin adds `carrier_id`).
    #[schema(example = "YUE-A-12345")]
    truck_id: Option<String>,
    /// A site camera (admin).
    site_id: Option<String>,
    carrier_id: Option<String>,
}

/// A camera registered: its ingest URL holds a secret, shown this once.
#[derive(ToSchema)]
pub struct CameraRegistered {
    camera_id: String,
    /// `truck` or `site`.
    kind: String,
    live: bool,
    #[schema(example = "https://vinpath.example/api/v1/ingest/vpcam_.../live.m3u8")]
    ingest_url: String,
}

/// Every camera, and whether each is live.
#[derive(ToSchema)]
pub struct CameraList {
    cameras: Vec<serde_json::Value>,
}

/// What the customer signs at the door.
#[derive(ToSchema)]
pub struct HandoverBody {
    /// false: the car is not accepted (`exceptions` says why).
    accepted: bool,
    /// What the customer found wrong; may go with `accepted: true`.
    #[schema(example = "")]
    exceptions: Option<String>,
    #[schema(example = "Li Wei")]
    signer_name: String,
    /// A PNG data URL of at most 512 KiB.
    #[schema(example = "data:image/png;base64,iVBORw0KGgo=")]
    signature: String,
}

/// The code the customer tells the driver.
#[derive(ToSchema)]
pub struct HandoverCode {
    #[schema(example = "483920")]
    handover_code: String,
}

/// An inspection recorded: the damages no earlier stage saw.
#[derive(ToSchema)]
pub struct InspectionRecorded {
    inspection_id: String,
    stage: String,
    at: String,
    new_damages: Vec<Damage>,
}

/// An order's inspections, oldest first.
#[derive(ToSchema)]
pub struct Inspections {
    inspections: Vec<serde_json::Value>,
}

/// A damage code with its names.
#[derive(ToSchema)]
pub struct DamageCode {
    #[schema(example = "03")]
    code: String,
    #[schema(example = "Bumper/Cover/Ext - Front")]
    name: String,
    #[schema(example = "前保险杠/饰板")]
    name_zh: String,
}

/// The AIAG / ECG damage codes.
#[derive(ToSchema)]
pub struct DamageCodes {
    /// Where the tables come from.
    source: String,
    areas: Vec<DamageCode>,
    types: Vec<DamageCode>,
    severities: Vec<DamageCode>,
}

#[derive(ToSchema)]
pub struct Sites {
    sites: Vec<Site>,
}

/// A planned route: a GeoJSON LineString (`[lon, lat]` pairs).
#[derive(ToSchema)]
pub struct Route {
    #[schema(example = "LineString")]
    r#type: String,
    coordinates: Vec<Vec<f64>>,
}

#[derive(ToSchema)]
pub struct Alerts {
    alerts: Vec<Alert>,
}

/// An open alert.
#[derive(ToSchema)]
pub struct Alert {
    alert_id: String,
    /// `stationary`, `off_route`, `late`, `no_signal`, `emergency`.
    kind: String,
    order_id: Option<String>,
    truck_id: Option<String>,
    since: String,
    /// Data to word it by: `{"minutes_still"}` (stationary),
    /// `{"km_off_route"}`, `{"minutes_late", "eta", "promised_by"}`,
    /// `{"since"}` (no signal), `{"protocol", "device_id"}` (emergency).
    #[schema(value_type = Object)]
    detail: Value,
    /// Set once a dispatcher acknowledged it: `{by, at, note}`.
    #[schema(value_type = Option<Object>)]
    ack: Option<Value>,
}

/// A dispatcher's acknowledgement of an alert.
#[derive(ToSchema)]
pub struct AckRequest {
    /// At most 500 characters.
    #[schema(example = "called the driver: tyre change, back on the road by 15:00")]
    note: Option<String>,
}

/// A link that plays a clip without a token until `expires_at`.
#[derive(ToSchema)]
pub struct ClipLink {
    url: String,
    expires_at: String,
}

#[derive(ToSchema)]
pub struct ClipStored {
    clip_id: String,
    order_ids: Vec<String>,
}

#[derive(ToSchema)]
pub struct NewCarrier {
    carrier_id: String,
    name: String,
}

#[derive(ToSchema)]
pub struct CarrierCreated {
    carrier_id: String,
    /// Shown once.
    api_key: String,
    credential_id: String,
}

#[derive(ToSchema)]
pub struct NewDispatcher {
    name: String,
}

#[derive(ToSchema)]
pub struct DispatcherCreated {
    /// Shown once.
    token: String,
    credential_id: String,
    name: Option<String>,
}

#[derive(ToSchema)]
pub struct KeyIssued {
    api_key: String,
    credential_id: String,
}

#[derive(ToSchema)]
pub struct Credential {
    credential_id: String,
    role: String,
    carrier_id: Option<String>,
    name: String,
    created_at: Option<String>,
    last_used_at: Option<String>,
}

#[derive(ToSchema)]
pub struct AuditEntry {
    at: String,
    credential_id: String,
    role: String,
    /// `METHOD /route/{pattern}`.
    action: String,
    target: String,
    cursor: Option<String>,
}

#[derive(ToSchema)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    next: Option<String>,
}

#[derive(ToSchema)]
pub struct NewDevice {
    /// A JT/T 808 terminal's phone number, or a Traccar Client identifier.
    device_id: String,
    /// `jt808` or `osmand`.
    protocol: String,
    truck_id: Option<String>,
    order_id: Option<String>,
    /// Admins name the carrier; a carrier registers for itself.
    carrier_id: Option<String>,
}

#[derive(ToSchema)]
pub struct Device {
    device_id: String,
    protocol: String,
    carrier_id: String,
    truck_id: Option<String>,
    order_id: Option<String>,
}

#[derive(ToSchema)]
pub struct NewWebhook {
    url: String,
    /// `order.milestone`, `order.eta`, `order.clip`, `order.live`,
    /// `order.inspection`, `order.handover`, `order.correction`, `alert`.
    events: Vec<String>,
    description: Option<String>,
}

#[derive(ToSchema)]
pub struct Webhook {
    webhook_id: String,
    url: String,
    events: Vec<String>,
    description: String,
    created_at: String,
    /// It answered 410 Gone: nothing more is sent.
    disabled: bool,
    /// Only in the answer that made it (`whsec_...`).
    secret: Option<String>,
}

#[derive(ToSchema)]
pub struct Delivery {
    delivery_id: String,
    r#type: String,
    order_id: String,
    /// `pending`, `delivered` or `failed`.
    status: String,
    attempts: u32,
    last_status: Option<u16>,
    next_attempt_at: Option<String>,
    created_at: String,
}

#[derive(ToSchema)]
pub struct Health {
    status: String,
}

#[derive(ToSchema)]
pub struct Readiness {
    status: String,
    redis: Option<String>,
    live: Option<String>,
    clips: Option<String>,
}

/// A clip's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Video(Vec<u8>);

/// The errors a read may answer.
#[derive(utoipa::IntoResponses)]
pub enum ReadErrors {
    #[response(
        status = 400,
        description = "The request cannot be read",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "A valid bearer credential is required",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "This credential may not do this",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "Not found",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 503,
        description = "Redis or the clip store is unavailable; retry after Retry-After",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// The errors a write may answer.
#[derive(utoipa::IntoResponses)]
pub enum WriteErrors {
    #[response(
        status = 400,
        description = "The request cannot be read (malformed JSON)",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "A valid bearer credential is required",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "This credential may not do this",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "Not found",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 409,
        description = "Conflicts with what exists",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    #[response(
        status = 413,
        description = "Too large",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "Unsupported content type",
        content_type = "application/problem+json"
    )]
    UnsupportedMediaType(Problem),
    #[response(
        status = 422,
        description = "A field is invalid (named in `errors`)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
    #[response(
        status = 503,
        description = "Redis or the clip store is unavailable; retry after Retry-After",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// The errors of a customer's link.
#[derive(utoipa::IntoResponses)]
pub enum PublicErrors {
    #[response(
        status = 404,
        description = "Unknown, rotated or expired link: the same answer in every case",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 503,
        description = "Redis is unavailable; retry after Retry-After",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// The errors of playing a clip.
#[derive(utoipa::IntoResponses)]
pub enum ClipErrors {
    #[response(
        status = 400,
        description = "The request cannot be read",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "A valid bearer credential is required",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "This credential may not do this",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(
        status = 404,
        description = "Not found",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 416,
        description = "The range is outside the clip",
        content_type = "application/problem+json"
    )]
    RangeNotSatisfiable(Problem),
    #[response(
        status = 503,
        description = "Redis or the clip store is unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// The errors of playing a clip from a customer's link.
#[derive(utoipa::IntoResponses)]
pub enum PublicClipErrors {
    #[response(
        status = 404,
        description = "Unknown link or clip",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(
        status = 416,
        description = "The range is outside the clip",
        content_type = "application/problem+json"
    )]
    RangeNotSatisfiable(Problem),
    #[response(
        status = 503,
        description = "Redis or the clip store is unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Not ready.
#[derive(utoipa::IntoResponses)]
pub enum NotReady {
    #[response(
        status = 503,
        description = "Redis, the live channels or the clip store do not answer"
    )]
    Unavailable(Readiness),
}
