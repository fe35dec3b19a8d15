//! Figures 3 and 4: from a carrier's POST to the customers' and
//! dispatchers' websockets, under steady load.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use vinpath::client::{Api, next_json};

use crate::scenarios::Sizes;
use crate::stats::{Figure, Samples};
use crate::ticks::{Ticks, order_fix, truck_fix};

/// When each event (by its tick) was posted.
pub(crate) type Sent = Rc<RefCell<HashMap<u64, Instant>>>;

/// Posts `per_second` events for `dur`, made by `event`, in a request
/// every `every`.
pub(crate) async fn steady<F>(
    api: &Api,
    key: &str,
    dur: Duration,
    per_second: usize,
    every: Duration,
    sent: &Sent,
    mut event: F,
) where
    F: FnMut() -> (u64, Value),
{
    let per_tick = ((per_second as f64 * every.as_secs_f64()) as usize).max(1);
    let mut interval = tokio::time::interval(every);
    let deadline = Instant::now() + dur;
    let mut posts = Vec::new();
    while Instant::now() < deadline {
        interval.tick().await;
        let mut batch = Vec::with_capacity(per_tick);
        let now = Instant::now();
        for _ in 0..per_tick {
            let (tick, e) = event();
            sent.borrow_mut().insert(tick, now);
            batch.push(e);
        }
        let (api, key) = (api.clone(), key.to_owned());
        posts.push(actix_web::rt::spawn(async move {
            let _ = api
                .post("/api/v1/events", &key, &json!({"events": batch}))
                .await;
        }));
    }
    for p in posts {
        let _ = p.await;
    }
}

pub async fn to_customers(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let n = sizes.subscribers;
    let tokens = api.orders("W", "bench", n).await?;
    let sent: Sent = Rc::default();
    let samples = Rc::new(RefCell::new(Samples::default()));
    let mut readers = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let mut conn = api
            .ws(&format!("/ws/track/{token}"))
            .await
            .map_err(|e| format!("socket {i}: {e}"))?;
        next_json(&mut conn).await.ok_or("no snapshot")?;
        let (sent, samples, ticks) = (sent.clone(), samples.clone(), ticks.clone());
        readers.push(actix_web::rt::spawn(async move {
            while let Some(m) = next_json(&mut conn).await {
                if m["event"]["kind"] != "position" {
                    continue;
                }
                let tick = m["event"]["at"]
                    .as_str()
                    .and_then(|a| ticks.borrow().tick_of(a));
                if let Some(t) = tick.and_then(|t| sent.borrow().get(&t).copied()) {
                    samples.borrow_mut().push(t.elapsed());
                }
            }
        }));
    }
    let mut i = 0usize;
    steady(
        api,
        key,
        sizes.dur,
        sizes.rate,
        Duration::from_millis(10),
        &sent,
        || {
            let tick = ticks.borrow_mut().tick();
            i += 1;
            let at = ticks.borrow().at(tick);
            (
                tick,
                order_fix(&format!("w-{tick}"), &format!("W-{}", i % n), &at, 0.0),
            )
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for r in readers {
        r.abort();
    }
    let posted = sent.borrow().len();
    let mut s = samples.borrow_mut();
    let delivered = s.len();
    Ok(vec![
        Figure::new(
            "3",
            &format!(
                "POST→websocket, {} events/s over {n} subscribers: p50",
                sizes.rate
            ),
            s.quantile_ms(0.5),
            "ms",
        )
        .info(),
        Figure::new("3", "  p99", s.quantile_ms(0.99), "ms").at_most(10.0),
        Figure::new("3", "  max", s.quantile_ms(1.0), "ms").info(),
        Figure::new(
            "3",
            "  delivered / posted",
            delivered as f64 / posted.max(1) as f64,
            "share",
        )
        .at_least(1.0),
    ])
}

/// What one dispatcher's socket saw.
#[derive(Default)]
struct Seen {
    frames: usize,
    vehicles: usize,
    latest: HashMap<String, u64>,
    lag: Samples,
}

pub async fn to_dispatchers(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
) -> Result<(Vec<Figure>, Vec<String>), String> {
    let n = sizes.trucks;
    let tokens = api.orders("F", "bench", n).await?;
    let mut scans = Vec::with_capacity(2 * n);
    for i in 0..n {
        let t1 = ticks.borrow_mut().tick();
        let t2 = ticks.borrow_mut().tick();
        let (a1, a2) = (ticks.borrow().at(t1), ticks.borrow().at(t2));
        scans.push(json!({"event_id": format!("f-rel-{i}"), "kind": "scan", "order_id": format!("F-{i}"), "milestone": "released", "occurred_at": a1}));
        scans.push(json!({"event_id": format!("f-load-{i}"), "kind": "scan", "order_id": format!("F-{i}"), "milestone": "loaded", "truck_id": format!("FT-{i}"), "occurred_at": a2}));
    }
    api.events(key, scans).await?;
    let token = api.dispatcher().await?;
    let sent: Sent = Rc::default();
    let seen: Vec<Rc<RefCell<Seen>>> = (0..sizes.dispatchers).map(|_| Rc::default()).collect();
    let mut readers = Vec::new();
    for s in &seen {
        let mut conn = api.ws(&format!("/ws/fleet?access_token={token}")).await?;
        next_json(&mut conn).await.ok_or("no fleet snapshot")?;
        let (s, sent, ticks) = (s.clone(), sent.clone(), ticks.clone());
        readers.push(actix_web::rt::spawn(async move {
            while let Some(m) = next_json(&mut conn).await {
                if m["type"] != "positions" {
                    continue;
                }
                let mut s = s.borrow_mut();
                s.frames += 1;
                for v in m["vehicles"].as_array().into_iter().flatten() {
                    let (Some(truck), Some(at)) = (v["truck_id"].as_str(), v["at"].as_str()) else {
                        continue;
                    };
                    let Some(tick) = ticks.borrow().tick_of(at) else {
                        continue;
                    };
                    s.vehicles += 1;
                    if let Some(t) = sent.borrow().get(&tick) {
                        s.lag.push(t.elapsed());
                    }
                    s.latest.insert(truck.to_owned(), tick);
                }
            }
        }));
    }
    let last_sent: Rc<RefCell<HashMap<String, u64>>> = Rc::default();
    let mut i = 0usize;
    let started = Instant::now();
    steady(
        api,
        key,
        sizes.dur,
        n / 5,
        Duration::from_millis(10),
        &sent,
        || {
            let tick = ticks.borrow_mut().tick();
            let truck = format!("FT-{}", i % n);
            i += 1;
            last_sent.borrow_mut().insert(truck.clone(), tick);
            let at = ticks.borrow().at(tick);
            (tick, truck_fix(&format!("f-{tick}"), &truck, &at, 0.0))
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let span = started.elapsed().as_secs_f64();
    for r in readers {
        r.abort();
    }
    let d = seen.len() as f64;
    let frames: usize = seen.iter().map(|s| s.borrow().frames).sum();
    let vehicles: usize = seen.iter().map(|s| s.borrow().vehicles).sum();
    let mut lag = Samples::default();
    let mut complete = 0;
    for s in &seen {
        let mut s = s.borrow_mut();
        lag.extend(std::mem::take(&mut s.lag));
        let all = last_sent
            .borrow()
            .iter()
            .all(|(t, tick)| s.latest.get(t) == Some(tick));
        complete += usize::from(all);
    }
    let figures = vec![
        Figure::new(
            "4",
            &format!(
                "{n} trucks, a fix per 5 s, {} dispatchers: positions delivered",
                seen.len()
            ),
            vehicles as f64 / span,
            "pos/s",
        )
        .info(),
        Figure::new("4", "  lag p99", lag.quantile_ms(0.99), "ms").at_most(1000.0),
        Figure::new(
            "4",
            "  frames per dispatcher",
            frames as f64 / d / span,
            "frames/s",
        )
        .at_most(2.0),
        Figure::new(
            "4",
            "  dispatchers with every truck's latest position",
            complete as f64 / d,
            "share",
        )
        .at_least(1.0),
    ];
    Ok((figures, tokens))
}
