//! The oldest part of a long history leaves Redis for the object store
//! (the spill job writes it there first), so an active order's memory in
//! Redis stays bounded and no entry is ever just trimmed: `history` still
//! serves it, with the same cursors.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::functions::{Function, Spill};
use super::history::{HistoryEntry, cursor_key};
use super::{Result, Store, StoreError, keys};
use crate::domain::OrderId;

/// A part of an order's history kept in the object store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpilledPart {
    pub first: String,
    pub last: String,
    /// Its object's key in the clip store.
    pub object: String,
}

/// History entries as the object store keeps them: cursor and fields.
pub type RawEntries = Vec<(String, HashMap<String, String>)>;

impl SpilledPart {
    /// Named by both ends, so an object names exactly the part written.
    pub fn object_key(order: &str, first: &str, last: &str) -> String {
        format!("archive/history/{order}/{first}_{last}.json")
    }

    /// The part's entries after `after`, from its object's `raw` entries
    /// (an object written by a spill that lost a race may hold more than
    /// the part: only the part's own range counts).
    pub fn entries(&self, raw: &RawEntries, after: Option<(u64, u64)>) -> Vec<HistoryEntry> {
        let (Some(first), Some(last)) = (cursor_key(&self.first), cursor_key(&self.last)) else {
            return Vec::new();
        };
        raw.iter()
            .filter(|(c, _)| {
                cursor_key(c)
                    .is_some_and(|k| k >= first && k <= last && after.is_none_or(|a| k > a))
            })
            .map(|(c, f)| HistoryEntry::parse(c.clone(), f.clone()))
            .collect()
    }
}

impl Store {
    /// Takes the order for archive work (archiving it, moving its old
    /// history) for at most `hold`; false when another instance has it.
    pub async fn take_order_for_work(
        &self,
        id: &OrderId,
        hold: std::time::Duration,
    ) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::order_busy(id))
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(hold.as_millis() as u64);
        let (taken,): (Option<String>,) = self.query(&pipe).await?;
        Ok(taken.is_some())
    }

    pub async fn release_order(&self, id: &OrderId) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(keys::order_busy(id)).ignore();
        let () = self.query(&pipe).await?;
        Ok(())
    }

    /// Orders that may still change whose history in Redis is longer than
    /// the limit, with how many entries are over.
    pub async fn long_histories(&self) -> Result<Vec<(OrderId, usize)>> {
        let ids = self.active_order_ids().await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("XLEN").arg(keys::order_log(id));
        }
        let lens: Vec<usize> = self.query(&pipe).await?;
        let limit = self.options().history_limit;
        Ok(ids
            .into_iter()
            .zip(lens)
            .filter(|(_, n)| *n > limit)
            .map(|(id, n)| (id, n - limit))
            .collect())
    }

    /// The oldest `n` entries of an order's history in Redis.
    pub async fn oldest_entries(&self, id: &OrderId, n: usize) -> Result<RawEntries> {
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(keys::order_log(id))
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(n);
        let (raw,): (RawEntries,) = self.query(&pipe).await?;
        Ok(raw)
    }

    /// Takes a part already in the object store out of Redis; false when
    /// another spill got there first.
    pub async fn spill(&self, id: &OrderId, part: &SpilledPart) -> Result<bool> {
        let (ms, seq) = cursor_key(&part.last)
            .ok_or_else(|| StoreError::Corrupt(format!("cursor {}", part.last)))?;
        let min_kept = format!("{ms}-{}", seq + 1);
        let json = serde_json::to_string(part).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut pipe = redis::pipe();
        Spill {
            order: id.as_str(),
            first: &part.first,
            min_kept: &min_kept,
            part: &json,
        }
        .push(&mut pipe);
        let values = self.query_each(&mut pipe).await?;
        Ok(matches!(values.first(), Some(redis::Value::Int(1))))
    }

    /// The parts of an order's history in the object store, oldest first.
    pub async fn spilled(&self, id: &OrderId) -> Result<Vec<SpilledPart>> {
        let mut pipe = redis::pipe();
        pipe.cmd("LRANGE")
            .arg(keys::order_spilled(id))
            .arg(0)
            .arg(-1);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        raw.iter()
            .map(|r| {
                serde_json::from_str(r)
                    .map_err(|e| StoreError::Corrupt(format!("spilled part: {e}")))
            })
            .collect()
    }
}
