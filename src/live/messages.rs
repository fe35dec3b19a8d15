//! The JSON frames of the websockets, as the contract names them.

use serde_json::{Map, Value, json};

use crate::store::live_wire::{AlertChange, Change, OrderChange, TruckMove};

/// `/ws/track`'s snapshot (with `reset` when a resume was impossible).
pub fn snapshot(cursor: &str, order: Value, reset: bool) -> String {
    let mut v = json!({"type": "snapshot", "cursor": cursor, "order": order});
    if reset {
        v["reset"] = Value::Bool(true);
    }
    v.to_string()
}

/// The customer-facing frame of one history entry, if it has one: a
/// milestone, a position, an ETA, a notice or a clip. Nothing
/// carrier-internal (notes, trucks, bay positions) goes out.
pub fn track_event(
    cursor: &str,
    change: Option<Change>,
    gap: bool,
    record: &Map<String, Value>,
    clip_base: &str,
) -> Option<String> {
    let event = track_event_object(change?, gap, record, clip_base)?;
    Some(json!({"type": "event", "cursor": cursor, "event": event}).to_string())
}

/// The `event` object of a `/ws/track` frame (webhooks send it too).
pub fn track_event_object(
    change: Change,
    gap: bool,
    record: &Map<String, Value>,
    clip_base: &str,
) -> Option<Value> {
    let at = record.get("occurred_at").cloned().unwrap_or(Value::Null);
    let event = match change {
        Change::Milestone => json!({
            "kind": "milestone",
            "milestone": record.get("milestone"),
            "at": at,
            "gap": gap,
        }),
        Change::Position => json!({
            "kind": "position",
            "lat": record.get("lat"),
            "lon": record.get("lon"),
            "at": at,
            "speed_kmh": record.get("speed_kmh"),
            "heading": record.get("heading"),
        }),
        Change::SitePosition => return None,
        Change::Eta => json!({"kind": "eta", "eta": record.get("eta")}),
        Change::Notice => json!({"kind": "notice", "text": record.get("text"), "at": at}),
        Change::Clip => {
            let id = record
                .get("clip_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!({
                "kind": "clip",
                "clip_id": id,
                "clip_kind": record.get("clip_kind"),
                "captured_at": record.get("captured_at"),
                "url": format!("{clip_base}{id}"),
                "hls": record.get("content_type").and_then(Value::as_str) == Some(crate::recording::HLS),
            })
        }
        Change::Inspection => json!({
            "kind": "inspection",
            "inspection_id": record.get("inspection_id"),
            "stage": record.get("stage"),
            "at": at,
            "damages": record.get("damages"),
            "new_damages": record.get("new_damages"),
        }),
        Change::Live => json!({
            "kind": "live",
            "camera_id": record.get("camera_id"),
            "camera_kind": record.get("camera_kind"),
            "live": record.get("live"),
            "at": at,
        }),
        Change::Handover => json!({
            "kind": "handover",
            "accepted": record.get("accepted"),
            "exceptions": record.get("exceptions"),
            "at": at,
        }),
        // The customer's socket adds the corrected order (`order`).
        Change::Correction => json!({
            "kind": "correction",
            "event_id": record.get("voided_event_id"),
            "reason": record.get("reason"),
            "milestone": record.get("milestone"),
            "at": at,
        }),
    };
    Some(event)
}

/// A fleet camera event (a camera that shows this car went live or off),
/// sent one by one; `url` plays it with a staff token.
pub fn fleet_live(c: &OrderChange) -> String {
    let camera = c
        .event
        .get("camera_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({"type": "event", "event": {
        "kind": "live",
        "order_id": c.order_id,
        "camera_id": camera,
        "live": c.event.get("live"),
        "url": format!("/api/v1/cameras/{camera}/live.m3u8"),
    }})
    .to_string()
}

/// A fleet clip event, sent one by one.
pub fn fleet_clip(c: &OrderChange) -> String {
    json!({"type": "event", "event": {
        "kind": "clip",
        "order_id": c.order_id,
        "clip_id": c.event.get("clip_id"),
        "clip_kind": c.event.get("clip_kind"),
        "captured_at": c.event.get("captured_at"),
    }})
    .to_string()
}

/// A vehicle's latest position for the fleet's batched frame.
pub fn order_vehicle(c: &OrderChange) -> Value {
    json!({
        "order_id": c.order_id,
        "lat": c.event.get("lat"),
        "lon": c.event.get("lon"),
        "at": c.event.get("occurred_at"),
        "speed_kmh": c.event.get("speed_kmh"),
        "milestone": c.milestone,
    })
}

pub fn truck_vehicle(t: &TruckMove) -> Value {
    json!({
        "truck_id": t.truck_id,
        "carrier_id": t.carrier_id,
        "lat": t.position.get("lat"),
        "lon": t.position.get("lon"),
        "at": t.position.get("at"),
        "speed_kmh": t.position.get("speed_kmh"),
        "milestone": null,
    })
}

/// A fleet milestone event, sent one by one.
pub fn fleet_milestone(c: &OrderChange) -> String {
    json!({"type": "event", "event": {
        "kind": "milestone",
        "order_id": c.order_id,
        "milestone": c.milestone,
        "at": c.event.get("occurred_at"),
        "gap": c.gap,
        "truck_id": (!c.truck_id.is_empty()).then_some(&c.truck_id),
        "carrier_id": c.carrier_id,
    }})
    .to_string()
}

/// A fleet correction event: the order's milestone and position as
/// recomputed without a voided event.
pub fn fleet_correction(c: &OrderChange) -> String {
    json!({"type": "event", "event": {
        "kind": "correction",
        "order_id": c.order_id,
        "event_id": c.event.get("voided_event_id"),
        "reason": c.event.get("reason"),
        "milestone": c.milestone,
        "position": c.event.get("position"),
        "truck_id": (!c.truck_id.is_empty()).then_some(&c.truck_id),
        "carrier_id": c.carrier_id,
    }})
    .to_string()
}

/// A fleet alert event, when raised and when cleared.
pub fn fleet_alert(a: &AlertChange) -> String {
    json!({"type": "event", "event": fleet_alert_object(a)}).to_string()
}

/// The `event` object of a fleet alert frame (webhooks send it too).
pub fn fleet_alert_object(a: &AlertChange) -> Value {
    let mut event = a.alert.clone();
    if let Some(m) = event.as_object_mut() {
        m.insert("kind".into(), json!("alert"));
        m.insert(
            "alert_kind".into(),
            a.alert.get("kind").cloned().unwrap_or(Value::Null),
        );
        m.insert("state".into(), json!(a.state.as_str()));
    }
    event
}

pub fn positions(vehicles: Vec<Value>) -> String {
    json!({"type": "positions", "vehicles": vehicles}).to_string()
}
