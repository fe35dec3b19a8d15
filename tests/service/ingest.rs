//! The ingest core's behaviour through the API: duplicates per carrier and
//! on Redis's clock, reused ids, late scans kept, every live frame with its
//! own cursor, follow-ups never left half-done, answers in plain words.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use vinpath::clock::Clock;
use vinpath::domain::CarrierEvent;
use vinpath::store::functions::{Function, IdSpace, Identity, Scan, ScanAnswer};
use vinpath::store::{Store, StoreOptions};

use crate::support::*;

async fn setup() -> (TestRedis, TestApp, String) {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.order("JD-2", "sf-auto").await;
    (redis, app, key)
}

fn result(r: &Reply, i: usize) -> (String, Option<String>, String) {
    let res = &r.body["results"][i];
    (
        res["status"].as_str().unwrap_or("?").to_owned(),
        res["code"].as_str().map(str::to_owned),
        res["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[actix_web::test]
async fn an_event_id_is_the_carriers_and_reusing_it_for_another_event_is_refused() {
    let (_redis, app, key) = setup().await;
    let first = scan("x1", "JD-1", "produced", -30);
    app.post_expect(&key, json!([first.clone()]), "accepted")
        .await;
    // The same event again: a duplicate.
    app.post_expect(&key, json!([first]), "duplicate").await;
    // The same id for another order: refused, saying what it named before.
    let r = app
        .events(&key, json!([scan("x1", "JD-2", "produced", -30)]))
        .await;
    let (status, code, message) = result(&r, 0);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("rejected", Some("event_id_reused"))
    );
    assert!(message.contains("order JD-1"), "{message}");
    // Or for a changed scan of the same order: never silently a duplicate.
    let r = app
        .events(&key, json!([scan("x1", "JD-1", "released", -20)]))
        .await;
    assert_eq!(result(&r, 0).1.as_deref(), Some("event_id_reused"));
    // A fix under a scan's id, too.
    let r = app
        .events(&key, json!([order_fix("x1", "JD-2", -10, 23.1, 113.5)]))
        .await;
    assert_eq!(result(&r, 0).1.as_deref(), Some("event_id_reused"));
    // Nothing of these moved JD-2.
    assert_eq!(app.get_order("JD-2").await["milestone"], "ordered");
    assert_eq!(app.get_order("JD-1").await["milestone"], "produced");
    // Another carrier has ids of its own.
    let other = app.carrier("other").await;
    app.order("JD-3", "other").await;
    app.post_expect(
        &other,
        json!([scan("x1", "JD-3", "produced", -30)]),
        "accepted",
    )
    .await;
}

#[actix_web::test]
async fn duplicates_follow_redis_clock_not_each_instance() {
    // Two instances whose clocks are 8 days apart (more than a bucket of
    // remembered ids): each names buckets around its own clock, Redis
    // picks by its own, so both agree on what was seen.
    let redis = TestRedis::start();
    let mut ahead = settings(&redis);
    ahead.clock = Clock::manual(Utc::now() + Duration::days(4));
    let a = TestApp::with(ahead).await;
    let mut behind = settings(&redis);
    behind.clock = Clock::manual(Utc::now() - Duration::days(4));
    let b = TestApp::with(behind).await;
    let key = a.carrier("sf-auto").await;
    a.order("JD-1", "sf-auto").await;
    let e = scan("skew-1", "JD-1", "produced", -6 * 24 * 60);
    a.post_expect(&key, json!([e.clone()]), "accepted").await;
    b.post_expect(&key, json!([e]), "duplicate").await;
}

#[actix_web::test]
async fn a_late_scan_is_stale_whatever_its_milestone_and_kept_in_the_timeline() {
    let (_redis, app, key) = setup().await;
    let token = app.order("JD-9", "sf-auto").await;
    load(&app, &key, "JD-9", "T1", -60).await;
    app.post_expect(
        &key,
        json!([scan("t", "JD-9", "in_transit", -50)]),
        "accepted",
    )
    .await;
    // unloaded with the arrived scan missing: a gap.
    app.post_expect(
        &key,
        json!([scan("u", "JD-9", "unloaded", -10)]),
        "accepted",
    )
    .await;
    // The arrived scan comes late: from unloaded it could never follow,
    // but it is history, not an error.
    let r = app
        .events(&key, json!([scan("ar", "JD-9", "arrived", -20)]))
        .await;
    let (status, code, message) = result(&r, 0);
    assert_eq!((status.as_str(), code), ("stale", None));
    assert!(message.contains("already shows unloaded"), "{message}");
    let h = app.carrier_history("JD-9").await;
    let late = h
        .iter()
        .find(|e| e["event_id"] == "ar")
        .expect("kept in history");
    assert_eq!(late["status"], "stale");
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    let steps: Vec<&str> = view.body["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|s| s["milestone"].as_str())
        .collect();
    assert!(steps.contains(&"arrived"), "{steps:?}");
    assert_eq!(app.get_order("JD-9").await["milestone"], "unloaded");
}

#[actix_web::test]
async fn every_live_frame_has_its_own_cursor_and_a_resume_after_any_skips_nothing() {
    let (_redis, app, key) = setup().await;
    let token = app.order("JD-5", "sf-auto").await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("open");
    assert_eq!(ws.next().await["type"], "snapshot");
    // A scan that moves the milestone and the car: two frames.
    let mut s = scan("p1", "JD-5", "produced", -5);
    s["lat"] = json!(23.05);
    s["lon"] = json!(113.5);
    app.post_expect(&key, json!([s]), "accepted").await;
    let m = ws.next().await;
    let p = ws.next().await;
    assert_eq!(
        (m["event"]["kind"].as_str(), p["event"]["kind"].as_str()),
        (Some("milestone"), Some("position"))
    );
    assert_ne!(m["cursor"], p["cursor"]);
    // A page that saw only the milestone resumes after it: the position
    // comes, and nothing twice.
    let after = m["cursor"].as_str().unwrap();
    let mut again = app
        .ws(&format!("/ws/track/{token}?after={after}"))
        .await
        .expect("open");
    let next = again.next().await;
    assert_eq!(next["event"]["kind"], "position");
    assert_eq!(next["cursor"], p["cursor"]);
    assert!(
        again
            .next_within(std::time::Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[actix_web::test]
async fn a_scan_that_moves_no_milestone_keeps_its_own_history_entry() {
    let (_redis, app, key) = setup().await;
    load(&app, &key, "JD-1", "T1", -60).await;
    // The car moved to another truck, scanned where it stands.
    let mut again = scan("l2", "JD-1", "loaded", -30);
    again["truck_id"] = json!("T2");
    again["lat"] = json!(23.2);
    again["lon"] = json!(113.6);
    app.post_expect(&key, json!([again]), "accepted").await;
    let h = app.history("JD-1").await;
    let kinds: Vec<(&str, &str)> = h
        .iter()
        .filter(|e| e["event_id"] == "l2")
        .map(|e| (e["kind"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("scan", "accepted"), ("position", "accepted")]);
    assert_eq!(app.get_order("JD-1").await["truck_id"], "T2");
}

#[actix_web::test]
async fn a_retried_cancel_answers_as_the_first_did() {
    let (_redis, app, key) = setup().await;
    load(&app, &key, "JD-1", "T1", -60).await;
    for _ in 0..2 {
        let r = app
            .call("POST", "/api/v1/orders/JD-1/cancel", Some(&app.admin), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["milestone"], "cancelled");
    }
    // Off the truck: its fixes move nobody, and the fleet shows it no more.
    let r = app
        .events(&key, json!([truck_fix("g", "T1", -1, 23.2, 113.5)]))
        .await;
    assert_eq!(result(&r, 0).0, "accepted");
    let fleet = app
        .call("GET", "/api/v1/fleet", Some(&app.admin), None)
        .await;
    let trucks = fleet.body["trucks"].to_string();
    assert!(!trucks.contains("JD-1"), "{trucks}");
}

/// Applies a loading scan as `POST /api/v1/events` would, but leaves its
/// follow-up undone, as a failure between the two round trips would.
async fn load_without_follow_up(redis: &TestRedis, raw: &Value) {
    let store = Store::connect(&redis.url(), StoreOptions::default())
        .await
        .expect("a store");
    let now = Utc::now();
    let e = CarrierEvent::parse(raw.clone(), now).expect("a valid scan");
    let vinpath::domain::EventBody::Scan(s) = &e.body else {
        panic!("a scan")
    };
    let id = Identity::new(
        e.event_id.as_str(),
        vinpath::ingest::plan::digest(&e),
        vinpath::ingest::plan::target(&e),
        now,
        7,
    );
    let l = vinpath::ingest::plan::scan_letters(s.milestone);
    let record = e.record(now).to_string();
    let mut pipe = redis::pipe();
    Scan {
        order: s.order_id.as_str(),
        ids: IdSpace::Carrier("sf-auto"),
        carrier: Some("sf-auto"),
        identity: &id,
        at: e.occurred_at,
        received_at: now,
        record: &record,
        milestone: s.milestone.as_str(),
        by_current: &l.by_current,
        from_hold: &l.from_hold,
        ends_alerts: &l.ends_alerts,
        truck: s.truck_id.as_ref().map(|t| t.as_str()),
        position: None,
        vin: None,
        site: &vinpath::store::functions::SitePlacement::Left,
        crossing: None,
        leg: None,
        proof: "",
        proof_required: false,
    }
    .push(&mut pipe);
    let v = store
        .query_each(&mut pipe)
        .await
        .expect("applied")
        .pop()
        .expect("an answer");
    assert!(ScanAnswer::parse(v).expect("an answer").followup.is_some());
}

#[actix_web::test]
async fn a_follow_up_left_undone_is_completed_by_a_retry_or_by_the_repair_job() {
    let redis = TestRedis::start();
    let clock = Clock::manual(Utc::now());
    let mut s = settings(&redis);
    s.clock = clock.clone();
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.order("JD-2", "sf-auto").await;
    app.post_expect(
        &key,
        json!([
            scan("r1", "JD-1", "released", -70),
            scan("r2", "JD-2", "released", -70)
        ]),
        "accepted",
    )
    .await;
    let mut l1 = scan("l1", "JD-1", "loaded", -60);
    l1["truck_id"] = json!("T1");
    let mut l2 = scan("l2", "JD-2", "loaded", -60);
    l2["truck_id"] = json!("T2");
    load_without_follow_up(&redis, &l1).await;
    load_without_follow_up(&redis, &l2).await;
    // Until then the trucks are unknown to their carrier.
    let r = app
        .events(&key, json!([truck_fix("a1", "T1", -50, 23.2, 113.5)]))
        .await;
    assert_eq!(result(&r, 0).1.as_deref(), Some("unknown_truck"));
    // The carrier resends the loading: a duplicate, and the binding done.
    app.post_expect(&key, json!([l1]), "duplicate").await;
    app.post_expect(
        &key,
        json!([truck_fix("a2", "T1", -50, 23.2, 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(app.get_order("JD-1").await["position"]["lat"], 23.2);
    // Nobody resends the other: the repair job does it.
    let store = Store::connect(&redis.url(), StoreOptions::default())
        .await
        .expect("a store");
    let repaired =
        vinpath::ingest::followup::repair_due(&store, Utc::now() + Duration::seconds(11))
            .await
            .expect("repaired");
    assert_eq!(repaired, 1);
    app.post_expect(
        &key,
        json!([truck_fix("b1", "T2", -50, 23.3, 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(app.get_order("JD-2").await["position"]["lat"], 23.3);
    assert_eq!(
        vinpath::ingest::followup::repair_due(&store, Utc::now() + Duration::seconds(11))
            .await
            .expect("nothing"),
        0
    );
}

#[actix_web::test]
async fn refusals_say_what_the_order_shows_and_what_may_follow() {
    let (_redis, app, key) = setup().await;
    let r = app
        .events(&key, json!([scan("i1", "JD-1", "in_transit", -5)]))
        .await;
    let (status, code, message) = result(&r, 0);
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("rejected", Some("illegal_transition"))
    );
    assert!(
        message.contains("is at ordered")
            && message.contains("produced")
            && message.contains("scan loaded first"),
        "{message}"
    );
    let r = app
        .events(&key, json!([truck_fix("k1", "YUE-B-9", -5, 23.1, 113.5)]))
        .await;
    let (_, code, message) = result(&r, 0);
    assert_eq!(code.as_deref(), Some("unknown_truck"));
    assert!(
        message.contains("truck YUE-B-9") && message.contains("loaded"),
        "{message}"
    );
    let r = app
        .events(&key, json!([scan("u1", "JD-404", "produced", -5)]))
        .await;
    assert_eq!(result(&r, 0).2, "there is no order JD-404");
    // No parser jargon for a field of the wrong type.
    let r = app.events(&key, json!([{"event_id": "w1", "kind": "gps", "truck_id": "T1", "occurred_at": at(-1), "lat": "23.1", "lon": 113.5}])).await;
    let (_, code, message) = result(&r, 0);
    assert_eq!(code.as_deref(), Some("invalid_field"));
    assert!(
        !message.contains("expected") && message.contains("lat"),
        "{message}"
    );
}
