//! Each order's history: a Redis stream whose entry ids are the cursors of
//! the history API and of `/ws/track` resumes.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::live_wire::Change;
use super::{Result, Store, keys};
use crate::domain::OrderId;

/// One recorded event of an order, as vinpath judged it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub cursor: String,
    pub status: String,
    pub code: Option<String>,
    pub gap: bool,
    /// What the entry changed, if anything.
    pub change: Option<Change>,
    pub record: Map<String, Value>,
}

impl HistoryEntry {
    pub fn parse(cursor: String, mut fields: HashMap<String, String>) -> Self {
        let record = fields
            .get("e")
            .and_then(|e| serde_json::from_str::<Map<String, Value>>(e).ok())
            .unwrap_or_default();
        Self {
            cursor,
            status: fields.remove("s").unwrap_or_default(),
            code: fields.remove("c"),
            gap: fields.get("g").is_some_and(|g| g == "1"),
            change: fields.get("x").and_then(|x| Change::parse(x)),
            record,
        }
    }

    /// The entry as the history API shows it.
    pub fn to_json(&self) -> Value {
        let mut m = self.record.clone();
        m.insert("cursor".into(), Value::from(self.cursor.clone()));
        m.insert("status".into(), Value::from(self.status.clone()));
        if let Some(c) = &self.code {
            m.insert("code".into(), Value::from(c.clone()));
        }
        if self.gap {
            m.insert("gap".into(), Value::Bool(true));
        }
        Value::Object(m)
    }

    /// The entry as the history API shows it, with `void: {reason, at, by}`
    /// when its event was voided (or, for what a voided fix concluded,
    /// that fix's void).
    pub fn to_json_with_void(&self, voids: &std::collections::BTreeMap<String, Value>) -> Value {
        let mut v = self.to_json();
        let named = |k: &str| self.record.get(k).and_then(Value::as_str);
        let void = ["event_id", "fix_event_id"]
            .iter()
            .filter_map(|k| named(k))
            .find_map(|id| voids.get(id));
        // A correction's own entry names the event it voided: not void.
        if let (Some(void), false) = (void, named("kind") == Some("correction")) {
            v["void"] = void.clone();
        }
        v
    }
}

/// A stream id as a comparable pair.
pub fn cursor_key(cursor: &str) -> Option<(u64, u64)> {
    let (ms, seq) = cursor.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

type Raw = Vec<(String, HashMap<String, String>)>;

impl Store {
    /// Up to `limit` entries after `after` (from the start without one),
    /// and whether more follow.
    pub async fn history(
        &self,
        order: &OrderId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<HistoryEntry>, bool)> {
        let start = after.map(|a| format!("({a}")).unwrap_or_else(|| "-".into());
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(keys::order_log(order))
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit + 1);
        let (raw,): (Raw,) = self.query(&pipe).await?;
        let more = raw.len() > limit;
        let entries = raw
            .into_iter()
            .take(limit)
            .map(|(id, f)| HistoryEntry::parse(id, f))
            .collect();
        Ok((entries, more))
    }

    /// Every entry after `cursor`, or `None` when the cursor is not in the
    /// kept history (trimmed away, or never issued for this order).
    pub async fn entries_after(
        &self,
        order: &OrderId,
        cursor: &str,
    ) -> Result<Option<Vec<HistoryEntry>>> {
        if cursor_key(cursor).is_none() {
            return Ok(None);
        }
        let log = keys::order_log(order);
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE").arg(&log).arg(cursor).arg(cursor);
        pipe.cmd("LLEN").arg(keys::order_spilled(order));
        pipe.cmd("XRANGE")
            .arg(&log)
            .arg(format!("({cursor}"))
            .arg("+");
        let (at, spilled, after): (Raw, usize, Raw) = self.query(&pipe).await?;
        // "0-0" is the cursor of an empty history: valid while all of the
        // history is in Redis (none moved to the object store).
        let known = !at.is_empty() || (cursor == "0-0" && spilled == 0);
        Ok(known.then(|| {
            after
                .into_iter()
                .map(|(id, f)| HistoryEntry::parse(id, f))
                .collect()
        }))
    }
}
