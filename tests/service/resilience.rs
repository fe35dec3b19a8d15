//! Redis going away under a running vinpath, many instances racing on one
//! truck, and the binary's own embedded Redis.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use serde_json::{Value, json};

use crate::support::*;

#[actix_web::test]
async fn redis_killed_and_restarted_loses_no_acknowledged_event() {
    let mut redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let mut acknowledged = Vec::new();
    for i in 0..5 {
        let id = format!("before-{i}");
        app.post_expect(
            &key,
            json!([order_fix(&id, "JD-1", -100 + i, 23.0, 113.4)]),
            "accepted",
        )
        .await;
        acknowledged.push(id);
    }
    redis.kill();
    let started = Instant::now();
    let r = app
        .events(&key, json!([order_fix("during", "JD-1", -50, 23.0, 113.4)]))
        .await;
    let waited = started.elapsed();
    r.assert_problem(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    assert!(
        waited < Duration::from_secs(2),
        "503 within 2 s, took {waited:?}"
    );
    assert!(
        !r.body
            .to_string()
            .to_lowercase()
            .contains("connection refused"),
        "no Redis error text"
    );
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 503);
    app.call("GET", "/api/v1/orders/JD-1", Some(&app.admin), None)
        .await
        .assert_problem(503, "unavailable");
    // The customer's page says "temporarily unavailable", never that the
    // link is dead.
    let page = app.call("GET", &format!("/t/{token}"), None, None).await;
    assert_eq!(page.status, 503);
    assert!(page.header("retry-after").is_some());
    let html = String::from_utf8_lossy(&page.bytes);
    assert!(
        html.contains("data-unavailable") && !html.contains("not valid"),
        "{html}"
    );

    redis.restart();
    // vinpath recovers by itself: the first calls may still fail while it
    // reconnects, then everything answers.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app
            .events(&key, json!([order_fix("during", "JD-1", -50, 23.0, 113.4)]))
            .await;
        if r.status == 200 {
            assert_eq!(r.body["results"][0]["status"], "accepted");
            acknowledged.push("during".into());
            break;
        }
        assert_eq!(r.status, 503);
        assert!(Instant::now() < deadline, "vinpath did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
    let ids: Vec<String> = app
        .carrier_history("JD-1")
        .await
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, acknowledged);
}

#[actix_web::test]
async fn live_sockets_catch_up_after_redis_comes_back() {
    let mut redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert_eq!(ws.next().await["type"], "snapshot");
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .events(&key, json!([scan("p", "JD-1", "produced", -5)]))
        .await
        .status
        != 200
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Whether it came live or by the catch-up after the resubscription,
    // the event arrives, once.
    let m = ws
        .next_within(Duration::from_secs(8))
        .await
        .expect("the event arrives");
    assert_eq!(m["event"]["milestone"], "produced");
    assert!(
        ws.next_within(Duration::from_millis(800)).await.is_none(),
        "exactly once"
    );
}

/// Two instances on one Redis, many concurrent posts for one truck and
/// its orders, shuffled and resent: the final state is the latest by
/// `occurred_at`, and history holds every recorded event exactly once.
#[actix_web::test]
async fn two_instances_racing_on_one_truck_end_consistent() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    race_on_one_truck(&a, &b).await;
}

/// The race above between two instances `a` and `b` (on one Redis, or on
/// a cluster).
pub(crate) async fn race_on_one_truck(a: &TestApp, b: &TestApp) {
    let key = a.carrier("sf-auto").await;
    let orders = ["JD-1", "JD-2", "JD-3"];
    for o in orders {
        a.order(o, "sf-auto").await;
        load(a, &key, o, "YUE-A-1", -500).await;
    }
    // 60 truck fixes and, per order, 20 scans alternating in_transit and
    // arrived (each may follow the other), all at distinct times.
    let mut events: Vec<Value> = (0..60)
        .map(|i| truck_fix(&format!("g{i}"), "YUE-A-1", -400 + i * 5, lat(i), 113.5))
        .collect();
    for (k, o) in orders.iter().enumerate() {
        for i in 0..20 {
            let m = if i % 2 == 0 { "in_transit" } else { "arrived" };
            events.push(scan(&format!("{o}-s{i}"), o, m, -399 + i * 10 + k as i64));
        }
    }
    events.shuffle(&mut rand::rng());
    // Every batch is sent twice, to both instances at once.
    let batches: Vec<Vec<Value>> = events.chunks(7).map(|c| c.to_vec()).collect();
    let mut posts = Vec::new();
    for batch in &batches {
        for app in [&a, &b] {
            posts.push(app.events(&key, json!(batch)));
        }
    }
    let replies = futures_util::future::join_all(posts).await;
    let mut accepted_or_stale: HashMap<String, usize> = HashMap::new();
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
        for res in r.body["results"].as_array().unwrap() {
            let s = res["status"].as_str().unwrap();
            assert!(["accepted", "stale", "duplicate"].contains(&s), "{res}");
            if s != "duplicate" {
                *accepted_or_stale
                    .entry(res["event_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    assert_eq!(
        accepted_or_stale.len(),
        events.len(),
        "every event recorded"
    );
    assert!(
        accepted_or_stale.values().all(|&n| n == 1),
        "each recorded by exactly one of its two sends"
    );
    for o in orders {
        let state = a.get_order(o).await;
        assert_eq!(
            state["position"]["lat"],
            lat(59),
            "{o}: the latest fix wins"
        );
        assert_eq!(state["milestone"], "arrived", "{o}: the latest scan wins");
        let h = a.carrier_history(o).await;
        let mut count: HashMap<&str, usize> = HashMap::new();
        for e in &h {
            *count.entry(e["event_id"].as_str().unwrap()).or_default() += 1;
        }
        assert!(
            count.values().all(|&n| n == 1),
            "{o}: no event twice in history"
        );
        for i in 0..60 {
            assert_eq!(
                count.get(format!("g{i}").as_str()),
                Some(&1),
                "{o}: fix g{i} recorded once"
            );
        }
        for i in 0..20 {
            assert_eq!(
                count.get(format!("{o}-s{i}").as_str()),
                Some(&1),
                "{o}: scan {i} recorded once"
            );
        }
    }
}

/// Cars moved between trucks by scans that race across two instances end
/// on the truck their latest scan names, and trucks carry exactly them.
#[actix_web::test]
async fn racing_loads_and_unloads_end_on_the_latest_truck() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    race_loads_and_unloads(&a, &b).await;
}

/// The race above between two instances (on one Redis, or on a cluster).
pub(crate) async fn race_loads_and_unloads(a: &TestApp, b: &TestApp) {
    let key = a.carrier("sf-auto").await;
    let orders: Vec<String> = (0..6).map(|i| format!("JD-{i}")).collect();
    let mut events = Vec::new();
    for (k, o) in orders.iter().enumerate() {
        a.order(o, "sf-auto").await;
        // The first loading comes first; from then on every step is legal
        // whatever the order of arrival.
        load(a, &key, o, "T1", -200).await;
        // Loaded on T1, T2, T1, T2... with an unloading between: even
        // orders end unloaded, odd ones loaded on T2.
        let steps = 6 + k % 2;
        for i in 1..steps {
            let minutes = -200 + (i as i64) * 10;
            let mut e = if i % 2 == 0 {
                let mut l = scan(&format!("{o}-{i}"), o, "loaded", minutes);
                l["truck_id"] = json!(if i % 4 == 0 { "T1" } else { "T2" });
                l
            } else {
                scan(&format!("{o}-{i}"), o, "unloaded", minutes)
            };
            e["note"] = json!(format!("step {i}"));
            events.push(e);
        }
    }
    events.shuffle(&mut rand::rng());
    let mut posts = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let app = if i % 2 == 0 { &a } else { &b };
        posts.push(app.events(&key, json!([e])));
    }
    for r in futures_util::future::join_all(posts).await {
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            ["accepted", "stale"].contains(&r.body["results"][0]["status"].as_str().unwrap()),
            "{}",
            r.body
        );
    }
    a.post_expect(
        &key,
        json!([
            truck_fix("f1", "T1", -1, 30.0, 114.0),
            truck_fix("f2", "T2", -1, 31.0, 121.0)
        ]),
        "accepted",
    )
    .await;
    let fleet = a.call("GET", "/api/v1/fleet", Some(&a.admin), None).await;
    let on = |t: &str| -> Vec<String> {
        let truck = fleet.body["trucks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["truck_id"] == t)
            .unwrap();
        truck["order_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_owned())
            .collect()
    };
    for (k, o) in orders.iter().enumerate() {
        let state = a.get_order(o).await;
        if k % 2 == 1 {
            // Last step 6: loaded on T2.
            assert_eq!(state["truck_id"], "T2", "{o}");
            assert_eq!(state["position"]["lat"], 31.0, "{o} moves with T2");
            assert!(on("T2").contains(o) && !on("T1").contains(o), "{o}");
        } else {
            // Last step 5: unloaded.
            assert_eq!(state["truck_id"], Value::Null, "{o}");
            assert_eq!(state["position"], Value::Null, "{o} moved with no truck");
            assert!(!on("T1").contains(o) && !on("T2").contains(o), "{o}");
        }
    }
}

#[actix_web::test]
async fn a_truck_fix_then_an_unloading_in_one_batch_both_count() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    load(&app, &key, "JD-1", "T1", -60).await;
    app.post_expect(
        &key,
        json!([
            scan("u", "JD-1", "unloaded", -5),
            truck_fix("g", "T1", -10, 24.0, 113.0)
        ]),
        "accepted",
    )
    .await;
    let o = app.get_order("JD-1").await;
    assert_eq!(o["milestone"], "unloaded");
    assert_eq!(
        o["position"]["lat"], 24.0,
        "the fix from before the unloading moved the car"
    );
    let ids: Vec<String> = app
        .carrier_history("JD-1")
        .await
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.ends_with(&["g".to_owned(), "u".to_owned()]), "{ids:?}");
}

#[actix_web::test]
async fn a_wrong_vin_is_rejected_before_anything_else() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.post_expect(&key, json!([scan("p", "JD-1", "produced", -5)]), "accepted")
        .await;
    for (id, minutes) in [("p", -5), ("late", -50)] {
        let mut s = scan(id, "JD-1", "produced", minutes);
        s["vin"] = json!("LNAA2AA19SF000002");
        let r = app.events(&key, json!([s])).await;
        assert_eq!(
            r.body["results"][0]["code"], "invalid_field",
            "{id}: {}",
            r.body
        );
    }
    // Once delivered, not even another delivered scan is taken.
    load(&app, &key, "JD-1", "T1", -4).await;
    app.post_expect(
        &key,
        json!([scan("d1", "JD-1", "delivered", -2)]),
        "accepted",
    )
    .await;
    let r = app
        .events(&key, json!([scan("d2", "JD-1", "delivered", -1)]))
        .await;
    assert_eq!(r.body["results"][0]["code"], "illegal_transition");
}

/// A Redis that says "not now" (here our primary turned into a read-only
/// replica, as a failover that demoted it does) is a 503 with
/// `Retry-After`, never a 500.
#[actix_web::test]
async fn a_redis_that_says_not_now_is_a_503() {
    let redis = TestRedis::start();
    let other = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    // And one that waits for a replica: its WAIT is refused there too.
    let mut durable = settings(&redis);
    durable.store.durable_replicas = 1;
    let waiting = TestApp::with(durable).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.post_expect(
        &key,
        json!([order_fix("rw-1", "JD-1", -6, 23.0, 113.4)]),
        "accepted",
    )
    .await;
    // The waiting instance knows the carrier's key before the demotion.
    let r = waiting
        .call("GET", "/api/v1/orders/JD-1", Some(&key), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    replicate(&other, &redis).await;
    let r = app
        .events(&key, json!([order_fix("ro-1", "JD-1", -5, 23.0, 113.4)]))
        .await;
    r.assert_problem(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    let r = waiting
        .events(&key, json!([order_fix("ro-2", "JD-1", -4, 23.0, 113.4)]))
        .await;
    r.assert_problem(503, "unavailable");
}

/// Ready means the clip store answers too, and a store that does not is
/// found out within seconds, not after its client's retries.
#[actix_web::test]
async fn readiness_asks_the_clip_store_too() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let r = app.call("GET", "/readyz", None, None).await;
    assert_eq!((r.status, r.body["clips"].as_str()), (200, Some("ok")));
    // A port held by this test whose every connection is dropped at once
    // (a port only found free could be taken meanwhile by another test's
    // server, which would answer).
    let refuser = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = refuser.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in refuser.incoming() {
            drop(conn);
        }
    });
    let mut s = settings(&redis);
    s.clip_store = Some("s3://nowhere".into());
    s.s3 = Some(vinpath::media::S3Config {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        access_key_id: Some("k".into()),
        secret_access_key: Some("s".into()),
        region: Some("us-east-1".into()),
        allow_http: true,
    });
    let app = TestApp::with(s).await;
    let started = Instant::now();
    let r = app.call("GET", "/readyz", None, None).await;
    r.assert_problem(503, "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

/// Makes `replica` a replica of `primary`, synced.
async fn replicate(primary: &TestRedis, replica: &TestRedis) {
    let conn = |r: &TestRedis| redis::Client::open(r.url()).unwrap();
    let mut p = conn(primary)
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("repl-diskless-sync-delay")
        .arg(0)
        .query_async(&mut p)
        .await
        .unwrap();
    let mut r = conn(replica)
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(primary.port)
        .query_async(&mut r)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut r)
            .await
            .unwrap();
        // Synced, and counted online by the primary (what WAIT counts).
        let primary_info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut p)
            .await
            .unwrap();
        if info.contains("master_link_status:up") && primary_info.contains("state=online") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the replica did not sync: {info}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// With `VINPATH_DURABLE_REPLICAS=1` an event is acknowledged only once a
/// replica holds it: without the replica the answer is 503, and the retry
/// once it is back is a duplicate, never a second application.
#[actix_web::test]
async fn a_write_is_acknowledged_only_once_its_replicas_hold_it() {
    let primary = TestRedis::start();
    let mut replica = TestRedis::start();
    replicate(&primary, &replica).await;
    let mut s = settings(&primary);
    s.store.durable_replicas = 1;
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    // A carrier retries a 503 (the replica may be slow to say it holds
    // the write, on a busy machine): each event ends acknowledged once.
    let (app, key) = (&app, &key);
    let post = |events: serde_json::Value| async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = app.events(key, events.clone()).await;
            if r.status != 503 || Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    // Accepted, or a duplicate when a first try wrote it but its replica
    // was slow to say so (that try answered 503).
    let r = post(json!([order_fix("d1", "JD-1", -9, 23.0, 113.4)])).await;
    let first = r.body["results"][0]["status"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    assert!(
        ["accepted", "duplicate"].contains(&first.as_str()),
        "{}",
        r.body
    );
    replica.kill();
    let fix = order_fix("d2", "JD-1", -8, 23.01, 113.4);
    let r = app.events(key, json!([fix.clone()])).await;
    r.assert_problem(503, "unavailable");
    assert!(r.header("retry-after").is_some());
    replica.restart();
    replicate(&primary, &replica).await;
    let r = post(json!([fix])).await;
    assert_eq!(r.body["results"][0]["status"], "duplicate", "{}", r.body);
    let h = app.carrier_history("JD-1").await;
    for id in ["d1", "d2"] {
        assert_eq!(
            h.iter().filter(|e| e["event_id"] == id).count(),
            1,
            "{id} once"
        );
    }
}
