//! Figure 14: webhooks. Orders walked through their milestones in
//! 100-event batches, first with no endpoint, then with three endpoints
//! (a receiver in this process) subscribed to every milestone: the ingest
//! rate of each, and the deliveries per second that follow.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use vinpath::client::Api;

use crate::scenarios::Sizes;
use crate::stats::Figure;
use crate::ticks::Ticks;

/// The milestones each order is walked through, in order.
const STEPS: [&str; 11] = [
    "produced",
    "released",
    "loaded",
    "in_transit",
    "arrived",
    "unloaded",
    "gated_in",
    "in_storage",
    "pdi",
    "ready_for_delivery",
    "out_for_delivery",
];

/// A receiver that answers 200 to everything and counts.
fn receiver() -> Result<(String, Arc<AtomicUsize>), String> {
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let server = HttpServer::new(move || {
        let counted = counted.clone();
        App::new().default_service(web::to(move || {
            counted.fetch_add(1, Ordering::Relaxed);
            async { HttpResponse::Ok().finish() }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .map_err(|e| e.to_string())?;
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    Ok((format!("http://127.0.0.1:{port}"), count))
}

/// Walks `n` orders `{prefix}-i` through every step, in batches of 100
/// posted by 8 workers; the events per second. Each step waits for the
/// one before it, so every scan is the order's next milestone: posted
/// side by side, a later step could overtake an earlier one (which is
/// then `stale`, and tells no webhook), and the deliveries to wait for
/// would vary by run.
async fn walk(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    prefix: &str,
    n: usize,
) -> Result<f64, String> {
    api.orders(prefix, "bench", n).await?;
    let mut steps: Vec<Vec<Vec<Value>>> = Vec::with_capacity(STEPS.len());
    for step in STEPS {
        let mut events = Vec::with_capacity(n);
        for i in 0..n {
            let tick = ticks.borrow_mut().tick();
            let at = ticks.borrow().at(tick);
            let mut e = json!({"event_id": format!("{prefix}-{i}-{step}"), "kind": "scan",
                "order_id": format!("{prefix}-{i}"), "milestone": step, "occurred_at": at});
            if step == "loaded" {
                e["truck_id"] = json!(format!("{prefix}T-{}", i % 50));
            }
            events.push(e);
        }
        steps.push(events.chunks(100).map(<[Value]>::to_vec).collect());
    }
    let started = Instant::now();
    for batches in steps {
        let queue = Rc::new(RefCell::new(batches.into_iter()));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let (api, key, queue) = (api.clone(), key.to_owned(), queue.clone());
                actix_web::rt::spawn(async move {
                    loop {
                        let Some(batch) = queue.borrow_mut().next() else {
                            return Ok(());
                        };
                        let (s, v) = api
                            .post("/api/v1/events", &key, &json!({"events": batch}))
                            .await?;
                        if s != 200 {
                            return Err(format!("events: {s} {v}"));
                        }
                        let refused = v["results"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|r| r["status"] != "accepted");
                        if let Some(r) = refused {
                            return Err(format!("a scan was not accepted: {r}"));
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.map_err(|e| e.to_string())??;
        }
    }
    Ok((n * STEPS.len()) as f64 / started.elapsed().as_secs_f64())
}

pub async fn webhooks(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
    redis_port: u16,
) -> Result<Vec<Figure>, String> {
    let n = sizes.webhook_orders;
    // The baseline is walked before and after (its mean is the figure's):
    // a short walk's rate swings with what else the machine does.
    let before = walk(api, key, ticks, "WA", n).await?;
    let (url, count) = receiver()?;
    let mut hooks = Vec::new();
    for i in 0..3 {
        let (s, v) = api
            .post(
                "/api/v1/webhooks",
                &api.admin,
                &json!({"url": format!("{url}/hook-{i}"), "events": ["order.milestone"], "description": "bench"}),
            )
            .await?;
        if s != 201 {
            return Err(format!(
                "webhook: {s} {v} (vinpath needs --webhook-allow-private for a local receiver)"
            ));
        }
        hooks.push(v["webhook_id"].as_str().unwrap_or_default().to_owned());
    }
    let started = Instant::now();
    let with = walk(api, key, ticks, "WB", n).await?;
    let expected = 3 * n * STEPS.len();
    let deadline = started + Duration::from_secs(180);
    while count.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = count.load(Ordering::Relaxed);
    // Read before the endpoints go (deleting them fails what is left).
    let stuck = (delivered < expected).then(|| undelivered(redis_port));
    let rate = delivered as f64 / started.elapsed().as_secs_f64();
    for h in &hooks {
        let _ = api
            .call(
                "DELETE",
                &format!("/api/v1/webhooks/{h}"),
                Some(&api.admin),
                None,
            )
            .await;
    }
    if delivered < expected {
        return Err(format!(
            "{delivered} of {expected} deliveries arrived within 180 s; {}",
            stuck.unwrap_or_default()
        ));
    }
    let after = walk(api, key, ticks, "WC", n).await?;
    let without = (before + after) / 2.0;
    Ok(vec![
        Figure::new(
            "14",
            &format!("{} milestones, 3 endpoints: deliveries", n * STEPS.len()),
            rate,
            "deliveries/s",
        )
        .info(),
        Figure::new(
            "14",
            "  ingest with 3 endpoints subscribed",
            with,
            "events/s",
        )
        .against(without, 0.9),
    ])
}

/// What the deliveries not yet delivered are doing, read straight from
/// Redis: by status, attempts and last answer, and how many are due.
fn undelivered(redis_port: u16) -> String {
    let read = || -> redis::RedisResult<String> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))?;
        let mut c = client.get_connection()?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        let (mut due_now, mut due_later) = (0, 0);
        let keys = |pattern: &str, c: &mut redis::Connection| -> redis::RedisResult<Vec<String>> {
            redis::cmd("KEYS").arg(pattern).query(c)
        };
        for key in keys("vp:{p*}:deliveries", &mut c)? {
            let all: Vec<String> = redis::cmd("HVALS").arg(key).query(&mut c)?;
            for raw in all {
                let d: Value = serde_json::from_str(&raw).unwrap_or_default();
                if d["status"] != "delivered" {
                    let k = format!(
                        "{} after {} attempts (last {})",
                        d["status"], d["attempts"], d["last_status"]
                    );
                    *kinds.entry(k).or_default() += 1;
                }
            }
        }
        for key in keys("vp:{p*}:due", &mut c)? {
            let due: Vec<(String, f64)> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(&mut c)?;
            for (_, at) in due {
                if (at as i64) <= now_ms {
                    due_now += 1;
                } else {
                    due_later += 1;
                }
            }
        }
        let lines = keys("vp:{p*}:line:*", &mut c)?.len();
        let mut outbox = 0;
        for key in keys("vp:{p*}:outbox", &mut c)? {
            let n: usize = redis::cmd("XLEN").arg(key).query(&mut c)?;
            outbox += n;
        }
        Ok(format!(
            "not delivered: {kinds:?}; due now {due_now}, due later {due_later}; {lines} lines waiting; {outbox} outbox entries"
        ))
    };
    read().unwrap_or_else(|e| format!("(Redis not read: {e})"))
}
