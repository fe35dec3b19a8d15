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
