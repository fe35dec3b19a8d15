//! Figure 7: the Redis round trips each request costs, from vinpath's own
//! count (requests only; its background jobs are counted apart).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use vinpath::client::Api;

use crate::stats::Figure;
use crate::ticks::{Ticks, order_fix, truck_fix};

pub async fn round_trips(
    api: &Api,
    key: &str,
    ticks: &Rc<RefCell<Ticks>>,
) -> Result<Vec<Figure>, String> {
    api.orders("R", "bench", 1).await?;
    let next = || {
        let tick = ticks.borrow_mut().tick();
        (tick, ticks.borrow().at(tick))
    };
    let one_fix = || {
        let (tick, at) = next();
        vec![order_fix(&format!("r-{tick}"), "R-0", &at, 0.0)]
    };
    let batch = || {
        (0..100)
            .map(|_| {
                let (tick, at) = next();
                order_fix(&format!("r-{tick}"), "R-0", &at, 0.0)
            })
            .collect()
    };
    let one_scan = || {
        let (tick, at) = next();
        vec![
            json!({"event_id": format!("r-{tick}"), "kind": "scan", "order_id": "R-0", "milestone": "produced", "occurred_at": at}),
        ]
    };
    // A car carrier with six cars on board: its fix moves every one.
    api.orders("RT", "bench", 6).await?;
    let loading: Vec<Value> = (0..6)
        .flat_map(|i| {
            let (t1, a1) = next();
            let (t2, a2) = next();
            [
                json!({"event_id": format!("r-{t1}"), "kind": "scan", "order_id": format!("RT-{i}"), "milestone": "released", "occurred_at": a1}),
                json!({"event_id": format!("r-{t2}"), "kind": "scan", "order_id": format!("RT-{i}"), "milestone": "loaded", "truck_id": "RT-T", "occurred_at": a2}),
            ]
        })
        .collect();
    api.events(key, loading).await?;
    let one_truck_fix = || {
        let (tick, at) = next();
        vec![truck_fix(&format!("r-{tick}"), "RT-T", &at, 0.0)]
    };
    let truck_batch = || {
        (0..100)
            .map(|_| {
                let (tick, at) = next();
                truck_fix(&format!("r-{tick}"), "RT-T", &at, 0.0)
            })
            .collect()
    };
    let scans = per_request(api, key, &one_scan, 50).await?;
    let fixes = per_request(api, key, &one_fix, 50).await?;
    let batched = per_request(api, key, &batch, 10).await?;
    let truck_fixes = per_request(api, key, &one_truck_fix, 50).await?;
    let truck_batched = per_request(api, key, &truck_batch, 10).await?;
    Ok(vec![
        Figure::new(
            "7",
            "Redis round trips per single-scan request",
            scans,
            "trips",
        )
        .at_most(1.0),
        Figure::new(
            "7",
            "Redis round trips per single-fix request (a car's own)",
            fixes,
            "trips",
        )
        .at_most(1.0),
        Figure::new(
            "7",
            "Redis round trips per 100-fix request (a car's own)",
            batched,
            "trips",
        )
        .at_most(1.0),
        Figure::new(
            "7",
            "Redis round trips per single-fix request (a truck, 6 cars)",
            truck_fixes,
            "trips",
        )
        .at_most(1.0),
        Figure::new(
            "7",
            "Redis round trips per 100-fix request (a truck, 6 cars)",
            truck_batched,
            "trips",
        )
        .at_most(1.0),
    ])
}

/// Round trips vinpath makes per request of `events`, from its own counter.
async fn per_request(
    api: &Api,
    key: &str,
    events: &dyn Fn() -> Vec<Value>,
    requests: usize,
) -> Result<f64, String> {
    // One request first, so a cold credential cache is not counted.
    api.events(key, events()).await?;
    let before = api.round_trips().await?;
    for _ in 0..requests {
        api.events(key, events()).await?;
    }
    Ok((api.round_trips().await? - before) / requests as f64)
}
