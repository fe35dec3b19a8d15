//! The watch for trackers gone quiet: a car in transit whose latest fix
//! (or departure, without one) is older than the quiet time raises
//! `no_signal`; its next fix clears it.

use chrono::{DateTime, Duration, Utc};

use crate::domain::{Alert, AlertKind, Milestone};
use crate::store::{Store, StoreError};

/// Raises `no_signal` where it is due now; returns how many it raised.
pub async fn check(
    store: &Store,
    now: DateTime<Utc>,
    quiet: Duration,
) -> Result<usize, StoreError> {
    let cutoff = now - quiet;
    let mut due = Vec::new();
    for o in store.active_orders().await? {
        if o.milestone != Milestone::InTransit {
            continue;
        }
        let last = o
            .position
            .as_ref()
            .and_then(|p| DateTime::parse_from_rfc3339(&p.at).ok())
            .map(|t| t.to_utc())
            .unwrap_or(o.milestone_at);
        if last >= cutoff {
            continue;
        }
        let alert = Alert::for_order(
            AlertKind::NoSignal,
            o.order_id.as_str(),
            o.truck_id.as_ref().map(|t| t.as_str()),
            last,
            serde_json::json!({"since": crate::domain::utc(last)}),
        );
        due.push((o.order_id, alert, last.timestamp_millis()));
    }
    store.raise_no_signal(&due).await
}
