//! The scenarios of the benchmark, one or more figures each, and how big
//! they are.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use vinpath::client::Api;

use crate::stats::{self, Figure};
use crate::ticks::Ticks;
use crate::{cameras, devices, fanout, ingest, memory, page, scale, trips, webhooks};

/// How big each scenario is.
pub struct Sizes {
    pub dur: Duration,
    pub redis_requests: usize,
    pub subscribers: usize,
    pub rate: usize,
    pub trucks: usize,
    pub dispatchers: usize,
    pub idle: usize,
    pub upload_mib: usize,
    /// Figure 13: JT/T 808 terminals and Traccar Client phones, how often
    /// each reports, and for how long.
    pub terminals: usize,
    pub phones: usize,
    pub report_every: Duration,
    pub device_dur: Duration,
    /// Figure 14: orders walked through 11 milestones, per phase.
    pub webhook_orders: usize,
    /// Figures 11 and 12: cameras pushing, viewers watching, and how long
    /// each phase lasts.
    pub cameras: usize,
    pub viewers: usize,
    pub camera_dur: Duration,
    /// Figure 15: trucks on the dispatcher's page, and how long they move.
    pub page_trucks: usize,
    pub page_dur: Duration,
}

impl Sizes {
    /// The figures the issue asks for.
    pub fn full() -> Self {
        Self {
            dur: Duration::from_secs(10),
            redis_requests: 200_000,
            subscribers: 1000,
            rate: 5000,
            trucks: 10_000,
            dispatchers: 100,
            idle: 10_000,
            upload_mib: 256,
            terminals: 10_000,
            phones: 2_000,
            report_every: Duration::from_secs(30),
            device_dur: Duration::from_secs(60),
            webhook_orders: 2_000,
            cameras: 50,
            viewers: 1000,
            camera_dur: Duration::from_secs(20),
            page_trucks: 5_000,
            page_dur: Duration::from_secs(30),
        }
    }

    /// A few seconds each, so the bench never rots (run by scripts/test).
    pub fn quick() -> Self {
        Self {
            dur: Duration::from_secs(2),
            redis_requests: 20_000,
            subscribers: 100,
            rate: 500,
            trucks: 300,
            dispatchers: 5,
            idle: 300,
            upload_mib: 16,
            terminals: 200,
            phones: 40,
            report_every: Duration::from_secs(2),
            device_dur: Duration::from_secs(4),
            webhook_orders: 100,
            cameras: 3,
            viewers: 10,
            camera_dur: Duration::from_secs(4),
            page_trucks: 200,
            page_dur: Duration::from_secs(4),
        }
    }
}

/// Where the load goes.
pub struct Target {
    pub base: String,
    pub admin: String,
    /// vinpath's process, for its memory.
    pub pid: u32,
    pub redis_port: u16,
    /// The disk the file store writes to, for the `dd` baseline.
    pub disk: PathBuf,
    /// Instances on a Redis Cluster, for figures 8 and 10.
    pub cluster: Option<crate::scale::Cluster>,
    /// The vinpath binary, for `vinpath sweep` (figure 9).
    pub vinpath_bin: Option<String>,
    /// Its JT/T 808 listener (host:port) and Traccar Client URL (figure 13).
    pub jt808: Option<String>,
    pub osmand: Option<String>,
}

/// Runs the scenarios (all, or the figures `only` names) and returns the
/// figures.
pub async fn run(target: &Target, sizes: &Sizes, only: &[u8]) -> Result<Vec<Figure>, String> {
    let want = |n: u8| only.is_empty() || only.contains(&n);
    // A fresh client per scenario: a pool worn by one scenario's load
    // (awc's connector can come out of it disconnected) must not fail the next.
    let fresh = || Api::new(&target.base, &target.admin, 128);
    let key = fresh().carrier("bench").await?;
    let ticks = Rc::new(RefCell::new(Ticks::new()));
    let mut figures = Vec::new();
    let step = |n: u8, what: &str| eprintln!("bench: {n} {what}");
    let label = |n: u8| move |e: String| format!("figure {n}: {e}");
    if want(1) {
        step(1, "single-event POSTs");
        figures.extend(
            ingest::single_events(&fresh(), &key, &ticks, sizes, target)
                .await
                .map_err(label(1))?,
        );
    }
    if want(2) {
        step(2, "batches");
        figures.extend(
            ingest::batches(&fresh(), &key, &ticks, sizes, target)
                .await
                .map_err(label(2))?,
        );
    }
    if want(3) {
        step(3, "POST to customer websockets");
        // Figures 1 and 2 wrote enough for Redis to rewrite its append-only
        // file soon; its fork stalls Redis for tens of milliseconds. Have
        // it done now, not inside the latency window.
        stats::compact_redis(target.redis_port).await;
        figures.extend(
            fanout::to_customers(&fresh(), &key, &ticks, sizes)
                .await
                .map_err(label(3))?,
        );
    }
    if want(4) || want(5) {
        step(4, "trucks to dispatcher websockets");
        let (fleet, tokens) = fanout::to_dispatchers(&fresh(), &key, &ticks, sizes)
            .await
            .map_err(label(4))?;
        figures.extend(fleet);
        if want(5) {
            step(5, "idle customer websockets");
            figures.extend(
                memory::idle_sockets(&fresh(), &tokens, target.pid, sizes)
                    .await
                    .map_err(label(5))?,
            );
        }
    }
    if want(6) {
        step(6, "clip upload");
        figures.extend(
            memory::upload(&fresh(), &key, target.pid, &target.disk, sizes)
                .await
                .map_err(label(6))?,
        );
    }
    if want(7) {
        step(7, "Redis round trips");
        figures.extend(
            trips::round_trips(&fresh(), &key, &ticks)
                .await
                .map_err(label(7))?,
        );
    }
    if want(9)
        && let Some(bin) = &target.vinpath_bin
    {
        step(9, "an order's memory in Redis, active and archived");
        figures.extend(
            scale::order_memory(&fresh(), &key, target, bin, sizes)
                .await
                .map_err(label(9))?,
        );
    }
    if want(11) || want(12) {
        step(11, "live cameras pushing, and viewers");
        figures.extend(
            cameras::cameras(&fresh(), &key, target, sizes)
                .await
                .map_err(label(11))?,
        );
    }
    if want(13) {
        step(13, "JT/T 808 terminals and Traccar Client phones");
        figures.extend(
            devices::devices(&fresh(), &key, &ticks, target, sizes)
                .await
                .map_err(label(13))?,
        );
    }
    if want(14) {
        step(14, "webhooks");
        figures.extend(
            webhooks::webhooks(&fresh(), &key, &ticks, sizes, target.redis_port)
                .await
                .map_err(label(14))?,
        );
    }
    if want(15) {
        step(15, "the dispatcher's page in Chromium");
        figures.extend(
            page::dispatcher_page(&fresh(), &key, &ticks, sizes)
                .await
                .map_err(label(15))?,
        );
    }
    if let Some(cluster) = &target.cluster {
        if want(8) {
            step(8, "two instances on a Redis Cluster");
            figures.extend(
                scale::cluster_throughput(&fresh(), &key, cluster, &target.admin, sizes)
                    .await
                    .map_err(label(8))?,
            );
        }
        if want(10) {
            // Last: it kills a primary.
            step(10, "a primary failover");
            figures.extend(
                scale::failover_window(cluster, &target.admin, "failover")
                    .await
                    .map_err(label(10))?,
            );
        }
    }
    Ok(figures)
}
