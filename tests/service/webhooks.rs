//! Webhooks as the sales system receives them: real HTTP to a receiver
//! that checks every delivery with the reference `standardwebhooks`
//! library from PyPI (tests/webhooks/receiver.py).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use vinpath::webhooks::WebhookOptions;

use crate::support::*;

/// The Python receiver, stopped when dropped.
pub struct Receiver {
    child: Child,
    pub base: String,
}

impl Receiver {
    pub fn start() -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let python = format!("{root}/target/py/bin/python3");
        assert!(
            std::path::Path::new(&python).exists(),
            "{python} is missing: scripts/test installs it (the reference Standard Webhooks library)"
        );
        let mut child = Command::new(python)
            .arg(format!("{root}/tests/webhooks/receiver.py"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("the receiver starts");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let port: u16 = line.trim().parse().expect("the receiver's port");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let mut res = awc::Client::default()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let body = res.body().limit(1 << 24).await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    async fn post(&self, path: &str, body: String) {
        let res = awc::Client::default()
            .post(format!("{}{path}", self.base))
            .send_body(body)
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }

    /// The deliveries accepted at `path`, in the order they arrived.
    pub async fn log(&self, path: &str) -> Vec<Value> {
        let all = self.get("/_log").await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|d| d["path"] == path)
            .cloned()
            .collect()
    }

    /// Waits up to `within` for `n` deliveries at `path`.
    pub async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log(path).await;
            if log.len() >= n || Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Attempts each delivery at `path` got.
    pub async fn attempts(&self, path: &str) -> usize {
        let all = self.get("/_attempts").await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|a| a["path"] == path)
            .map(|a| a["n"].as_u64().unwrap() as usize)
            .sum()
    }

    pub async fn set_mode(&self, path: &str, mode: &str) {
        self.post(&format!("/_mode{path}"), mode.into()).await;
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn hook_settings(redis: &TestRedis) -> vinpath::app::Settings {
    scaled_settings(redis, 0.001)
}

/// With the retry schedule times `scale` (its nine waits add up to 2 days
/// and 16 hours; at 0.00002 they add up to under 5 s).
pub fn scaled_settings(redis: &TestRedis, scale: f64) -> vinpath::app::Settings {
    vinpath::app::Settings {
        webhooks: WebhookOptions {
            retry_scale: scale,
            allow_private: true,
            lease: Duration::from_secs(2),
            poll: Duration::from_millis(50),
            ..WebhookOptions::default()
        },
        ..settings(redis)
    }
}

/// An endpoint's deliveries as the API lists them, newest first.
async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let r = app
        .call(
            "GET",
            &format!("/api/v1/webhooks/{webhook}/deliveries"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body.as_array().expect("a list").clone()
}

/// The deliveries once `done` holds of them (an attempt is recorded a
/// moment after the endpoint answers), or as they stand at `within`.
async fn deliveries_until(
    app: &TestApp,
    webhook: &str,
    within: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let list = deliveries(app, webhook).await;
        if done(&list) || Instant::now() > deadline {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers an endpoint at the receiver's `path`; returns its id.
pub async fn subscribe(app: &TestApp, rx: &Receiver, path: &str, events: &[&str]) -> String {
    let r = app
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(&app.admin),
            Some(json!({"url": format!("{}{path}", rx.base), "events": events, "description": "sales"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    rx.post(&format!("/_secret{path}"), secret.to_owned()).await;
    r.body["webhook_id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_failing_receiver_gets_each_change_once_signed_and_in_order() {
    let redis = TestRedis::start();
    let rx = Receiver::start();
    let app = TestApp::with(hook_settings(&redis)).await;
    let key = app.carrier("sf-auto").await;
    app.order("WH-1", "sf-auto").await;
    let id = subscribe(&app, &rx, "/fail3/a", &["order.milestone"]).await;
    load(&app, &key, "WH-1", "YUE-A-1", -30).await;
    let got = rx.wait_for("/fail3/a", 2, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 2, "{got:?} {:?}", deliveries(&app, &id).await);
    for d in &got {
        assert_eq!(d["verified"], true, "{d}");
        assert_eq!(d["attempt"], 4, "failed three times, then accepted: {d}");
        assert_eq!(d["body"]["type"], "order.milestone");
        assert_eq!(d["body"]["data"]["order_id"], "WH-1");
    }
    let milestones: Vec<&str> = got
        .iter()
        .map(|d| d["body"]["data"]["milestone"].as_str().unwrap())
        .collect();
    assert_eq!(milestones, ["released", "loaded"], "in order per order");
    assert_ne!(got[0]["id"], got[1]["id"]);
    // Each was sent under one id on every attempt: four attempts each.
    assert_eq!(rx.attempts("/fail3/a").await, 8);
    // Recorded a moment after the receiver answered.
    let list = deliveries_until(&app, &id, Duration::from_secs(5), |l| {
        l.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(
        list.iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 4 && d["last_status"] == 200),
        "{list:?}"
    );
    assert_eq!(list[0]["delivery_id"], got[1]["id"], "newest first");
    // Nothing is sent twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.log("/fail3/a").await.len(), 2);
}

#[actix_web::test]
async fn gone_disables_the_endpoint_and_a_failed_delivery_can_be_sent_again() {
    let redis = TestRedis::start();
    let rx = Receiver::start();
    let app = TestApp::with(scaled_settings(&redis, 0.00002)).await;
    let key = app.carrier("sf-auto").await;
    app.order("WH-2", "sf-auto").await;
    let gone = subscribe(&app, &rx, "/gone/b", &["order.milestone"]).await;
    app.post_expect(
        &key,
        json!([scan("wh2-p", "WH-2", "produced", -20)]),
        "accepted",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hooks = app
            .call("GET", "/api/v1/webhooks", Some(&app.admin), None)
            .await;
        let h = hooks
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["webhook_id"] == gone)
            .cloned()
            .unwrap();
        assert!(h.get("secret").is_none(), "the secret is shown once");
        if h["disabled"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "410 disables the endpoint");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.post_expect(
        &key,
        json!([scan("wh2-r", "WH-2", "released", -19)]),
        "accepted",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rx.attempts("/gone/b").await,
        1,
        "nothing more is sent to it"
    );
    let gone_410 = |l: &[Value]| l.iter().any(|d| d["last_status"] == 410);
    let list = deliveries_until(&app, &gone, Duration::from_secs(5), gone_410).await;
    let first = list
        .iter()
        .find(|d| d["last_status"] == 410)
        .cloned()
        .unwrap();
    assert_eq!(first["status"], "failed");

    // An endpoint that failed for good, fixed, gets it again by hand.
    let switch = subscribe(&app, &rx, "/switch/c", &["order.milestone"]).await;
    app.post_expect(
        &key,
        json!([scan("wh2-l", "WH-2", "loaded", -18)]),
        "accepted",
    )
    .await;
    let failed_one = |l: &[Value]| l.iter().any(|d| d["status"] == "failed");
    let list = deliveries_until(&app, &switch, Duration::from_secs(20), failed_one).await;
    let failed = list
        .iter()
        .find(|d| d["status"] == "failed")
        .cloned()
        .unwrap_or_else(|| panic!("every retry of the schedule fails: {list:?}"));
    assert_eq!(failed["attempts"], 10, "the first try and nine retries");
    rx.set_mode("/switch/c", "ok").await;
    let retry = app
        .call(
            "POST",
            &format!(
                "/api/v1/webhooks/{switch}/deliveries/{}/retry",
                failed["delivery_id"].as_str().unwrap()
            ),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    let got = rx.wait_for("/switch/c", 1, Duration::from_secs(10)).await;
    assert_eq!(got[0]["id"], failed["delivery_id"], "the same webhook-id");
    assert_eq!(got[0]["verified"], true);
}

#[actix_web::test]
async fn bad_endpoints_are_refused_naming_the_field() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    for (body, field) in [
        (
            json!({"url": "ftp://example.com/x", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/hook", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "http://10.0.0.7/hook", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "http://no-such-host.invalid/hook", "events": ["alert"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com/hook", "events": ["order.teleported"]}),
            "events",
        ),
        (
            json!({"url": "https://example.com/hook", "events": []}),
            "events",
        ),
    ] {
        let r = app
            .call("POST", "/api/v1/webhooks", Some(&app.admin), Some(body))
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let r = app
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({"url": "https://example.com/x", "events": ["alert"]})),
        )
        .await;
    assert_eq!(r.status, 403);
    let hooks = app
        .call("GET", "/api/v1/webhooks", Some(&app.admin), None)
        .await;
    assert_eq!(hooks.body, json!([]), "nothing was stored");
    let r = app
        .call("DELETE", "/api/v1/webhooks/wh_nope", Some(&app.admin), None)
        .await;
    assert_eq!(r.status, 404);
}

#[actix_web::test]
async fn a_slow_receiver_delays_neither_ingest_nor_other_endpoints() {
    let redis = TestRedis::start();
    let rx = Receiver::start();
    let app = TestApp::with(hook_settings(&redis)).await;
    let key = app.carrier("sf-auto").await;
    app.order("WH-3", "sf-auto").await;
    subscribe(&app, &rx, "/slow/d", &["order.milestone"]).await;
    subscribe(&app, &rx, "/ok/e", &["order.milestone", "alert"]).await;
    app.post_expect(
        &key,
        json!([scan("wh3-p", "WH-3", "produced", -20)]),
        "accepted",
    )
    .await;
    let fast = rx.wait_for("/ok/e", 1, Duration::from_secs(4)).await;
    assert_eq!(
        fast.len(),
        1,
        "the other endpoint heard it while the slow one still sleeps"
    );
    assert!(
        rx.log("/slow/d").await.is_empty(),
        "the slow one has not answered yet"
    );
    // Ingest goes on meanwhile.
    app.post_expect(
        &key,
        json!([scan("wh3-r", "WH-3", "released", -19)]),
        "accepted",
    )
    .await;
    let fast = rx.wait_for("/ok/e", 2, Duration::from_secs(4)).await;
    assert_eq!(fast.len(), 2);
    assert!(rx.log("/slow/d").await.len() <= 1);
    let slow = rx.wait_for("/slow/d", 2, Duration::from_secs(20)).await;
    let order: Vec<&str> = slow
        .iter()
        .map(|d| d["body"]["data"]["milestone"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        ["produced", "released"],
        "the slow one hears them in order"
    );
}

#[actix_web::test]
async fn deliveries_pending_when_an_instance_is_killed_are_sent_by_another() {
    let redis = TestRedis::start();
    let rx = Receiver::start();
    let port = free_port();
    let mut a = Command::new(env!("CARGO_BIN_EXE_vinpath"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--redis-url",
            &redis.url(),
        ])
        .env("VINPATH_ADMIN_TOKEN", "test-admin-token")
        .env("VINPATH_WEBHOOK_RETRY_SCALE", "0.001")
        .env("VINPATH_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("VINPATH_WEBHOOK_LEASE_SECS", "1")
        .env("VINPATH_JT808_LISTEN", "off")
        .env("VINPATH_OSMAND_LISTEN", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vinpath runs");
    let api = vinpath::client::Api::new(&format!("http://127.0.0.1:{port}"), "test-admin-token", 4);
    let deadline = Instant::now() + Duration::from_secs(10);
    while api.get_status("/readyz").await.unwrap_or(0) != 200 {
        assert!(Instant::now() < deadline, "the first instance starts");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = api.carrier("sf-auto").await.unwrap();
    let (s, _) = api
        .post("/api/v1/orders", &api.admin, &order_body("WH-9", "sf-auto"))
        .await
        .unwrap();
    assert_eq!(s, 201);
    let (s, hook) = api
        .post(
            "/api/v1/webhooks",
            &api.admin,
            &json!({"url": format!("{}/switch/k", rx.base), "events": ["order.milestone"]}),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{hook}");
    rx.post(
        "/_secret/switch/k",
        hook["secret"].as_str().unwrap().to_owned(),
    )
    .await;
    api.events(
        &key,
        vec![
            scan("k-p", "WH-9", "produced", -30),
            scan("k-r", "WH-9", "released", -29),
            scan("k-l", "WH-9", "loaded", -28),
        ],
    )
    .await
    .unwrap();
    // Being tried (and refused) when the instance dies.
    let deadline = Instant::now() + Duration::from_secs(10);
    while rx.attempts("/switch/k").await < 2 {
        assert!(Instant::now() < deadline, "the first instance tries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().unwrap(); // SIGKILL: no clean stop
    a.wait().unwrap();
    rx.set_mode("/switch/k", "ok").await;

    let _b = TestApp::with(hook_settings(&redis)).await;
    let got = rx.wait_for("/switch/k", 3, Duration::from_secs(40)).await;
    let milestones: Vec<&str> = got
        .iter()
        .map(|d| d["body"]["data"]["milestone"].as_str().unwrap())
        .collect();
    assert_eq!(
        milestones,
        ["produced", "released", "loaded"],
        "all, in order: {got:?}"
    );
    assert!(got.iter().all(|d| d["verified"] == true), "{got:?}");
}

/// An inspection that found new damage is reported twice, as the sales
/// system would want it: the inspection itself and the damage alert.
#[actix_web::test]
async fn an_inspection_and_its_damage_alert_are_delivered() {
    let redis = TestRedis::start();
    let rx = Receiver::start();
    let app = TestApp::with(hook_settings(&redis)).await;
    let key = app.carrier("sf-auto").await;
    app.order("WH-I", "sf-auto").await;
    subscribe(&app, &rx, "/ok/inspections", &["order.inspection", "alert"]).await;
    let r = app
        .call(
            "POST",
            "/api/v1/orders/WH-I/inspections",
            Some(&key),
            Some(
                json!({"inspection_id": "wh-gate", "stage": "gate_in", "at": at(-5),
                "inspector": "Li Na", "damages": [{"area": "27", "type": "04", "severity": "3"}]}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = rx
        .wait_for("/ok/inspections", 2, Duration::from_secs(20))
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got.iter().all(|d| d["verified"] == true), "{got:?}");
    let of = |kind: &str| {
        got.iter()
            .find(|d| d["body"]["type"] == kind)
            .unwrap_or_else(|| panic!("a {kind} delivery: {got:?}"))["body"]["data"]
            .clone()
    };
    let inspection = of("order.inspection");
    assert_eq!(inspection["order_id"], "WH-I");
    assert_eq!(inspection["stage"], "gate_in");
    assert_eq!(inspection["new_damages"][0]["area"], "27");
    let alert = of("alert");
    assert_eq!(alert["alert_kind"], "damage");
    assert_eq!(alert["state"], "raised");
}

/// The delivery functions against a real Redis, where instances meet:
/// an outbox entry read by a second instance waits for the earlier one
/// the first still holds; an attempt that outlived its lease is not
/// recorded over the newer one; a retry already queued is not queued
/// again.
#[actix_web::test]
async fn instances_keep_deliveries_in_order_and_late_attempts_change_nothing() {
    use vinpath::store::functions::{Enqueue, Function};
    use vinpath::store::webhooks::{Delivery, Finished};
    use vinpath::store::{Store, StoreOptions};

    let redis = TestRedis::start();
    let store = Store::connect(&redis.url(), StoreOptions::default())
        .await
        .expect("a store");
    let group = "webhooks";
    store.ensure_outbox_groups(group).await.unwrap();
    let outbox = "vp:{p0}:outbox";
    let mut c = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut entries = Vec::new();
    for step in ["released", "loaded"] {
        let id: String = redis::cmd("XADD")
            .arg(outbox)
            .arg("*")
            .arg("m")
            .arg(step)
            .query_async(&mut c)
            .await
            .unwrap();
        entries.push(id);
    }
    // Two instances each read one of them.
    for consumer in ["a", "b"] {
        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(group)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(outbox)
            .arg(">")
            .query_async(&mut c)
            .await
            .unwrap();
    }
    let now = chrono::Utc::now().timestamp_millis();
    let delivery = |n: usize| Delivery {
        delivery_id: format!("msg_{n}"),
        webhook_id: "wh_1".into(),
        order_id: "WH-1".into(),
        kind: "order.milestone".into(),
        status: "pending".into(),
        attempts: 0,
        last_status: None,
        next_attempt_at: None,
        created_at: "2026-12-01T00:00:00Z".into(),
        body: "{}".into(),
        partition: 0,
        line: Delivery::line_of(0, "wh_1", "WH-1"),
    };
    let enqueue = |n: usize| {
        let items = [delivery(n).enqueue_item(n as i64)];
        let entry = entries[n].clone();
        let store = store.clone();
        async move {
            let mut pipe = redis::pipe();
            Enqueue {
                partition: 0,
                group,
                entry_id: &entry,
                now_ms: now,
                items: &items,
            }
            .push(&mut pipe);
            store.query_each(&mut pipe).await.unwrap().pop().unwrap()
        }
    };
    // The second instance is first: it waits for the first's entry.
    assert_eq!(enqueue(1).await, redis::Value::Int(0), "waits");
    assert!(store.take_due(now, now + 1000, 4).await.unwrap().is_empty());
    assert_eq!(enqueue(0).await, redis::Value::Int(1));
    assert_eq!(enqueue(1).await, redis::Value::Int(1), "then goes");
    let taken = store.take_due(now, now + 1000, 4).await.unwrap();
    let ids: Vec<&str> = taken.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["msg_0"], "only the first of the line is due");

    // Its lease runs out and another instance takes it again.
    let again = store.take_due(now + 1001, now + 2000, 4).await.unwrap();
    assert_eq!(again.len(), 1);
    let finished = |lease_ms: i64, status: &str| {
        let mut d = taken[0].clone();
        d.status = status.into();
        d.attempts = 1;
        Finished {
            delivery: d,
            next_ms: None,
            now_ms: now + 1500,
            lease_ms,
        }
    };
    let late = finished(now + 1000, "failed");
    let current = finished(now + 2000, "delivered");
    assert_eq!(
        store.record_attempts(&[late, current]).await.unwrap(),
        [false, true],
        "the late attempt is not recorded"
    );
    let list = store.deliveries_of("wh_1", 10).await.unwrap();
    let first = list.iter().find(|d| d.delivery_id == "msg_0").unwrap();
    assert_eq!(first.status, "delivered");
    // The next of the line came due with it.
    let next = store.take_due(now + 1500, now + 3000, 4).await.unwrap();
    assert_eq!(next[0].delivery_id, "msg_1");

    // Sent again by hand, twice at once: queued once.
    let mut d = first.clone();
    d.status = "pending".into();
    assert!(store.redeliver(&d, now + 1600).await.unwrap());
    assert!(
        !store.redeliver(&d, now + 1600).await.unwrap(),
        "already queued"
    );
    let line: Vec<String> = redis::cmd("LRANGE")
        .arg(&d.line)
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(line, ["msg_1", "msg_0"], "once, at the end of its line");

    // Kept a while, then forgotten by the sweep once finished; a deleted
    // endpoint's too, and then the endpoint.
    let _: () = redis::cmd("SADD")
        .arg("vp:{wh}:gone")
        .arg("wh_1")
        .query_async(&mut c)
        .await
        .unwrap();
    let epoch = chrono::DateTime::UNIX_EPOCH;
    assert_eq!(store.forget_deliveries(epoch).await.unwrap(), 0, "too new");
    let later = chrono::Utc::now() + chrono::Duration::days(30);
    // msg_0 is queued again and msg_1 is being sent: both stay.
    assert_eq!(store.forget_deliveries(later).await.unwrap(), 0, "pending");
    let mut done = store.deliveries_of("wh_1", 10).await.unwrap();
    for d in &mut done {
        d.status = "failed".into();
    }
    let by_hand = done
        .iter()
        .find(|d| d.delivery_id == "msg_0")
        .unwrap()
        .clone();
    let sent = done
        .iter()
        .find(|d| d.delivery_id == "msg_1")
        .unwrap()
        .clone();
    let recorded = store
        .record_attempts(&[Finished {
            delivery: sent,
            next_ms: None,
            now_ms: now + 1700,
            lease_ms: now + 3000,
        }])
        .await
        .unwrap();
    assert_eq!(recorded, [true]);
    assert_eq!(store.forget_deliveries(later).await.unwrap(), 1, "msg_1");
    let again = store.take_due(now + 1800, now + 4000, 4).await.unwrap();
    assert_eq!(again[0].delivery_id, "msg_0");
    store
        .record_attempts(&[Finished {
            delivery: by_hand,
            next_ms: None,
            now_ms: now + 1900,
            lease_ms: now + 4000,
        }])
        .await
        .unwrap();
    assert_eq!(store.forget_deliveries(later).await.unwrap(), 1, "msg_0");
    assert!(store.deliveries_of("wh_1", 10).await.unwrap().is_empty());
    let gone: bool = redis::cmd("SISMEMBER")
        .arg("vp:{wh}:gone")
        .arg("wh_1")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        !gone,
        "the deleted endpoint is forgotten with its last delivery"
    );
}
