//! What an outbox entry reports: its webhook event type, its order, and
//! the `data` of the delivery (the `event` object of the matching
//! `/ws/track` or `/ws/fleet` frame, with `order_id`).

use serde_json::{Value, json};

use crate::live::messages::{fleet_alert_object, track_event_object};
use crate::store::live_wire::{Change, LiveMessage};

/// Every event type an endpoint may ask for (contract v2).
pub const TYPES: [&str; 8] = [
    "order.milestone",
    "order.eta",
    "order.clip",
    "order.live",
    "order.inspection",
    "order.handover",
    "order.correction",
    "alert",
];

/// A change as webhooks report it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reported {
    pub kind: &'static str,
    pub order_id: String,
    pub data: Value,
}

/// Reads an outbox entry (a live message); `None` for what webhooks do
/// not report. `public_url` makes clip links staff can open.
pub fn reported(message: &str, public_url: &str) -> Option<Reported> {
    match LiveMessage::parse(message.as_bytes()).ok()? {
        LiveMessage::Order(c) => {
            let kind = match c.change {
                Change::Milestone => "order.milestone",
                Change::Eta => "order.eta",
                Change::Clip => "order.clip",
                Change::Correction => "order.correction",
                Change::Inspection => "order.inspection",
                Change::Handover => "order.handover",
                Change::Live => "order.live",
                _ => return None,
            };
            let clip_base = format!("{public_url}/api/v1/orders/{}/clips/", c.order_id);
            let mut data = track_event_object(c.change, c.gap, &c.event, &clip_base)?;
            data["order_id"] = json!(c.order_id);
            if c.change == Change::Live
                && let Some(camera) = c.event.get("camera_id").and_then(|v| v.as_str())
            {
                data["url"] = json!(format!("{public_url}/api/v1/cameras/{camera}/live.m3u8"));
            }
            Some(Reported {
                kind,
                order_id: c.order_id,
                data,
            })
        }
        LiveMessage::Alert(a) => {
            let order_id = a.alert.get("order_id")?.as_str()?.to_owned();
            Some(Reported {
                kind: "alert",
                order_id,
                data: fleet_alert_object(&a),
            })
        }
        _ => None,
    }
}
