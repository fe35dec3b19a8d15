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
/// posted by 8 workers; the events per second.
async fn walk(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    prefix: &str,
    n: usize,
) -> Result<f64, String> {
    api.orders(prefix, "bench", n).await?;
    let mut events: Vec<Value> = Vec::with_capacity(n * STEPS.len());
    for step in STEPS {
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
    }
    let batches: Vec<Vec<Value>> = events.chunks(100).map(<[Value]>::to_vec).collect();
    let queue = Rc::new(RefCell::new(batches.into_iter()));
    let started = Instant::now();
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
                }
            })
        })
        .collect();
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

pub async fn webhooks(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let n = sizes.webhook_orders;
    let without = walk(api, key, ticks, "WA", n).await?;
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
    let rate = delivered as f64 / started.elapsed().as_secs_f64();
    for h in hooks {
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
            "{delivered} of {expected} deliveries arrived within 180 s"
        ));
    }
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
