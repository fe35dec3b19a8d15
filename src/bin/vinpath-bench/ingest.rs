//! Figures 1 and 2: ingest throughput and latency, against the plain HTTP
//! and plain Redis this machine manages in the same run.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use vinpath::client::Api;

use crate::scenarios::{Sizes, Target};
use crate::stats::{Figure, Samples, WorkMeter};
use crate::ticks::{Ticks, order_fix};

/// Runs `workers` loops of `step` until `dur` has passed; returns the
/// number of steps and their latencies.
pub(crate) async fn hammer<F, Fut>(workers: usize, dur: Duration, step: F) -> (usize, Samples)
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + dur;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let step = step.clone();
            actix_web::rt::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if step(w).await {
                        samples.push(t.elapsed());
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for t in tasks {
        if let Ok(s) = t.await {
            all.extend(s);
        }
    }
    (all.len(), all)
}

pub async fn single_events(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
    target: &Target,
) -> Result<Vec<Figure>, String> {
    api.orders("S", "bench", 64).await?;
    let health = {
        let api = api.clone();
        move |_| {
            let api = api.clone();
            async move { api.get_status("/healthz").await == Ok(200) }
        }
    };
    let cpu = WorkMeter::start(target.pid, target.redis_port);
    let (n, _) = hammer(64, sizes.dur, health).await;
    let baseline = n as f64 / sizes.dur.as_secs_f64();
    let health_cpu = cpu.vinpath_per(n);
    let post = {
        let (api, key, ticks) = (api.clone(), key.to_owned(), ticks.clone());
        move |w: usize| {
            let (api, key) = (api.clone(), key.clone());
            let tick = ticks.borrow_mut().tick();
            let at = ticks.borrow().at(tick);
            async move {
                let e = order_fix(&format!("s-{tick}"), &format!("S-{w}"), &at, 0.0);
                matches!(
                    api.post("/api/v1/events", &key, &json!({"events": [e]}))
                        .await,
                    Ok((200, _))
                )
            }
        }
    };
    let cpu = WorkMeter::start(target.pid, target.redis_port);
    let (n, mut lat) = hammer(64, sizes.dur, post).await;
    let rate = n as f64 / sizes.dur.as_secs_f64();
    let mut figures = vec![
        Figure::new("1", "single-event POSTs, 64 connections", rate, "events/s")
            .against(baseline, 0.35),
        Figure::new("1", "  latency p50", lat.quantile_ms(0.5), "ms").info(),
        Figure::new("1", "  latency p99", lat.quantile_ms(0.99), "ms").info(),
    ];
    figures.extend(cpu.figures("1", n));
    figures.push(Figure::new("1", "  vinpath CPU per healthz request", health_cpu, "µs").info());
    Ok(figures)
}

fn redis_benchmark_baseline(redis_port: u16, requests: usize) -> Result<f64, String> {
    use vinpath::store::functions::{
        Conclusions, Fix, FixCore, Function, IdSpace, Identity, SitePlacement,
    };
    // The Redis work of one ingested fix: the function that applies it to
    // its order (duplicate check among the carrier's ids, state, track,
    // history, ETA and geo memory, live channel), built by the same type
    // vinpath calls it with. Each call is a new fix at the same time, so
    // it moves the car.
    let now = chrono::Utc::now();
    let at = now - chrono::Duration::hours(1);
    let identity = Identity::new("b-__rand_int__", "d".into(), "order M-0".into(), now, 7);
    let record = r#"{"event_id":"b","kind":"gps","order_id":"M-0","lat":23.03,"lon":113.47}"#;
    let position =
        r#"{"lat":23.03,"lon":113.47,"at":"2026-11-24T00:00:00Z","speed_kmh":null,"heading":null}"#;
    let member = format!("{}:23.03:113.47", at.timestamp_millis());
    let options = vinpath::store::StoreOptions::default();
    let conclusions = Conclusions {
        eta_ms: Some(at.timestamp_millis()),
        site: SitePlacement::Unchanged,
        ..Conclusions::default()
    };
    let args = Fix {
        order: "M-0",
        ids: IdSpace::Carrier("bench"),
        fix: FixCore {
            carrier: "bench",
            identity: &identity,
            at,
            received_at: at,
            record,
            noise: None,
            position,
            track_member: &member,
            options: &options,
        },
        geo: Some(r#"{"fence":{"inside":null},"still":null}"#),
        conclusions: &conclusions,
        expect_rev: None,
    }
    .command_line();
    let out = std::process::Command::new("redis-benchmark")
        .args([
            "-p",
            &redis_port.to_string(),
            "-P",
            "16",
            "-q",
            "-r",
            "100000000",
            "-n",
            &requests.to_string(),
        ])
        .args(&args)
        .output()
        .map_err(|e| format!("redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .collect::<Vec<_>>()
        .windows(3)
        .filter(|w| w[1] == "requests" && w[2] == "per")
        .filter_map(|w| w[0].parse::<f64>().ok())
        .next_back()
        .ok_or(format!("redis-benchmark said: {text}"))
}

pub async fn batches(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
    target: &Target,
) -> Result<Vec<Figure>, String> {
    // Eight carriers' gateways, each posting batches of its own 100 cars'
    // fixes (a car's fixes come from one tracker, in order).
    api.orders("M", "bench", 800).await?;
    let post = {
        let (api, key, ticks) = (api.clone(), key.to_owned(), ticks.clone());
        move |w: usize| {
            let (api, key) = (api.clone(), key.clone());
            let events: Vec<Value> = (0..100)
                .map(|o| {
                    let tick = ticks.borrow_mut().tick();
                    let at = ticks.borrow().at(tick);
                    order_fix(
                        &format!("m-{tick}"),
                        &format!("M-{}", w * 100 + o),
                        &at,
                        0.0,
                    )
                })
                .collect();
            async move {
                matches!(
                    api.post("/api/v1/events", &key, &json!({"events": events}))
                        .await,
                    Ok((200, _))
                )
            }
        }
    };
    let cpu = WorkMeter::start(target.pid, target.redis_port);
    let (n, _) = hammer(8, sizes.dur, post).await;
    let rate = n as f64 * 100.0 / sizes.dur.as_secs_f64();
    let used = cpu.figures("2", n * 100);
    let baseline = redis_benchmark_baseline(target.redis_port, sizes.redis_requests)?;
    let mut figures =
        vec![Figure::new("2", "100-event batches", rate, "events/s").against(baseline, 0.75)];
    figures.extend(used);
    Ok(figures)
}
