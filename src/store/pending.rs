//! Follow-ups an order's change left on other keys (truck bindings,
//! alerts), kept on the order until done: read for a retry or the repair
//! job, and done in one round trip.

use chrono::{DateTime, Utc};
use redis::Value;

use super::functions::{AlertOp, AlertOps, Bind, Function, PendingWork, Settle, Unbind};
use super::{Result, Store, StoreError, keys};
use crate::domain::AlertKind;

/// What one follow-up does besides its truck moves: the alerts it ends.
pub struct Work<'a> {
    pub item: &'a PendingWork,
    pub ends: &'a [AlertKind],
}

impl Store {
    /// The follow-ups not done yet of these orders.
    pub async fn pending_of(&self, orders: &[&str]) -> Result<Vec<PendingWork>> {
        if orders.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for o in orders {
            pipe.cmd("LRANGE")
                .arg(keys::order_pending(o))
                .arg(0)
                .arg(-1);
        }
        let lists: Vec<Vec<String>> = self.query(&pipe).await?;
        lists
            .iter()
            .flatten()
            .map(|raw| PendingWork::parse(raw))
            .collect()
    }

    /// Orders whose follow-ups were left before `cutoff` and not done yet.
    pub async fn pending_since(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<Vec<String>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(keys::pending(p))
                .arg("-inf")
                .arg(cutoff.timestamp_millis())
                .arg("LIMIT")
                .arg(0)
                .arg(limit);
        }
        let orders: Vec<Vec<String>> = self.query(&pipe).await?;
        Ok(orders.into_iter().flatten().take(limit).collect())
    }

    /// Does follow-ups, each settled with its own moves, in one round trip.
    /// Every step is idempotent: doing one twice changes nothing more.
    pub async fn complete(&self, work: &[Work<'_>]) -> Result<()> {
        if work.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for w in work {
            let p = w.item;
            if !p.old_truck.is_empty() && p.old_truck != p.new_truck {
                let name = format!("{}/{}", p.carrier_id, p.old_truck);
                Unbind {
                    name: &name,
                    order: &p.order_id,
                    upto: p.old_since,
                }
                .push(&mut pipe);
            }
            if !p.new_truck.is_empty() && p.new_truck != p.old_truck {
                let name = format!("{}/{}", p.carrier_id, p.new_truck);
                Bind {
                    name: &name,
                    carrier: &p.carrier_id,
                    order: &p.order_id,
                    since: p.new_since,
                }
                .push(&mut pipe);
                pipe.cmd("SADD").arg(keys::trucks_of(&name)).arg(&name);
            }
            let ops: Vec<AlertOp> = w
                .ends
                .iter()
                .map(|k| AlertOp::clear(k.id(&p.order_id)))
                .collect();
            if !ops.is_empty() {
                AlertOps {
                    order: &p.order_id,
                    ops: &ops,
                }
                .push(&mut pipe);
            }
            Settle {
                order: &p.order_id,
                item: &p.raw,
            }
            .push(&mut pipe);
        }
        for v in self.query_each(&mut pipe).await? {
            if let Value::ServerError(e) = v {
                return Err(StoreError::from(redis::RedisError::from(e)));
            }
        }
        Ok(())
    }

    /// Takes orders with no follow-up left off the repair list.
    pub async fn unlist_settled(&self, orders: &[String]) -> Result<()> {
        if orders.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for o in orders {
            Settle { order: o, item: "" }.push(&mut pipe);
        }
        let _: Vec<Value> = self.query(&pipe).await?;
        Ok(())
    }
}
