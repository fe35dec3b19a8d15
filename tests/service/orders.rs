//! Orders through the API: creation rules, roles, changes, cancelling,
//! tracking links and their expiry, paginated history.

use chrono::Utc;
use serde_json::json;
use vinpath::clock::Clock;

use crate::support::*;

#[actix_web::test]
async fn creating_orders_checks_every_field() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    app.carrier("sf-auto").await;
    let admin = Some(app.admin.as_str());
    let r = app
        .call(
            "POST",
            "/api/v1/orders",
            admin,
            Some(order_body("JD-1", "sf-auto")),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["warnings"], json!([]));
    let token = r.body["tracking_token"].as_str().unwrap();
    assert!(token.len() >= 22, "at least 128 bits");
    assert_eq!(r.body["tracking_url"], format!("{}/t/{token}", app.base));
    app.call(
        "POST",
        "/api/v1/orders",
        admin,
        Some(order_body("JD-1", "sf-auto")),
    )
    .await
    .assert_problem(409, "exists");

    let mut bad = order_body("JD-2", "nobody");
    bad["vin"] = json!("LNAA2AA18SF000001");
    bad["destination"]["lat"] = json!(91.0);
    let r = app.call("POST", "/api/v1/orders", admin, Some(bad)).await;
    r.assert_problem(422, "invalid_field");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["vin", "destination"]);
    let r = app
        .call(
            "POST",
            "/api/v1/orders",
            admin,
            Some(order_body("JD-2", "nobody")),
        )
        .await;
    r.assert_problem(422, "invalid_field");
    assert_eq!(r.body["errors"][0]["field"], "carrier_id");
    let mut typed = order_body("JD-2", "sf-auto");
    typed["origin"]["lat"] = json!("north");
    app.call("POST", "/api/v1/orders", admin, Some(typed))
        .await
        .assert_problem(422, "invalid_field");
    app.call("GET", "/api/v1/orders/JD-2", admin, None)
        .await
        .assert_problem(404, "not_found");

    // A VIN from a country that does not require the check digit: a warning.
    let mut doubtful = order_body("JD-3", "sf-auto");
    doubtful["vin"] = json!("WVWZZZ1JZXW000001");
    let r = app
        .call("POST", "/api/v1/orders", admin, Some(doubtful))
        .await;
    assert_eq!(r.status, 201);
    assert!(
        r.body["warnings"][0]
            .as_str()
            .unwrap()
            .contains("WVWZZZ1JZXW000001")
    );

    // No VIN yet: the produced scan brings it.
    let mut unbuilt = order_body("JD-4", "sf-auto");
    unbuilt.as_object_mut().unwrap().remove("vin");
    assert_eq!(
        app.call("POST", "/api/v1/orders", admin, Some(unbuilt))
            .await
            .status,
        201
    );
    let o = app.get_order("JD-4").await;
    assert_eq!(o["vin"], serde_json::Value::Null);
    assert_eq!(o["milestone"], "ordered");
    assert_eq!(o["position"], serde_json::Value::Null);
    assert_eq!(o["promised_by"], "2026-12-30T10:00:00Z");
    for field in [
        "order_id",
        "vin",
        "model",
        "carrier_id",
        "milestone",
        "milestone_at",
        "truck_id",
        "position",
        "eta",
        "promised_by",
        "destination",
        "updated_at",
    ] {
        assert!(o.get(field).is_some(), "{field}");
    }
}

#[actix_web::test]
async fn roles_decide_who_may_do_what() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let other = app.carrier("other").await;
    let dispatcher = app.dispatcher().await;
    app.call(
        "POST",
        "/api/v1/carriers",
        Some(&app.admin),
        Some(json!({"carrier_id": "sf-auto", "name": "again"})),
    )
    .await
    .assert_problem(409, "exists");
    app.call(
        "POST",
        "/api/v1/carriers",
        Some(&dispatcher),
        Some(json!({"carrier_id": "x", "name": "x"})),
    )
    .await
    .assert_problem(403, "forbidden");
    app.call(
        "POST",
        "/api/v1/dispatchers",
        Some(&key),
        Some(json!({"name": "x"})),
    )
    .await
    .assert_problem(403, "forbidden");
    app.call(
        "POST",
        "/api/v1/orders",
        Some(&key),
        Some(order_body("JD-1", "sf-auto")),
    )
    .await
    .assert_problem(403, "forbidden");
    let r = app
        .call(
            "POST",
            "/api/v1/orders",
            Some(&dispatcher),
            Some(order_body("JD-1", "sf-auto")),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        app.call("GET", "/api/v1/orders/JD-1", Some(&key), None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.call("GET", "/api/v1/orders/JD-1/history", Some(&key), None)
            .await
            .status,
        200
    );
    app.call("GET", "/api/v1/orders/JD-1", Some(&other), None)
        .await
        .assert_problem(403, "forbidden");
    app.call("GET", "/api/v1/orders/JD-1", Some("nope"), None)
        .await
        .assert_problem(401, "unauthorized");
    app.call("GET", "/api/v1/orders/JD-1", None, None)
        .await
        .assert_problem(401, "unauthorized");
    app.call("GET", "/api/v1/fleet", Some(&key), None)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.call("GET", "/api/v1/fleet", Some(&dispatcher), None)
            .await
            .status,
        200
    );
    app.call("POST", "/api/v1/orders/JD-1/cancel", Some(&key), None)
        .await
        .assert_problem(403, "forbidden");
    app.call("GET", "/api/v1/nothing-here", Some(&key), None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn changing_and_cancelling_orders() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.carrier("jd-fleet").await;
    app.order("JD-1", "sf-auto").await;
    let admin = Some(app.admin.as_str());
    let r = app
        .call("PATCH", "/api/v1/orders/JD-1", admin, Some(json!({"vin": "LNAA2AA19SF000002", "promised_by": "2027-01-05T12:00:00+08:00", "destination": {"name": "Li Wei", "lat": 39.9, "lon": 116.4}})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["vin"], "LNAA2AA19SF000002");
    assert_eq!(r.body["promised_by"], "2027-01-05T04:00:00Z");
    assert_eq!(r.body["destination"]["lat"], 39.9);
    app.call(
        "PATCH",
        "/api/v1/orders/JD-1",
        admin,
        Some(json!({"vin": "LNAA2AA18SF000001"})),
    )
    .await
    .assert_problem(422, "invalid_field");
    app.call(
        "PATCH",
        "/api/v1/orders/JD-1",
        admin,
        Some(json!({"carrier_id": "ghost"})),
    )
    .await
    .assert_problem(422, "invalid_field");
    app.call(
        "PATCH",
        "/api/v1/orders/JD-9",
        admin,
        Some(json!({"promised_by": "2027-01-05T12:00:00Z"})),
    )
    .await
    .assert_problem(404, "not_found");
    // Once produced, the VIN is final.
    app.post_expect(
        &key,
        json!([scan("p", "JD-1", "produced", -10)]),
        "accepted",
    )
    .await;
    app.call(
        "PATCH",
        "/api/v1/orders/JD-1",
        admin,
        Some(json!({"vin": "LNAA2AA17SF000001"})),
    )
    .await
    .assert_problem(422, "invalid_field");
    // Handing the order to another carrier takes it from the first.
    let r = app
        .call(
            "PATCH",
            "/api/v1/orders/JD-1",
            admin,
            Some(json!({"carrier_id": "jd-fleet"})),
        )
        .await;
    assert_eq!(r.body["carrier_id"], "jd-fleet");
    let r = app
        .events(&key, json!([scan("r", "JD-1", "released", -5)]))
        .await;
    assert_eq!(r.body["results"][0]["code"], "not_your_order");

    let r = app
        .call("POST", "/api/v1/orders/JD-1/cancel", admin, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["milestone"], "cancelled");
    let fleet = app.call("GET", "/api/v1/fleet", admin, None).await;
    assert_eq!(fleet.body["fleet"], json!([]));
    app.call("POST", "/api/v1/orders/JD-9/cancel", admin, None)
        .await
        .assert_problem(404, "not_found");
}

#[actix_web::test]
async fn a_produced_scan_carries_the_vin_and_a_delivered_order_cannot_be_cancelled() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let mut unbuilt = order_body("JD-1", "sf-auto");
    unbuilt.as_object_mut().unwrap().remove("vin");
    app.call("POST", "/api/v1/orders", Some(&app.admin), Some(unbuilt))
        .await;
    let mut produced = scan("p", "JD-1", "produced", -50);
    produced["vin"] = json!("LNAA2AA19SF000002");
    app.post_expect(&key, json!([produced]), "accepted").await;
    assert_eq!(app.get_order("JD-1").await["vin"], "LNAA2AA19SF000002");
    load(&app, &key, "JD-1", "YUE-A-1", -40).await;
    app.post_expect(
        &key,
        json!([scan("d", "JD-1", "delivered", -1)]),
        "accepted",
    )
    .await;
    app.call("POST", "/api/v1/orders/JD-1/cancel", Some(&app.admin), None)
        .await
        .assert_problem(409, "illegal_transition");
    let r = app
        .events(&key, json!([scan("late", "JD-1", "pdi", 0)]))
        .await;
    assert_eq!(r.body["results"][0]["code"], "illegal_transition");
}

#[actix_web::test]
async fn tracking_links_rotate_and_expire_after_delivery() {
    let redis = TestRedis::start();
    let clock = Clock::manual(Utc::now());
    let mut s = settings(&redis);
    s.clock = clock.clone();
    s.link_days = 30;
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let old = app.order("JD-1", "sf-auto").await;
    let r = app
        .call("GET", &format!("/api/v1/track/{old}"), None, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["vin_masked"], "LNA**********0001");
    assert!(r.body.get("carrier_id").is_none() && r.body.get("vin").is_none());

    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-1/tracking-token",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let new = r.body["tracking_token"].as_str().unwrap().to_owned();
    app.call("GET", &format!("/api/v1/track/{old}"), None, None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.ws(&format!("/ws/track/{old}")).await.err(), Some(404));
    for bad in ["nonsense", "x", &"a".repeat(300)] {
        app.call("GET", &format!("/api/v1/track/{bad}"), None, None)
            .await
            .assert_problem(404, "not_found");
    }
    assert_eq!(
        app.call("GET", &format!("/api/v1/track/{new}"), None, None)
            .await
            .status,
        200
    );

    load(&app, &key, "JD-1", "YUE-A-1", -60).await;
    app.post_expect(
        &key,
        json!([scan("d", "JD-1", "delivered", -1)]),
        "accepted",
    )
    .await;
    clock.advance(chrono::Duration::days(29));
    assert_eq!(
        app.call("GET", &format!("/api/v1/track/{new}"), None, None)
            .await
            .status,
        200
    );
    clock.advance(chrono::Duration::days(2));
    app.call("GET", &format!("/api/v1/track/{new}"), None, None)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.ws(&format!("/ws/track/{new}")).await.err(), Some(404));
}

#[actix_web::test]
async fn history_pages_with_cursors() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    let fixes: Vec<_> = (0..25)
        .map(|i| order_fix(&format!("g{i}"), "JD-1", -100 + i, lat(i), 113.4))
        .collect();
    app.post_expect(&key, json!(fixes), "accepted").await;
    let admin = Some(app.admin.as_str());
    let r = app
        .call("GET", "/api/v1/orders/JD-1/history?limit=10", admin, None)
        .await;
    assert_eq!(r.body["events"].as_array().unwrap().len(), 10);
    let next = r.body["next"].as_str().unwrap().to_owned();
    assert_eq!(r.body["events"][9]["cursor"], next);
    let r2 = app
        .call(
            "GET",
            &format!("/api/v1/orders/JD-1/history?after={next}&limit=10"),
            admin,
            None,
        )
        .await;
    assert_eq!(r2.body["events"][0]["event_id"], "g10");
    let all = app.carrier_history("JD-1").await;
    assert_eq!(all.len(), 25);
    let ids: Vec<String> = all
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, (0..25).map(|i| format!("g{i}")).collect::<Vec<_>>());
    for e in &all {
        for f in [
            "cursor",
            "event_id",
            "kind",
            "status",
            "occurred_at",
            "received_at",
            "lat",
            "lon",
        ] {
            assert!(e.get(f).is_some(), "{f} in {e}");
        }
    }
    app.call("GET", "/api/v1/orders/JD-1/history?limit=0", admin, None)
        .await
        .assert_problem(400, "bad_request");
    app.call(
        "GET",
        "/api/v1/orders/JD-1/history?after=garbage",
        admin,
        None,
    )
    .await
    .assert_problem(400, "bad_request");
    let last = app
        .call("GET", "/api/v1/orders/JD-1/history?limit=1000", admin, None)
        .await;
    assert_eq!(last.body["next"], serde_json::Value::Null);
}
