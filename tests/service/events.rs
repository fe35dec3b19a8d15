//! `POST /api/v1/events`: every status and code, the judging order, whole
//! request errors, late and out-of-order input, resends.

use serde_json::{Value, json};

use crate::support::*;

async fn setup() -> (TestRedis, TestApp, String) {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    (redis, app, key)
}

fn result(r: &Reply, i: usize) -> (&str, Option<&str>) {
    let res = &r.body["results"][i];
    (res["status"].as_str().unwrap_or("?"), res["code"].as_str())
}

#[actix_web::test]
async fn every_status_and_code_of_the_table() {
    let (_redis, app, key) = setup().await;
    app.carrier("other").await;
    app.order("JD-OTHER", "other").await;
    load(&app, &key, "JD-1", "YUE-A-1", -60).await;
    app.post_expect(
        &key,
        json!([truck_fix("g0", "YUE-A-1", -3, 23.1, 113.5)]),
        "accepted",
    )
    .await;
    let mut bad_pos = truck_fix("p", "YUE-A-1", -5, 95.0, 10.0);
    bad_pos["lat"] = json!(95.0);
    let mut bad_hdop = truck_fix("h", "YUE-A-1", -5, 23.1, 113.5);
    bad_hdop["hdop"] = json!(25.0);
    let r = app
        .events(
            &key,
            json!([
                {"event_id": "f", "kind": "scan", "order_id": "JD-1", "occurred_at": at(-5)},
                bad_pos,
                truck_fix("t", "YUE-A-1", 30, 23.1, 113.5),
                scan("u", "JD-NOPE", "produced", -5),
                scan("n", "JD-OTHER", "produced", -5),
                truck_fix("k", "YUE-B-9", -5, 23.1, 113.5),
                truck_fix("z", "YUE-A-1", -5, 0.0, 0.0),
                bad_hdop,
                scan("i", "JD-1", "produced", -5),
                scan("s", "JD-1", "in_transit", -90),
                scan("a", "JD-1", "in_transit", -4),
                truck_fix("old", "YUE-A-1", -100, 23.1, 113.5),
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let want = [
        ("rejected", Some("invalid_field")),
        ("rejected", Some("invalid_position")),
        ("rejected", Some("invalid_time")),
        ("rejected", Some("unknown_order")),
        ("rejected", Some("not_your_order")),
        ("rejected", Some("unknown_truck")),
        ("filtered", Some("null_island")),
        ("filtered", Some("low_accuracy")),
        ("rejected", Some("illegal_transition")),
        ("stale", None),
        ("accepted", None),
        ("stale", None),
    ];
    for (i, w) in want.iter().enumerate() {
        assert_eq!(result(&r, i), *w, "event {i}: {}", r.body["results"][i]);
    }
    assert_eq!(r.body["results"][0]["event_id"], "f");
    assert!(
        r.body["results"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("milestone"))
    );
    // Resent: what was recorded is a duplicate, what was rejected is judged again.
    let again = app
        .events(
            &key,
            json!([
                scan("a", "JD-1", "in_transit", -4),
                truck_fix("z", "YUE-A-1", -5, 0.0, 0.0),
                scan("s", "JD-1", "in_transit", -90),
                scan("i", "JD-1", "produced", -5)
            ]),
        )
        .await;
    assert_eq!(result(&again, 0), ("duplicate", None));
    assert_eq!(result(&again, 1), ("duplicate", None));
    assert_eq!(result(&again, 2), ("duplicate", None));
    // Judged again: older than the in_transit scan now, so stale (v2 judges
    // stale before illegal).
    assert_eq!(result(&again, 3), ("stale", None));
}

#[actix_web::test]
async fn judging_order_where_two_apply() {
    let (_redis, app, key) = setup().await;
    load(&app, &key, "JD-1", "YUE-A-1", -60).await;
    app.post_expect(
        &key,
        json!([truck_fix("g1", "YUE-A-1", -10, 23.2, 113.5)]),
        "accepted",
    )
    .await;
    // Rejected comes before duplicate: a recorded id resent broken is rejected.
    let mut broken = truck_fix("g1", "YUE-A-1", -10, 23.2, 113.5);
    broken["lat"] = json!(120.0);
    let r = app.events(&key, json!([broken])).await;
    assert_eq!(result(&r, 0), ("rejected", Some("invalid_position")));
    // Filtered comes before stale: an old fix at (0,0) is noise, not stale.
    let r = app
        .events(&key, json!([truck_fix("g2", "YUE-A-1", -50, 0.0, 0.0)]))
        .await;
    assert_eq!(result(&r, 0), ("filtered", Some("null_island")));
    // null_island comes before low_accuracy.
    let mut both = truck_fix("g3", "YUE-A-1", -5, 0.0, 0.0);
    both["hdop"] = json!(40.0);
    let r = app.events(&key, json!([both])).await;
    assert_eq!(result(&r, 0), ("filtered", Some("null_island")));
    // Stale comes before illegal (contract v2): an old scan is history,
    // whatever its milestone, kept and moving nothing.
    let r = app
        .events(&key, json!([scan("s1", "JD-1", "produced", -500)]))
        .await;
    assert_eq!(result(&r, 0), ("stale", None));
    let msg = r.body["results"][0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("already shows loaded"), "{msg}");
    // unknown_order comes before everything about the event itself.
    let r = app
        .events(&key, json!([scan("s2", "JD-404", "pdi", -5)]))
        .await;
    assert_eq!(result(&r, 0), ("rejected", Some("unknown_order")));
    // The position did not move for any of these.
    let o = app.get_order("JD-1").await;
    assert_eq!(o["position"]["lat"], 23.2);
}

#[actix_web::test]
async fn whole_request_errors() {
    let (_redis, app, key) = setup().await;
    let dispatcher = app.dispatcher().await;
    let ok = serde_json::to_vec(&json!({"events": [scan("e1", "JD-1", "produced", -5)]})).unwrap();
    app.raw(
        "/api/v1/events",
        &key,
        "application/json",
        b"{\"events\": [".to_vec(),
    )
    .await
    .assert_problem(400, "bad_request");
    app.raw(
        "/api/v1/events",
        &key,
        "application/json",
        b"{\"evts\": []}".to_vec(),
    )
    .await
    .assert_problem(400, "bad_request");
    app.raw(
        "/api/v1/events",
        "wrong-key",
        "application/json",
        ok.clone(),
    )
    .await
    .assert_problem(401, "unauthorized");
    app.call("POST", "/api/v1/events", None, Some(json!({"events": []})))
        .await
        .assert_problem(401, "unauthorized");
    app.raw(
        "/api/v1/events",
        &dispatcher,
        "application/json",
        ok.clone(),
    )
    .await
    .assert_problem(403, "forbidden");
    app.raw("/api/v1/events", &app.admin, "application/json", ok.clone())
        .await
        .assert_problem(403, "forbidden");
    app.raw("/api/v1/events", &key, "text/plain", ok.clone())
        .await
        .assert_problem(415, "unsupported_media_type");
    let many: Vec<Value> = (0..1001)
        .map(|i| scan(&format!("m{i}"), "JD-1", "produced", -5))
        .collect();
    app.events(&key, json!(many))
        .await
        .assert_problem(413, "too_large");
    let note = "x".repeat(1000);
    let big: Vec<Value> = (0..1000)
        .map(|i| {
            let mut s = scan(&format!("b{i}"), "JD-1", "produced", -5);
            s["note"] = json!(note);
            s
        })
        .collect();
    app.events(&key, json!(big))
        .await
        .assert_problem(413, "too_large");
    // None of the refused requests changed anything.
    assert_eq!(app.get_order("JD-1").await["milestone"], "ordered");
    assert!(app.carrier_history("JD-1").await.is_empty());
    // And a good one still goes through.
    let r = app
        .raw(
            "/api/v1/events",
            &key,
            "application/json; charset=utf-8",
            ok,
        )
        .await;
    assert_eq!(result(&r, 0), ("accepted", None));
}

#[actix_web::test]
async fn out_of_order_scans_and_fixes() {
    let (_redis, app, key) = setup().await;
    // One batch, out of order: applied by occurred_at, so both count.
    let mut loaded = scan("l", "JD-1", "loaded", -100);
    loaded["truck_id"] = json!("YUE-A-1");
    let r = app
        .events(
            &key,
            json!([
                scan("t", "JD-1", "in_transit", -90),
                loaded,
                scan("r", "JD-1", "released", -110)
            ]),
        )
        .await;
    for i in 0..3 {
        assert_eq!(result(&r, i), ("accepted", None), "{}", r.body);
    }
    // Fixes arrive late and shuffled: the newest wins, older ones are stale.
    let r = app
        .events(
            &key,
            json!([
                truck_fix("g3", "YUE-A-1", -30, 23.3, 113.5),
                truck_fix("g1", "YUE-A-1", -50, 23.1, 113.5)
            ]),
        )
        .await;
    assert_eq!(result(&r, 0), ("accepted", None));
    assert_eq!(result(&r, 1), ("accepted", None), "applied oldest first");
    let r = app
        .events(&key, json!([truck_fix("g2", "YUE-A-1", -40, 23.2, 113.5)]))
        .await;
    assert_eq!(result(&r, 0), ("stale", None));
    let o = app.get_order("JD-1").await;
    assert_eq!(o["milestone"], "in_transit");
    assert_eq!(o["position"]["lat"], 23.3);
    assert_eq!(o["truck_id"], "YUE-A-1");
    // A late scan of a milestone already passed is stale and binds nothing.
    let mut late = scan("l2", "JD-1", "arrived", -95);
    late["truck_id"] = json!("YUE-B-2");
    let r = app.events(&key, json!([late])).await;
    assert_eq!(result(&r, 0), ("stale", None));
    assert_eq!(app.get_order("JD-1").await["milestone"], "in_transit");
    // The history keeps all of them, stale ones included, with the gap marked.
    let h = app.carrier_history("JD-1").await;
    let ids: Vec<&str> = h.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r", "l", "t", "g1", "g3", "g2", "l2"]);
    assert_eq!(
        h[0]["gap"], true,
        "released straight from ordered skips produced"
    );
    assert!(h[1].get("gap").is_none());
    assert_eq!(h[5]["status"], "stale");
}

#[actix_web::test]
async fn a_resent_batch_is_only_duplicates_and_rejected_ids_come_back() {
    let (_redis, app, key) = setup().await;
    let batch = json!([
        scan("e1", "JD-1", "produced", -30),
        scan("e2", "JD-1", "released", -20),
        order_fix("e3", "JD-1", -10, 23.0, 113.4)
    ]);
    app.post_expect(&key, batch.clone(), "accepted").await;
    app.post_expect(&key, batch.clone(), "duplicate").await;
    app.post_expect(&key, batch, "duplicate").await;
    assert_eq!(app.carrier_history("JD-1").await.len(), 3);
    // Rejected ids are not remembered: the same id is judged anew.
    let early = json!([scan("x1", "JD-2", "produced", -5)]);
    let r = app.events(&key, early.clone()).await;
    assert_eq!(result(&r, 0), ("rejected", Some("unknown_order")));
    app.order("JD-2", "sf-auto").await;
    app.post_expect(&key, early, "accepted").await;
}

#[actix_web::test]
async fn a_truck_fix_moves_every_car_on_board_and_an_empty_truck_still_shows() {
    let (_redis, app, key) = setup().await;
    for o in ["JD-2", "JD-3"] {
        app.order(o, "sf-auto").await;
    }
    for o in ["JD-1", "JD-2", "JD-3"] {
        load(&app, &key, o, "YUE-A-1", -60).await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("g1", "YUE-A-1", -30, 24.0, 113.6)]),
        "accepted",
    )
    .await;
    for o in ["JD-1", "JD-2", "JD-3"] {
        assert_eq!(app.get_order(o).await["position"]["lat"], 24.0);
        let h = app.carrier_history(o).await;
        assert_eq!(h.iter().filter(|e| e["event_id"] == "g1").count(), 1, "{o}");
    }
    // Unloading takes a car off; the next fix moves only the others.
    app.post_expect(
        &key,
        json!([scan("u1", "JD-1", "unloaded", -20)]),
        "accepted",
    )
    .await;
    app.post_expect(
        &key,
        json!([truck_fix("g2", "YUE-A-1", -10, 24.1, 113.6)]),
        "accepted",
    )
    .await;
    assert_eq!(app.get_order("JD-1").await["position"]["lat"], 24.0);
    assert_eq!(app.get_order("JD-1").await["truck_id"], Value::Null);
    assert_eq!(app.get_order("JD-2").await["position"]["lat"], 24.1);
    // Empty, the truck is still known and still on the fleet.
    for o in ["JD-2", "JD-3"] {
        app.post_expect(
            &key,
            json!([scan(&format!("{o}-u"), o, "unloaded", -5)]),
            "accepted",
        )
        .await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("g3", "YUE-A-1", -1, 24.15, 113.6)]),
        "accepted",
    )
    .await;
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&app.admin), None)
        .await;
    let truck = &fleet.body["trucks"][0];
    assert_eq!(truck["truck_id"], "YUE-A-1");
    assert_eq!(truck["position"]["lat"], 24.15);
    assert_eq!(truck["order_ids"], json!([]));
}
