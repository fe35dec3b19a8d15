//! The handover at the door, with `VINPATH_PROOF_OF_DELIVERY` at its
//! default (`required`): pickup → delivery with a new scratch → alert →
//! the customer signs → `delivered` with the code → the proof of delivery
//! PDF, read back with poppler's `pdftotext` and drawn with `pdftoppm`.

use std::process::Command;

use base64::Engine;
use std::time::Duration;

use serde_json::{Value, json};

use crate::inspections::{inspection, six_views};
use crate::support::*;

/// A vinpath as shipped: a delivery needs the customer's proof.
async fn spawn(redis: &TestRedis) -> TestApp {
    let mut s = settings(redis);
    s.store.proof_required = true;
    TestApp::with(s).await
}

/// A signature as a phone's canvas gives it: a PNG data URL of a stroke.
pub fn signature(seed: u8) -> String {
    let mut img = image::GrayAlphaImage::new(300, 100);
    for x in 20..280u32 {
        let y = 50.0 + 25.0 * ((x as f32 + seed as f32) / 30.0).sin();
        for dy in 0..3 {
            img.put_pixel(x, y as u32 + dy, image::LumaA([16, 255]));
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// Brings an order out for delivery, inspected at pickup and at the door
/// (the door's inspection finds a new scratch on the front bumper).
pub async fn at_the_door(app: &TestApp, key: &str, order: &str) {
    let pickup = six_views(app, key, order, 1).await;
    let r = app
        .call(
            "POST",
            &format!("/api/v1/orders/{order}/inspections"),
            Some(key),
            Some(inspection(
                &format!("{order}-p"),
                "pickup",
                &at(-300),
                &pickup,
                json!([]),
            )),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let steps = [
        "produced",
        "released",
        "loaded",
        "unloaded",
        "out_for_delivery",
    ];
    for (i, m) in steps.iter().enumerate() {
        let mut e = scan(&format!("{order}-{m}"), order, m, -200 + i as i64 * 10);
        if *m == "loaded" {
            e["truck_id"] = json!("YUE-A-1");
        }
        app.post_expect(key, json!([e]), "accepted").await;
    }
}

async fn deliver_inspection(app: &TestApp, key: &str, order: &str) -> Value {
    let door = six_views(app, key, order, 2).await;
    let r = app
        .call(
            "POST",
            &format!("/api/v1/orders/{order}/inspections"),
            Some(key),
            Some(inspection(
                &format!("{order}-d"),
                "delivery",
                &at(-5),
                &door,
                json!([{"area": "03", "type": "12", "severity": "2", "note": "scratch on the front bumper"}]),
            )),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn sign(app: &TestApp, token: &str, body: Value) -> Reply {
    app.call(
        "POST",
        &format!("/api/v1/track/{token}/handover"),
        None,
        Some(body),
    )
    .await
}

fn delivered(id: &str, order: &str, extra: Value) -> Value {
    let mut e = scan(id, order, "delivered", -1);
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

async fn deliver(app: &TestApp, key: &str, event: Value) -> Value {
    let r = app.events(key, json!([event])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["results"][0].clone()
}

/// The text of a PDF, by poppler's pdftotext.
fn pdf_text(pdf: &[u8], name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext is installed (scripts/test installs poppler-utils)");
    assert!(out.status.success(), "pdftotext reads it");
    String::from_utf8(out.stdout).unwrap()
}

/// Its first page drawn into the tests' screenshots, by pdftoppm.
fn pdf_picture(pdf: &[u8], name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "2"])
        .arg(&path)
        .arg(dir.join(name))
        .status()
        .expect("pdftoppm is installed");
    assert!(status.success());
}

#[actix_web::test]
async fn the_customer_signs_and_the_driver_delivers_with_the_code() {
    let redis = TestRedis::start();
    let app = spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let token = app.order("JD-H1", "sf-auto").await;
    at_the_door(&app, &key, "JD-H1").await;

    // Nothing to sign before the driver records the car at the door.
    let r = sign(
        &app,
        &token,
        json!({"accepted": true, "signer_name": "Li Wei", "signature": signature(0)}),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("handover_not_ready")),
        "{}",
        r.body
    );
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(view["handover"]["ready"], false);

    // The door's inspection finds a new scratch: an alert for dispatchers.
    let d = deliver_inspection(&app, &key, "JD-H1").await;
    assert_eq!(d["new_damages"].as_array().unwrap().len(), 1);
    let alerts = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await
        .body;
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "damage" && a["order_id"] == "JD-H1"),
        "{alerts}"
    );

    // A delivery without the customer's code is refused, and changes nothing.
    let r = deliver(&app, &key, delivered("d0", "JD-H1", json!({}))).await;
    assert_eq!(
        (r["status"].as_str(), r["code"].as_str()),
        (Some("rejected"), Some("handover_required")),
        "{r}"
    );
    let r = deliver(
        &app,
        &key,
        delivered("d1", "JD-H1", json!({"handover_code": "000000"})),
    )
    .await;
    assert_eq!(r["code"], "handover_code_mismatch", "{r}");
    assert_eq!(
        app.get_order("JD-H1").await["milestone"],
        "out_for_delivery"
    );

    // Bad signings name their field and store nothing.
    let bad = [
        json!({"accepted": true, "signer_name": "Li Wei", "signature": "data:image/jpeg;base64,/9j/4AAQ"}),
        json!({"accepted": true, "signer_name": "Li Wei", "signature": format!("data:image/png;base64,{}", "A".repeat(600 * 1024))}),
        json!({"accepted": true, "signer_name": "", "signature": signature(0)}),
        json!({"accepted": false, "signer_name": "Li Wei", "signature": signature(0)}),
    ];
    for (body, field) in
        bad.into_iter()
            .zip(["signature", "signature", "signer_name", "exceptions"])
    {
        let r = sign(&app, &token, body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let r = app
        .raw(
            &format!("/api/v1/track/{token}/handover"),
            "none",
            "text/plain",
            b"accepted".to_vec(),
        )
        .await;
    assert_eq!(r.status, 415);
    let r = sign(
        &app,
        "not-a-token",
        json!({"accepted": true, "signer_name": "Li Wei", "signature": signature(0)}),
    )
    .await;
    assert_eq!(r.status, 404);
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(view["handover"]["signed"], Value::Null, "nothing stored");
    assert_eq!(view["handover"]["ready"], true);

    // The customer watches; signs; gets the code; a retry answers it again.
    let mut watching = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert_eq!(watching.next().await["type"], "snapshot");
    let body = json!({"accepted": true, "exceptions": "scratch on the front bumper, agreed with the driver",
        "signer_name": "Li Wei", "signature": signature(1)});
    let r = sign(&app, &token, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["handover_code"].as_str().unwrap().to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let again = sign(&app, &token, body.clone()).await;
    assert_eq!(
        (again.status, again.body.clone()),
        (201, r.body.clone()),
        "a retry answers the first answer"
    );
    let mut other = body.clone();
    other["signature"] = json!(signature(9));
    let r = sign(&app, &token, other).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("handover_conflict")),
        "{}",
        r.body
    );
    let told = watching.next().await;
    assert_eq!(told["event"]["kind"], "handover", "{told}");
    assert_eq!(told["event"]["accepted"], true);
    assert!(
        !told.to_string().contains(&code),
        "the code is not broadcast"
    );
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(
        view["handover"]["signed"]["code"],
        code.as_str(),
        "the customer's page shows their code again"
    );
    assert_eq!(view["handover"]["signed"]["signer_name"], "Li Wei");
    assert_eq!(view["handover"]["ready"], false);

    // The driver delivers with it; a retry is a duplicate; the code is spent.
    let r = deliver(
        &app,
        &key,
        delivered("d2", "JD-H1", json!({"handover_code": code})),
    )
    .await;
    assert_eq!(r["status"], "accepted", "{r}");
    let r = deliver(
        &app,
        &key,
        delivered("d2", "JD-H1", json!({"handover_code": code})),
    )
    .await;
    assert_eq!(r["status"], "duplicate", "{r}");
    assert_eq!(app.get_order("JD-H1").await["milestone"], "delivered");
    let history = app.carrier_history("JD-H1").await;
    let scan = history.iter().find(|e| e["event_id"] == "d2").unwrap();
    assert_eq!(scan["handover"], "code");
    assert!(
        !Value::Array(history.clone()).to_string().contains(&code),
        "history keeps no code"
    );
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(
        view["handover"]["proof"]["kind"], "handover",
        "{}",
        view["handover"]
    );
    assert_eq!(
        view["handover"]["signed"]["code"],
        Value::Null,
        "a spent code is not shown"
    );

    // The proof of delivery: the VIN, the codes named in both languages,
    // the exceptions, and the record's hash, the same on every read.
    let r = app
        .call(
            "GET",
            "/api/v1/orders/JD-H1/pod.pdf",
            Some(&dispatcher),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "application/pdf");
    let text = pdf_text(&r.bytes, "pod-JD-H1");
    for needle in [
        "LNAA2AA17SF000001",
        "Aion Y Plus",
        "Bumper/Cover/Ext - Front",
        "前保险杠",
        "Li Wei",
        "scratch on the front bumper, agreed",
        "NEW",
        "the customer's code",
        "Proof of delivery",
        "交付证明",
    ] {
        assert!(text.contains(needle), "the PDF says {needle:?}:\n{text}");
    }
    let hash = |t: &str| {
        t.lines()
            .map(str::trim)
            .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_owned)
    };
    let first = hash(&text).expect("the record's SHA-256");
    let customer = app
        .call("GET", &format!("/api/v1/track/{token}/pod.pdf"), None, None)
        .await;
    assert_eq!(customer.status, 200);
    assert_eq!(
        hash(&pdf_text(&customer.bytes, "pod-JD-H1-customer")),
        Some(first),
        "the same record, the same hash"
    );
    pdf_picture(&r.bytes, "pod-JD-H1");
    // Another carrier may not read it.
    let stranger = app.carrier("other").await;
    let r = app
        .call("GET", "/api/v1/orders/JD-H1/pod.pdf", Some(&stranger), None)
        .await;
    assert!(r.status == 403 || r.status == 404, "{}", r.status);
}

#[actix_web::test]
async fn five_wrong_codes_lock_it_until_the_customer_signs_again() {
    let redis = TestRedis::start();
    let app = spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-H2", "sf-auto").await;
    at_the_door(&app, &key, "JD-H2").await;
    deliver_inspection(&app, &key, "JD-H2").await;
    let body = json!({"accepted": true, "signer_name": "Li Wei", "signature": signature(3)});
    let code = sign(&app, &token, body.clone()).await.body["handover_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for n in 1..=5 {
        let r = deliver(
            &app,
            &key,
            delivered(&format!("w{n}"), "JD-H2", json!({"handover_code": wrong})),
        )
        .await;
        assert_eq!(r["code"], "handover_code_mismatch", "{r}");
        assert!(
            r["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{n} of 5")),
            "{r}"
        );
    }
    // Locked: even the right code no longer opens it.
    let r = deliver(
        &app,
        &key,
        delivered("right", "JD-H2", json!({"handover_code": code})),
    )
    .await;
    assert_eq!(r["code"], "handover_code_mismatch", "{r}");
    assert!(r["message"].as_str().unwrap().contains("locked"), "{r}");
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(view["handover"]["signed"]["locked"], true);
    assert_eq!(
        view["handover"]["ready"], true,
        "the customer may sign again"
    );
    // Signing again gives a new code, which delivers.
    let fresh = sign(&app, &token, body).await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    let fresh = fresh.body["handover_code"].as_str().unwrap().to_owned();
    let r = deliver(
        &app,
        &key,
        delivered("right-2", "JD-H2", json!({"handover_code": fresh})),
    )
    .await;
    assert_eq!(r["status"], "accepted", "{r}");
}

/// A code is for its delivery run: a car brought back to storage and sent
/// out again needs the customer to sign again.
#[actix_web::test]
async fn a_code_expires_with_its_delivery_run() {
    let redis = TestRedis::start();
    let app = spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-H5", "sf-auto").await;
    at_the_door(&app, &key, "JD-H5").await;
    deliver_inspection(&app, &key, "JD-H5").await;
    let body = json!({"accepted": true, "signer_name": "Li Wei", "signature": signature(5)});
    let first = sign(&app, &token, body.clone()).await.body["handover_code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nobody could take it: back to storage, out again later.
    app.post_expect(
        &key,
        json!([scan("H5-back", "JD-H5", "in_storage", -40)]),
        "accepted",
    )
    .await;
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    assert_eq!(
        view["handover"]["signed"],
        Value::Null,
        "no code while the car is back"
    );
    assert_eq!(
        sign(&app, &token, body.clone()).await.body["code"],
        "handover_not_ready"
    );
    for (i, m) in ["pdi", "ready_for_delivery", "out_for_delivery"]
        .iter()
        .enumerate()
    {
        app.post_expect(
            &key,
            json!([scan(&format!("H5-{m}"), "JD-H5", m, -30 + i as i64)]),
            "accepted",
        )
        .await;
    }
    let r = deliver(
        &app,
        &key,
        delivered("H5-d1", "JD-H5", json!({"handover_code": first})),
    )
    .await;
    assert_eq!(
        r["code"], "handover_code_mismatch",
        "the first run's code: {r}"
    );
    let again = sign(&app, &token, body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    let code = again.body["handover_code"].as_str().unwrap().to_owned();
    let r = deliver(
        &app,
        &key,
        delivered("H5-d2", "JD-H5", json!({"handover_code": code})),
    )
    .await;
    assert_eq!(r["status"], "accepted", "{r}");
}

#[actix_web::test]
async fn nobody_home_is_a_delivery_with_photos_the_customer_is_shown() {
    let redis = TestRedis::start();
    let app = spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-H3", "sf-auto").await;
    app.order("JD-H4", "sf-auto").await;
    at_the_door(&app, &key, "JD-H3").await;
    let ours = six_views(&app, &key, "JD-H3", 7).await;
    let theirs = six_views(&app, &key, "JD-H4", 8).await;
    let ids = |v: &[(String, String)]| v.iter().take(2).map(|(_, p)| p.clone()).collect::<Vec<_>>();

    let one = deliver(
        &app,
        &key,
        delivered(
            "a1",
            "JD-H3",
            json!({"customer_not_available": true, "photo_ids": [ours[0].1]}),
        ),
    )
    .await;
    assert_eq!(one["code"], "invalid_field", "{one}");
    assert!(
        one["message"].as_str().unwrap().contains("photo_ids"),
        "{one}"
    );
    let stranger = deliver(
        &app,
        &key,
        delivered(
            "a2",
            "JD-H3",
            json!({"customer_not_available": true, "photo_ids": ids(&theirs)}),
        ),
    )
    .await;
    assert_eq!(
        stranger["code"], "invalid_field",
        "a photo of another order: {stranger}"
    );
    let both = deliver(&app, &key, delivered("a3", "JD-H3", json!({"customer_not_available": true, "photo_ids": ids(&ours), "handover_code": "123456"}))).await;
    assert_eq!(both["code"], "invalid_field", "{both}");
    assert_eq!(
        app.get_order("JD-H3").await["milestone"],
        "out_for_delivery"
    );

    let mut away = delivered(
        "a4",
        "JD-H3",
        json!({"customer_not_available": true, "photo_ids": ids(&ours)}),
    );
    away["lat"] = json!(39.92);
    away["lon"] = json!(116.46);
    let r = deliver(&app, &key, away).await;
    assert_eq!(r["status"], "accepted", "{r}");
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await
        .body;
    let proof = &view["handover"]["proof"];
    assert_eq!(proof["kind"], "customer_not_available", "{proof}");
    let photos = proof["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2);
    // The customer sees the photos (their copies, without metadata).
    let url = photos[0].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    let r = app.call("GET", path, None, None).await;
    assert_eq!(r.status, 200);
    let r = app
        .call("GET", &format!("/api/v1/track/{token}/pod.pdf"), None, None)
        .await;
    let text = pdf_text(&r.bytes, "pod-JD-H3");
    assert!(text.contains("customer not available"), "{text}");
}

/// Draws a wavy stroke across the signature canvas: with a finger (touch
/// pointer actions) or with a mouse.
async fn draw_signature(c: &fantoccini::Client, finger: bool) {
    use fantoccini::actions::{
        InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction, TouchActions,
    };
    let canvas = c
        .find(fantoccini::Locator::Css("canvas[data-signature]"))
        .await
        .expect("a signature canvas");
    let mut steps = vec![
        PointerAction::MoveToElement {
            element: canvas.clone(),
            duration: None,
            x: -120.0,
            y: 0.0,
        },
        PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        },
    ];
    for k in 1..=24 {
        steps.push(PointerAction::MoveToElement {
            element: canvas.clone(),
            duration: Some(std::time::Duration::from_millis(15)),
            x: -120.0 + k as f64 * 10.0,
            y: 30.0 * ((k as f64) / 3.0).sin(),
        });
    }
    steps.push(PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    });
    if finger {
        let mut touch = TouchActions::new("finger".into());
        for s in steps {
            touch = touch.then(s);
        }
        c.perform_actions(touch).await.expect("drawn with a finger");
    } else {
        let mut mouse = MouseActions::new("mouse".into());
        for s in steps {
            mouse = mouse.then(s);
        }
        c.perform_actions(mouse).await.expect("drawn with a mouse");
    }
}

#[actix_web::test]
async fn on_a_phone_the_customer_reviews_signs_and_gets_the_code() {
    use crate::pages::{Driver, js, screenshot, until};
    let redis = TestRedis::start();
    let app = spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let driver = Driver::start();
    for (lang, finger) in [("zh-CN", true), ("en-US", false)] {
        let short = &lang[..2];
        let order = format!("JD-HP-{short}");
        let token = app.order(&order, "sf-auto").await;
        at_the_door(&app, &key, &order).await;
        deliver_inspection(&app, &key, &order).await;

        let c = driver.browser(true, lang).await;
        c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
        assert!(
            until(
                &c,
                "const h = document.querySelector('[data-handover]'); return !!h && !h.hidden && h.querySelector('[data-new=\"true\"]') !== null && [...h.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0)",
                Duration::from_secs(10)
            )
            .await,
            "the handover panel shows the door's photos and the new damage ({lang})"
        );
        screenshot(&c, &format!("handover-phone-{short}-review")).await;
        // Signing without a signature is stopped on the page.
        c.find(fantoccini::Locator::Css("#hand-name"))
            .await
            .unwrap()
            .send_keys(if finger { "李伟" } else { "Li Wei" })
            .await
            .unwrap();
        c.find(fantoccini::Locator::Css("[data-handover-submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(
            js(&c, "return document.getElementById('hand-error').hidden").await,
            false,
            "asks for a signature first"
        );
        if finger {
            // Accepted with a note of the new scratch.
            c.find(fantoccini::Locator::Css("input[name=accept][value=notes]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            c.find(fantoccini::Locator::Css("#hand-exc"))
                .await
                .unwrap()
                .send_keys("前保险杠新增划痕，已与司机确认")
                .await
                .unwrap();
        }
        draw_signature(&c, finger).await;
        let inked = js(&c, "const c = document.querySelector('canvas[data-signature]'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n").await;
        assert!(
            inked.as_u64().unwrap() > 200,
            "the stroke is drawn: {inked}"
        );
        screenshot(&c, &format!("handover-phone-{short}-signed")).await;
        c.find(fantoccini::Locator::Css("[data-handover-submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert!(
            until(
                &c,
                "return /^[0-9]{6}$/.test(document.querySelector('[data-handover-code]').textContent)",
                Duration::from_secs(10)
            )
            .await,
            "the code is shown ({lang})"
        );
        screenshot(&c, &format!("handover-phone-{short}-code")).await;
        let code = js(
            &c,
            "return document.querySelector('[data-handover-code]').textContent",
        )
        .await;
        let code = code.as_str().unwrap().to_owned();
        // What was signed is what the page drew.
        let view = app
            .call("GET", &format!("/api/v1/track/{token}"), None, None)
            .await
            .body;
        assert_eq!(view["handover"]["signed"]["code"], code.as_str());
        assert_eq!(
            view["handover"]["signed"]["signer_name"],
            if finger { "李伟" } else { "Li Wei" }
        );
        assert_eq!(
            view["handover"]["signed"]["exceptions"],
            if finger {
                "前保险杠新增划痕，已与司机确认"
            } else {
                ""
            }
        );

        // The driver delivers with the code: the page says how, live.
        let r = deliver(
            &app,
            &key,
            delivered(
                &format!("{order}-done"),
                &order,
                json!({"handover_code": code}),
            ),
        )
        .await;
        assert_eq!(r["status"], "accepted", "{r}");
        assert!(
            until(
                &c,
                "return document.body.dataset.milestone === 'delivered' && !document.getElementById('proof').hidden && document.querySelector('[data-handover]').hidden",
                Duration::from_secs(10)
            )
            .await,
            "the page shows the car handed over ({lang})"
        );
        screenshot(&c, &format!("handover-phone-{short}-delivered")).await;
        c.close().await.ok();
    }
}
