//! Figure 15: the dispatcher's page in a real headless Chromium with
//! thousands of trucks each moving every 5 s: the work of each frame
//! (the page's own "vp-frame" measures, read with a PerformanceObserver),
//! the interval between painted frames, and the page's JS heap.

use std::cell::RefCell;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use vinpath::client::Api;

use crate::scenarios::Sizes;
use crate::stats::{Figure, Samples};
use crate::ticks::Ticks;

/// A chromedriver of the bench's own, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    async fn start() -> Result<Self, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("chromedriver (Debian's chromium-driver): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not listen".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self { child, port })
    }

    async fn browser(&self) -> Result<Client, String> {
        let options = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking", "--window-size=1280,900",
                     "--enable-precise-memory-info"],
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::rustls()
            .map_err(|e| e.to_string())?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .map_err(|e| format!("chromium: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn js(c: &Client, script: &str) -> Result<Value, String> {
    c.execute(script, vec![])
        .await
        .map_err(|e| format!("page script: {e}"))
}

/// Where truck `i` of `n` is at fix `k`: spread over southern and eastern
/// China, each creeping north-east at about 70 km/h.
fn place(i: usize, k: usize) -> (f64, f64) {
    let lat = 22.5 + (i % 80) as f64 * 0.2 + k as f64 * 0.001;
    let lon = 108.0 + (i / 80) as f64 * 0.12 + k as f64 * 0.001;
    (lat, lon)
}

fn fix(id: String, truck: &str, at: &str, (lat, lon): (f64, f64)) -> Value {
    json!({"event_id": id, "kind": "gps", "truck_id": truck, "occurred_at": at, "lat": lat, "lon": lon})
}

pub async fn dispatcher_page(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let n = sizes.page_trucks;
    api.orders("P", "bench", n).await?;
    let mut setup = Vec::with_capacity(3 * n);
    for i in 0..n {
        let (t1, t2, t3) = {
            let mut t = ticks.borrow_mut();
            (t.tick(), t.tick(), t.tick())
        };
        let at = |t| ticks.borrow().at(t);
        let truck = format!("PT-{i}");
        setup.push(json!({"event_id": format!("p-rel-{i}"), "kind": "scan", "order_id": format!("P-{i}"), "milestone": "released", "occurred_at": at(t1)}));
        setup.push(json!({"event_id": format!("p-load-{i}"), "kind": "scan", "order_id": format!("P-{i}"), "milestone": "loaded", "truck_id": truck, "occurred_at": at(t2)}));
        setup.push(fix(format!("p-0-{i}"), &truck, &at(t3), place(i, 0)));
    }
    api.events(key, setup).await?;
    let token = api.dispatcher().await?;

    let driver = Driver::start().await?;
    let c = driver.browser().await?;
    let result = measure(api, key, ticks, sizes, &c, &token).await;
    let _ = c.close().await;
    result
}

async fn measure(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
    sizes: &Sizes,
    c: &Client,
    token: &str,
) -> Result<Vec<Figure>, String> {
    let n = sizes.page_trucks;
    c.goto(&format!("{}/dispatch", api.base))
        .await
        .map_err(|e| format!("open /dispatch: {e}"))?;
    let form = c
        .form(Locator::Css("form"))
        .await
        .map_err(|e| format!("the login form: {e}"))?;
    form.set_by_name("token", token)
        .await
        .map_err(|e| e.to_string())?;
    form.submit().await.map_err(|e| e.to_string())?;
    // This figure's trucks (earlier figures' may be on the map too).
    let drawn = format!("return document.getElementById('map').vpTrucks?.('bench/PT-') === {n}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while js(c, &drawn).await? != Value::Bool(true) {
        if Instant::now() > deadline {
            return Err(format!("the page never drew {n} trucks"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // From now on: every frame's work, and every painted frame's interval.
    js(
        c,
        "window.vpBench = { work: [], paint: [] };
         new PerformanceObserver((list) => {
           for (const e of list.getEntries()) if (e.name === 'vp-frame') window.vpBench.work.push(e.duration);
         }).observe({ type: 'measure' });
         let last = null;
         const loop = (t) => { if (last !== null) window.vpBench.paint.push(t - last); last = t; requestAnimationFrame(loop); };
         requestAnimationFrame(loop);
         return true",
    )
    .await?;

    // Every truck moves every 5 s: n / 5 fixes a second, sent as a
    // gateway would, a batch every 100 ms.
    let (mut next, mut round) = (0usize, 1usize);
    let sent = Rc::default();
    crate::fanout::steady(
        api,
        key,
        sizes.page_dur,
        n / 5,
        Duration::from_millis(100),
        &sent,
        || {
            let tick = ticks.borrow_mut().tick();
            let at = ticks.borrow().at(tick);
            let fix = fix(
                format!("p-{tick}"),
                &format!("PT-{next}"),
                &at,
                place(next, round),
            );
            next += 1;
            if next == n {
                (next, round) = (0, round + 1);
            }
            (tick, fix)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = js(
        c,
        "return { work: window.vpBench.work, paint: window.vpBench.paint,
                  heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
                  trucks: document.getElementById('map').vpTrucks?.('bench/PT-') }",
    )
    .await?;
    let samples = |k: &str| {
        let mut s = Samples::default();
        for v in got[k].as_array().into_iter().flatten() {
            // A rAF time may come before the `now` the loop began at.
            if let Some(ms) = v.as_f64().filter(|ms| ms.is_finite() && *ms >= 0.0) {
                s.push(Duration::from_secs_f64(ms / 1000.0));
            }
        }
        s
    };
    let (mut work, mut paint) = (samples("work"), samples("paint"));
    if work.len() == 0 {
        return Err("the page measured no frames: no positions reached it".into());
    }
    let frames = paint.len() as f64;
    let dropped = paint.count_over(Duration::from_millis(25)) as f64;
    Ok(vec![
        Figure::new(
            "15",
            &format!("dispatcher page, {n} trucks each moving every 5 s: frame work p95"),
            work.quantile_ms(0.95),
            "ms",
        )
        .at_most(16.0),
        Figure::new("15", "  frame work max", work.quantile_ms(1.0), "ms").info(),
        Figure::new(
            "15",
            "  painted frame interval p95",
            paint.quantile_ms(0.95),
            "ms",
        )
        .info(),
        Figure::new(
            "15",
            "  frames later than 25 ms",
            dropped / frames.max(1.0),
            "share",
        )
        .info(),
        Figure::new(
            "15",
            "  page JS heap",
            got["heap"].as_f64().unwrap_or(0.0) / 1048576.0,
            "MiB",
        )
        .info(),
        Figure::new(
            "15",
            "  trucks drawn at the end",
            got["trucks"].as_f64().unwrap_or(0.0) / n as f64,
            "share",
        )
        .at_least(1.0),
    ])
}
