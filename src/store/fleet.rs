//! What dispatchers see: every active order, every truck, open alerts.

use std::collections::HashMap;

use super::state::parse_state;
use super::{Result, Store, keys};
use crate::domain::{Alert, OrderId, OrderState, PositionReport};

/// What dispatchers see: active orders, trucks, open alerts.
pub struct Fleet {
    pub orders: Vec<OrderState>,
    pub trucks: Vec<serde_json::Value>,
    pub alerts: Vec<Alert>,
}

impl Fleet {
    /// As `GET /api/v1/fleet` answers: each order with its open alerts.
    pub fn to_json(&self) -> serde_json::Value {
        let fleet: Vec<_> = self
            .orders
            .iter()
            .map(|o| {
                let mut v = o.fleet_view();
                let mine: Vec<_> = self
                    .alerts
                    .iter()
                    .filter(|a| a.order_id.as_deref() == Some(o.order_id.as_str()))
                    .collect();
                v["alerts"] = serde_json::json!(mine);
                v
            })
            .collect();
        serde_json::json!({"fleet": fleet, "trucks": self.trucks})
    }
}

impl Store {
    /// Every order not yet delivered or cancelled. Finished orders are
    /// dropped from the active set as they are met.
    pub async fn active_orders(&self) -> Result<Vec<OrderState>> {
        let ids = self.active_order_ids().await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(keys::order(id));
        }
        let hashes: Vec<HashMap<String, String>> = self.query(&pipe).await?;
        let mut active = Vec::new();
        let mut finished = Vec::new();
        for (id, h) in ids.iter().zip(hashes) {
            match parse_state(&h)? {
                Some(s) if !s.milestone.is_final() => active.push(s),
                Some(_) => finished.push(id.as_str().to_owned()),
                None => {}
            }
        }
        if !finished.is_empty() {
            let mut pipe = redis::pipe();
            for id in &finished {
                pipe.cmd("SREM").arg(keys::active_of(id)).arg(id).ignore();
            }
            let () = self.query(&pipe).await?;
        }
        active.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        Ok(active)
    }

    /// The ids in every partition's set of orders that may still be active.
    pub async fn active_order_ids(&self) -> Result<Vec<OrderId>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("SMEMBERS").arg(keys::active_orders(p));
        }
        let ids: Vec<Vec<String>> = self.query(&pipe).await?;
        Ok(ids
            .iter()
            .flatten()
            .filter_map(|i| OrderId::parse(i).ok())
            .collect())
    }

    pub async fn fleet(&self) -> Result<Fleet> {
        let (orders, trucks, alerts) =
            futures_util::try_join!(self.active_orders(), self.trucks(), self.alerts())?;
        Ok(Fleet {
            orders,
            trucks,
            alerts,
        })
    }

    /// Every truck ever loaded, with its last position.
    pub async fn trucks(&self) -> Result<Vec<serde_json::Value>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("SMEMBERS").arg(keys::trucks(p));
        }
        let names: Vec<Vec<String>> = self.query(&pipe).await?;
        let names: Vec<String> = names.into_iter().flatten().collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for n in &names {
            pipe.cmd("HGET").arg(keys::truck(n)).arg("pos");
            pipe.cmd("ZRANGE").arg(keys::truck_orders(n)).arg(0).arg(-1);
        }
        let rows: Vec<redis::Value> = self.query(&pipe).await?;
        let mut out = Vec::new();
        for (name, pair) in names.iter().zip(rows.chunks(2)) {
            let pos: Option<String> = redis::from_redis_value_ref(&pair[0]).ok().flatten();
            let orders: Vec<String> = redis::from_redis_value_ref(&pair[1]).unwrap_or_default();
            let (carrier, truck) = name.split_once('/').unwrap_or(("", name));
            out.push(serde_json::json!({
                "truck_id": truck,
                "carrier_id": carrier,
                "position": pos.and_then(|p| serde_json::from_str::<PositionReport>(&p).ok()),
                "order_ids": orders,
            }));
        }
        out.sort_by(|a, b| a["truck_id"].as_str().cmp(&b["truck_id"].as_str()));
        Ok(out)
    }
}
