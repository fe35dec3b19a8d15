//! Devices report straight to vinpath: a JT/T 808 terminal over a real
//! TCP socket and Traccar Client over real HTTP, against a real vinpath
//! and Redis; the registry that says whose each device is.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use vinpath::client::devices::{Answer, Terminal, location, traccar_report};
use vinpath::devices::DeviceOptions;
use vinpath::devices::jt808::frame::{self, FLAG, Header};
use vinpath::devices::jt808::message;

use crate::support::*;

const PHONE: &str = "013511221122";
const TRUCK: &str = "YUE-A-12345";

fn device_settings(redis: &TestRedis) -> vinpath::app::Settings {
    vinpath::app::Settings {
        devices: DeviceOptions {
            osmand_listen: Some("127.0.0.1:0".into()),
            jt808_listen: Some("127.0.0.1:0".into()),
            heartbeat: Duration::from_secs(1),
            max_connections: 2_000,
        },
        ..settings(redis)
    }
}

/// A time `minutes` from the tests' base, to the second (what JT/T 808
/// carries).
fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&at(minutes))
        .unwrap()
        .with_timezone(&Utc)
}

async fn register(app: &TestApp, key: &str, body: Value) -> Reply {
    app.call("POST", "/api/v1/devices", Some(key), Some(body))
        .await
}

/// A carrier with an order loaded on `TRUCK` and a terminal registered for
/// the truck; returns the carrier's key and the order's tracking token.
async fn truck_with_terminal(app: &TestApp, order: &str) -> (String, String) {
    let key = app.carrier("sf-auto").await;
    let token = app.order(order, "sf-auto").await;
    load(app, &key, order, TRUCK, -60).await;
    let r = register(
        app,
        &key,
        json!({"device_id": PHONE, "protocol": "jt808", "truck_id": TRUCK}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (key, token)
}

async fn terminal(app: &TestApp, phone: &str) -> Terminal {
    Terminal::connect(app.jt808.as_deref().unwrap(), phone, None)
        .await
        .expect("the listener takes the connection")
}

/// A terminal registered and authenticated on `app`.
async fn signed_in(app: &TestApp) -> Terminal {
    let mut term = terminal(app, PHONE).await;
    let code = term.register().await.expect("registered");
    assert_eq!(term.authenticate(&code).await, Ok(0));
    term
}

async fn metric(app: &TestApp, line_start: &str) -> f64 {
    let r = app.call("GET", "/metrics", None, None).await;
    let text = String::from_utf8_lossy(&r.bytes).into_owned();
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[actix_web::test]
async fn the_registry_says_whose_each_device_is() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let sf = app.carrier("sf-auto").await;
    let other = app.carrier("other").await;
    let body = json!({"device_id": PHONE, "protocol": "jt808", "truck_id": TRUCK});
    let r = register(&app, &sf, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"device_id": PHONE, "protocol": "jt808", "truck_id": TRUCK, "carrier_id": "sf-auto"})
    );
    // Registering again changes nothing; another carrier cannot take it,
    // even written without its leading zero.
    assert_eq!(register(&app, &sf, body.clone()).await.status, 201);
    let taken = register(
        &app,
        &other,
        json!({"device_id": "13511221122", "protocol": "jt808", "truck_id": "T2"}),
    )
    .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    // An admin names the carrier.
    let r = register(
        &app,
        &app.admin,
        json!({"device_id": "phone-7", "protocol": "osmand", "truck_id": "T2", "carrier_id": "other"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Bad input names the field and stores nothing.
    for (bad, field) in [
        (
            json!({"device_id": "x1", "protocol": "gt06", "truck_id": "T"}),
            "protocol",
        ),
        (
            json!({"device_id": "12ab", "protocol": "jt808", "truck_id": "T"}),
            "device_id",
        ),
        (json!({"device_id": "1", "protocol": "jt808"}), "truck_id"),
        (
            json!({"device_id": "1", "protocol": "jt808", "truck_id": "T", "order_id": "O"}),
            "truck_id",
        ),
        (
            json!({"device_id": "1", "protocol": "jt808", "order_id": "NOT-HERS"}),
            "order_id",
        ),
    ] {
        let r = register(&app, &sf, bad).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let r = register(
        &app,
        &app.admin,
        json!({"device_id": "1", "protocol": "jt808", "truck_id": "T"}),
    )
    .await;
    assert_eq!(r.body["errors"][0]["field"], "carrier_id", "{}", r.body);

    let mine = app.call("GET", "/api/v1/devices", Some(&sf), None).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
    let all = app
        .call("GET", "/api/v1/devices", Some(&app.admin), None)
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 2, "{}", all.body);

    let gone = app
        .call(
            "DELETE",
            "/api/v1/devices/jt808/13511221122",
            Some(&other),
            None,
        )
        .await;
    assert_eq!(gone.status, 404, "another carrier's device is not found");
    let gone = app
        .call(
            "DELETE",
            &format!("/api/v1/devices/jt808/{PHONE}"),
            Some(&sf),
            None,
        )
        .await;
    assert_eq!(gone.status, 204);
    let again = app
        .call(
            "DELETE",
            &format!("/api/v1/devices/jt808/{PHONE}"),
            Some(&sf),
            None,
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(app.jt808, None, "the listeners are off unless set");
    assert_eq!(app.osmand, None);
}

#[actix_web::test]
async fn a_jt808_terminal_registers_authenticates_and_moves_its_truck() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    let (_, token) = truck_with_terminal(&app, "JT-1").await;
    let mut ws = app
        .ws(&format!("/ws/track/{token}"))
        .await
        .expect("the socket opens");
    let snapshot = ws.next().await;
    assert_eq!(snapshot["type"], "snapshot");

    let mut term = signed_in(&app).await;
    let fix = location(t(-30), 23.2, 113.5, 72.0);
    assert_eq!(term.report(&fix).await, Ok(0));
    let order = app.get_order("JT-1").await;
    assert_eq!(order["position"]["lat"], 23.2, "{order}");
    loop {
        let m = ws.next().await;
        if m["event"]["kind"] == "position" {
            assert_eq!(m["event"]["lat"], 23.2);
            break;
        }
    }
    // The same report again is a duplicate; a batch of late fixes is
    // judged in time order like any late batch.
    assert_eq!(term.report(&fix).await, Ok(0));
    let late = [
        location(t(-40), 23.18, 113.5, 60.0),
        location(t(-35), 23.19, 113.5, 60.0),
        location(t(-20), 23.22, 113.5, 60.0),
    ];
    assert_eq!(term.batch(true, &late).await, Ok(0));
    assert_eq!(app.get_order("JT-1").await["position"]["lat"], 23.22);
    let fixes: Vec<Value> = app
        .carrier_history("JT-1")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "gps")
        .collect();
    let seen: Vec<(&str, &str)> = fixes
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    let id = |m: i64| format!("dev:jt808:13511221122:{}", t(m).timestamp_millis());
    assert_eq!(
        seen,
        [
            (id(-30).as_str(), "accepted"),
            (id(-40).as_str(), "stale"),
            (id(-35).as_str(), "stale"),
            (id(-20).as_str(), "accepted"),
        ],
        "{fixes:?}"
    );
    assert!(fixes.iter().all(|e| e["source"] == "jt808"), "{fixes:?}");
    let dup = metric(
        &app,
        "vinpath_device_fixes_total{protocol=\"jt808\",status=\"duplicate\"}",
    )
    .await;
    assert_eq!(dup, 1.0);
    assert_eq!(term.heartbeat().await, Ok(0));
}

#[actix_web::test]
async fn an_unregistered_terminal_is_told_so_and_moves_nothing() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    let mut term = terminal(&app, "013900000000").await;
    assert_eq!(term.register().await, Err(4), "no such terminal");
    assert_eq!(term.authenticate("guess").await, Ok(1));
    assert_eq!(term.report(&location(t(-1), 23.0, 113.0, 0.0)).await, Ok(1));
    let n = metric(
        &app,
        "vinpath_device_fixes_unregistered_total{protocol=\"jt808\"}",
    )
    .await;
    assert!(n >= 2.0, "{n}");
    // A registered terminal with a wrong code is refused too.
    let (_, _) = truck_with_terminal(&app, "JT-2").await;
    let mut term = terminal(&app, PHONE).await;
    term.register().await.expect("registered");
    assert_eq!(term.authenticate("not-the-code").await, Ok(1));
    assert_eq!(term.report(&location(t(-1), 23.0, 113.0, 0.0)).await, Ok(1));
    assert!(app.get_order("JT-2").await["position"].is_null());
}

#[actix_web::test]
async fn bad_frames_are_answered_as_the_standard_says_and_the_connection_stays() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    truck_with_terminal(&app, "JT-3").await;
    let mut term = signed_in(&app).await;
    let answer = |f: Option<frame::Frame>| Answer::of(&f.expect("an answer")).expect("0x8001");

    // A bad check code: result 2, naming the message's serial.
    let h = term.header(message::HEARTBEAT);
    let mut wire = frame::encode(&h, &[]);
    let n = wire.len();
    wire[n - 2] ^= 0x01;
    term.send_raw(&wire).await.unwrap();
    let a = answer(term.receive(Duration::from_secs(5)).await.unwrap());
    assert_eq!((a.serial, a.result), (h.serial, 2));

    // A length that lies (one more than the body holds): result 2. The
    // check code is made to match, and the frame written so that no byte
    // needs an escape (a serial is chosen for that).
    let body = message::location_body(&location(t(-5), 23.0, 113.0, 0.0));
    let (h, raw) = (0..64)
        .find_map(|_| {
            let h = term.header(message::LOCATION);
            let mut raw = frame::encode(&h, &body);
            raw[4] = raw[4].wrapping_add(1); // the low byte of the length
            let n = raw.len();
            raw[n - 2] = raw[1..n - 2].iter().fold(0u8, |x, b| x ^ b);
            let inner_clean = raw[1..n - 1].iter().all(|&b| b != FLAG && b != 0x7d);
            inner_clean.then_some((h, raw))
        })
        .expect("a serial whose frame needs no escape");
    term.send_raw(&raw).await.unwrap();
    let a = answer(term.receive(Duration::from_secs(5)).await.unwrap());
    assert_eq!((a.serial, a.result), (h.serial, 2));

    // An unknown message: result 3. An encrypted one: result 3.
    assert_eq!(term.result(0x0900, &[1, 2, 3]).await, Ok(3));
    let mut h = term.header(message::HEARTBEAT);
    h.encrypted = true;
    term.send_raw(&frame::encode(&h, &[])).await.unwrap();
    assert_eq!(
        answer(term.receive(Duration::from_secs(5)).await.unwrap()).result,
        3
    );

    // Garbage, and a frame longer than the standard allows: dropped
    // without an answer; the next message is answered.
    term.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut long = vec![FLAG];
    long.extend(std::iter::repeat_n(0x30, 3000));
    term.send_raw(&long).await.unwrap();
    term.send_raw(&[FLAG]).await.unwrap();
    assert_eq!(term.heartbeat().await, Ok(0));
    assert!(metric(&app, "vinpath_jt808_bad_frames_total{reason=\"checksum\"}").await >= 1.0);
    assert!(metric(&app, "vinpath_jt808_bad_frames_total{reason=\"garbage\"}").await >= 1.0);

    // A long batch in two parts is put back together; each part answered.
    let fixes: Vec<_> = (0..40)
        .map(|i| location(t(-50 + i), 23.0 + 0.001 * i as f64, 113.4, 50.0))
        .collect();
    let body = message::batch_body(false, &fixes);
    let (a, b) = body.split_at(body.len() / 2);
    let mut parts = Vec::new();
    for (i, part) in [a, b].iter().enumerate() {
        let mut h: Header = term.header(message::BATCH);
        h.package = Some((2, i as u16 + 1));
        term.send_raw(&frame::encode(&h, part)).await.unwrap();
        parts.push(h.serial);
    }
    for s in parts {
        let f = term.answer_to(s).await.expect("each part is answered");
        assert_eq!(Answer::of(&f).unwrap().result, 0);
    }
    assert_eq!(app.get_order("JT-3").await["position"]["lat"], 23.039);
}

#[actix_web::test]
async fn silent_and_half_sent_connections_are_dropped_and_others_go_on() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    truck_with_terminal(&app, "JT-4").await;
    let addr = app.jt808.clone().unwrap();
    // Many connections that never register, one with half a frame.
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut half = terminal(&app, PHONE).await;
    half.send_raw(&[FLAG, 0x00, 0x02, 0x00]).await.unwrap();
    // A live terminal is answered meanwhile, and keeps its connection by
    // speaking (heartbeat is 1 s here: silence for 3 s drops).
    let mut live = signed_in(&app).await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(live.heartbeat().await, Ok(0));
    }
    assert!(
        half.receive(Duration::from_secs(1)).await.is_err(),
        "the half frame's connection was closed"
    );
    for mut s in idle {
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "an idle connection was dropped"
        );
    }
    // (Counters are the process's: other tests' drops count too.)
    let dropped = metric(&app, "vinpath_jt808_dropped_total{reason=\"silent\"}").await;
    assert!(dropped >= 501.0, "{dropped}");
    assert_eq!(live.heartbeat().await, Ok(0), "the live one stays");
}

#[actix_web::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let redis = TestRedis::start();
    let mut settings = device_settings(&redis);
    settings.devices.max_connections = 3;
    let app = TestApp::with(settings).await;
    let addr = app.jt808.clone().unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Each of those is taken before the next is refused.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 4];
    let read = tokio::time::timeout(Duration::from_secs(1), extra.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed at accept: {read:?}"
    );
    // One held connection is answered as ever.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut term = terminal(&app, "013900000002").await;
    assert_eq!(term.heartbeat().await, Ok(0));
}

#[actix_web::test]
async fn a_second_instance_accepts_a_terminal_registered_on_the_first() {
    let redis = TestRedis::start();
    let a = TestApp::with(device_settings(&redis)).await;
    let b = TestApp::with(device_settings(&redis)).await;
    truck_with_terminal(&a, "JT-5").await;
    let mut first = terminal(&a, PHONE).await;
    let code = first.register().await.expect("registered");
    drop(first);
    // This time it speaks the 2019 edition (a 20-digit phone number).
    let mut second = Terminal::connect(b.jt808.as_deref().unwrap(), PHONE, Some(1))
        .await
        .unwrap();
    assert_eq!(second.authenticate(&code).await, Ok(0));
    assert_eq!(
        second.report(&location(t(-10), 23.5, 113.5, 40.0)).await,
        Ok(0)
    );
    assert_eq!(a.get_order("JT-5").await["position"]["lat"], 23.5);
    // Deleted on one instance: the other stops taking its reports.
    let key_gone = a
        .call(
            "DELETE",
            &format!("/api/v1/devices/jt808/{PHONE}"),
            Some(&a.admin),
            None,
        )
        .await;
    assert_eq!(key_gone.status, 204);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        second.report(&location(t(-9), 23.6, 113.5, 40.0)).await,
        Ok(1)
    );
}

#[actix_web::test]
async fn an_emergency_alarm_raises_an_alert_until_it_is_off() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    truck_with_terminal(&app, "JT-6").await;
    let mut term = signed_in(&app).await;
    let mut sos = location(t(-10), 23.2, 113.5, 0.0);
    sos.alarm = 1;
    assert_eq!(term.report(&sos).await, Ok(0));
    let alerts = app
        .call("GET", "/api/v1/alerts", Some(&app.admin), None)
        .await;
    let kinds: Vec<&str> = alerts.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["emergency"], "{}", alerts.body);
    assert_eq!(term.report(&location(t(-9), 23.2, 113.5, 0.0)).await, Ok(0));
    let alerts = app
        .call("GET", "/api/v1/alerts", Some(&app.admin), None)
        .await;
    let left = alerts.body["alerts"].as_array().unwrap().len();
    assert_eq!(left, 0, "{}", alerts.body);
}

#[actix_web::test]
async fn traccar_client_reports_as_the_app_sends_them() {
    let redis = TestRedis::start();
    let app = TestApp::with(device_settings(&redis)).await;
    let key = app.carrier("sf-auto").await;
    app.order("OS-1", "sf-auto").await;
    load(&app, &key, "OS-1", "YUE-B-1", -60).await;
    let r = register(
        &app,
        &key,
        json!({"device_id": "driver-phone-1", "protocol": "osmand", "truck_id": "YUE-B-1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = app.osmand.clone().unwrap();
    let at = t(-20);
    let sent = traccar_report(&app.client, &url, "driver-phone-1", at, 23.4, 113.6, 54.0).await;
    assert_eq!(sent, Ok(200));
    assert_eq!(app.get_order("OS-1").await["position"]["lat"], 23.4);
    // Sent again (the app did not hear the answer): still 200, a duplicate.
    let again = traccar_report(&app.client, &url, "driver-phone-1", at, 23.4, 113.6, 54.0).await;
    assert_eq!(again, Ok(200));
    // A GET with location=, and Traccar Client 9's JSON body.
    let get = app
        .client
        .get(format!(
            "{url}/?deviceid=driver-phone-1&location=23.45,113.6&timestamp={}",
            t(-15).timestamp()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let body = json!({"location": {"timestamp": at_from(t(0), -10), "coords": {"latitude": 23.5,
        "longitude": 113.6, "speed": 15.0, "heading": 10.0, "accuracy": 5.0}}, "device_id": "driver-phone-1"});
    let post = app
        .client
        .post(format!("{url}/"))
        .insert_header(("Content-Type", "application/json"))
        .send_body(body.to_string())
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    assert_eq!(app.get_order("OS-1").await["position"]["lat"], 23.5);
    let sources: Vec<Value> = app
        .carrier_history("OS-1")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "gps")
        .map(|e| e["source"].clone())
        .collect();
    assert_eq!(sources, [json!("osmand"), json!("osmand"), json!("osmand")]);

    // Unregistered: 403; unreadable: 400; neither moves anything.
    let stranger = traccar_report(&app.client, &url, "nobody", at, 23.9, 113.6, 0.0).await;
    assert_eq!(stranger, Ok(403));
    let unreadable = app
        .client
        .get(format!("{url}/?id=driver-phone-1&lat=north&lon=113"))
        .send()
        .await
        .unwrap();
    assert_eq!(unreadable.status(), 400);
    let future = traccar_report(
        &app.client,
        &url,
        "driver-phone-1",
        Utc::now() + chrono::Duration::hours(1),
        23.9,
        113.6,
        0.0,
    )
    .await;
    assert_eq!(future, Ok(400), "a fix from the future is refused");
    assert_eq!(app.get_order("OS-1").await["position"]["lat"], 23.5);
    let n = metric(
        &app,
        "vinpath_device_fixes_unregistered_total{protocol=\"osmand\"}",
    )
    .await;
    assert!(n >= 1.0, "{n}");
}
