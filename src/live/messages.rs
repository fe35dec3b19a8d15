//! The JSON frames of the websockets, as the contract names them.

use serde_json::{Map, Value, json};

use super::hub::{AlertChange, OrderChange, TruckMove};

/// `/ws/track`'s snapshot (with `reset` when a resume was impossible).
pub fn snapshot(cursor: &str, order: Value, reset: bool) -> String {
    let mut v = json!({"type": "snapshot", "cursor": cursor, "order": order});
    if reset {
        v["reset"] = Value::Bool(true);
    }
    v.to_string()
}

/// The customer-facing events of one history entry: a milestone, a new
/// position, or both. Nothing carrier-internal (notes, trucks) goes out.
pub fn track_events(
    cursor: &str,
    change: &str,
    gap: bool,
    record: &Map<String, Value>,
    clip_base: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let at = record.get("occurred_at").cloned().unwrap_or(Value::Null);
    if change.contains('m') {
        let event = json!({
            "kind": "milestone",
            "milestone": record.get("milestone"),
            "at": at,
            "gap": gap,
        });
        out.push(json!({"type": "event", "cursor": cursor, "event": event}).to_string());
    }
    if change.contains('p') {
        let event = json!({
            "kind": "position",
            "lat": record.get("lat"),
            "lon": record.get("lon"),
            "at": at,
            "speed_kmh": record.get("speed_kmh"),
            "heading": record.get("heading"),
        });
        out.push(json!({"type": "event", "cursor": cursor, "event": event}).to_string());
    }
    if change.contains('e') {
        let event = json!({"kind": "eta", "eta": record.get("eta")});
        out.push(json!({"type": "event", "cursor": cursor, "event": event}).to_string());
    }
    if change.contains('n') {
        let event = json!({"kind": "notice", "text": record.get("text"), "at": at});
        out.push(json!({"type": "event", "cursor": cursor, "event": event}).to_string());
    }
    if change.contains('c') {
        let id = record
            .get("clip_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let event = json!({
            "kind": "clip",
            "clip_id": id,
            "clip_kind": record.get("clip_kind"),
            "captured_at": record.get("captured_at"),
            "url": format!("{clip_base}{id}"),
        });
        out.push(json!({"type": "event", "cursor": cursor, "event": event}).to_string());
    }
    out
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

/// A fleet alert event, when raised and when cleared.
pub fn fleet_alert(a: &AlertChange) -> String {
    let mut event = a.alert.clone();
    if let Some(m) = event.as_object_mut() {
        m.insert("kind".into(), json!("alert"));
        m.insert(
            "alert_kind".into(),
            a.alert.get("kind").cloned().unwrap_or(Value::Null),
        );
        m.insert("state".into(), json!(a.state));
    }
    json!({"type": "event", "event": event}).to_string()
}

pub fn positions(vehicles: Vec<Value>) -> String {
    json!({"type": "positions", "vehicles": vehicles}).to_string()
}
