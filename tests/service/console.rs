//! The dispatcher's console as a dispatcher reads it over a day: alerts
//! worded from the time now (not frozen when raised), and a map that says
//! where things are without any tiles (city names, "12 km from Shaoguan").

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::pages::{Driver, js, screenshot, sign_in, until};
use crate::support::*;

#[actix_web::test]
async fn alerts_are_worded_from_now_and_places_are_named() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    app.order("JD-S", "sf-auto").await;
    load(&app, &key, "JD-S", "YUE-B-1", -120).await;
    app.post_expect(
        &key,
        json!([scan("s-road", "JD-S", "in_transit", -110)]),
        "accepted",
    )
    .await;
    // A truck standing on the G4 near Shaoguan for an hour.
    let still: Vec<_> = (0..=12)
        .map(|i| truck_fix(&format!("s{i}"), "YUE-B-1", -65 + 5 * i, 24.70, 113.60))
        .collect();
    app.post_expect(&key, json!(still), "accepted").await;

    let driver = Driver::start();
    let c = driver.browser(false, "zh-CN").await;
    sign_in(&c, &app.base, &dispatcher).await;
    let alert =
        "(document.querySelector('[data-alert-id=\"stationary:JD-S\"] span')?.textContent || '')";
    let text = format!("return {alert}");
    assert!(
        until(
            &c,
            &format!("return {alert} !== ''"),
            Duration::from_secs(10)
        )
        .await,
        "the stopped truck's alert is listed"
    );
    let first = js(&c, &text).await;
    assert!(
        first.as_str().unwrap().contains("已停留1小时"),
        "worded in Chinese from now: {first}"
    );

    // Two hours on (the page's clock moved on; it rewords when the
    // dispatcher comes back to the tab): the same alert says so.
    js(
        &c,
        "const real = Date.now; Date.now = () => real.call(Date) + 2 * 3600 * 1000;
         document.dispatchEvent(new Event('visibilitychange')); return true",
    )
    .await;
    assert!(
        until(
            &c,
            &format!("return {alert}.includes('已停留3小时')"),
            Duration::from_secs(5)
        )
        .await,
        "the alert's text follows the clock: {}",
        js(&c, &text).await
    );

    // The map names the cities around the truck, in Chinese.
    assert!(
        until(
            &c,
            "return [...document.querySelectorAll('.place span')].some((s) => s.textContent === '韶关')",
            Duration::from_secs(10)
        )
        .await,
        "city names are drawn: {}",
        js(&c, "return [...document.querySelectorAll('.place span')].map((s) => s.textContent).join(',')").await
    );
    // The truck's details say where it is in words.
    c.find(Locator::Css("[data-truck-id=\"YUE-B-1\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "return (document.querySelector('#details [data-place]')?.textContent || '').startsWith('韶关附近')",
            Duration::from_secs(5)
        )
        .await,
        "the details name the place: {}",
        js(&c, "return document.querySelector('#details')?.textContent").await
    );
    screenshot(&c, "dispatcher-places-zh").await;

    // An order opened from the truck's list stays open while the truck
    // moves on.
    c.find(Locator::Css("#details [data-order-id=\"JD-S\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let heading = "return document.querySelector('#details h2')?.textContent";
    assert!(
        until(&c, &format!("{heading} === 'JD-S'"), Duration::from_secs(5)).await,
        "the order opens"
    );
    app.post_expect(
        &key,
        json!([truck_fix("s-moves", "YUE-B-1", -1, 24.75, 113.62)]),
        "accepted",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(js(&c, heading).await, json!("JD-S"), "still the order");

    // Zoomed out to the whole of China and beyond: land without stripes,
    // only the largest cities named, never crowded.
    for _ in 0..6 {
        c.find(Locator::Css(".leaflet-control-zoom-out"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let names = js(
        &c,
        "return [...document.querySelectorAll('.place span')].map((s) => s.textContent)",
    )
    .await;
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(
        names.contains(&"北京") && names.contains(&"上海") && !names.contains(&"韶关"),
        "zoomed out, the largest cities only: {names:?}"
    );
    screenshot(&c, "dispatcher-zoomed-out-zh").await;
    // The truck moved on: its stationary alert is gone.
    assert!(
        until(
            &c,
            "return document.querySelector('[data-alert-id=\"stationary:JD-S\"]') === null",
            Duration::from_secs(5)
        )
        .await,
        "the alert clears when the truck moves"
    );
    c.close().await.unwrap();

    // On a phone, in English: the same console, stacked.
    let p = driver.browser(true, "en-US").await;
    sign_in(&p, &app.base, &dispatcher).await;
    assert!(
        until(
            &p,
            "return document.getElementById('count').textContent === '1 truck · 0 cars on their own · 1 order'",
            Duration::from_secs(10)
        )
        .await,
        "worded in English: {}",
        js(&p, "return document.getElementById('count').textContent").await
    );
    screenshot(&p, "dispatcher-phone-en").await;
    p.close().await.unwrap();
}
