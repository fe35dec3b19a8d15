//! The customer's page as a customer reads it: the whole journey in
//! milestone order, the car kept in view with where it is going, lateness
//! said kindly, standing notices shown whenever the page is opened, and
//! whose order it is. In Chromium, by the contract's `data-*` hooks, with
//! phone and desk screenshots in English and Chinese.

use std::time::Duration;

use serde_json::json;

use crate::pages::{Driver, click, js, screenshot, sign_in, until};
use crate::support::*;

async fn order_promised(app: &TestApp, id: &str, promised_by: String) -> String {
    let mut body = order_body(id, "sf-auto");
    body["promised_by"] = json!(promised_by);
    let r = app
        .call("POST", "/api/v1/orders", Some(&app.admin), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["tracking_token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn the_customer_follows_the_whole_journey_and_is_told_when_it_runs_late() {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    s.look.brand = "JD Auto".into();
    s.look.support = "400-606-5500".into();
    s.look.url = String::new();
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    // Promised within the hour, 2000 km away: late.
    let late = order_promised(&app, "JD-J1", at(60)).await;
    load(&app, &key, "JD-J1", "YUE-A-7", -60).await;
    // Its planned road north by way of Wuhan.
    let road = json!({"type": "LineString",
        "coordinates": [[113.50, 23.10], [113.52, 23.60], [114.30, 30.60], [116.46, 39.95]]});
    let r = app
        .call(
            "PUT",
            "/api/v1/orders/JD-J1/route",
            Some(&app.admin),
            Some(road),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.post_expect(
        &key,
        json!([
            scan("j1-road", "JD-J1", "in_transit", -50),
            truck_fix("j1-g1", "YUE-A-7", -30, 23.10, 113.50),
            truck_fix("j1-g2", "YUE-A-7", -25, 23.15, 113.52),
        ]),
        "accepted",
    )
    .await;
    // Near its door, its own tracker says: "arriving soon", sent before
    // the page is opened.
    let near = order_promised(&app, "JD-J2", at(600)).await;
    app.post_expect(
        &key,
        json!([
            scan("j2-rel", "JD-J2", "released", -90),
            scan("j2-load", "JD-J2", "loaded", -80),
            scan("j2-road", "JD-J2", "in_transit", -70),
            order_fix("j2-g1", "JD-J2", -3, 39.95, 116.46),
        ]),
        "accepted",
    )
    .await;

    let driver = Driver::start();
    for (lang, phone, name) in [
        ("en-US", true, "customer-journey-phone-en"),
        ("zh-CN", true, "customer-journey-phone-zh"),
        ("en-US", false, "customer-journey-desk-en"),
        ("zh-CN", false, "customer-journey-desk-zh"),
    ] {
        let c = driver.browser(phone, lang).await;
        c.goto(&format!("{}/t/{late}", app.base)).await.unwrap();
        assert!(
            until(
                &c,
                "return document.body.dataset.milestone === 'in_transit'",
                Duration::from_secs(10)
            )
            .await
        );
        // Every step, in milestone order, whatever the times: "ordered"
        // (made after the backdated scans) is done, not current.
        let states = js(
            &c,
            "return Object.fromEntries([...document.querySelectorAll('[data-step]')].map((s) => [s.dataset.step, s.dataset.state]))",
        )
        .await;
        assert_eq!(states["ordered"], "done", "{states}");
        assert_eq!(states["loaded"], "done", "{states}");
        assert_eq!(states["in_transit"], "current", "{states}");
        assert_eq!(states["delivered"], "todo", "{states}");
        // Released without a produced scan before it: the gap is marked.
        assert_eq!(
            js(
                &c,
                "return document.querySelector('[data-step=\"released\"] [data-gap]') !== null"
            )
            .await,
            json!(true),
            "the gap is marked"
        );
        assert_eq!(
            js(&c, "return document.querySelectorAll('[data-step]').length").await,
            json!(13)
        );
        // The road ahead follows the planned route (not a straight line).
        assert!(
            until(
                &c,
                "return Number(document.getElementById('map').dataset.roadAhead) >= 4",
                Duration::from_secs(5)
            )
            .await,
            "the road ahead: {}",
            js(
                &c,
                "return document.getElementById('map').dataset.roadAhead"
            )
            .await
        );
        // Late, said as such, in the viewer's language.
        assert_eq!(
            js(&c, "return document.body.dataset.late").await,
            json!("true")
        );
        // The ETA in words from now: "tomorrow at about 4:10 PM, in 20 h".
        let words = if lang == "zh-CN" {
            r"/^(今天|明天|\d+月\d+日周.) \d{2}:\d{2}左右，约\d+(小时|天|分钟)/"
        } else {
            r"/^(today|tomorrow|[A-Z][a-z]{2}, [A-Z][a-z]{2} \d{1,2}) at about \d{1,2}:\d{2}\s?(AM|PM), in \d+ (h|min|days?)/"
        };
        assert_eq!(
            js(
                &c,
                &format!("return {words}.test(document.getElementById('eta').textContent)")
            )
            .await,
            json!(true),
            "the ETA in words: {}",
            js(&c, "return document.getElementById('eta').textContent").await
        );
        assert_eq!(
            js(&c, "return !document.getElementById('late').hidden").await,
            json!(true)
        );
        // Whose order, which order, how to reach them.
        let title = js(&c, "return document.title").await;
        assert!(
            title
                .as_str()
                .is_some_and(|t| t.contains("JD-J1") && t.contains("JD Auto")),
            "{title}"
        );
        assert_eq!(
            js(
                &c,
                "return document.getElementById('support-contact').textContent"
            )
            .await,
            json!("400-606-5500")
        );
        assert!(
            until(
                &c,
                "return document.getElementById('map').dataset.carInView === 'true'",
                Duration::from_secs(5)
            )
            .await,
            "the car is in view"
        );
        if phone {
            assert_eq!(
                js(&c, "return document.documentElement.scrollWidth <= 360").await,
                json!(true),
                "no sideways scrolling at 360 px"
            );
        }
        screenshot(&c, name).await;
        c.close().await.unwrap();
    }

    // The car drives on: the map keeps it in view as it goes.
    let c = driver.browser(true, "en-US").await;
    c.goto(&format!("{}/t/{late}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "return document.getElementById('map').dataset.carInView === 'true'",
            Duration::from_secs(10)
        )
        .await
    );
    for (i, minute) in [-20, -15, -10, -5].iter().enumerate() {
        let lat = 23.15 + 0.05 * (i + 1) as f64;
        app.post_expect(
            &key,
            json!([truck_fix(
                &format!("j1-d{i}"),
                "YUE-A-7",
                *minute,
                lat,
                113.52
            )]),
            "accepted",
        )
        .await;
        let moved = format!(
            "const m = document.getElementById('map').dataset; return m.carLat === '{lat:.4}' && m.carInView === 'true'"
        );
        assert!(
            until(&c, &moved, Duration::from_secs(3)).await,
            "the car stays in view at step {i}"
        );
    }
    // The customer zooms in to look around: the map stops following, and
    // the car drives out of view; "Follow my car" brings it back.
    // (Close up: at the map's deepest zoom a few kilometres leave the view.)
    for _ in 0..12 {
        click(&c, ".leaflet-control-zoom-in").await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("j1-on", "YUE-A-7", -1, 23.38, 113.52)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            "const m = document.getElementById('map').dataset; return m.carLat === '23.3800' && m.carInView === 'false'",
            Duration::from_secs(3)
        )
        .await,
        "left where the customer looked"
    );
    click(&c, "[data-follow]").await;
    assert!(
        until(
            &c,
            "return document.getElementById('map').dataset.carInView === 'true'",
            Duration::from_secs(3)
        )
        .await,
        "followed again"
    );
    c.close().await.unwrap();

    // A notice sent before the page was opened is shown when it opens.
    let c = driver.browser(true, "zh-CN").await;
    c.goto(&format!("{}/t/{near}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "return document.querySelector('[data-notice=\"arriving\"]') !== null",
            Duration::from_secs(10)
        )
        .await,
        "the standing notice is part of the page"
    );
    assert_eq!(
        js(&c, "return document.body.dataset.late").await,
        json!("false")
    );
    screenshot(&c, "customer-arriving-phone-zh").await;
    c.close().await.unwrap();
}

/// A truck standing still unusually long is told to its cars' customers,
/// kindly, live and whenever the page opens; it goes when the car moves.
#[actix_web::test]
async fn a_car_stopped_unusually_long_is_told_and_untold() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = order_promised(&app, "JD-S1", at(3000)).await;
    load(&app, &key, "JD-S1", "YUE-A-9", -120).await;
    app.post_expect(
        &key,
        json!([
            scan("s1-road", "JD-S1", "in_transit", -110),
            truck_fix("s1-g0", "YUE-A-9", -100, 23.10, 113.50),
        ]),
        "accepted",
    )
    .await;
    let mut ws = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    let snap = ws.next().await;
    assert_eq!(snap["order"]["notices"], json!([]));
    // Standing still for an hour (the default limit is 45 minutes).
    let still: Vec<_> = (1..=12)
        .map(|i| truck_fix(&format!("s1-s{i}"), "YUE-A-9", -100 + 5 * i, 23.10, 113.50))
        .collect();
    app.post_expect(&key, json!(still), "accepted").await;
    let told = loop {
        let f = ws
            .next_within(std::time::Duration::from_secs(5))
            .await
            .expect("the customer is told");
        if f["event"]["notice"] == "stopped" {
            break f;
        }
    };
    assert!(told["event"]["since"].is_string(), "{told}");
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    let notices = view.body["notices"].as_array().expect("notices").clone();
    assert!(
        notices.iter().any(|n| n["kind"] == "stopped"),
        "a page opened now shows it: {notices:?}"
    );
    let driver = Driver::start();
    let c = driver.browser(true, "en-US").await;
    c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "return document.querySelector('[data-notice=\"stopped\"]') !== null",
            Duration::from_secs(10)
        )
        .await
    );
    screenshot(&c, "customer-stopped-phone-en").await;
    // It drives on: the notice goes, live.
    app.post_expect(
        &key,
        json!([truck_fix("s1-go", "YUE-A-9", -30, 23.14, 113.52)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            "return document.querySelector('[data-notice=\"stopped\"]') === null",
            Duration::from_secs(5)
        )
        .await,
        "moving again, it is no longer stopped"
    );
    c.close().await.unwrap();
}

/// The car's condition checks on the customer's phone: each stage's
/// photos (thumbnails that load, without metadata) and the damage found,
/// what is new at delivery marked, in Chinese.
#[actix_web::test]
async fn the_customer_sees_the_condition_checks_with_new_damage_marked() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-C1", "sf-auto").await;
    let scratch = json!({"area": "03", "type": "12", "severity": "1"});
    let views = crate::inspections::six_views(&app, &key, "JD-C1", 1).await;
    let pickup =
        crate::inspections::inspection("c-p", "pickup", &at(-600), &views, json!([scratch]));
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-C1/inspections",
            Some(&key),
            Some(pickup),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let door = crate::inspections::six_views(&app, &key, "JD-C1", 2).await;
    let dent = json!({"area": "10", "type": "14", "severity": "2", "photo_ids": [door[2].1]});
    let delivery =
        crate::inspections::inspection("c-d", "delivery", &at(-5), &door, json!([scratch, dent]));
    let r = app
        .call(
            "POST",
            "/api/v1/orders/JD-C1/inspections",
            Some(&key),
            Some(delivery),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let driver = Driver::start();
    let c = driver.browser(true, "zh-CN").await;
    c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "const imgs = [...document.querySelectorAll('[data-inspection] img')];
             return imgs.length === 12 && imgs.every((i) => i.complete && i.naturalWidth > 0)",
            Duration::from_secs(10)
        )
        .await,
        "both stages' thumbnails load: {}",
        js(
            &c,
            "return document.getElementById('inspections').outerHTML.slice(0, 400)"
        )
        .await
    );
    let new = js(
        &c,
        "return [...document.querySelectorAll('[data-inspection=\"delivery\"] [data-new=\"true\"]')].map((l) => l.textContent)",
    )
    .await;
    assert_eq!(
        new,
        json!(["新增左前门：凹陷（漆面/镀铬未损），2.5–7.5厘米"]),
        "the dent is new at delivery, the scratch is not"
    );
    js(
        &c,
        "document.getElementById('inspections-box').scrollIntoView(); return true",
    )
    .await;
    screenshot(&c, "customer-inspections-phone-zh").await;
    c.close().await.unwrap();

    // The dispatcher: the damage alert, and a click on it opens the order
    // with its checks, the dent marked new.
    let dispatcher = app.dispatcher().await;
    let d = driver.browser(false, "zh-CN").await;
    sign_in(&d, &app.base, &dispatcher).await;
    assert!(
        until(
            &d,
            "return (document.querySelector('[data-alert-id=\"damage:JD-C1\"]')?.textContent || '').includes('交付检查发现1处新损伤')",
            Duration::from_secs(10)
        )
        .await,
        "the damage alert, worded: {}",
        js(&d, "return document.getElementById('alerts').textContent").await
    );
    d.find(fantoccini::Locator::Css(
        "[data-alert-group=\"o:JD-C1\"] strong",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    assert!(
        until(
            &d,
            "return [...document.querySelectorAll('#details [data-inspection=\"delivery\"] [data-new=\"true\"]')].map((l) => l.textContent).join() === '新增 · 左前门：凹陷（漆面/镀铬未损），2.5–7.5厘米' && !document.getElementById('details').textContent.includes('null')",
            Duration::from_secs(10)
        )
        .await,
        "the order's checks in its details: {}",
        js(&d, "return document.getElementById('details').textContent").await
    );
    screenshot(&d, "dispatcher-damage-zh").await;
    // Its proof of delivery opens as a PDF in a new tab, fetched with the
    // dispatcher's token.
    assert_eq!(
        js(
            &d,
            "return document.querySelector('#details [data-pod]').textContent"
        )
        .await,
        "交付证明（PDF）"
    );
    d.find(fantoccini::Locator::Css("#details [data-pod]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut opened = None;
    for _ in 0..50 {
        let windows = d.windows().await.unwrap();
        if windows.len() == 2 {
            opened = windows.into_iter().last();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.switch_to_window(opened.expect("a new tab"))
        .await
        .unwrap();
    let mut url = String::new();
    for _ in 0..50 {
        url = d.current_url().await.unwrap().to_string();
        if url.starts_with("blob:") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(url.starts_with("blob:"), "the PDF opens: {url}");
    d.close().await.unwrap();
}

/// A delivered car: drawn at its door, "Delivered to", no live badge and
/// nothing to follow.
#[actix_web::test]
async fn a_delivered_car_is_shown_at_its_door() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-D1", "sf-auto").await;
    load(&app, &key, "JD-D1", "YUE-A-3", -120).await;
    app.post_expect(
        &key,
        json!([truck_fix("d1-g", "YUE-A-3", -100, 30.6, 114.1)]),
        "accepted",
    )
    .await;
    for (i, m) in ["arrived", "unloaded", "out_for_delivery", "delivered"]
        .iter()
        .enumerate()
    {
        let id = format!("d1-s{i}");
        app.post_expect(
            &key,
            json!([scan(&id, "JD-D1", m, -60 + i as i64 * 10)]),
            "accepted",
        )
        .await;
    }
    let driver = Driver::start();
    let c = driver.browser(true, "en-US").await;
    c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
    assert!(
        until(
            &c,
            "return document.body.dataset.milestone === 'delivered'",
            Duration::from_secs(10)
        )
        .await
    );
    let seen = js(
        &c,
        "return {lat: document.getElementById('map').dataset.carLat,
                 inView: document.getElementById('map').dataset.carInView,
                 to: document.getElementById('to-label').textContent,
                 follow: document.querySelector('[data-follow]').hidden,
                 live: document.getElementById('status').hidden}",
    )
    .await;
    assert_eq!(
        seen,
        json!({"lat": "39.9200", "inView": "true", "to": "Delivered to", "follow": true, "live": true}),
        "drawn at its door (the destination), not where the truck last was"
    );
    screenshot(&c, "customer-delivered-phone-en").await;
    c.close().await.unwrap();
}
