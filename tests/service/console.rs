//! The dispatcher's console as a dispatcher reads it over a day: alerts
//! worded from the time now (not frozen when raised), and a map that says
//! where things are without any tiles (city names, "12 km from Shaoguan").

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use serde_json::json;

use crate::pages::{Driver, click, js, screenshot, sign_in, until};
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
    // None left: said so, not an empty heading.
    assert_eq!(
        js(
            &c,
            "return document.querySelector('[data-no-alerts]')?.textContent"
        )
        .await,
        json!("没有未处理的告警")
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

/// Whether a truck's marker lies inside the visible map (as the page
/// draws it on its canvas).
fn in_view(truck: &str) -> String {
    format!("return document.getElementById('map').vpTruck?.('sf-auto/{truck}')?.inView === true")
}

/// The rows of the vehicle list, top to bottom.
const ROWS: &str = "return [...document.querySelectorAll('#vehicles li')].map((r) => r.dataset.truckId || r.dataset.orderId)";

/// The console's tools, each read from the page: a legend whose colours
/// tell the states apart, a label on hover, the list sorted four ways,
/// search and filters that move the map, "Fit all", alerts of one truck
/// as one group that finds the truck, "Follow", and details that give
/// the speed, the destination and the ETA against the promise.
#[actix_web::test]
async fn the_console_finds_sorts_filters_and_follows_vehicles() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    // T1 near Guangzhou with three cars; T2 near Wuhan with one, promised
    // within the hour (late); T3 near Beijing with one.
    for o in ["JD-A1", "JD-A2", "JD-A3"] {
        app.order(o, "sf-auto").await;
        load(&app, &key, o, "T1", -300).await;
    }
    let mut body = order_body("JD-B1", "sf-auto");
    body["promised_by"] = json!(at(60));
    let r = app
        .call("POST", "/api/v1/orders", Some(&app.admin), Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    load(&app, &key, "JD-B1", "T2", -300).await;
    app.order("JD-C1", "sf-auto").await;
    load(&app, &key, "JD-C1", "T3", -300).await;
    app.post_expect(
        &key,
        json!([
            scan("b1-road", "JD-B1", "in_transit", -250),
            truck_fix("t1-a", "T1", -240, 23.10, 113.40),
            truck_fix("t2-a", "T2", -240, 30.60, 114.30),
            truck_fix("t3-a", "T3", -240, 39.90, 116.40),
        ]),
        "accepted",
    )
    .await;

    let driver = Driver::start();
    let c = driver.browser(false, "en-US").await;
    sign_in(&c, &app.base, &dispatcher).await;
    assert!(
        until(
            &c,
            "return document.getElementById('map').dataset.trucks === '3'",
            Duration::from_secs(10)
        )
        .await
    );
    // The legend: every state a colour of its own.
    let colours = js(
        &c,
        "return [...document.querySelectorAll('[data-legend] .dot:not(.ring):not(.empty)')].map((d) => getComputedStyle(d).backgroundColor)",
    )
    .await;
    let colours: Vec<&str> = colours
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(colours.len() >= 6, "{colours:?}");
    let mut distinct = colours.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), colours.len(), "{colours:?}");
    // A label on hover: which truck, how many cars.
    let at = js(
        &c,
        "const m = document.getElementById('map'), t = m.vpTruck('sf-auto/T1'), s = m.getBoundingClientRect();
         return [t.x - s.width / 2, t.y - s.height / 2]",
    )
    .await;
    let map = c.find(Locator::Id("map")).await.unwrap();
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: map,
        duration: None,
        x: at[0].as_f64().unwrap(),
        y: at[1].as_f64().unwrap(),
    });
    c.perform_actions(hover).await.unwrap();
    assert!(
        until(
            &c,
            "const t = document.querySelector('.leaflet-tooltip'); return !!t && t.textContent.includes('Truck T1 · 3 cars')",
            Duration::from_secs(3)
        )
        .await,
        "the hover label names the truck"
    );
    // Sorted: the late car's truck first; by name, T1 T2 T3.
    assert_eq!(js(&c, ROWS).await[0], "T2", "most late first");
    js(
        &c,
        "const s = document.getElementById('sort'); s.value = 'name'; s.dispatchEvent(new Event('change')); return true",
    )
    .await;
    assert_eq!(js(&c, ROWS).await, json!(["T1", "T2", "T3"]));
    // Search: only the match is left, and the map goes to it.
    let search = c.find(Locator::Id("search")).await.unwrap();
    search.send_keys("JD-C1").await.unwrap();
    assert!(
        until(
            &c,
            &format!(
                "return document.getElementById('map').dataset.trucks === '1' && ({})()",
                wrap(&in_view("T3"))
            ),
            Duration::from_secs(3)
        )
        .await,
        "the search leaves T3, in view"
    );
    assert_eq!(js(&c, ROWS).await, json!(["T3"]));
    search.clear().await.unwrap();
    js(
        &c,
        "document.getElementById('search').dispatchEvent(new Event('input')); return true",
    )
    .await;
    // A filter by milestone: only T2's car is on the road.
    js(
        &c,
        "const s = document.getElementById('milestone-filter'); s.value = 'in_transit'; s.dispatchEvent(new Event('change')); return true",
    )
    .await;
    assert!(
        until(
            &c,
            &format!(
                "return document.getElementById('map').dataset.trucks === '1' && ({})()",
                wrap(&in_view("T2"))
            ),
            Duration::from_secs(3)
        )
        .await,
        "the filter leaves T2, in view"
    );
    js(
        &c,
        "const s = document.getElementById('milestone-filter'); s.value = ''; s.dispatchEvent(new Event('change')); return true",
    )
    .await;

    // A row opens a truck close up; "Fit all" shows the whole fleet again.
    click(&c, "[data-truck-id=\"T1\"]").await;
    assert!(
        until(
            &c,
            &format!("return !({})()", wrap(&in_view("T3"))),
            Duration::from_secs(3)
        )
        .await,
        "close up on T1, Beijing is out of view"
    );
    click(&c, "[data-close]").await;
    click(&c, "[data-fit-all]").await;
    let all = format!(
        "return ({})() && ({})() && ({})()",
        wrap(&in_view("T1")),
        wrap(&in_view("T2")),
        wrap(&in_view("T3"))
    );
    assert!(
        until(&c, &all, Duration::from_secs(3)).await,
        "every truck in view"
    );

    // T1 strays from the planned road of each of its cars: three alerts,
    // one group, which finds the truck.
    let route = json!({"type": "LineString", "coordinates": [[113.40, 23.10], [114.14, 30.62]]});
    for o in ["JD-A1", "JD-A2", "JD-A3"] {
        let r = app
            .call(
                "PUT",
                &format!("/api/v1/orders/{o}/route"),
                Some(&dispatcher),
                Some(route.clone()),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        app.post_expect(
            &key,
            json!([scan(&format!("{o}-t"), o, "in_transit", -20)]),
            "accepted",
        )
        .await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("t1-off", "T1", -10, 23.10, 112.60)]),
        "accepted",
    )
    .await;
    let group = "document.querySelector('[data-alert-group=\"t:sf-auto/T1\"]')";
    assert!(
        until(
            &c,
            &format!("return {group}?.querySelectorAll('[data-alert-id]').length === 3"),
            Duration::from_secs(5)
        )
        .await,
        "one group of three: {}",
        js(&c, "return document.getElementById('alerts').innerText").await
    );
    assert_eq!(
        js(
            &c,
            "return new Set([...document.querySelectorAll('[data-alert-id*=\"JD-A\"]')].map((a) => a.closest('[data-alert-group]'))).size"
        )
        .await,
        json!(1),
        "the truck's alerts are in no other group"
    );
    // One note acknowledges the truck's three.
    click(&c, "[data-ack-all=\"t:sf-auto/T1\"]").await;
    c.send_alert_text("driver resting, called").await.unwrap();
    c.accept_alert().await.unwrap();
    assert!(
        until(
            &c,
            &format!("return [...{group}.querySelectorAll('[data-alert-id]')].every((a) => a.dataset.acked === 'true')"),
            Duration::from_secs(5)
        )
        .await,
        "all three acknowledged"
    );
    // Away to Beijing, then the alert brings the map back to T1.
    click(&c, "[data-truck-id=\"T3\"]").await;
    assert!(
        until(
            &c,
            &format!("return !({})()", wrap(&in_view("T1"))),
            Duration::from_secs(3)
        )
        .await
    );
    js(
        &c,
        &format!("{group}.querySelector('strong').click(); return true"),
    )
    .await;
    assert!(
        until(
            &c,
            &format!(
                "return ({})() && document.querySelector('#details h2')?.textContent === 'Truck T1'",
                wrap(&in_view("T1"))
            ),
            Duration::from_secs(3)
        )
        .await,
        "the alert found its truck"
    );
    screenshot(&c, "dispatcher-tools-desk-en").await;

    // Following T2, close up: its truck stays in view as it drives 55 km
    // on; unfollowed, it drives out of view.
    click(&c, "[data-truck-id=\"T2\"]").await;
    assert_eq!(
        js(
            &c,
            "const b = document.querySelector('#details [data-follow]'); return [b.getAttribute('aria-pressed'), b.textContent]"
        )
        .await,
        json!(["true", "Following"])
    );
    for _ in 0..2 {
        click(&c, ".leaflet-control-zoom-in").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.post_expect(
        &key,
        json!([truck_fix("t2-b", "T2", -120, 31.10, 114.30)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            &format!(
                "return document.getElementById('map').dataset.lastMoved === 'JD-B1' && ({})()",
                wrap(&in_view("T2"))
            ),
            Duration::from_secs(3)
        )
        .await,
        "followed, T2 stays in view 55 km on"
    );
    click(&c, "#details [data-follow]").await;
    app.post_expect(
        &key,
        json!([truck_fix("t2-c", "T2", -5, 32.10, 114.30)]),
        "accepted",
    )
    .await;
    assert!(
        until(
            &c,
            &format!("return !({})()", wrap(&in_view("T2"))),
            Duration::from_secs(3)
        )
        .await,
        "no longer followed, T2 drives out of view"
    );
    // Its car's details: the last fix with its speed, where it is going,
    // and the ETA against the promise (late).
    click(&c, "#details [data-order-id=\"JD-B1\"]").await;
    assert!(
        until(
            &c,
            "return document.querySelector('#details [data-destination]') !== null",
            Duration::from_secs(5)
        )
        .await
    );
    let details = js(
        &c,
        "const d = document.getElementById('details'); return {
           fix: d.querySelector('[data-last-fix]')?.textContent,
           to: d.querySelector('[data-destination]').textContent,
           late: d.querySelector('[data-eta]')?.dataset.late,
           eta: d.querySelector('[data-eta]')?.textContent }",
    )
    .await;
    assert!(
        details["fix"]
            .as_str()
            .is_some_and(|f| f.contains("speed 70 km/h")),
        "{details}"
    );
    assert!(
        details["to"]
            .as_str()
            .is_some_and(|t| t.starts_with("Delivering to ") && t.len() > 14),
        "{details}"
    );
    assert_eq!(details["late"], "true", "{details}");
    assert!(
        details["eta"]
            .as_str()
            .is_some_and(|e| e.contains("Promised by") && e.contains("Late")),
        "{details}"
    );
    screenshot(&c, "dispatcher-order-desk-en").await;
    c.close().await.unwrap();

    // On a phone, in Chinese: the legend folded to a line, the list below.
    let p = driver.browser(true, "zh-CN").await;
    sign_in(&p, &app.base, &dispatcher).await;
    assert!(
        until(
            &p,
            "return document.getElementById('map').dataset.trucks === '3' && document.querySelector('[data-alert-group]') !== null",
            Duration::from_secs(10)
        )
        .await
    );
    assert_eq!(
        js(&p, "return document.querySelector('[data-legend]').open").await,
        json!(false),
        "folded on a phone"
    );
    assert_eq!(
        js(&p, "return document.documentElement.scrollWidth <= 360").await,
        json!(true),
        "no sideways scrolling at 360 px"
    );
    screenshot(&p, "dispatcher-phone-zh").await;
    // A row opens its truck's details where the dispatcher can see them.
    click(&p, "[data-truck-id=\"T2\"]").await;
    assert!(
        until(
            &p,
            "const d = document.getElementById('details'); const r = d.getBoundingClientRect();
             return !d.hidden && r.top >= 0 && r.top < window.innerHeight - 40",
            Duration::from_secs(3)
        )
        .await,
        "the details come into view"
    );
    screenshot(&p, "dispatcher-phone-details-zh").await;
    p.close().await.unwrap();
}

/// A script body as a function expression, to call inside another.
fn wrap(body: &str) -> String {
    format!("function () {{ {body} }}")
}

/// Cars standing at one place on their own (a warehouse's yard) say how
/// many are there, on the map and in their label.
#[actix_web::test]
async fn cars_standing_together_say_how_many() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    for (i, o) in ["JD-Y1", "JD-Y2", "JD-Y3"].iter().enumerate() {
        app.order(o, "sf-auto").await;
        app.post_expect(
            &key,
            json!([scan(&format!("y{i}-r"), o, "released", -30)]),
            "accepted",
        )
        .await;
    }
    app.post_expect(
        &key,
        json!([
            order_fix("y1-g", "JD-Y1", -20, 30.62, 114.14),
            order_fix("y2-g", "JD-Y2", -20, 30.62, 114.14),
            order_fix("y3-g", "JD-Y3", -20, 31.20, 121.40),
        ]),
        "accepted",
    )
    .await;
    let driver = Driver::start();
    let c = driver.browser(false, "en-US").await;
    sign_in(&c, &app.base, &dispatcher).await;
    assert!(
        until(
            &c,
            "const m = document.getElementById('map'); return m.vpCar?.('JD-Y1')?.together === 2 && m.vpCar('JD-Y3')?.together === 1",
            Duration::from_secs(10)
        )
        .await,
        "two together, one alone: {}",
        js(&c, "const m = document.getElementById('map'); return [m.vpCar?.('JD-Y1'), m.vpCar?.('JD-Y3')]").await
    );
    c.close().await.unwrap();
}
