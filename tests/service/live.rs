//! Websockets: snapshot, ordered events, resume without gap or repeat,
//! reset on a lost cursor, cross-instance delivery, the fleet's batching,
//! refusals at the upgrade, heartbeats.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vinpath::store::StoreOptions;

use crate::support::*;

#[actix_web::test]
async fn track_resumes_with_exactly_the_missed_events() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let mut ws = app
        .ws(&format!("/ws/track/{token}"))
        .await
        .expect("the socket opens");
    let snap = ws.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["order"]["milestone"], "ordered");
    assert!(snap.get("reset").is_none());

    app.post_expect(
        &key,
        json!([
            scan("p", "JD-1", "produced", -50),
            scan("r", "JD-1", "released", -40)
        ]),
        "accepted",
    )
    .await;
    let a = ws.next().await;
    let b = ws.next().await;
    assert_eq!(
        (
            a["event"]["kind"].as_str(),
            a["event"]["milestone"].as_str()
        ),
        (Some("milestone"), Some("produced"))
    );
    assert_eq!(b["event"]["milestone"], "released");
    let cursor = b["cursor"].as_str().unwrap().to_owned();
    drop(ws);

    // Missed while away: a loading, a late fix that is stale, three fixes.
    load(&app, &key, "JD-1", "YUE-A-1", -30).await;
    let fixes: Vec<Value> = (0..3)
        .map(|i| truck_fix(&format!("g{i}"), "YUE-A-1", -20 + i, lat(i), 113.5))
        .collect();
    app.post_expect(&key, json!(fixes), "accepted").await;
    app.post_expect(
        &key,
        json!([truck_fix("old", "YUE-A-1", -25, 23.0, 113.5)]),
        "stale",
    )
    .await;

    let mut ws = app
        .ws(&format!("/ws/track/{token}?after={cursor}"))
        .await
        .expect("the socket opens");
    let first = ws.next().await;
    assert_eq!(first["type"], "event", "no snapshot on resume: {first}");
    assert_eq!(first["event"]["milestone"], "loaded");
    let mut positions = Vec::new();
    for _ in 0..3 {
        let m = ws.next().await;
        assert_eq!(m["event"]["kind"], "position");
        positions.push(m["event"]["lat"].as_f64().unwrap());
    }
    assert_eq!(positions, [lat(0), lat(1), lat(2)]);
    // The car's first ETA, worked out from the newest of those fixes.
    let eta = ws.next().await;
    assert_eq!(eta["event"]["kind"], "eta");
    assert!(eta["event"]["eta"].is_string());
    assert!(
        ws.next_within(Duration::from_millis(500)).await.is_none(),
        "nothing repeated, nothing stale"
    );
    // Nothing carrier-internal reaches the customer.
    assert!(first["event"].get("truck_id").is_none() && first["event"].get("note").is_none());

    // Then live ones, in order.
    app.post_expect(
        &key,
        json!([scan("t", "JD-1", "in_transit", -5)]),
        "accepted",
    )
    .await;
    let live = ws.next().await;
    assert_eq!(live["event"]["milestone"], "in_transit");
    let key = |c: &str| vinpath::store::history::cursor_key(c).unwrap();
    assert!(key(live["cursor"].as_str().unwrap()) > key(&cursor));
}

#[actix_web::test]
async fn a_too_old_or_unknown_cursor_gets_a_reset_snapshot() {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    s.store = StoreOptions {
        history_limit: 5,
        ..StoreOptions::default()
    };
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    app.post_expect(
        &key,
        json!([order_fix("g0", "JD-1", -60, 23.0, 113.4)]),
        "accepted",
    )
    .await;
    let first = app.history("JD-1").await[0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let fixes: Vec<Value> = (1..10)
        .map(|i| {
            order_fix(
                &format!("g{i}"),
                "JD-1",
                -60 + i,
                23.0,
                113.4 + lat(i) - 23.0,
            )
        })
        .collect();
    app.post_expect(&key, json!(fixes), "accepted").await;
    let whole = app.history("JD-1").await;
    // The sweep moves what is over the limit out of Redis; the history
    // still has every entry, with the same cursors.
    assert!(app.jobs.sweep_now().await.expect("a sweep") >= 1);
    assert_eq!(app.history("JD-1").await, whole, "nothing lost");
    for cursor in [first.as_str(), "garbage", "99999999999999-0"] {
        let mut ws = app
            .ws(&format!("/ws/track/{token}?after={cursor}"))
            .await
            .expect("opens");
        let m = ws.next().await;
        assert_eq!(m["type"], "snapshot", "{cursor}");
        assert_eq!(m["reset"], true);
        assert_eq!(m["order"]["position"]["lon"], 113.4 + lat(9) - 23.0);
    }
}

#[actix_web::test]
async fn an_event_posted_on_one_instance_reaches_a_socket_on_another() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    let key = a.carrier("sf-auto").await;
    let token = a.order("JD-1", "sf-auto").await;
    let dispatcher = a.dispatcher().await;
    let mut track = b
        .ws(&format!("/ws/track/{token}"))
        .await
        .expect("opens on B");
    let mut fleet = b
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .expect("opens on B");
    assert_eq!(track.next().await["type"], "snapshot");
    assert_eq!(fleet.next().await["type"], "snapshot");
    a.post_expect(&key, json!([scan("p", "JD-1", "produced", -5)]), "accepted")
        .await;
    assert_eq!(track.next().await["event"]["milestone"], "produced");
    let m = fleet.next().await;
    assert_eq!(m["type"], "event");
    assert_eq!(m["event"]["kind"], "milestone");
    assert_eq!(m["event"]["order_id"], "JD-1");
}

#[actix_web::test]
async fn the_fleet_socket_batches_positions_and_loses_none() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let trucks: Vec<String> = (0..5).map(|i| format!("YUE-A-{i}")).collect();
    for (i, t) in trucks.iter().enumerate() {
        let order = format!("JD-{i}");
        app.order(&order, "sf-auto").await;
        load(&app, &key, &order, t, -120).await;
    }
    let mut fleet = app
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .expect("opens");
    let snap = fleet.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["fleet"].as_array().unwrap().len(), 5);

    // 20 fixes per truck, posted one request at a time as fast as possible.
    for step in 0..20 {
        let batch: Vec<Value> = trucks
            .iter()
            .map(|t| truck_fix(&format!("{t}-{step}"), t, -100 + step, lat(step), 113.5))
            .collect();
        app.post_expect(&key, json!(batch), "accepted").await;
    }
    let mut latest: HashMap<String, f64> = HashMap::new();
    let mut frames = 0;
    let mut first_frame: Option<Instant> = None;
    let mut last_frame = Instant::now();
    while let Some(m) = fleet.next_within(Duration::from_secs(2)).await {
        if m["type"] != "positions" {
            continue;
        }
        frames += 1;
        first_frame.get_or_insert_with(Instant::now);
        last_frame = Instant::now();
        for v in m["vehicles"].as_array().unwrap() {
            let id = match v["order_id"].as_str() {
                Some(o) => format!("o:{o}"),
                None => format!("t:{}", v["truck_id"].as_str().unwrap()),
            };
            assert!(
                v.get("order_id").is_none() || v.get("truck_id").is_none(),
                "one kind of id per vehicle: {v}"
            );
            latest.insert(id, v["lat"].as_f64().unwrap());
        }
    }
    // Every truck and every car ends at its latest position.
    for (i, t) in trucks.iter().enumerate() {
        assert_eq!(latest.get(&format!("t:{t}")), Some(&lat(19)), "{t}");
        assert_eq!(latest.get(&format!("o:JD-{i}")), Some(&lat(19)), "JD-{i}");
    }
    // At most 2 frames a second (plus the one that may open a window).
    let span = last_frame
        .duration_since(first_frame.unwrap())
        .as_secs_f64();
    assert!(
        f64::from(frames) <= span * 2.0 + 1.0,
        "{frames} frames over {span:.2} s"
    );
    assert!(
        frames < 100,
        "positions are batched, not one frame per fix ({frames})"
    );
}

#[actix_web::test]
async fn a_bad_credential_is_refused_at_the_upgrade() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    assert_eq!(app.ws("/ws/fleet").await.err(), Some(401));
    assert_eq!(
        app.ws("/ws/fleet?access_token=wrong").await.err(),
        Some(401)
    );
    assert_eq!(
        app.ws(&format!("/ws/fleet?access_token={key}")).await.err(),
        Some(403)
    );
    assert_eq!(app.ws("/ws/track/not-a-token").await.err(), Some(404));
}

#[actix_web::test]
async fn the_server_pings_and_drops_a_silent_peer() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    // A browser answers pings and stays connected past the timeout (3 s here).
    let mut alive = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert_eq!(alive.next().await["type"], "snapshot");
    let mut silent = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert!(
        alive.next_within(Duration::from_secs(4)).await.is_none(),
        "no data frames, only pings"
    );
    // A peer that never answers is dropped.
    assert!(silent.closed_when_silent(Duration::from_secs(4)).await);
    // The answering one is still there: it gets the next event.
    app.post_expect(&key, json!([scan("p", "JD-1", "produced", -5)]), "accepted")
        .await;
    assert_eq!(alive.next().await["event"]["milestone"], "produced");
}

/// A peer that stops reading (a phone gone to sleep with its socket open)
/// while thousands of events are posted is dropped like a silent one; the
/// server neither waits on it nor keeps its frames, and the other sockets
/// get their events.
#[actix_web::test]
async fn a_peer_that_never_reads_is_dropped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stuck = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    let upgrade = format!(
        "GET /ws/track/{token} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stuck.write_all(upgrade.as_bytes()).await.unwrap();
    // Only the upgrade's status line is read; never anything after.
    let mut status = [0u8; 12];
    stuck.read_exact(&mut status).await.unwrap();
    assert_eq!(&status, b"HTTP/1.1 101");
    let mut alive = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert_eq!(alive.next().await["type"], "snapshot");

    let started = std::time::Instant::now();
    for round in 0..6 {
        let fixes: Vec<Value> = (0..500)
            .map(|i| {
                let n = round * 500 + i;
                order_fix(
                    &format!("f{n}"),
                    "JD-1",
                    -600 + n / 10,
                    23.0,
                    113.0 + n as f64 * 1e-4,
                )
            })
            .collect();
        let r = app.events(&key, json!(fixes)).await;
        assert_eq!(r.status, 200, "posting is not held up by the stuck peer");
    }
    // The reading socket keeps up (it may be told to catch up from the
    // history instead of getting each frame; either way it stays open).
    assert!(alive.next_within(Duration::from_secs(2)).await.is_some());

    // Dropped within the peer timeout (3 s here; 45 s in production) and
    // a moment to close: what it left unread drains, then the end.
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(started.elapsed())).await;
    let mut sink = vec![0u8; 1 << 16];
    let mut unread = 0usize;
    // Pings keep coming while it is open: bound the whole wait, not each read.
    let deadline = started + Duration::from_secs(8);
    let closed = loop {
        if std::time::Instant::now() > deadline {
            break false;
        }
        match tokio::time::timeout(Duration::from_secs(3), stuck.read(&mut sink)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => unread += n,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Ok(Err(_)) | Err(_) => break false,
        }
    };
    assert!(
        closed,
        "the stuck peer was dropped ({unread} bytes were waiting)"
    );
}

/// A rotated link closes its open sockets within 2 s (4404), as an
/// expiring one does; a socket on the new link stays.
#[actix_web::test]
async fn a_socket_closes_when_its_link_is_rotated_or_expires() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let old = app.order("JD-1", "sf-auto").await;
    let mut ws = app.ws(&format!("/ws/track/{old}")).await.expect("open");
    assert_eq!(ws.next().await["type"], "snapshot");
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-1/tracking-token",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.body["tracking_token"].as_str().unwrap().to_owned();
    assert_eq!(
        ws.close_code_within(Duration::from_secs(2)).await,
        Some(4404)
    );
    let mut kept = app.ws(&format!("/ws/track/{new}")).await.expect("open");
    assert_eq!(kept.next().await["type"], "snapshot");
    app.post_expect(
        &key,
        json!([order_fix("k1", "JD-1", -3, 23.2, 113.5)]),
        "accepted",
    )
    .await;
    let mut heard = false;
    while let Some(m) = kept.next_within(Duration::from_secs(2)).await {
        if m["event"]["kind"] == "position" {
            heard = true;
            break;
        }
    }
    assert!(heard, "a socket on the new link stays and hears");
    // Delivered 30 days ago less a second (links work 30 days after
    // delivery): the link expires while its socket is open.
    app.order("JD-2", "sf-auto").await;
    let token = app
        .call(
            "POST",
            "/api/v1/orders/JD-2/tracking-token",
            Some(&app.admin),
            None,
        )
        .await;
    let token = token.body["tracking_token"].as_str().unwrap().to_owned();
    let ago = |d: chrono::Duration| {
        (chrono::Utc::now() - d).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let day = chrono::Duration::days(1);
    let mut leg = Vec::new();
    for (id, milestone, when) in [
        ("r2", "released", ago(day * 32)),
        ("l2", "loaded", ago(day * 31)),
        ("u2", "unloaded", ago(day * 30)),
    ] {
        let mut e = scan(id, "JD-2", milestone, 0);
        e["occurred_at"] = json!(when);
        e["truck_id"] = json!("T9");
        leg.push(e);
    }
    app.post_expect(&key, json!(leg), "accepted").await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("open");
    assert_eq!(ws.next().await["type"], "snapshot");
    let mut delivered = scan("d2", "JD-2", "delivered", 0);
    delivered["occurred_at"] = json!(ago(day * 30 - chrono::Duration::seconds(1)));
    app.post_expect(&key, json!([delivered]), "accepted").await;
    assert_eq!(
        ws.close_code_within(Duration::from_secs(3)).await,
        Some(4404)
    );
}

/// A tracking link holds at most 8 sockets at once; the ninth is refused
/// with 429, and a place comes back when one closes.
#[actix_web::test]
async fn a_link_holds_at_most_eight_sockets() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let mut open = Vec::new();
    for _ in 0..8 {
        let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("open");
        assert_eq!(ws.next().await["type"], "snapshot");
        open.push(ws);
    }
    assert_eq!(app.ws(&format!("/ws/track/{token}")).await.err(), Some(429));
    drop(open.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        match app.ws(&format!("/ws/track/{token}")).await {
            Ok(_) => break,
            Err(429) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(s) => panic!("a place came back: {s}"),
        }
    }
}

/// The limit holds across instances: eight sockets spread over two
/// instances fill the link, the ninth is refused on either, and a socket
/// closed on one gives its place to the other.
#[actix_web::test]
async fn a_link_holds_at_most_eight_sockets_across_instances() {
    let redis = TestRedis::start();
    let a = TestApp::spawn(&redis).await;
    let b = TestApp::spawn(&redis).await;
    a.carrier("sf-auto").await;
    let token = a.order("JD-1", "sf-auto").await;
    let path = format!("/ws/track/{token}");
    let mut on_a = Vec::new();
    let mut on_b = Vec::new();
    for i in 0..8 {
        let app = if i % 2 == 0 { &a } else { &b };
        let mut ws = app.ws(&path).await.expect("opens");
        assert_eq!(ws.next().await["type"], "snapshot");
        if i % 2 == 0 {
            on_a.push(ws)
        } else {
            on_b.push(ws)
        }
    }
    assert_eq!(a.ws(&path).await.err(), Some(429));
    assert_eq!(b.ws(&path).await.err(), Some(429));
    drop(on_a.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        match b.ws(&path).await {
            Ok(_) => break,
            Err(429) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(s) => panic!("a place came back on the other instance: {s}"),
        }
    }
}

/// A live channel that goes silent (Redis paused here; a half-open
/// connection is as silent) is noticed within three beats: /readyz says
/// so, the subscription is made again, and sockets catch up after.
#[actix_web::test]
async fn a_silent_live_channel_is_noticed_and_made_again() {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    // The test's socket reads only at the end: keep it from being dropped
    // as a silent peer meanwhile.
    s.live.peer_timeout = Duration::from_secs(30);
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("open");
    assert_eq!(ws.next().await["type"], "snapshot");
    assert_eq!(app.call("GET", "/readyz", None, None).await.status, 200);
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // Writes (and so every PUBLISH) wait for 3 s: three beats of 300 ms
    // go unheard.
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3000)
        .arg("WRITE")
        .query_async(&mut c)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = app.call("GET", "/readyz", None, None).await;
    assert_eq!(r.status, 503, "{}", r.body);
    // Once Redis writes again, the instance hears the channel again, and
    // the socket, kept open throughout, gets what is posted.
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    loop {
        if app.call("GET", "/readyz", None, None).await.status == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.post_expect(
        &key,
        json!([order_fix("s1", "JD-1", -5, 23.1, 113.5)]),
        "accepted",
    )
    .await;
    let mut saw_position = false;
    while let Some(m) = ws.next_within(Duration::from_secs(2)).await {
        if m["event"]["kind"] == "position" {
            saw_position = true;
            break;
        }
    }
    assert!(saw_position, "the socket got what was posted");
}
