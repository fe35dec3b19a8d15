//! vinpath on a real Redis Cluster (three primaries, replicas, a short
//! `cluster-node-timeout`): the same races as on one Redis, live changes
//! over sharded pub/sub, a primary killed under load, an instance killed
//! under its customers' sockets.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::resilience::{race_loads_and_unloads, race_on_one_truck};
use crate::support::*;

#[actix_web::test]
async fn two_instances_racing_on_one_truck_end_consistent_on_a_cluster() {
    let cluster = TestCluster::start(3, 1);
    let a = ready(TestApp::spawn_at(cluster.url()).await).await;
    let b = ready(TestApp::spawn_at(cluster.url()).await).await;
    race_on_one_truck(&a, &b).await;
}

#[actix_web::test]
async fn racing_loads_and_unloads_end_on_the_latest_truck_on_a_cluster() {
    let cluster = TestCluster::start(3, 1);
    let a = ready(TestApp::spawn_at(cluster.url()).await).await;
    let b = ready(TestApp::spawn_at(cluster.url()).await).await;
    race_loads_and_unloads(&a, &b).await;
}

/// A change made on one instance reaches sockets on another through the
/// partition's shard channel, served by the node of its slot (never a
/// classic channel broadcast to every node).
#[actix_web::test]
async fn live_changes_travel_over_sharded_pub_sub() {
    let cluster = TestCluster::start(3, 1);
    let a = ready(TestApp::spawn_at(cluster.url()).await).await;
    let b = ready(TestApp::spawn_at(cluster.url()).await).await;
    let key = a.carrier("sf-auto").await;
    let token = a.order("JD-1", "sf-auto").await;
    let dispatcher = a.dispatcher().await;
    let mut track = b.ws(&format!("/ws/track/{token}")).await.expect("opens");
    let mut fleet = b
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .expect("opens");
    assert_eq!(track.next().await["type"], "snapshot");
    assert_eq!(fleet.next().await["type"], "snapshot");
    assert_eq!(a.call("GET", "/readyz", None, None).await.status, 200);

    a.post_expect(&key, json!([scan("p", "JD-1", "produced", -5)]), "accepted")
        .await;
    assert_eq!(track.next().await["event"]["milestone"], "produced");
    assert_eq!(fleet.next().await["event"]["order_id"], "JD-1");

    // Both instances listen on the order's shard channel at its node, and
    // no instance uses a classic channel.
    let channel = format!("vp:{{p{}}}:live", vinpath::store::partition_of("JD-1"));
    let node = cluster.primary_of(&channel);
    let numsub = cluster
        .ask(node, &["PUBSUB", "SHARDNUMSUB", &channel])
        .expect("the node answers");
    assert_eq!(numsub.lines().nth(1), Some("2"), "{numsub}");
    for i in 0..cluster.nodes.len() {
        let classic = cluster.ask(i, &["PUBSUB", "CHANNELS"]).unwrap_or_default();
        assert!(classic.trim().is_empty(), "node {i}: {classic}");
    }
}

/// A steady load of events over many orders, posted to two instances that
/// acknowledge a write only once a replica holds it, while the primary of
/// one partition is killed with `kill -9`: every event that got a 2xx is
/// in its order's history exactly once, and the load resumes by itself
/// once a replica has taken over (the carriers retry what got a 503).
#[actix_web::test]
async fn a_primary_killed_under_load_loses_no_acknowledged_event() {
    // Two replicas a primary: the shard that fails over keeps one, so
    // writes that wait for one replica go on.
    let mut cluster = TestCluster::start(3, 2);
    let mut s = settings_at(cluster.url());
    s.store.durable_replicas = 1;
    // The customer's socket below reads only at the end.
    s.live.peer_timeout = Duration::from_secs(120);
    let a = ready(TestApp::with(s.clone()).await).await;
    let b = ready(TestApp::with(s).await).await;
    let key = a.carrier("sf-auto").await;
    let orders: Vec<String> = (0..24).map(|i| format!("JD-{i}")).collect();
    let mut tokens = Vec::new();
    for o in &orders {
        tokens.push(a.order(o, "sf-auto").await);
    }
    let victim = cluster.primary_of(&format!("{{p{}}}", vinpath::store::partition_of("JD-0")));
    // A customer watching JD-0, whose shard is the one that fails over.
    let mut watching = b
        .ws(&format!("/ws/track/{}", tokens[0]))
        .await
        .expect("opens");
    assert_eq!(watching.next().await["type"], "snapshot");

    // Each round posts one fix per order, four orders a batch, to both
    // instances in turn; a batch answered 503 is sent again next round.
    let mut waiting: Vec<Value> = Vec::new();
    let mut acknowledged: HashMap<String, String> = HashMap::new();
    let mut unavailable = 0;
    let mut killed_at: Option<Instant> = None;
    let mut last_503: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round: i64 = 0;
    loop {
        let mut batches = std::mem::take(&mut waiting);
        if round < 40 {
            for chunk in orders.chunks(4) {
                let fixes: Vec<Value> = chunk
                    .iter()
                    .map(|o| order_fix(&format!("{o}-r{round}"), o, -300 + round, 23.0, 113.0))
                    .collect();
                batches.push(json!(fixes));
            }
        }
        if round == 10 {
            cluster.kill(victim);
            killed_at = Some(Instant::now());
        }
        for (i, batch) in batches.into_iter().enumerate() {
            let app = if (i + round as usize).is_multiple_of(2) {
                &a
            } else {
                &b
            };
            let r = app.events(&key, batch.clone()).await;
            match r.status {
                200 => {
                    for res in r.body["results"].as_array().unwrap() {
                        let status = res["status"].as_str().unwrap().to_owned();
                        assert!(
                            ["accepted", "stale", "duplicate"].contains(&status.as_str()),
                            "{res}"
                        );
                        acknowledged.insert(res["event_id"].as_str().unwrap().into(), status);
                    }
                }
                503 => {
                    assert!(r.header("retry-after").is_some(), "a 503 says when");
                    unavailable += 1;
                    last_503 = Some(Instant::now());
                    waiting.push(batch);
                }
                other => panic!("{other}: {}", r.body),
            }
        }
        round += 1;
        if round >= 40 && waiting.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the load resumes by itself");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(killed_at.is_some());
    eprintln!(
        "{unavailable} batches answered 503; the last {:?} after the kill",
        last_503.zip(killed_at).map(|(l, k)| l - k)
    );

    let mut seen: HashMap<String, usize> = HashMap::new();
    for o in &orders {
        for e in a.carrier_history(o).await {
            *seen
                .entry(e["event_id"].as_str().unwrap().into())
                .or_default() += 1;
        }
    }
    assert_eq!(
        acknowledged.len(),
        orders.len() * 40,
        "every event answered"
    );
    for id in acknowledged.keys() {
        assert_eq!(seen.get(id), Some(&1), "{id} is in history exactly once");
    }

    // The live channel followed the failover by itself: the customer's
    // page gets a change made after it. (A socket whose catch-up failed
    // during the outage was closed; the page opens it again from its last
    // cursor, as here.)
    // Posted as a carrier would: a 503 (the failed-over shard's second
    // replica may still be syncing with its new primary, so a write that
    // waits for one replica can time out) is sent again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = a
            .events(&key, json!([scan("after", "JD-0", "produced", -1)]))
            .await;
        if r.status == 503 {
            assert!(Instant::now() < deadline, "the shard takes writes again");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["results"][0]["status"], "accepted", "{}", r.body);
        break;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut cursor: Option<String> = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "the page hears the change made after the failover"
        );
        match watching.next_within(Duration::from_secs(2)).await {
            Some(m) => {
                if let Some(c) = m["cursor"].as_str() {
                    cursor = Some(c.to_owned());
                }
                if m["event"]["milestone"] == "produced" || m["order"]["milestone"] == "produced" {
                    break;
                }
            }
            None => {
                let after = cursor
                    .as_ref()
                    .map(|c| format!("?after={c}"))
                    .unwrap_or_default();
                watching = b
                    .ws(&format!("/ws/track/{}{after}", tokens[0]))
                    .await
                    .expect("opens again");
            }
        }
    }
}

/// A vinpath binary on the cluster, killed with `kill -9` while a
/// customer's socket is open on it: the page reconnects to the other
/// instance with `?after=` and gets every event posted meanwhile, with no
/// gap and no repeat.
#[actix_web::test]
async fn sockets_move_to_another_instance_after_a_kill_9() {
    let cluster = TestCluster::start(3, 1);
    let b = ready(TestApp::spawn_at(cluster.url()).await).await;
    let key = b.carrier("sf-auto").await;
    let token = b.order("JD-1", "sf-auto").await;
    let mut a = Binary::start(&cluster.url());
    let client = awc::Client::default();
    let mut ws = Socket::open(&client, &format!("{}/ws/track/{token}", a.ws_base()))
        .await
        .expect("opens on the binary");
    assert_eq!(ws.next().await["type"], "snapshot");
    b.post_expect(
        &key,
        json!([
            scan("p", "JD-1", "produced", -50),
            scan("r", "JD-1", "released", -40)
        ]),
        "accepted",
    )
    .await;
    assert_eq!(ws.next().await["event"]["milestone"], "produced");
    let seen = ws.next().await;
    assert_eq!(seen["event"]["milestone"], "released");
    let cursor = seen["cursor"].as_str().unwrap().to_owned();

    a.kill();
    load(&b, &key, "JD-1", "YUE-A-1", -30).await;
    let fixes: Vec<Value> = (0..3)
        .map(|i| {
            truck_fix(
                &format!("g{i}"),
                "YUE-A-1",
                -20 + i,
                23.0 + i as f64 * 0.01,
                113.5,
            )
        })
        .collect();
    b.post_expect(&key, json!(fixes), "accepted").await;

    let mut ws = b
        .ws(&format!("/ws/track/{token}?after={cursor}"))
        .await
        .expect("opens on the other instance");
    let mut got = Vec::new();
    let mut cursors = HashSet::new();
    while let Some(m) = ws.next_within(Duration::from_millis(800)).await {
        assert_eq!(m["type"], "event", "a resume, not a snapshot: {m}");
        assert!(
            cursors.insert(m["cursor"].as_str().unwrap().to_owned()),
            "no repeat: {m}"
        );
        got.push(m["event"]["kind"].as_str().unwrap().to_owned());
    }
    // What the customer missed, exactly (as on one instance, see
    // live.rs): the loading, the three fixes, and the ETA they gave.
    assert_eq!(
        got,
        ["milestone", "position", "position", "position", "eta"],
        "no gap, no repeat"
    );
}

/// The `vinpath` binary, as an operator runs it.
struct Binary {
    child: Child,
    port: u16,
}

impl Binary {
    fn start(redis_url: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_vinpath"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--redis-url", redis_url])
            .env("VINPATH_ADMIN_TOKEN", "test-admin-token")
            .env("VINPATH_LOG", "warn")
            // Device ports of their own would meet any other vinpath here.
            .env("VINPATH_JT808_LISTEN", "off")
            .env("VINPATH_OSMAND_LISTEN", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !listening_ready(port) {
            assert!(Instant::now() < deadline, "the binary is ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    fn ws_base(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// `kill -9`.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The instance once it says it is ready (as a load balancer waits).
async fn ready(app: TestApp) -> TestApp {
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.call("GET", "/readyz", None, None).await.status != 200 {
        assert!(Instant::now() < deadline, "ready within 15 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app
}

fn listening_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut buf = [0u8; 16];
    s.read(&mut buf)
        .map(|n| buf[..n].starts_with(b"HTTP/1.1 200"))
        .unwrap_or(false)
}

/// One primary that lost vinpath's functions (a fresh node) runs none of
/// the calls sent to it: vinpath loads them and sends just those again,
/// so the calls that ran on the other nodes do not run twice.
#[actix_web::test]
async fn a_primary_without_the_functions_gets_them_and_nothing_runs_twice() {
    let cluster = TestCluster::start(3, 1);
    let app = ready(TestApp::spawn_at(cluster.url()).await).await;
    let key = app.carrier("sf-auto").await;
    let orders: Vec<String> = (0..12).map(|i| format!("JD-{i}")).collect();
    for o in &orders {
        app.order(o, "sf-auto").await;
    }
    let fresh = cluster.primary_of(&format!("{{p{}}}", vinpath::store::partition_of("JD-0")));
    cluster
        .ask(fresh, &["FUNCTION", "FLUSH"])
        .expect("the node answers");
    let scans: Vec<Value> = orders
        .iter()
        .map(|o| scan(&format!("{o}-p"), o, "produced", -5))
        .collect();
    let r = app.events(&key, json!(scans)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    for res in r.body["results"].as_array().unwrap() {
        assert_eq!(res["status"], "accepted", "{res}");
    }
    for o in &orders {
        let history = app.carrier_history(o).await;
        assert_eq!(history.len(), 1, "{o}: once, {history:?}");
    }
}
