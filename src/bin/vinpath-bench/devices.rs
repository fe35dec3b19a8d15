//! Figure 13: trackers reporting straight to vinpath. JT/T 808 terminals
//! on their own TCP connections and Traccar Client phones over HTTP, each
//! reporting every so often with a random phase, while a dispatcher's
//! fleet socket watches: fixes recorded per second, the time from a
//! terminal's frame to the position on the live map, and the memory of an
//! idle terminal's connection.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::json;

use vinpath::client::devices::{Terminal, location, traccar_report};
use vinpath::client::{Api, next_json};

use crate::scenarios::{Sizes, Target};
use crate::stats::{Figure, Samples, rss_kib};
use crate::ticks::Ticks;

/// When each fix was sent, by truck and its time (seconds).
type Sent = Rc<RefCell<HashMap<(String, i64), Instant>>>;

#[derive(Default)]
struct Tally {
    recorded: usize,
    refused: usize,
    ack: Samples,
}

fn truck(i: usize) -> String {
    format!("DT-{i}")
}

fn phone_number(i: usize) -> String {
    format!("{:012}", 13_000_000_000u64 + i as u64)
}

/// Registers `n + m` devices, 64 at a time: terminals for the first `n`
/// trucks, phones for the rest.
async fn register(api: &Api, key: &str, n: usize, m: usize) -> Result<(), String> {
    let all: Vec<usize> = (0..n + m).collect();
    for chunk in all.chunks(64) {
        let posts = chunk.iter().map(|&i| {
            let body = if i < n {
                json!({"device_id": phone_number(i), "protocol": "jt808", "truck_id": truck(i)})
            } else {
                json!({"device_id": format!("bench-phone-{i}"), "protocol": "osmand", "truck_id": truck(i)})
            };
            async move { api.post("/api/v1/devices", key, &body).await }
        });
        for r in futures_util::future::join_all(posts).await {
            let (s, v) = r?;
            if s != 201 {
                return Err(format!("device: {s} {v}"));
            }
        }
    }
    Ok(())
}

async fn sign_in(addr: &str, i: usize) -> Result<Terminal, String> {
    let mut t = Terminal::connect(addr, &phone_number(i), None)
        .await
        .map_err(|e| format!("terminal {i}: {e}"))?;
    let code = t
        .register()
        .await
        .map_err(|r| format!("terminal {i}: registration result {r}"))?;
    match t.authenticate(&code).await? {
        0 => Ok(t),
        r => Err(format!("terminal {i}: authentication result {r}")),
    }
}

/// A position that moves a little each report (a truck in town).
fn position(i: usize, k: u32) -> (f64, f64) {
    (
        23.0 + (i % 100) as f64 * 0.01 + f64::from(k) * 0.0005,
        113.0 + (i / 100) as f64 * 0.01,
    )
}

fn whole_second(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

pub async fn devices(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    target: &Target,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let (Some(jt808), Some(osmand)) = (&target.jt808, &target.osmand) else {
        return Ok(Vec::new());
    };
    let (n, m) = (sizes.terminals, sizes.phones);
    let every = sizes.report_every;
    // A car on every truck, so each fix moves something.
    api.orders("D", "bench", n + m).await?;
    let mut scans = Vec::with_capacity(2 * (n + m));
    for i in 0..n + m {
        let t1 = ticks.borrow_mut().tick();
        let t2 = ticks.borrow_mut().tick();
        let (a1, a2) = (ticks.borrow().at(t1), ticks.borrow().at(t2));
        scans.push(json!({"event_id": format!("d-rel-{i}"), "kind": "scan", "order_id": format!("D-{i}"), "milestone": "released", "occurred_at": a1}));
        scans.push(json!({"event_id": format!("d-load-{i}"), "kind": "scan", "order_id": format!("D-{i}"), "milestone": "loaded", "truck_id": truck(i), "occurred_at": a2}));
    }
    api.events(key, scans).await?;
    register(api, key, n, m).await?;

    // Memory of idle, authenticated terminal connections.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(target.pid).ok_or("cannot read vinpath's memory")?;
    let mut terminals = Vec::with_capacity(n);
    let ids: Vec<usize> = (0..n).collect();
    for chunk in ids.chunks(100) {
        let signed = chunk.iter().map(|&i| sign_in(jt808, i));
        for t in futures_util::future::join_all(signed).await {
            terminals.push(t?);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(target.pid).ok_or("cannot read vinpath's memory")?;
    let per_kib = match after.checked_sub(before) {
        Some(grown) => grown as f64 / n as f64,
        None => f64::NAN,
    };

    // The live map, and the reports.
    let token = api.dispatcher().await?;
    let mut fleet = api.ws(&format!("/ws/fleet?access_token={token}")).await?;
    next_json(&mut fleet).await.ok_or("no fleet snapshot")?;
    let sent: Sent = Rc::default();
    let lag: Rc<RefCell<Samples>> = Rc::default();
    let reader = {
        let (sent, lag) = (sent.clone(), lag.clone());
        actix_web::rt::spawn(async move {
            while let Some(msg) = next_json(&mut fleet).await {
                for v in msg["vehicles"].as_array().into_iter().flatten() {
                    let (Some(t), Some(at)) = (v["truck_id"].as_str(), v["at"].as_str()) else {
                        continue;
                    };
                    let Ok(at) = at.parse::<DateTime<Utc>>() else {
                        continue;
                    };
                    if let Some(s) = sent.borrow_mut().remove(&(t.to_owned(), at.timestamp())) {
                        lag.borrow_mut().push(s.elapsed());
                    }
                }
            }
        })
    };
    let tally: Rc<RefCell<Tally>> = Rc::default();
    let started = Instant::now();
    let end = started + sizes.device_dur;
    let mut tasks = Vec::with_capacity(n + m);
    for (i, mut term) in terminals.into_iter().enumerate() {
        let (sent, tally) = (sent.clone(), tally.clone());
        let phase = every.mul_f64(rand::rng().random_range(0.0..1.0));
        tasks.push(actix_web::rt::spawn(async move {
            let mut next = started + phase;
            let mut k = 0;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                let at = whole_second(Utc::now());
                let (lat, lon) = position(i, k);
                sent.borrow_mut()
                    .insert((truck(i), at.timestamp()), Instant::now());
                let t0 = Instant::now();
                let r = term.report(&location(at, lat, lon, 40.0)).await;
                let mut t = tally.borrow_mut();
                t.ack.push(t0.elapsed());
                if r == Ok(0) {
                    t.recorded += 1;
                } else {
                    t.refused += 1;
                }
                k += 1;
                next += every;
            }
            drop(term);
        }));
    }
    let http = awc::Client::builder()
        .connector(awc::Connector::new().limit(256))
        .timeout(Duration::from_secs(10))
        .finish();
    for i in n..n + m {
        let (tally, http, url) = (tally.clone(), http.clone(), osmand.clone());
        let phase = every.mul_f64(rand::rng().random_range(0.0..1.0));
        tasks.push(actix_web::rt::spawn(async move {
            let mut next = started + phase;
            let mut k = 0;
            while next < end {
                tokio::time::sleep_until(next.into()).await;
                let at = whole_second(Utc::now());
                let (lat, lon) = position(i, k);
                let id = format!("bench-phone-{i}");
                let r = traccar_report(&http, &url, &id, at, lat, lon, 40.0).await;
                let mut t = tally.borrow_mut();
                if r == Ok(200) {
                    t.recorded += 1;
                } else {
                    t.refused += 1;
                }
                k += 1;
                next += every;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let span = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    reader.abort();
    let offered = (n + m) as f64 / every.as_secs_f64();
    let mut tally = std::mem::take(&mut *tally.borrow_mut());
    let mut lag = std::mem::take(&mut *lag.borrow_mut());
    if tally.refused > 0 {
        return Err(format!("{} reports were refused", tally.refused));
    }
    Ok(vec![
        Figure::new(
            "13",
            &format!(
                "{n} JT/T 808 terminals + {m} Traccar phones, a report per {} s: fixes recorded",
                every.as_secs()
            ),
            tally.recorded as f64 / span,
            "fix/s",
        )
        .against(offered, 0.95),
        Figure::new("13", "  frame to live map p99", lag.quantile_ms(0.99), "ms").at_most(1000.0),
        Figure::new(
            "13",
            "  terminal's answer p99",
            tally.ack.quantile_ms(0.99),
            "ms",
        )
        .info(),
        Figure::new(
            "13",
            "  memory per idle terminal connection",
            per_kib,
            "KiB",
        )
        .at_most(8.0),
    ])
}
