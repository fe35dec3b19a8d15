//! The geo intelligence through the HTTP API: sites and routes, a recorded
//! drive from the plant to Wuhan replayed as its tracker sent it, and the
//! alert no fix can raise.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vinpath::clock::Clock;

use crate::support::*;

const SITES: &str = include_str!("../../fixtures/sites.jsonl");
const TRACK: &str = include_str!("../../fixtures/track-plant-wuhan.json");

async fn with_sites(app: &TestApp) {
    for line in SITES.lines() {
        let s: Value = serde_json::from_str(line).unwrap();
        let r = app
            .call("POST", "/api/v1/sites", Some(&app.admin), Some(s))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

fn time(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[actix_web::test]
async fn sites_and_routes_are_checked() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    with_sites(&app).await;
    let dispatcher = app.dispatcher().await;
    let r = app
        .call("GET", "/api/v1/sites", Some(&dispatcher), None)
        .await;
    assert_eq!(r.body["sites"].as_array().unwrap().len(), 7);
    let admin = Some(app.admin.as_str());
    let dup = json!({"site_id": "jd-wuhan", "name": "again", "kind": "warehouse", "center": {"lat": 30.0, "lon": 114.0}, "radius_m": 300});
    app.call("POST", "/api/v1/sites", admin, Some(dup))
        .await
        .assert_problem(409, "exists");
    let open_ring = json!({"site_id": "x", "kind": "warehouse", "area": {"type": "Polygon", "coordinates": [[[114.0, 30.0], [114.1, 30.0], [114.1, 30.1], [114.0, 30.1]]]}});
    app.call("POST", "/api/v1/sites", admin, Some(open_ring))
        .await
        .assert_problem(422, "invalid_field");
    let no_area = json!({"site_id": "y", "kind": "warehouse"});
    app.call("POST", "/api/v1/sites", admin, Some(no_area))
        .await
        .assert_problem(422, "invalid_field");
    let bad_kind = json!({"site_id": "z", "kind": "harbour", "center": {"lat": 30.0, "lon": 114.0}, "radius_m": 300});
    app.call("POST", "/api/v1/sites", admin, Some(bad_kind))
        .await
        .assert_problem(422, "invalid_field");
    app.call("POST", "/api/v1/sites", Some(&dispatcher), Some(json!({})))
        .await
        .assert_problem(403, "forbidden");

    app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    let route = json!({"type": "LineString", "coordinates": [[113.47, 23.03], [113.30, 23.40], [116.46, 39.92]]});
    let r = app
        .call(
            "PUT",
            "/api/v1/orders/JD-1/route",
            Some(&dispatcher),
            Some(route.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.call(
        "PUT",
        "/api/v1/orders/JD-9/route",
        Some(&dispatcher),
        Some(route),
    )
    .await
    .assert_problem(404, "not_found");
    let short = json!({"type": "LineString", "coordinates": [[113.47, 23.03]]});
    app.call(
        "PUT",
        "/api/v1/orders/JD-1/route",
        Some(&dispatcher),
        Some(short),
    )
    .await
    .assert_problem(422, "invalid_field");
    let wrong = json!({"type": "LineString", "coordinates": [[113.47, 95.0], [113.3, 23.4]]});
    app.call(
        "PUT",
        "/api/v1/orders/JD-1/route",
        Some(&dispatcher),
        Some(wrong),
    )
    .await
    .assert_problem(422, "invalid_field");
}

/// The recorded drive, replayed through the API as the tracker sent it.
#[actix_web::test]
async fn the_recorded_drive_from_the_plant_to_wuhan() {
    let track: Value = serde_json::from_str(TRACK).unwrap();
    let events = track["events"].as_array().unwrap();
    let expect = &track["expect"];
    let arrival = time(expect["arrival"].as_str().unwrap());
    let start = time(events[0]["occurred_at"].as_str().unwrap());
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    with_sites(&app).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let mut order = order_body("JD-WUH", "sf-auto");
    order["destination"] = json!({"name": "JD warehouse Wuhan", "lat": 30.62, "lon": 114.14});
    order["promised_by"] = json!((arrival + chrono::Duration::days(1)).to_rfc3339());
    let r = app
        .call("POST", "/api/v1/orders", Some(&app.admin), Some(order))
        .await;
    assert_eq!(r.status, 201);
    let token = r.body["tracking_token"].as_str().unwrap().to_owned();
    let route = json!({"type": "LineString", "coordinates": track["route"]});
    assert_eq!(
        app.call(
            "PUT",
            "/api/v1/orders/JD-WUH/route",
            Some(&dispatcher),
            Some(route)
        )
        .await
        .status,
        200
    );
    let mut loaded = json!({"event_id": "load", "kind": "scan", "order_id": "JD-WUH", "milestone": "loaded",
        "truck_id": "YUE-A-12345", "site_id": "gac-panyu", "occurred_at": at_from(start, -20)});
    let released = json!({"event_id": "rel", "kind": "scan", "order_id": "JD-WUH", "milestone": "released", "occurred_at": at_from(start, -30)});
    loaded["note"] = json!("deck 1, slot 3");
    app.post_expect(&key, json!([released, loaded]), "accepted")
        .await;
    let mut fleet = app
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .unwrap();
    assert_eq!(fleet.next().await["type"], "snapshot");
    let mut customer = app.ws(&format!("/ws/track/{token}")).await.unwrap();
    assert_eq!(customer.next().await["type"], "snapshot");

    let order: Vec<usize> = track["send_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    let mut statuses = std::collections::HashMap::new();
    let mut eta_checked = false;
    for chunk in order.chunks(10) {
        let batch: Vec<Value> = chunk.iter().map(|&i| events[i].clone()).collect();
        let r = app.events(&key, json!(batch)).await;
        assert_eq!(r.status, 200);
        for res in r.body["results"].as_array().unwrap() {
            statuses.insert(
                res["event_id"].as_str().unwrap().to_owned(),
                (res["status"].clone(), res["code"].clone()),
            );
        }
        let newest = chunk
            .iter()
            .map(|&i| time(events[i]["occurred_at"].as_str().unwrap()))
            .max()
            .unwrap();
        if !eta_checked && newest >= arrival - chrono::Duration::minutes(20) {
            eta_checked = true;
            let eta = time(app.get_order("JD-WUH").await["eta"].as_str().unwrap());
            let off = (eta - arrival).num_minutes().abs();
            assert!(
                off <= 5,
                "ETA {eta} is {off} min from the real arrival {arrival}"
            );
        }
    }
    assert!(eta_checked);

    // The jump was filtered, everything else counted.
    let jump = expect["jump"].as_str().unwrap();
    assert_eq!(
        statuses[jump],
        (json!("filtered"), json!("implausible_speed"))
    );
    let filtered = statuses.values().filter(|(s, _)| s == "filtered").count();
    assert_eq!(filtered, 1, "only the jump is noise");
    let stale = statuses.values().filter(|(s, _)| s == "stale").count();
    assert_eq!(
        stale, 20,
        "the late batch adds to the track but moves nothing"
    );

    // Leaving the plant gave in_transit; reaching Wuhan gave arrived, once.
    let history = app.history("JD-WUH").await;
    let geofence: Vec<(String, String)> = history
        .iter()
        .filter(|e| e["kind"] == "geofence" && e["status"] == "accepted")
        .map(|e| {
            (
                e["milestone"].as_str().unwrap().to_owned(),
                e["site_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        geofence,
        [
            ("in_transit".to_owned(), "gac-panyu".to_owned()),
            ("arrived".to_owned(), "jd-wuhan".to_owned())
        ]
    );
    let o = app.get_order("JD-WUH").await;
    assert_eq!(o["milestone"], "arrived");
    let arrived_at = time(o["milestone_at"].as_str().unwrap());
    assert!(
        (arrived_at - arrival).num_minutes().abs() <= 5,
        "arrived at {arrived_at}, really {arrival}"
    );

    // Inside the warehouse, the customer sees the warehouse, not the bay.
    let public = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    assert_eq!(public.body["position"]["site_id"], "jd-wuhan");
    assert_ne!(public.body["position"]["lat"], o["position"]["lat"]);
    assert!(public.body["eta"].is_string());

    // The long stop raised a stationary alert and moving on cleared it.
    let mut alerts = Vec::new();
    while let Some(m) = fleet.next_within(Duration::from_millis(800)).await {
        if m["event"]["kind"] == "alert" {
            alerts.push((
                m["event"]["alert_kind"].clone(),
                m["event"]["state"].clone(),
            ));
        }
    }
    assert_eq!(
        alerts,
        [
            (json!("stationary"), json!("raised")),
            (json!("stationary"), json!("cleared"))
        ]
    );
    let open = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    assert_eq!(open.body["alerts"], json!([]));

    // The customer heard the milestones, the ETA now and then, and that
    // the car was arriving, once.
    // (The long stop may also come as a "stopped" notice and its
    // withdrawal; a socket lagging behind the burst may miss either, but
    // the last word is never that the car stands still.)
    let mut kinds = Vec::new();
    let mut stopped = Vec::new();
    while let Some(m) = customer.next_within(Duration::from_millis(500)).await {
        if m["event"]["notice"] == "stopped" {
            stopped.push(m["event"]["cleared"] == true);
            continue;
        }
        kinds.push(m["event"]["kind"].as_str().unwrap_or("").to_owned());
    }
    assert_eq!(kinds.iter().filter(|k| *k == "notice").count(), 1);
    assert_ne!(
        stopped.last(),
        Some(&false),
        "told it stopped, then that it moves: {stopped:?}"
    );
    let etas = kinds.iter().filter(|k| *k == "eta").count();
    assert!(
        (1..=events.len() / 10).contains(&etas),
        "ETA told when it moved, not on every fix: {etas}"
    );
    assert_eq!(kinds.iter().filter(|k| *k == "milestone").count(), 2);

    // A move inside the warehouse is the dispatchers' business only.
    let inside = json!({"event_id": "inside-1", "kind": "gps", "truck_id": "YUE-A-12345",
        "occurred_at": at_from(arrival, 50), "lat": 30.6203, "lon": 114.1398});
    app.post_expect(&key, json!([inside]), "accepted").await;
    while let Some(m) = customer.next_within(Duration::from_millis(800)).await {
        assert_ne!(
            m["event"]["kind"], "position",
            "no bay position for the customer: {m}"
        );
    }
    let mut seen = false;
    while let Some(m) = fleet.next_within(Duration::from_millis(1200)).await {
        seen |= m["type"] == "positions"
            && m["vehicles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["order_id"] == "JD-WUH");
    }
    assert!(seen, "dispatchers still see the car move");
}

#[actix_web::test]
async fn a_quiet_tracker_in_transit_raises_no_signal_and_its_next_fix_clears_it() {
    let redis = TestRedis::start();
    let clock = Clock::manual(Utc::now());
    let mut s = settings(&redis);
    s.clock = clock.clone();
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    app.order("JD-1", "sf-auto").await;
    load(&app, &key, "JD-1", "T1", -20).await;
    app.post_expect(
        &key,
        json!([
            scan("t", "JD-1", "in_transit", -10),
            truck_fix("g1", "T1", -9, 23.1, 113.5)
        ]),
        "accepted",
    )
    .await;
    assert_eq!(app.jobs.check_no_signal_now().await.unwrap(), 0);
    let r = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    assert_eq!(r.body["alerts"], json!([]), "quiet for 9 minutes is fine");
    clock.advance(chrono::Duration::minutes(40));
    assert_eq!(app.jobs.check_no_signal_now().await.unwrap(), 1);
    assert_eq!(
        app.jobs.check_no_signal_now().await.unwrap(),
        0,
        "raised once, however often the watch runs"
    );
    let r = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    let alerts = r.body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{}", r.body);
    assert_eq!(alerts[0]["kind"], "no_signal");
    assert_eq!(alerts[0]["order_id"], "JD-1");
    assert_eq!(alerts[0]["truck_id"], "T1");
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&dispatcher), None)
        .await;
    assert_eq!(fleet.body["fleet"][0]["alerts"][0]["kind"], "no_signal");
    let fix = json!({"event_id": "g2", "kind": "gps", "truck_id": "T1", "occurred_at": at_from(clock.now(), -1), "lat": 23.2, "lon": 113.5});
    app.post_expect(&key, json!([fix]), "accepted").await;
    let r = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    assert_eq!(r.body["alerts"], json!([]));
}

/// A scan at a site shows the car at the site, even on an instance that
/// had not yet heard of the site.
#[actix_web::test]
async fn a_scan_at_a_site_places_the_car_there_on_any_instance() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    let key = a.carrier("sf-auto").await;
    let site = json!({"site_id": "jd-wuhan", "name": "JD Wuhan", "kind": "warehouse", "center": {"lat": 30.62, "lon": 114.14}, "radius_m": 400});
    assert_eq!(
        a.call("POST", "/api/v1/sites", Some(&a.admin), Some(site))
            .await
            .status,
        201
    );
    for (app, order) in [(&a, "JD-A"), (&b, "JD-B")] {
        let token = app.order(order, "sf-auto").await;
        load(app, &key, order, "T1", -60).await;
        let mut unloaded = scan(&format!("{order}-u"), order, "unloaded", -20);
        unloaded["site_id"] = json!("jd-wuhan");
        unloaded["lat"] = json!(30.6213);
        unloaded["lon"] = json!(114.1388);
        app.post_expect(&key, json!([unloaded]), "accepted").await;
        let view = app
            .call("GET", &format!("/api/v1/track/{token}"), None, None)
            .await;
        assert_eq!(
            view.body["position"]["site_id"], "jd-wuhan",
            "{order}: {}",
            view.body
        );
        assert_eq!(
            view.body["position"]["lat"], 30.62,
            "{order}: the site, not the bay"
        );
    }
}

/// A fix sent twice in one request is applied once, and what it means
/// (the ETA) is written with that one.
#[actix_web::test]
async fn a_fix_sent_twice_in_one_request_still_sets_the_eta() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-D", "sf-auto").await;
    load(&app, &key, "JD-D", "T1", -20).await;
    assert!(app.get_order("JD-D").await["eta"].is_null());
    let fix = truck_fix("d1", "T1", -5, 23.1, 113.5);
    let r = app.events(&key, json!([fix, fix])).await;
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "duplicate"], "{}", r.body);
    assert!(app.get_order("JD-D").await["eta"].is_string());
}
