//! The pages in a real headless Chromium (Debian's, through chromedriver):
//! the customer's tracking page on a 360 px phone, the dispatchers' map,
//! and the friendly page for a bad link. Screenshots land in
//! target/screenshots for a person to look at.

use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::*;

const WEBM: &[u8] = include_bytes!("../../fixtures/clips/handover.webm");

/// A chromedriver of the test's own, on a free port.
pub struct Driver {
    daemon: Daemon,
    _profile: tempfile::TempDir,
}

impl Driver {
    pub fn start() -> Self {
        let port = free_port();
        let make = move || {
            let mut c = Command::new("chromedriver");
            c.arg(format!("--port={port}"));
            c
        };
        Self {
            daemon: Daemon::spawn("chromedriver", port, make, Daemon::listening),
            _profile: tempfile::tempdir().unwrap(),
        }
    }

    /// A browser: a phone 360 px wide by default, in Chinese when asked.
    pub async fn browser(&self, phone: bool, lang: &str) -> Client {
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--autoplay-policy=no-user-gesture-required",
                     format!("--user-data-dir={}", self._profile.path().join(lang).display())],
            "prefs": {"intl.accept_languages": lang},
        });
        if phone {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2.0}});
        } else {
            options["args"]
                .as_array_mut()
                .unwrap()
                .push(json!("--window-size=1280,900"));
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::rustls()
            .expect("a TLS-capable client builder")
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.daemon.port))
            .await
            .expect("chromium starts")
    }
}

/// Opens the dispatcher console and signs in with `token`.
pub async fn sign_in(c: &Client, base: &str, token: &str) {
    c.goto(&format!("{base}/dispatch")).await.unwrap();
    let form = c.form(Locator::Css("form")).await.unwrap();
    form.set_by_name("token", token).await.unwrap();
    form.submit().await.unwrap();
}

/// Clicks the element `css` finds (as a user does: WebDriver's click).
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} is on the page: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("{css} takes a click: {e}"));
}

pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("the script runs")
}

/// Waits until `script` returns true, up to `within`.
pub async fn until(c: &Client, script: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if js(c, script).await == Value::Bool(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn upload(app: &TestApp, key: &str, order: &str, body: &[u8]) -> Value {
    let mut res = app
        .client
        .post(format!(
            "{}/api/v1/orders/{order}/clips?kind=handover&captured_at={}",
            app.base,
            at(-1)
        ))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", "video/webm"))
        .send_body(body.to_vec())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    serde_json::from_slice(&res.body().await.unwrap()).unwrap()
}

#[actix_web::test]
async fn the_customer_page_lives_and_comes_back_after_a_restart() {
    let redis = TestRedis::start();
    let port = free_port();
    let mut s = settings(&redis);
    s.listen = format!("127.0.0.1:{port}");
    let app = TestApp::with(s.clone()).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    load(&app, &key, "JD-1", "YUE-A-1", -60).await;
    app.post_expect(
        &key,
        json!([
            truck_fix("g1", "YUE-A-1", -30, 23.10, 113.50),
            truck_fix("g2", "YUE-A-1", -20, 23.15, 113.52)
        ]),
        "accepted",
    )
    .await;

    let driver = Driver::start();
    let c = driver.browser(true, "en-US").await;
    c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "return document.body.dataset.milestone === 'loaded'",
            Duration::from_secs(10)
        )
        .await,
        "the page shows the milestone"
    );
    assert_eq!(
        js(
            &c,
            "return [...document.querySelectorAll('#timeline [data-step]')].filter((s) => s.dataset.state !== 'todo').map((s) => s.dataset.step).join()"
        )
        .await,
        json!("ordered,produced,released,loaded"),
        "every step up to the current one, in milestone order"
    );
    assert!(until(&c, "return document.querySelector('.leaflet-container') !== null && document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane path').length > 0", Duration::from_secs(5)).await, "the map draws");
    assert_eq!(
        js(&c, "return document.documentElement.scrollWidth <= 360").await,
        json!(true),
        "no sideways scrolling at 360 px"
    );
    assert_eq!(
        js(&c, "return document.getElementById('status').dataset.live").await,
        json!("true")
    );

    // Live: an event posted appears within 2 s, without a reload.
    app.post_expect(
        &key,
        json!([scan("t", "JD-1", "in_transit", -10)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            "return document.body.dataset.milestone === 'in_transit'",
            Duration::from_secs(2)
        )
        .await,
        "updated within 2 s"
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelector('#timeline [data-state=\"current\"]').dataset.step"
        )
        .await,
        json!("in_transit"),
        "the journey's current step is the order's milestone, whenever the others were dated"
    );

    // A clip arrives live and plays in place.
    let clip = upload(&app, &key, "JD-1", WEBM).await;
    let id = clip["clip_id"].as_str().unwrap().to_owned();
    let video = format!("document.querySelector('[data-clip-id=\"{id}\"] video')");
    assert!(
        until(
            &c,
            &format!("return {video} !== null"),
            Duration::from_secs(2)
        )
        .await,
        "the clip appears"
    );
    js(
        &c,
        &format!("const v = {video}; v.muted = true; v.play().catch(() => {{}}); return true"),
    )
    .await;
    assert!(
        until(
            &c,
            &format!("return {video}.readyState >= 2"),
            Duration::from_secs(10)
        )
        .await,
        "the clip is playable"
    );
    screenshot(&c, "customer-phone").await;

    // vinpath restarts: the page says it is reconnecting, then resumes.
    app.stop().await;
    assert!(
        until(
            &c,
            "return document.getElementById('status').dataset.live === 'false'",
            Duration::from_secs(5)
        )
        .await
    );
    let again = TestApp::with(s).await;
    app_is(&again, port);
    assert!(
        until(
            &c,
            "return document.getElementById('status').dataset.live === 'true'",
            Duration::from_secs(20)
        )
        .await,
        "reconnected"
    );
    again
        .post_expect(&key, json!([scan("a", "JD-1", "arrived", -5)]), "accepted")
        .await;
    assert!(
        until(
            &c,
            "return document.body.dataset.milestone === 'arrived'",
            Duration::from_secs(3)
        )
        .await,
        "resumed"
    );

    // The link is replaced (say it was forwarded by mistake): the open page
    // turns into the "link not valid" page within seconds.
    let r = again
        .call(
            "POST",
            "/api/v1/orders/JD-1/tracking-token",
            Some(&again.admin),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        until(
            &c,
            "return document.body.classList.contains('notfound')",
            Duration::from_secs(3)
        )
        .await,
        "a rotated link's page says so"
    );
    c.close().await.unwrap();
}

fn app_is(app: &TestApp, port: u16) {
    assert!(app.base.ends_with(&format!(":{port}")));
}

#[actix_web::test]
async fn a_bad_link_shows_a_friendly_page_in_chinese() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let r = app
        .client
        .get(format!("{}/t/not-a-real-token", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers().get("content-security-policy").is_some());
    assert_eq!(r.headers().get("referrer-policy").unwrap(), "no-referrer");
    let driver = Driver::start();
    let c = driver.browser(true, "zh-CN").await;
    c.goto(&format!("{}/t/not-a-real-token", app.base))
        .await
        .unwrap();
    let text = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("链接已失效") && text.contains("not valid"),
        "{text}"
    );
    screenshot(&c, "bad-link").await;
    c.close().await.unwrap();
}

/// During a Redis outage a customer's good link says "temporarily
/// unavailable" (both languages, on a phone), never "not valid".
#[actix_web::test]
async fn an_outage_shows_temporarily_unavailable_on_a_phone() {
    let mut redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    redis.kill();
    let driver = Driver::start();
    let c = driver.browser(true, "zh-CN").await;
    c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
    let body = c.find(Locator::Css("body")).await.unwrap();
    assert_eq!(
        body.attr("data-unavailable").await.unwrap().as_deref(),
        Some("true")
    );
    let text = body.text().await.unwrap();
    assert!(
        text.contains("暂时无法显示")
            && text.contains("Temporarily unavailable")
            && !text.contains("not valid"),
        "{text}"
    );
    screenshot(&c, "unavailable-phone").await;
    c.close().await.unwrap();
}

#[actix_web::test]
async fn the_dispatcher_map_shows_moves_and_alerts() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    for (i, o) in ["JD-1", "JD-2", "JD-3"].iter().enumerate() {
        app.order(o, "sf-auto").await;
        load(&app, &key, o, &format!("T{i}"), -60).await;
        let fix = truck_fix(
            &format!("g{i}"),
            &format!("T{i}"),
            -30,
            23.1 + i as f64 * 0.5,
            113.5,
        );
        app.post_expect(&key, json!([fix]), "accepted").await;
    }
    app.order("JD-4", "sf-auto").await; // no position yet: not drawn
    // A truck that delivered its only car still shows on the map.
    app.order("JD-5", "sf-auto").await;
    load(&app, &key, "JD-5", "T9", -60).await;
    app.post_expect(
        &key,
        json!([scan("JD-5-u", "JD-5", "unloaded", -40)]),
        "accepted",
    )
    .await;
    app.post_expect(
        &key,
        json!([scan("JD-5-d", "JD-5", "delivered", -39)]),
        "accepted",
    )
    .await;
    app.post_expect(
        &key,
        json!([truck_fix("t9", "T9", -30, 22.9, 113.4)]),
        "accepted",
    )
    .await;
    // Three cars on one truck: one marker, saying 3.
    for o in ["JD-6", "JD-7", "JD-8"] {
        app.order(o, "sf-auto").await;
        load(&app, &key, o, "T5", -60).await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("t5", "T5", -30, 24.5, 114.0)]),
        "accepted",
    )
    .await;
    let driver = Driver::start();
    let c = driver.browser(false, "en-US").await;
    c.goto(&format!("{}/dispatch", app.base)).await.unwrap();
    // A wrong token is told so in words, not as a bare status.
    let form = c.form(Locator::Css("form")).await.unwrap();
    form.set_by_name("token", "vpd_wrong").await.unwrap();
    form.submit().await.unwrap();
    assert!(
        until(
            &c,
            "return document.getElementById('login-error').textContent.includes('not accepted')",
            Duration::from_secs(5)
        )
        .await,
        "a wrong token is explained"
    );
    let form = c.form(Locator::Css("form")).await.unwrap();
    form.set_by_name("token", &dispatcher).await.unwrap();
    form.submit().await.unwrap();
    assert!(
        until(
            &c,
            "return document.getElementById('map').dataset.vehicles === '5' && document.getElementById('map').dataset.trucks === '5'",
            Duration::from_secs(10)
        )
        .await,
        "one marker per truck (its cars counted on it), and the empty truck: {}",
        js(&c, "return JSON.stringify(document.getElementById('map').dataset)").await
    );
    assert_eq!(
        js(
            &c,
            "return document.querySelector('[data-truck-id=\"T5\"]').dataset.cars"
        )
        .await,
        json!("3")
    );
    assert_eq!(
        js(
            &c,
            "return document.getElementById('map').vpTruck('sf-auto/T5').count"
        )
        .await,
        json!(3)
    );
    // A row finds its truck: the details list the cars aboard, and close.
    c.find(Locator::Css("[data-truck-id=\"T5\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "return document.querySelectorAll('#details [data-order-id]').length === 3",
            Duration::from_secs(3)
        )
        .await,
        "the truck's cars are listed"
    );
    c.find(Locator::Css("[data-close]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        js(&c, "return document.getElementById('details').hidden").await,
        json!(true)
    );
    // An order's details play its clips by streaming from a signed link.
    upload(&app, &key, "JD-6", WEBM).await;
    c.find(Locator::Css("[data-truck-id=\"T5\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "return document.querySelector('#details [data-order-id=\"JD-6\"]') !== null",
            Duration::from_secs(3)
        )
        .await
    );
    c.find(Locator::Css("#details [data-order-id=\"JD-6\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "const v = document.querySelector('#details video'); return v !== null && v.src.includes('sig=') && v.readyState >= 1",
            Duration::from_secs(10)
        )
        .await,
        "the clip streams from a signed link: {}",
        js(&c, "return document.getElementById('details').innerText").await
    );
    assert!(
        js(
            &c,
            "return document.querySelector('#details [data-last-fix]') !== null"
        )
        .await
            == json!(true),
        "the last fix is shown"
    );
    screenshot(&c, "dispatcher-details").await;
    c.find(Locator::Css("[data-close]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A fix moves its car.
    app.post_expect(
        &key,
        json!([truck_fix("m1", "T0", -10, 23.2, 113.6)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            "return document.getElementById('map').dataset.lastMoved === 'JD-1'",
            Duration::from_secs(3)
        )
        .await,
        "the car moved"
    );

    // An alert appears in the list: JD-2 strays far from its planned road.
    let route = json!({"type": "LineString", "coordinates": [[113.47, 23.03], [114.14, 30.62]]});
    assert_eq!(
        app.call(
            "PUT",
            "/api/v1/orders/JD-2/route",
            Some(&dispatcher),
            Some(route)
        )
        .await
        .status,
        200
    );
    app.post_expect(
        &key,
        json!([
            scan("JD-2-t", "JD-2", "in_transit", -9),
            truck_fix("off", "T1", -8, 23.62, 113.42)
        ]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            "return document.querySelector('[data-alert-id=\"off_route:JD-2\"]') !== null",
            Duration::from_secs(3)
        )
        .await,
        "the alert is listed"
    );
    screenshot(&c, "dispatcher").await;

    // A dispatcher acknowledges it with a note; another's page (in
    // Chinese) shows it acknowledged, live.
    let other = driver.browser(false, "zh-CN").await;
    sign_in(&other, &app.base, &dispatcher).await;
    let listed =
        "return document.querySelector('[data-alert-id=\"off_route:JD-2\"]')?.dataset.acked";
    assert!(
        until(
            &other,
            &format!("{listed} === 'false'"),
            Duration::from_secs(10)
        )
        .await,
        "the other dispatcher sees it open"
    );
    c.find(Locator::Css("[data-ack=\"off_route:JD-2\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.send_alert_text("called the driver").await.unwrap();
    c.accept_alert().await.unwrap();
    assert!(
        until(
            &other,
            &format!("{listed} === 'true'"),
            Duration::from_secs(3)
        )
        .await,
        "the acknowledgement shows on the other dispatcher's page"
    );
    let alerts = app
        .call("GET", "/api/v1/alerts", Some(&dispatcher), None)
        .await;
    let acked = alerts.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert_id"] == "off_route:JD-2")
        .cloned()
        .unwrap();
    assert_eq!(acked["ack"]["note"], "called the driver", "{acked}");
    screenshot(&other, "dispatcher-acked-zh").await;
    other.close().await.unwrap();
    c.close().await.unwrap();
}

/// The API docs render offline (Swagger UI embedded, no CDN): every
/// operation of the document is listed on the page.
#[actix_web::test]
async fn the_api_docs_render_offline() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let doc = app.call("GET", "/api/openapi.json", None, None).await;
    let operations: usize = doc.body["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    let driver = Driver::start();
    let c = driver.browser(false, "en-US").await;
    c.goto(&format!("{}/api/docs", app.base)).await.unwrap();
    let listed = format!("return document.querySelectorAll('.opblock').length === {operations}");
    let shown = until(&c, &listed, Duration::from_secs(15)).await;
    screenshot(&c, "api-docs-desk").await;
    assert!(
        shown,
        "every operation is listed: {} of {operations}",
        js(&c, "return document.querySelectorAll('.opblock').length").await
    );
    c.close().await.unwrap();
}
