//! Leaving and arriving as DOMAIN.md's "Leaving and arriving" says: a car
//! is inside its loading place from the loading, whether or not it is a
//! registered site, and arrives near its destination even where that is no
//! site.

use serde_json::{Value, json};

use crate::support::*;

const PLANT: (f64, f64) = (23.03, 113.47);

fn fix_at(id: &str, minutes: i64, seconds: i64, lat: f64, lon: f64) -> Value {
    let mut f = truck_fix(id, "T1", minutes, lat, lon);
    let t: chrono::DateTime<chrono::Utc> = f["occurred_at"].as_str().unwrap().parse().unwrap();
    f["occurred_at"] = json!((t + chrono::Duration::seconds(seconds)).to_rfc3339());
    f
}

fn geofence_events(history: &[Value]) -> Vec<(String, String)> {
    history
        .iter()
        .filter(|e| e["kind"] == "geofence")
        .map(|e| {
            (
                e["milestone"].as_str().unwrap_or("?").to_owned(),
                e["site_id"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

/// A car loaded at `where_` (scan fields) on truck T1, `minutes` ago.
async fn loaded(app: &TestApp, key: &str, order: &str, where_: Value, minutes: i64) {
    app.order(order, "sf-auto").await;
    let mut l = scan(&format!("{order}-l"), order, "loaded", -minutes);
    l["truck_id"] = json!("T1");
    for (k, v) in where_.as_object().unwrap() {
        l[k] = v.clone();
    }
    app.post_expect(
        key,
        json!([
            scan(&format!("{order}-r"), order, "released", -minutes - 1),
            l
        ]),
        "accepted",
    )
    .await;
}

#[actix_web::test]
async fn a_truck_that_drives_off_the_plant_at_once_takes_its_cars_in_transit() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let plant = json!({"site_id": "gac-panyu", "name": "GAC Aion Panyu plant", "kind": "plant",
        "center": {"lat": PLANT.0, "lon": PLANT.1}, "radius_m": 500});
    let r = app
        .call("POST", "/api/v1/sites", Some(&app.admin), Some(plant))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    loaded(&app, &key, "JD-1", json!({"site_id": "gac-panyu"}), 30).await;
    // One fix inside the plant 30 s after the loading, then on the road.
    let mut fixes = vec![fix_at("f0", -30, 30, PLANT.0, PLANT.1)];
    fixes.extend((1..8).map(|i| {
        fix_at(
            &format!("f{i}"),
            -29 + i,
            0,
            PLANT.0 + 0.01 * i as f64,
            PLANT.1,
        )
    }));
    app.post_expect(&key, json!(fixes), "accepted").await;
    assert_eq!(app.get_order("JD-1").await["milestone"], "in_transit");
    let h = app.history("JD-1").await;
    assert_eq!(
        geofence_events(&h),
        [("in_transit".to_owned(), "gac-panyu".to_owned())]
    );
}

#[actix_web::test]
async fn a_loading_point_that_is_no_site_counts_and_so_does_the_destination() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    // Loaded at a roadside yard nobody registered, 300 km north.
    let yard = (26.0, 113.5);
    loaded(
        &app,
        &key,
        "JD-2",
        json!({"lat": yard.0, "lon": yard.1}),
        2000,
    )
    .await;
    // Moving about the yard (within a kilometre) is not leaving it.
    let about: Vec<_> = (0..3)
        .map(|i| {
            fix_at(
                &format!("y{i}"),
                -1999 + i,
                0,
                yard.0 + 0.002 * i as f64,
                yard.1,
            )
        })
        .collect();
    app.post_expect(&key, json!(about), "accepted").await;
    assert_eq!(app.get_order("JD-2").await["milestone"], "loaded");
    let away: Vec<_> = (3..9)
        .map(|i| {
            fix_at(
                &format!("y{i}"),
                -1999 + i,
                0,
                yard.0 + 0.01 * i as f64,
                yard.1,
            )
        })
        .collect();
    app.post_expect(&key, json!(away), "accepted").await;
    assert_eq!(app.get_order("JD-2").await["milestone"], "in_transit");
    // The order's destination (Chaoyang, Beijing) is no site: within a
    // kilometre of it, a day and a half later, the car has arrived.
    let near = fix_at("b1", -10, 0, 39.92 + 0.005, 116.46);
    app.post_expect(&key, json!([near]), "accepted").await;
    assert_eq!(app.get_order("JD-2").await["milestone"], "arrived");
    let h = app.history("JD-2").await;
    assert_eq!(
        geofence_events(&h),
        [
            ("in_transit".to_owned(), "loading-point".to_owned()),
            ("arrived".to_owned(), "destination".to_owned())
        ]
    );
}

#[actix_web::test]
async fn customers_never_see_a_bay_live_or_in_the_road_travelled() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let yard = json!({"site_id": "jd-wuhan", "name": "JD Wuhan", "kind": "warehouse",
        "center": {"lat": 30.62, "lon": 114.14}, "radius_m": 400});
    let r = app
        .call("POST", "/api/v1/sites", Some(&app.admin), Some(yard))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = app.order("JD-7", "sf-auto").await;
    load(&app, &key, "JD-7", "T1", -120).await;
    let mut gated = scan("g", "JD-7", "unloaded", -60);
    gated["site_id"] = json!("jd-wuhan");
    let mut stored = scan("s", "JD-7", "gated_in", -59);
    stored["site_id"] = json!("jd-wuhan");
    app.post_expect(&key, json!([gated, stored]), "accepted")
        .await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("open");
    assert_eq!(ws.next().await["type"], "snapshot");
    // The car's own tracker reports from its bay, 250 m from the yard's
    // middle: inside the site, not yet a committed entry of its fence.
    let bay = order_fix("b1", "JD-7", -30, 30.6222, 114.142);
    app.post_expect(&key, json!([bay]), "accepted").await;
    while let Some(frame) = ws.next_within(std::time::Duration::from_millis(500)).await {
        assert_ne!(
            frame["event"]["kind"], "position",
            "no bay position goes out live"
        );
    }
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    assert_eq!(view.body["position"]["site_id"], "jd-wuhan");
    assert_eq!(view.body["position"]["lat"], 30.62);
    let track = view.body["track"].as_array().expect("the road travelled");
    assert!(
        track.iter().all(|p| p[0] != 30.6222),
        "the bay is not in the road travelled: {track:?}"
    );
    // Dispatchers see the bay.
    assert_eq!(app.get_order("JD-7").await["position"]["lat"], 30.6222);
}
