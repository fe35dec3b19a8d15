//! What a correction reads besides the history: an order with its
//! revision, a truck's newest kept fixes and the cars it carried.

use std::collections::HashMap;

use super::spill::RawEntries;
use super::state::parse_state;
use super::{Result, Store, keys};
use crate::domain::{OrderId, OrderState};

impl Store {
    /// An order as it stands and the revision it stands at.
    pub async fn order_at_rev(&self, id: &OrderId) -> Result<Option<(OrderState, i64)>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::order(id));
        let (h,): (HashMap<String, String>,) = self.query(&pipe).await?;
        let rev = h.get("rev").and_then(|r| r.parse().ok()).unwrap_or(0);
        Ok(parse_state(&h)?.map(|s| (s, rev)))
    }

    /// Every entry of an order's history still in Redis, oldest first.
    pub async fn log_entries(&self, id: &OrderId) -> Result<RawEntries> {
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(keys::order_log(id))
            .arg("-")
            .arg("+");
        let (raw,): (RawEntries,) = self.query(&pipe).await?;
        Ok(raw)
    }

    /// A truck's newest `n` kept fixes: track member and time (ms).
    pub async fn truck_newest_fixes(&self, name: &str, n: usize) -> Result<Vec<(String, f64)>> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE")
            .arg(keys::truck_track(name))
            .arg(0)
            .arg(n.saturating_sub(1))
            .arg("REV")
            .arg("WITHSCORES");
        let (raw,): (Vec<(String, f64)>,) = self.query(&pipe).await?;
        Ok(raw)
    }

    /// The newest `limit` cars loaded on a truck at or before `at_ms`.
    pub async fn truck_cars_before(
        &self,
        name: &str,
        at_ms: i64,
        limit: usize,
    ) -> Result<Vec<String>> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE")
            .arg(keys::truck_cars(name))
            .arg(at_ms)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(limit);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        Ok(raw)
    }
}
