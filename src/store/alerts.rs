//! Open alerts, and raising the one alert no fix can raise: a car in
//! transit whose tracker has gone quiet (the watch is a job).

use std::collections::HashMap;

use super::functions::{Function, Quiet};
use super::{Result, Store, StoreError, keys};
use crate::domain::{Alert, OrderId};

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
}
