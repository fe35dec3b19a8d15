//! The steady state of GPS ingest: each instance keeps a vehicle's context,
//! so a fix takes one Redis round trip; a copy another instance made out of
//! date is found out by the functions and read again.

use serde_json::json;

use crate::support::*;

async fn round_trips(app: &TestApp) -> u64 {
    app.api.round_trips().await.expect("the round-trip counter") as u64
}

#[actix_web::test]
async fn a_truck_fix_takes_one_round_trip_in_the_steady_state() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    for o in ["JD-1", "JD-2", "JD-3"] {
        app.order(o, "sf-auto").await;
        load(&app, &key, o, "T1", -60).await;
    }
    for i in 0..2 {
        let fix = truck_fix(&format!("w{i}"), "T1", -50 + i, lat(i), 113.5);
        app.post_expect(&key, json!([fix]), "accepted").await;
    }
    let before = round_trips(&app).await;
    app.post_expect(
        &key,
        json!([truck_fix("w2", "T1", -48, lat(2), 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(round_trips(&app).await - before, 1);
    let batch: Vec<_> = (3..20)
        .map(|i| truck_fix(&format!("w{i}"), "T1", -50 + i, lat(i), 113.5))
        .collect();
    let before = round_trips(&app).await;
    app.post_expect(&key, json!(batch), "accepted").await;
    assert_eq!(round_trips(&app).await - before, 1);
    for o in ["JD-1", "JD-2", "JD-3"] {
        assert_eq!(app.get_order(o).await["position"]["lat"], lat(19), "{o}");
    }
}

#[actix_web::test]
async fn a_copy_another_instance_made_out_of_date_is_read_again() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    let key = a.carrier("sf-auto").await;
    for o in ["JD-1", "JD-2"] {
        a.order(o, "sf-auto").await;
        load(&a, &key, o, "T1", -60).await;
    }
    for i in 0..2 {
        let fix = truck_fix(&format!("a{i}"), "T1", -50 + i, lat(i), 113.5);
        a.post_expect(&key, json!([fix]), "accepted").await;
    }
    // On the other instance, JD-2 comes off the truck.
    b.post_expect(
        &key,
        json!([scan("u2", "JD-2", "unloaded", -45)]),
        "accepted",
    )
    .await;
    a.post_expect(
        &key,
        json!([truck_fix("a2", "T1", -40, lat(2), 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(a.get_order("JD-1").await["position"]["lat"], lat(2));
    assert_eq!(
        a.get_order("JD-2").await["position"]["lat"],
        lat(1),
        "a car taken off the truck elsewhere is not moved by it"
    );
    // The other instance moves the truck further: this one's copy is out
    // of date, and an older fix is found stale, not applied over it.
    b.post_expect(
        &key,
        json!([truck_fix("b1", "T1", -30, lat(5), 113.5)]),
        "accepted",
    )
    .await;
    a.post_expect(
        &key,
        json!([truck_fix("a3", "T1", -35, lat(3), 113.5)]),
        "stale",
    )
    .await;
    assert_eq!(a.get_order("JD-1").await["position"]["lat"], lat(5));
    a.post_expect(
        &key,
        json!([truck_fix("a4", "T1", -29, lat(6), 113.5)]),
        "accepted",
    )
    .await;
    assert_eq!(a.get_order("JD-1").await["position"]["lat"], lat(6));
}

#[actix_web::test]
async fn a_resent_batch_with_a_new_fix_still_takes_one_round_trip() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    load(&app, &key, "JD-1", "T1", -60).await;
    let f1 = truck_fix("r1", "T1", -50, lat(1), 113.5);
    app.post_expect(&key, json!([f1.clone()]), "accepted").await;
    // The tracker resends what was not acknowledged, with a new fix: the
    // duplicate is a step of the truck's revision like any other call.
    let before = round_trips(&app).await;
    let r = app
        .events(&key, json!([f1, truck_fix("r2", "T1", -49, lat(2), 113.5)]))
        .await;
    let statuses: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["duplicate", "accepted"]);
    assert_eq!(round_trips(&app).await - before, 1);
    assert_eq!(app.get_order("JD-1").await["position"]["lat"], lat(2));
}
