//! Carrier events in: what each means (`plan`, `conclude`, both pure) and
//! its application through the store's typed Redis functions.
//!
//! A request's events are sorted by `occurred_at` and applied in segments,
//! a run of scans or a run of fixes, each one pipelined round trip of
//! functions (each atomic on its order's or truck's slot). A fix run first
//! reads its vehicles' context. Follow-ups on other keys (truck bindings,
//! alerts a milestone ends) are kept on the order by the same function
//! that changed it, so a retry or the repair job completes what a failure
//! left undone.

mod claims;
pub mod conclude;
mod fixes;
pub mod followup;
pub mod plan;
mod scans;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::domain::{
    CarrierEvent, CarrierId, EventBody, EventRejection, EventStatus, Milestone, OrderId, Outcome,
    utc,
};
use crate::store::functions::IdSpace;
use crate::store::functions::{Cancel, Function, ScanAnswer, Status};
use crate::store::{Result, Store, StoreError, Topology};

/// One request's frame: who sent it and when it arrived.
pub(crate) struct Request<'a> {
    pub store: &'a Store,
    pub carrier: &'a CarrierId,
    pub received_at: DateTime<Utc>,
    /// On a Redis Cluster: every event claimed its id among its carrier's
    /// first, and is remembered among its order's or truck's own ids.
    pub claimed: bool,
}

impl Request<'_> {
    /// Where an event about `target` is remembered: its carrier's ids, or
    /// on a cluster (after its claim) its order's or truck's.
    fn ids<'a>(&'a self, target: IdSpace<'a>) -> IdSpace<'a> {
        if self.claimed {
            target
        } else {
            IdSpace::Carrier(self.carrier.as_str())
        }
    }
}

/// Judges and applies a carrier's batch; one outcome per event, in the
/// order given.
pub async fn ingest(
    store: &Store,
    carrier: &CarrierId,
    events: Vec<std::result::Result<CarrierEvent, EventRejection>>,
    received_at: DateTime<Utc>,
) -> Result<Vec<Outcome>> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut valid: Vec<(usize, CarrierEvent)> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        match e {
            Ok(e) => valid.push((i, e)),
            Err(r) => outcomes[i] = Some(r.into()),
        }
    }
    let cluster = store.topology().await? == Topology::Cluster;
    let claimed = if cluster && !valid.is_empty() {
        let c = claims::claim(
            store,
            carrier.as_str(),
            received_at,
            &mut valid,
            &mut outcomes,
        );
        Some(c.await?)
    } else {
        None
    };
    valid.sort_by_key(|(_, e)| e.occurred_at);
    let req = Request {
        store,
        carrier,
        received_at,
        claimed: cluster,
    };
    // Fixes must see the bindings earlier scans made, and scans come after
    // older fixes.
    let applied = async {
        for segment in valid.chunk_by(|(_, a), (_, b)| is_scan(a) == is_scan(b)) {
            if is_scan(&segment[0].1) {
                scans::apply(&req, segment, &mut outcomes).await?;
            } else {
                fixes::apply(&req, segment, &mut outcomes).await?;
            }
        }
        Ok::<_, StoreError>(())
    }
    .await;
    // Rejected events give their claims back even when a later part of the
    // request failed (rejected events are not remembered).
    let released = match &claimed {
        Some(c) => claims::release(store, carrier.as_str(), c, &outcomes).await,
        None => Ok(()),
    };
    applied?;
    released?;
    outcomes
        .into_iter()
        .map(|o| {
            let o = o.ok_or_else(|| StoreError::Corrupt("an event was left unjudged".into()))?;
            metrics::counter!("vinpath_events_total", "status" => o.status.as_str()).increment(1);
            Ok(o)
        })
        .collect()
}

fn is_scan(e: &CarrierEvent) -> bool {
    matches!(e.body, EventBody::Scan(_))
}

/// How a cancel went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    /// Cancelled now, or already (a retried cancel answers as the first).
    Done,
    /// Delivered orders stay delivered.
    Delivered,
    UnknownOrder,
}

/// Cancels an order (the sales system's act), and completes what the
/// cancel left to do on its truck and alerts, now or on a retry.
pub async fn cancel(store: &Store, order: &OrderId, now: DateTime<Utc>) -> Result<Cancelled> {
    let record = json!({
        "event_id": format!("cancel-{}", now.timestamp_millis()),
        "kind": "cancel",
        "milestone": Milestone::Cancelled,
        "occurred_at": utc(now),
        "received_at": utc(now),
    })
    .to_string();
    let mut pipe = redis::pipe();
    Cancel {
        order: order.as_str(),
        at: now,
        record: &record,
    }
    .push(&mut pipe);
    let values = store.query_each(&mut pipe).await?;
    let a = ScanAnswer::parse(values.into_iter().next().unwrap_or(redis::Value::Nil))?;
    match (a.status, a.code.as_deref()) {
        (Status::Event(EventStatus::Accepted), _) => {
            followup::after(store, a.followup.into_iter().collect(), Vec::new()).await?;
            Ok(Cancelled::Done)
        }
        (Status::Event(EventStatus::Duplicate), code) => {
            let retry = code == Some("pending");
            followup::after(
                store,
                Vec::new(),
                if retry {
                    vec![order.to_string()]
                } else {
                    Vec::new()
                },
            )
            .await?;
            Ok(Cancelled::Done)
        }
        (_, Some("unknown_order")) => Ok(Cancelled::UnknownOrder),
        _ => Ok(Cancelled::Delivered),
    }
}
