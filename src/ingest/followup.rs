//! Follow-ups: what a change of an order leaves to do on other keys (its
//! trucks, its alerts), done right after the change, on a retry of the
//! same request, or by the repair job, whichever comes first.

use chrono::{DateTime, Duration, Utc};

use super::plan::alerts_ended;
use crate::domain::Milestone;
use crate::store::functions::PendingWork;
use crate::store::pending::Work;
use crate::store::{Result, Store};

/// Does the follow-ups a request's changes left (`items`), and those still
/// pending on `retried` orders (a retry after a failure between the two).
pub async fn after(store: &Store, mut items: Vec<PendingWork>, retried: Vec<String>) -> Result<()> {
    let retried: Vec<&str> = retried.iter().map(String::as_str).collect();
    items.extend(store.pending_of(&retried).await?);
    if items.is_empty() {
        return Ok(());
    }
    let ends: Vec<_> = items
        .iter()
        .map(
            |p| match (Milestone::parse(&p.from), Milestone::parse(&p.to)) {
                (Some(from), Some(to)) => alerts_ended(from, to),
                _ => &[],
            },
        )
        .collect();
    let work: Vec<Work<'_>> = items
        .iter()
        .zip(ends)
        .map(|(item, ends)| Work { item, ends })
        .collect();
    store.complete(&work).await?;
    // A car loaded onto a truck whose camera is on air is told it can
    // watch (a camera going live tells the cars already aboard).
    for item in items
        .iter()
        .filter(|i| !i.new_truck.is_empty() && i.new_truck != i.old_truck)
    {
        store
            // (On air is judged by the server's own clock: segments are
            // stamped with it.)
            .tell_if_on_air(
                &item.order_id,
                &item.carrier_id,
                &item.new_truck,
                Utc::now(),
            )
            .await?;
    }
    Ok(())
}

/// How long a follow-up may stay pending before the repair job takes it
/// (its own request normally does it within milliseconds).
pub const REPAIR_AFTER: Duration = Duration::seconds(10);

/// Completes follow-ups left pending since before `now - REPAIR_AFTER`;
/// returns how many orders it repaired.
pub async fn repair_due(store: &Store, now: DateTime<Utc>) -> Result<usize> {
    let orders = store.pending_since(now - REPAIR_AFTER, 100).await?;
    let n = orders.len();
    after(store, Vec::new(), orders.clone()).await?;
    // An order listed with nothing left (a race between two that did the
    // same work) leaves the list.
    store.unlist_settled(&orders).await?;
    Ok(n)
}
