//! Operators fixing things: a dispatcher voids a mis-scan or a bad fix, and
//! the order is recomputed from the rest of its history, live on the
//! customer's socket, on every car a voided truck fix moved; and a
//! dispatcher acknowledges an alert for every dispatcher to see.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

async fn void(app: &TestApp, token: &str, order: &str, event: &str, reason: &str) -> Reply {
    app.call(
        "POST",
        &format!("/api/v1/orders/{order}/events/{event}/void"),
        Some(token),
        Some(json!({ "reason": reason })),
    )
    .await
}

/// The customer's next frame that is an event of `kind`.
async fn next_event(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let f = ws
            .next_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no {kind} event came"));
        if f["type"] == "event" && f["event"]["kind"] == kind {
            return f;
        }
    }
}

#[actix_web::test]
async fn a_voided_scan_recomputes_the_order_and_the_customer_sees_it_corrected() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf").await;
    let token = app.order("JD-V1", "sf").await;
    app.order("JD-V2", "sf").await;
    load(&app, &key, "JD-V1", "T1", -120).await;
    app.post_expect(
        &key,
        json!([scan("v1-transit", "JD-V1", "in_transit", -100)]),
        "accepted",
    )
    .await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    let snap = ws.next().await;
    assert_eq!(snap["order"]["milestone"], "in_transit");

    let made = app
        .call(
            "POST",
            "/api/v1/dispatchers",
            Some(&app.admin),
            Some(json!({"name": "night shift"})),
        )
        .await;
    let dispatcher = made.body["token"].as_str().expect("a token").to_owned();
    let r = void(
        &app,
        &dispatcher,
        "JD-V1",
        "v1-transit",
        "scanned the wrong car",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["milestone"], "loaded");
    assert_eq!(r.body["truck_id"], "T1");

    // The customer's page is told, with the corrected order.
    let f = next_event(&mut ws, "correction").await;
    let e = &f["event"];
    assert_eq!(e["event_id"], "v1-transit");
    assert_eq!(e["reason"], "scanned the wrong car");
    assert_eq!(e["order"]["milestone"], "loaded");
    let steps: Vec<&str> = e["order"]["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|t| t["milestone"].as_str())
        .collect();
    assert_eq!(steps, ["ordered", "released", "loaded"]);

    // The event stays in the history, marked void by whom and why.
    let history = app.history("JD-V1").await;
    let voided = history
        .iter()
        .find(|e| e["event_id"] == "v1-transit")
        .expect("still in history");
    assert_eq!(voided["void"]["reason"], "scanned the wrong car");
    assert!(voided["void"]["at"].is_string());
    assert_eq!(voided["void"]["by"], made.body["credential_id"]);

    // Voiding twice is a no-op with the same answer.
    let again = void(&app, &dispatcher, "JD-V1", "v1-transit", "again").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["milestone"], "loaded");
    let corrections = app
        .history("JD-V1")
        .await
        .iter()
        .filter(|e| e["kind"] == "correction")
        .count();
    assert_eq!(corrections, 1);
    assert_eq!(
        app.history("JD-V1").await[history.len() - 1]["void"],
        Value::Null,
        "a correction's own entry is not void"
    );

    // The order goes on from its corrected state.
    app.post_expect(
        &key,
        json!([scan("v1-transit-2", "JD-V1", "in_transit", -90)]),
        "accepted",
    )
    .await;

    // Bad input changes nothing.
    void(&app, &dispatcher, "JD-V1", "no-such-event", "x")
        .await
        .assert_problem(404, "not_found");
    // An event of another order is not this order's.
    void(&app, &dispatcher, "JD-V2", "v1-transit-2", "x")
        .await
        .assert_problem(404, "not_found");
    void(&app, &dispatcher, "JD-NONE", "v1-transit-2", "x")
        .await
        .assert_problem(404, "not_found");
    void(&app, &dispatcher, "JD-V1", "v1-transit-2", "  ")
        .await
        .assert_problem(422, "invalid_field");
    void(&app, &key, "JD-V1", "v1-transit-2", "mine")
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.get_order("JD-V1").await["milestone"], "in_transit");
}

#[actix_web::test]
async fn a_voided_delivery_reopens_the_order() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf").await;
    let token = app.order("JD-V3", "sf").await;
    load(&app, &key, "JD-V3", "T3", -120).await;
    app.post_expect(
        &key,
        json!([
            scan("v3-out", "JD-V3", "out_for_delivery", -60),
            scan("v3-done", "JD-V3", "delivered", -30),
        ]),
        "accepted",
    )
    .await;
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&app.admin), None)
        .await;
    assert!(
        !fleet.body["fleet"].to_string().contains("JD-V3"),
        "a delivered order leaves the fleet"
    );

    let r = void(
        &app,
        &app.admin,
        "JD-V3",
        "v3-done",
        "signed by a neighbour",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["milestone"], "out_for_delivery");
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    assert_eq!(view.body["milestone"], "out_for_delivery");
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&app.admin), None)
        .await;
    assert!(
        fleet.body["fleet"].to_string().contains("JD-V3"),
        "the reopened order is back on the fleet: {}",
        fleet.body
    );
    // It can be delivered again, for real this time.
    app.post_expect(
        &key,
        json!([scan("v3-done-2", "JD-V3", "delivered", -10)]),
        "accepted",
    )
    .await;
}

#[actix_web::test]
async fn a_voided_truck_fix_is_voided_for_every_car_it_moved_and_the_truck() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf").await;
    for o in ["JD-V4", "JD-V5"] {
        app.order(o, "sf").await;
        load(&app, &key, o, "T4", -120).await;
    }
    app.post_expect(
        &key,
        json!([
            truck_fix("t4-1", "T4", -60, lat(1), 113.3),
            truck_fix("t4-2", "T4", -50, lat(2), 113.3),
        ]),
        "accepted",
    )
    .await;
    for o in ["JD-V4", "JD-V5"] {
        assert_eq!(app.get_order(o).await["position"]["lat"], lat(2));
    }
    let dispatcher = app.dispatcher().await;
    let r = void(&app, &dispatcher, "JD-V4", "t4-2", "GPS jumped").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["position"]["lat"], lat(1));
    // The other car it moved, and the truck, are corrected too.
    let other = app.get_order("JD-V5").await;
    assert_eq!(other["position"]["lat"], lat(1), "{other}");
    let voided = app
        .history("JD-V5")
        .await
        .into_iter()
        .find(|e| e["event_id"] == "t4-2" && e["kind"] == "gps")
        .expect("in the other car's history");
    assert_eq!(voided["void"]["reason"], "GPS jumped");
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&dispatcher), None)
        .await;
    let truck = fleet.body["trucks"]
        .as_array()
        .expect("trucks")
        .iter()
        .find(|t| t["truck_id"] == "T4")
        .cloned()
        .expect("the truck");
    assert_eq!(truck["position"]["lat"], lat(1), "{truck}");
}

#[actix_web::test]
async fn an_acknowledged_alert_stays_open_with_who_when_and_why() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf").await;
    app.order("JD-A1", "sf").await;
    load(&app, &key, "JD-A1", "T7", -60).await;
    let route = json!({"type": "LineString", "coordinates": [[113.47, 23.03], [114.14, 30.62]]});
    let dispatcher = app.dispatcher().await;
    let r = app
        .call(
            "PUT",
            "/api/v1/orders/JD-A1/route",
            Some(&dispatcher),
            Some(route),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut fleet = app
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .expect("opens");
    app.post_expect(
        &key,
        json!([
            scan("a1-t", "JD-A1", "in_transit", -9),
            truck_fix("a1-off", "T7", -8, 23.62, 113.42)
        ]),
        "accepted",
    )
    .await;
    let ack = |id: &str, note: Value| {
        let path = format!("/api/v1/alerts/{id}/ack");
        let app = &app;
        let dispatcher = dispatcher.clone();
        async move { app.call("POST", &path, Some(&dispatcher), Some(note)).await }
    };
    let r = ack("off_route:JD-A1", json!({"note": "called the driver"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ack"]["note"], "called the driver");
    assert!(r.body["ack"]["at"].is_string() && r.body["ack"]["by"].is_string());
    // Still open, now acknowledged.
    let open = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    let a = open.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert_id"] == "off_route:JD-A1")
        .cloned()
        .expect("still open");
    assert_eq!(a["ack"]["note"], "called the driver");
    // Every dispatcher hears it.
    loop {
        let f = fleet
            .next_within(Duration::from_secs(5))
            .await
            .expect("an acked event");
        if f["type"] == "event" && f["event"]["state"] == "acked" {
            assert_eq!(f["event"]["alert_id"], "off_route:JD-A1");
            assert_eq!(f["event"]["ack"]["note"], "called the driver");
            break;
        }
    }
    ack("off_route:JD-NONE", json!({}))
        .await
        .assert_problem(404, "not_found");
    ack("nonsense", json!({}))
        .await
        .assert_problem(404, "not_found");
    ack("off_route:JD-A1", json!({"note": "x".repeat(501)}))
        .await
        .assert_problem(422, "invalid_field");
    app.call(
        "POST",
        "/api/v1/alerts/off_route:JD-A1/ack",
        Some(&key),
        Some(json!({"note": "mine"})),
    )
    .await
    .assert_problem(403, "forbidden");
}
