//! Orders that ended long enough ago leave Redis for the object store: all
//! an order holds, read whole here, written as one object by the archive
//! job, then forgotten here (if nothing changed meanwhile). What was
//! archived reads as before: the same state, the same history and cursors.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use chrono::Utc;

use super::functions::{Forget, Function, IdSpace, Identity, items, number, text};
use super::history::{HistoryEntry, cursor_key};
use super::state::parse_state;
use super::{Result, Store, StoreError, keys};
use crate::domain::{OrderId, OrderState};

/// Everything an order holds in Redis, as the archive keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedOrder {
    pub order_id: String,
    /// The order's hash, field by field.
    pub fields: HashMap<String, String>,
    /// Timeline entries (JSON), oldest first.
    pub timeline: Vec<String>,
    /// History entries: cursor and fields, oldest first.
    pub history: Vec<(String, HashMap<String, String>)>,
    /// The kept track: member and time (ms).
    pub track: Vec<(String, f64)>,
    /// Clip listings by clip id.
    pub clips: HashMap<String, String>,
    /// The planned route (JSON), if any.
    pub route: Option<String>,
    /// Inspection photo records by photo id (archives made before photos
    /// existed have none).
    #[serde(default)]
    pub photos: HashMap<String, String>,
    /// Inspection records by inspection id.
    #[serde(default)]
    pub inspections: HashMap<String, String>,
    /// The handover hash, field by field (signature, code, proof).
    #[serde(default)]
    pub handover: HashMap<String, String>,
}

impl ArchivedOrder {
    /// The order's state, as it read in Redis.
    pub fn state(&self) -> Result<OrderState> {
        parse_state(&self.fields)?
            .ok_or_else(|| StoreError::Corrupt(format!("archived order {}", self.order_id)))
    }

    /// Up to `limit` history entries after `after`, and whether more
    /// follow: as `Store::history` pages through Redis.
    pub fn history(&self, after: Option<&str>, limit: usize) -> (Vec<HistoryEntry>, bool) {
        let after = after.and_then(cursor_key);
        let mut rest = self
            .history
            .iter()
            .filter(|(c, _)| after.is_none_or(|a| cursor_key(c).is_some_and(|k| k > a)));
        let page = rest
            .by_ref()
            .take(limit)
            .map(|(c, f)| HistoryEntry::parse(c.clone(), f.clone()))
            .collect();
        (page, rest.next().is_some())
    }

    /// Where the archive keeps it in the object store.
    pub fn object_key(order: &str) -> String {
        format!("archive/orders/{order}.json")
    }
}

impl Store {
    /// Orders that ended before `cutoff_ms`, at most `limit` a partition.
    pub async fn ended_before(&self, cutoff_ms: i64, limit: usize) -> Result<Vec<String>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("ZRANGEBYSCORE")
                .arg(keys::ended(p))
                .arg("-inf")
                .arg(format!("({cutoff_ms}"))
                .arg("LIMIT")
                .arg(0)
                .arg(limit);
        }
        let ids: Vec<Vec<String>> = self.query(&pipe).await?;
        Ok(ids.into_iter().flatten().collect())
    }

    /// All an order holds, read together; `None` for an order not here.
    pub async fn read_whole(&self, id: &OrderId) -> Result<Option<ArchivedOrder>> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGETALL")
            .arg(keys::order(id))
            .cmd("LRANGE")
            .arg(keys::order_timeline(id))
            .arg(0)
            .arg(-1)
            .cmd("XRANGE")
            .arg(keys::order_log(id))
            .arg("-")
            .arg("+")
            .cmd("ZRANGE")
            .arg(keys::order_track(id))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .cmd("HGETALL")
            .arg(keys::order_clips(id))
            .cmd("GET")
            .arg(keys::order_route(id))
            .cmd("HGETALL")
            .arg(keys::order_photos(id))
            .cmd("HGETALL")
            .arg(keys::order_inspections(id))
            .cmd("HGETALL")
            .arg(keys::order_handover(id));
        type Whole = (
            HashMap<String, String>,
            Vec<String>,
            Vec<(String, HashMap<String, String>)>,
            Vec<(String, f64)>,
            HashMap<String, String>,
            Option<String>,
            HashMap<String, String>,
            HashMap<String, String>,
            HashMap<String, String>,
        );
        let (fields, timeline, history, track, clips, route, photos, inspections, handover): Whole =
            self.query(&pipe).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(Some(ArchivedOrder {
            order_id: id.to_string(),
            fields,
            timeline,
            history,
            track,
            clips,
            route,
            photos,
            inspections,
            handover,
        }))
    }

    /// Takes an archived order out of Redis, with its tracking link, if
    /// nothing was added to it since `archived` was read; returns whether
    /// it did.
    pub async fn forget_archived(&self, archived: &ArchivedOrder) -> Result<bool> {
        let last = archived
            .history
            .last()
            .map(|(c, _)| c.as_str())
            .unwrap_or_default();
        let ids = Identity::new(
            "",
            String::new(),
            String::new(),
            Utc::now(),
            self.options().dedupe_days,
        )
        .keys(&IdSpace::Order(&archived.order_id));
        let mut pipe = redis::pipe();
        Forget {
            order: &archived.order_id,
            ids,
            last,
        }
        .push(&mut pipe);
        let values = self.query_each(&mut pipe).await?;
        let w = "forget answer";
        let i = items(values.into_iter().next().unwrap_or(redis::Value::Nil), 2, w)?;
        let forgotten = number(&i[0], w)? == 1;
        let link = text(&i[1], w)?;
        if forgotten && !link.is_empty() {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(keys::link(&link)).ignore();
            let () = self.query(&pipe).await?;
        }
        Ok(forgotten)
    }
}
