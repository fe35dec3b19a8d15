//! Open alerts, and raising the one alert no fix can raise: a car in
//! transit whose tracker has gone quiet (the watch is a job).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::functions::{AckAlert, AlertOp, AlertOps, Function, Quiet};
use super::{Result, Store, StoreError, keys};
use crate::domain::{Alert, AlertKind, CarrierId, FixTarget, OrderId};

impl Store {
    /// Every open alert, oldest first.
    pub async fn alerts(&self) -> Result<Vec<Alert>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("HGETALL").arg(keys::alerts(p));
        }
        let raw: Vec<HashMap<String, String>> = self.query(&pipe).await?;
        let mut alerts = raw
            .iter()
            .flat_map(HashMap::values)
            .map(|v| {
                serde_json::from_str::<Alert>(v)
                    .map_err(|e| StoreError::Corrupt(format!("alert {v:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        alerts.sort_by(|a, b| a.since.cmp(&b.since).then(a.alert_id.cmp(&b.alert_id)));
        Ok(alerts)
    }

    /// Acknowledges an open alert; the alert as it now reads, or `None`
    /// when no such alert is open.
    pub async fn ack_alert(
        &self,
        alert_id: &str,
        ack: &serde_json::Value,
    ) -> Result<Option<Alert>> {
        // An alert's id is `kind:order`: the order's partition holds it.
        let Some((_, order)) = alert_id.split_once(':') else {
            return Ok(None);
        };
        let mut pipe = redis::pipe();
        AckAlert {
            order,
            alert_id,
            ack: &ack.to_string(),
        }
        .push(&mut pipe);
        let (raw,): (Option<String>,) = self.query(&pipe).await?;
        raw.map(|r| {
            serde_json::from_str::<Alert>(&r)
                .map_err(|e| StoreError::Corrupt(format!("alert {r:?}: {e}")))
        })
        .transpose()
    }

    /// Raises `no_signal` for each of these quiet orders (its alert, and
    /// the newest fix or departure the watch saw, ms), each only if the
    /// order is still in transit and still quiet; returns how many it
    /// newly raised.
    pub async fn raise_no_signal(&self, quiet: &[(OrderId, Alert, i64)]) -> Result<usize> {
        if quiet.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for (order, alert, last_ms) in quiet {
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

    /// Raises (or, `on` false, clears) the `emergency` alert of every car a
    /// tracker locates: the cars aboard its truck, or its own car.
    pub async fn sound_emergency(
        &self,
        carrier: &CarrierId,
        target: &FixTarget,
        on: bool,
        since: DateTime<Utc>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let orders: Vec<String> = match target {
            FixTarget::Order(o) => vec![o.to_string()],
            FixTarget::Truck(t) => {
                let mut pipe = redis::pipe();
                pipe.cmd("ZRANGE")
                    .arg(keys::truck_orders(&keys::truck_name(carrier, t)))
                    .arg(0)
                    .arg(-1);
                let (orders,): (Vec<String>,) = self.query(&pipe).await?;
                orders
            }
        };
        if orders.is_empty() {
            return Ok(());
        }
        let truck = match target {
            FixTarget::Truck(t) => Some(t.as_str()),
            FixTarget::Order(_) => None,
        };
        let ops: Vec<Vec<AlertOp>> = orders
            .iter()
            .map(|o| {
                let id = AlertKind::Emergency.id(o);
                vec![if on {
                    let alert =
                        Alert::for_order(AlertKind::Emergency, o, truck, since, detail.clone());
                    AlertOp::raise(id, alert.to_json())
                } else {
                    AlertOp::clear(id)
                }]
            })
            .collect();
        let mut pipe = redis::pipe();
        for (o, ops) in orders.iter().zip(&ops) {
            AlertOps { order: o, ops }.push(&mut pipe);
        }
        let _: Vec<redis::Value> = self.query_each(&mut pipe).await?;
        Ok(())
    }
}
