//! Custody: the damage codes inspections are written in, and the photos
//! they show (real JPEGs made by ffmpeg, EXIF by exiftool, read back by
//! exiftool).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn the_damage_codes_are_served_to_every_role_in_both_languages() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    for token in [&key, &dispatcher, &app.admin] {
        let r = app
            .call("GET", "/api/v1/damage-codes", Some(token), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let front = r.body["areas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == "03")
            .cloned();
        assert_eq!(
            front,
            Some(
                json!({"code": "03", "name": "Bumper/Cover/Ext - Front", "name_zh": "前保险杠/饰板"})
            )
        );
        assert_eq!(r.body["severities"].as_array().unwrap().len(), 6);
        assert!(r.body["types"].as_array().unwrap().len() > 25);
        assert!(r.body["source"].as_str().unwrap().contains("AIAG"));
    }
    let r = app.call("GET", "/api/v1/damage-codes", None, None).await;
    assert_eq!(r.status, 401);
}

const FRONT: &[u8] = include_bytes!("../../fixtures/photos/front.jpg");

/// What Debian's exiftool reads in these bytes (its JSON, one object).
fn exiftool(bytes: &[u8]) -> serde_json::Value {
    let mut child = Command::new("exiftool")
        .args(["-json", "-n", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("exiftool is installed (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    all[0].clone()
}

#[actix_web::test]
async fn a_photo_keeps_where_and_when_and_customers_get_it_without() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let other = app.carrier("other-carrier").await;
    let token = app.order("JD-P1", "sf-auto").await;
    assert_eq!(
        exiftool(FRONT)["GPSLatitude"],
        json!(23.0301),
        "the fixture carries a phone's GPS"
    );

    let sent = app
        .raw(
            "/api/v1/orders/JD-P1/photos",
            &key,
            "image/jpeg",
            FRONT.to_vec(),
        )
        .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.body["photo_id"].as_str().unwrap().to_owned();
    assert_eq!(sent.body["taken_at"], "2026-11-25T00:05:00Z");
    assert_eq!(
        (sent.body["width"].clone(), sent.body["height"].clone()),
        (json!(1280), json!(960))
    );
    assert!((sent.body["lat"].as_f64().unwrap() - 23.0301).abs() < 1e-4);

    // A retry of the same photo answers the first answer.
    let again = app
        .raw(
            "/api/v1/orders/JD-P1/photos",
            &key,
            "image/jpeg",
            FRONT.to_vec(),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, sent.body);

    // Staff and its carrier read it as sent; its copies are JPEGs.
    let original = app
        .call(
            "GET",
            &format!("/api/v1/orders/JD-P1/photos/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(original.status, 200);
    assert_eq!(original.bytes, FRONT);
    let thumb = app
        .call(
            "GET",
            &format!("/api/v1/orders/JD-P1/photos/{id}?copy=thumb"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(thumb.header("content-type"), Some("image/jpeg"));
    assert_eq!(exiftool(&thumb.bytes)["ImageWidth"], json!(320));

    // The customer sees it without the phone's GPS, time or make.
    let seen = app
        .call(
            "GET",
            &format!("/api/v1/track/{token}/photos/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(seen.status, 200);
    let tags = exiftool(&seen.bytes);
    assert_eq!(tags["MIMEType"], "image/jpeg");
    for tag in [
        "GPSLatitude",
        "GPSLongitude",
        "DateTimeOriginal",
        "Make",
        "Model",
    ] {
        assert!(
            tags.get(tag).is_none(),
            "{tag} left with the customer's copy: {tags}"
        );
    }
    let refused = app
        .call(
            "GET",
            &format!("/api/v1/track/{token}/photos/{id}?copy=original"),
            None,
            None,
        )
        .await;
    assert_eq!(refused.status, 422, "never the original to a customer");

    // Another carrier's order, no image, too large: refused.
    let theirs = app
        .raw(
            "/api/v1/orders/JD-P1/photos",
            &other,
            "image/jpeg",
            FRONT.to_vec(),
        )
        .await;
    assert_eq!(theirs.status, 403);
    let pdf = app
        .raw(
            "/api/v1/orders/JD-P1/photos",
            &key,
            "image/jpeg",
            b"%PDF-1.7\n".to_vec(),
        )
        .await;
    assert_eq!(pdf.status, 415, "{}", pdf.body);
    assert_eq!(pdf.body["code"], "unsupported_media_type");
    let mut huge = FRONT.to_vec();
    huge.resize(20 * 1024 * 1024 + 1, 0);
    let big = app
        .raw("/api/v1/orders/JD-P1/photos", &key, "image/jpeg", huge)
        .await;
    assert_eq!(big.status, 413);
    let unknown = app
        .raw(
            "/api/v1/orders/JD-NONE/photos",
            &key,
            "image/jpeg",
            FRONT.to_vec(),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let missing = app
        .call(
            "GET",
            "/api/v1/orders/JD-P1/photos/ph_000000000000000000000000",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
}

/// Sends the six views of a fixture car for an order; their photo ids by view.
pub async fn six_views(app: &TestApp, key: &str, order: &str, tint: u8) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for view in ["front", "rear", "left", "right", "interior", "odometer"] {
        let mut bytes = std::fs::read(format!(
            "{}/fixtures/photos/{view}.jpg",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        // Another stage's photos are other photos: a byte after the JPEG's end.
        bytes.push(tint);
        let r = app
            .raw(
                &format!("/api/v1/orders/{order}/photos"),
                key,
                "image/jpeg",
                bytes,
            )
            .await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        out.push((
            view.to_owned(),
            r.body["photo_id"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

pub fn inspection(
    id: &str,
    stage: &str,
    at: &str,
    views: &[(String, String)],
    damages: serde_json::Value,
) -> serde_json::Value {
    let photos: Vec<_> = views
        .iter()
        .map(|(v, p)| json!({"photo_id": p, "view": v}))
        .collect();
    json!({"inspection_id": id, "stage": stage, "at": at, "lat": 23.03, "lon": 113.47,
        "inspector": "Wang Qiang", "odometer_km": 12, "battery_soc_pct": 80, "keys": 2,
        "items": ["charging cable"], "photos": photos, "damages": damages})
}

#[actix_web::test]
async fn new_damage_at_delivery_is_found_told_and_alerted() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let token = app.order("JD-I1", "sf-auto").await;
    app.order("JD-I2", "sf-auto").await;
    let pickup_views = six_views(&app, &key, "JD-I1", 1).await;
    let scratch = json!({"area": "03", "type": "12", "severity": "1", "note": "small scratch"});
    let pickup = inspection(
        "ins-p",
        "pickup",
        &at(-600),
        &pickup_views,
        json!([scratch]),
    );
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(pickup.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["new_damages"].as_array().unwrap().len(),
        1,
        "nothing before pickup"
    );
    // A retry answers the first answer; another body with its id is a conflict.
    let again = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(pickup.clone()),
        )
        .await;
    assert_eq!((again.status, again.body.clone()), (200, r.body.clone()));
    let mut changed = pickup.clone();
    changed["odometer_km"] = json!(13);
    let conflict = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(changed),
        )
        .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["code"], "inspection_conflict");

    // Bad input names its field and records nothing.
    let mut bad = inspection(
        "ins-bad",
        "delivery",
        &at(-10),
        &pickup_views,
        json!([{"area": "99", "type": "12", "severity": "1"}]),
    );
    bad["photos"][0]["view"] = json!("roof");
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(bad),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"damages[0].area") && fields.contains(&"photos[0].view"),
        "{fields:?}"
    );
    // A photo of another order.
    let theirs = six_views(&app, &key, "JD-I2", 2).await;
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(inspection(
                "ins-x",
                "delivery",
                &at(-10),
                &theirs,
                json!([]),
            )),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "photos[0].photo_id");

    // At the door: the old scratch and a new dent on the left front door.
    let door = six_views(&app, &key, "JD-I1", 3).await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    ws.next().await;
    let dent = json!({"area": "10", "type": "14", "severity": "2", "photo_ids": [door[2].1]});
    let delivery = inspection("ins-d", "delivery", &at(-5), &door, json!([scratch, dent]));
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-I1/inspections",
            Some(&key),
            Some(delivery),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = r.body["new_damages"].as_array().unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(
        (new[0]["area"].clone(), new[0]["type"].clone()),
        (json!("10"), json!("14"))
    );
    // Told live to the customer, and the dispatchers get a damage alert.
    let told = loop {
        let f = ws
            .next_within(std::time::Duration::from_secs(5))
            .await
            .expect("told");
        if f["event"]["kind"] == "inspection" {
            break f;
        }
    };
    assert_eq!(told["event"]["stage"], "delivery");
    assert_eq!(told["event"]["new_damages"][0]["area"], "10");
    let alerts = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    let damage = alerts.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "damage")
        .cloned()
        .expect("a damage alert");
    assert_eq!(damage["order_id"], "JD-I1");
    assert_eq!(damage["detail"]["damages"][0]["area"], "10");
    let list = app
        .call(
            "GET",
            "/api/v1/orders/JD-I1/inspections",
            Some(&dispatcher),
            None,
        )
        .await;
    let stages: Vec<&str> = list.body["inspections"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["stage"].as_str())
        .collect();
    assert_eq!(stages, ["pickup", "delivery"]);
    assert!(list.body["inspections"][0].get("digest").is_none());
    let other = app.carrier("other-carrier").await;
    let r = app
        .call(
            "GET",
            "/api/v1/orders/JD-I1/inspections",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(r.status, 403);

    // The customer's view: both stages, the dent marked new and named in
    // both languages, photos under the link's token.
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    let at_door = &view.body["inspections"][1];
    assert_eq!(at_door["stage"], "delivery");
    let damages = at_door["damages"].as_array().unwrap();
    let dent = damages.iter().find(|d| d["area"] == "10").unwrap();
    let old = damages.iter().find(|d| d["area"] == "03").unwrap();
    assert_eq!(
        (dent["new"].clone(), old["new"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(
        dent["text"]["zh"],
        "左前门：凹陷（漆面/镀铬未损），2.5–7.5厘米"
    );
    assert!(
        dent["text"]["en"]
            .as_str()
            .unwrap()
            .starts_with("Door - Left Front: Dented")
    );
    let url = at_door["photos"][0]["url"].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    let photo = app.call("GET", path, None, None).await;
    assert_eq!(photo.status, 200, "{path}");
    assert_eq!(photo.header("content-type"), Some("image/jpeg"));
}
