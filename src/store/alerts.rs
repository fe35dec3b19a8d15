//! Open alerts, and the one alert no fix can raise: a car in transit whose
//! tracker has gone quiet.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::functions::{Function, Quiet};
use super::{Result, Store, StoreError, keys};
use crate::domain::{Alert, AlertKind, Milestone};

impl Store {
    /// Every open alert, oldest first.
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::ALERTS);
        let (raw,): (HashMap<String, String>,) = self.query(&pipe).await?;
        let mut alerts = raw
            .values()
            .map(|v| {
                serde_json::from_str::<Alert>(v)
                    .map_err(|e| StoreError::Corrupt(format!("alert {v:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        alerts.sort_by(|a, b| a.since.cmp(&b.since).then(a.alert_id.cmp(&b.alert_id)));
        Ok(alerts)
    }

    /// Raises `no_signal` for every car in transit whose latest fix (or
    /// departure, without one) is older than `quiet`. Its next fix clears
    /// it. Returns how many it raised.
    pub async fn check_no_signal(&self, now: DateTime<Utc>, quiet: Duration) -> Result<usize> {
        let cutoff = now - quiet;
        let mut raise = Vec::new();
        for o in self.active_orders().await? {
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
                format!("no fix for {} min", (now - last).num_minutes()),
            );
            raise.push((o.order_id, alert, last.timestamp_millis()));
        }
        if raise.is_empty() {
            return Ok(0);
        }
        // Each raise checks the order is still in transit and still quiet
        // (a fix, a scan or a delivery since the read wins).
        let mut pipe = redis::pipe();
        for (order, alert, last_ms) in &raise {
            Quiet {
                order: order.as_str(),
                alert_id: &alert.alert_id,
                alert: &alert.to_json(),
                last_ms: *last_ms,
            }
            .push(&mut pipe);
        }
        let raised: Vec<i64> = self.query(&pipe).await?;
        Ok(raised.iter().filter(|&&r| r == 1).count())
    }

    /// Sets an order's planned route (GeoJSON LineString coordinates,
    /// `[lon, lat]` pairs). `false` if the order does not exist.
    pub async fn set_route(
        &self,
        order: &crate::domain::OrderId,
        coordinates: &[[f64; 2]],
    ) -> Result<bool> {
        let json = serde_json::to_string(coordinates).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(keys::order(order));
        let (exists,): (bool,) = self.query(&pipe).await?;
        if exists {
            // The route and the revision of what fixes are judged by, together.
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("SET")
                .arg(keys::order_route(order))
                .arg(json)
                .ignore();
            pipe.cmd("HINCRBY")
                .arg(keys::order(order))
                .arg("rev")
                .arg(1)
                .ignore();
            let () = self.query(&pipe).await?;
        }
        Ok(exists)
    }
}
