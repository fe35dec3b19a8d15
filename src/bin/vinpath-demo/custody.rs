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

/// The customer signs for the car on their tracking page (a drawn stroke
/// as the page's canvas sends it); returns the code to tell the driver. A
/// customer who found new damage accepts the car with a note of it.
pub async fn sign(api: &Api, token: &str, name: &str, noted: bool) -> Option<String> {
    use base64::Engine;
    let mut img = image::GrayAlphaImage::new(360, 120);
    for x in 30..330u32 {
        let y = 60.0 + 30.0 * ((x as f32) / 28.0).sin() * (x as f32 / 330.0);
        for dy in 0..3 {
            img.put_pixel(x, y as u32 + dy, image::LumaA([16, 255]));
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    let body = json!({
        "accepted": true,
        "exceptions": if noted { "new scratch on the left front door, noted with the driver" } else { "" },
        "signer_name": name,
        "signature": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)),
    });
    let (status, v) = api
        .post(&format!("/api/v1/track/{token}/handover"), "", &body)
        .await
        .ok()?;
    if status != 201 {
        eprintln!("handover of {token}: {status} {v}");
        return None;
    }
    v["handover_code"].as_str().map(str::to_owned)
}
