//! Open alerts, and the one alert no fix can raise: a car in transit whose
//! tracker has gone quiet.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{Result, Store, keys};
use crate::domain::{Milestone, utc};

impl Store {
    /// Every open alert, oldest first.
    pub async fn alerts(&self) -> Result<Vec<Value>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::ALERTS);
        let (raw,): (HashMap<String, String>,) = self.query(&pipe).await?;
        let mut alerts: Vec<Value> = raw
            .values()
            .filter_map(|v| serde_json::from_str(v).ok())
            .collect();
        alerts.sort_by(|a, b| {
            a["since"]
                .as_str()
                .cmp(&b["since"].as_str())
                .then(a["alert_id"].as_str().cmp(&b["alert_id"].as_str()))
        });
        Ok(alerts)
    }

    /// Raises `no_signal` for every car in transit whose latest fix (or
    /// departure, without one) is older than `quiet`. Its next fix clears
    /// it. Returns how many were raised.
    pub async fn check_no_signal(&self, now: DateTime<Utc>, quiet: Duration) -> Result<usize> {
        let cutoff = now - quiet;
        let mut pipe = redis::pipe();
        let mut raised = 0;
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
            let id = format!("no_signal:{}", o.order_id);
            let alert = json!({
                "alert_id": id, "kind": "no_signal", "order_id": o.order_id, "truck_id": o.truck_id,
                "since": utc(last), "detail": format!("no fix for {} min", (now - last).num_minutes()),
            });
            pipe.cmd("FCALL")
                .arg("vinpath2_alert")
                .arg(1)
                .arg(keys::ALERTS)
                .arg("raise")
                .arg(&id)
                .arg(alert.to_string())
                .arg(keys::LIVE_CHANNEL);
            raised += 1;
        }
        if raised > 0 {
            let _: Vec<i64> = self.query(&pipe).await?;
        }
        Ok(raised)
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
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(keys::order_route(order))
                .arg(json)
                .ignore();
            let () = self.query(&pipe).await?;
        }
        Ok(exists)
    }
}
