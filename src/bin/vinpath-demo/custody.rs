//! The demo's inspections: each car's six views photographed and its
//! condition recorded when it is loaded at the plant and when it is handed
//! over at the door, as a carrier's app would (real JPEGs, EXIF and all).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use vinpath::client::Api;

use crate::fleet::iso;

const VIEWS: [(&str, &[u8]); 6] = [
    (
        "front",
        include_bytes!("../../../fixtures/photos/front.jpg"),
    ),
    ("rear", include_bytes!("../../../fixtures/photos/rear.jpg")),
    ("left", include_bytes!("../../../fixtures/photos/left.jpg")),
    (
        "right",
        include_bytes!("../../../fixtures/photos/right.jpg"),
    ),
    (
        "interior",
        include_bytes!("../../../fixtures/photos/interior.jpg"),
    ),
    (
        "odometer",
        include_bytes!("../../../fixtures/photos/odometer.jpg"),
    ),
];

/// Photographs a car's six views and records an inspection with these
/// damages (AIAG codes). A failure is told and the demo goes on.
pub async fn inspect(
    api: &Api,
    key: &str,
    order: &str,
    stage: &str,
    at: DateTime<Utc>,
    damages: Value,
) {
    let mut photos = Vec::new();
    for (view, bytes) in VIEWS {
        let sent = api
            .client
            .post(format!("{}/api/v1/orders/{order}/photos", api.base))
            .insert_header(("Authorization", format!("Bearer {key}")))
            .insert_header(("Content-Type", "image/jpeg"))
            .send_body(bytes)
            .await;
        let id = match sent {
            Ok(mut r) => r
                .json::<Value>()
                .await
                .ok()
                .and_then(|v| v["photo_id"].as_str().map(str::to_owned)),
            Err(_) => None,
        };
        match id {
            Some(id) => photos.push(json!({"photo_id": id, "view": view})),
            None => {
                eprintln!("simulate: a photo of {order} was not taken");
                return;
            }
        }
    }
    let body = json!({"inspection_id": format!("{order}-{stage}"), "stage": stage, "at": iso(at),
        "inspector": "Wang Qiang", "odometer_km": if stage == "pickup" { 3 } else { 1650 },
        "battery_soc_pct": if stage == "pickup" { 80 } else { 64 }, "keys": 2,
        "items": ["charging cable", "warning triangle"], "photos": photos, "damages": damages});
    match api
        .post(&format!("/api/v1/orders/{order}/inspections"), key, &body)
        .await
    {
        Ok((200 | 201, _)) => {}
        Ok((s, v)) => eprintln!("simulate: the {stage} inspection of {order}: {s} {v}"),
        Err(e) => eprintln!("simulate: the {stage} inspection of {order}: {e}"),
    }
}
