//! Clip metadata: one record per stored clip, and each order's list of the
//! clips attached to it (written with the order's history and live event).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::functions::{Clip, ClipAnswer, Function, Status};
use super::{Result, Store, StoreError, keys};
use crate::domain::{CarrierId, ClipListing, EventStatus, Milestone, OrderId, TruckId, utc};

/// A stored clip and the orders it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClipMeta {
    pub clip_id: String,
    /// The object's key in the clip store, made by vinpath.
    pub key: String,
    pub content_type: String,
    pub size: u64,
    pub kind: String,
    pub captured_at: DateTime<Utc>,
    pub carrier_id: String,
    pub order_ids: Vec<String>,
    /// The truck it was filmed on: it reaches only the cars on that truck
    /// when it was filmed.
    #[serde(default)]
    pub truck_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Why a stored clip could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Nothing of it reached Redis: the object may go.
    #[error("the clip was not recorded")]
    NotRecorded(#[source] StoreError),
    /// Its record exists, its orders may not all have it: the object stays
    /// (the retention sweep knows it).
    #[error("the clip was recorded in part")]
    Partial(#[source] StoreError),
}

impl From<StoreError> for AttachError {
    fn from(e: StoreError) -> Self {
        AttachError::NotRecorded(e)
    }
}

impl Store {
    /// The orders on a carrier's truck, or `None` if it never loaded a car.
    pub async fn orders_on_truck(
        &self,
        carrier: &CarrierId,
        truck: &TruckId,
    ) -> Result<Option<Vec<String>>> {
        let name = keys::truck_name(carrier, truck);
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS")
            .arg(keys::truck(&name))
            .cmd("ZRANGE")
            .arg(keys::truck_orders(&name))
            .arg(0)
            .arg(-1);
        let (exists, mut orders): (bool, Vec<String>) = self.query(&pipe).await?;
        orders.sort();
        Ok(exists.then_some(orders))
    }

    /// Records a stored clip and attaches it to each of its orders, with
    /// their history and live events. Returns the orders it reached.
    pub async fn attach_clip(
        &self,
        meta: &ClipMeta,
        received_at: DateTime<Utc>,
    ) -> Result<Vec<String>, AttachError> {
        let clip = serde_json::to_string(&ClipListing {
            clip_id: meta.clip_id.clone(),
            clip_kind: meta.kind.clone(),
            captured_at: utc(meta.captured_at),
            hls: meta.content_type == crate::recording::HLS,
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let record = json!({
            "event_id": format!("clip-{}", meta.clip_id),
            "kind": "clip",
            "clip_id": meta.clip_id,
            "clip_kind": meta.kind,
            "captured_at": utc(meta.captured_at),
            "occurred_at": utc(meta.captured_at),
            "received_at": utc(received_at),
            "size": meta.size,
            "content_type": meta.content_type,
        })
        .to_string();
        // The record first: once it exists, whatever happens next, the
        // clip is known and the retention sweep will find it.
        let json =
            |m: &ClipMeta| serde_json::to_string(m).map_err(|e| StoreError::Corrupt(e.to_string()));
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::clip(&meta.clip_id))
            .arg(json(meta)?)
            .ignore();
        pipe.cmd("ZADD")
            .arg(keys::clips_of(&meta.clip_id))
            .arg(meta.created_at.timestamp_millis())
            .arg(&meta.clip_id)
            .ignore();
        let () = self.query(&pipe).await.map_err(AttachError::NotRecorded)?;
        let mut pipe = redis::pipe();
        let mut orders = Vec::new();
        for o in &meta.order_ids {
            let Ok(id) = OrderId::parse(o) else { continue };
            Clip {
                order: id.as_str(),
                carrier: Some(&meta.carrier_id),
                clip_id: &meta.clip_id,
                listing: &clip,
                record: &record,
                truck: meta.truck_id.as_deref(),
                at: meta.captured_at,
            }
            .push(&mut pipe);
            orders.push(o.clone());
        }
        let values = self
            .query_each(&mut pipe)
            .await
            .map_err(AttachError::Partial)?;
        let mut reached = Vec::new();
        for (o, v) in orders.into_iter().zip(values) {
            let a = ClipAnswer::parse(v).map_err(AttachError::Partial)?;
            if a.status == Status::Event(EventStatus::Accepted) {
                reached.push(o);
            }
        }
        if reached.len() != meta.order_ids.len() {
            // Some orders changed hands meanwhile: the record names only the
            // orders that have the clip (none: the record goes).
            let mut pipe = redis::pipe();
            if reached.is_empty() {
                pipe.cmd("DEL").arg(keys::clip(&meta.clip_id)).ignore();
                pipe.cmd("ZREM")
                    .arg(keys::clips_of(&meta.clip_id))
                    .arg(&meta.clip_id)
                    .ignore();
            } else {
                let kept = ClipMeta {
                    order_ids: reached.clone(),
                    ..meta.clone()
                };
                pipe.cmd("SET")
                    .arg(keys::clip(&meta.clip_id))
                    .arg(json(&kept)?)
                    .ignore();
            }
            let () = self.query(&pipe).await.map_err(AttachError::Partial)?;
        }
        Ok(reached)
    }

    pub async fn clip(&self, clip_id: &str) -> Result<Option<ClipMeta>> {
        if clip_id.len() > 64 || !clip_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::clip(clip_id));
        let (raw,): (Option<String>,) = self.query(&pipe).await?;
        raw.map(|r| {
            serde_json::from_str(&r)
                .map_err(|e| StoreError::Corrupt(format!("clip {clip_id}: {e}")))
        })
        .transpose()
    }

    /// Clips whose every order finished (delivered or cancelled) more than
    /// `retention` ago, at most `limit` of them.
    pub async fn expired_clips(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
        limit: usize,
    ) -> Result<Vec<ClipMeta>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("ZRANGE").arg(keys::clips(p)).arg(0).arg(-1);
        }
        let ids: Vec<Vec<String>> = self.query(&pipe).await?;
        let ids: Vec<String> = ids.into_iter().flatten().collect();
        let mut expired = Vec::new();
        for chunk in ids.chunks(200) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("GET").arg(keys::clip(id));
            }
            let raws: Vec<Option<String>> = self.query(&pipe).await?;
            let metas: Vec<ClipMeta> = raws
                .into_iter()
                .flatten()
                .filter_map(|r| serde_json::from_str(&r).ok())
                .collect();
            let mut pipe = redis::pipe();
            for m in &metas {
                for o in &m.order_ids {
                    pipe.cmd("HMGET")
                        .arg(keys::order(o.as_str()))
                        .arg("m")
                        .arg("m_at");
                    pipe.cmd("HGET").arg(keys::archived_of(o)).arg(o);
                }
            }
            let rows: Vec<redis::Value> = self.query(&pipe).await?;
            let mut states = rows.chunks(2).map(|pair| {
                let (m, at): (Option<String>, Option<i64>) =
                    redis::from_redis_value_ref(&pair[0]).unwrap_or((None, None));
                let archived: Option<i64> = redis::from_redis_value_ref(&pair[1]).unwrap_or(None);
                (m, at, archived)
            });
            for m in metas {
                let mut done_at: Option<i64> = Some(i64::MIN);
                for _ in &m.order_ids {
                    done_at = match (done_at, states.next()) {
                        (Some(d), Some((Some(ms), Some(at), _)))
                            if Milestone::parse(&ms).is_some_and(Milestone::is_final) =>
                        {
                            Some(d.max(at))
                        }
                        // Archived: it ended then (the clip keeps its own
                        // retention from that time).
                        (Some(d), Some((None, _, Some(ended)))) => Some(d.max(ended)),
                        // Gone altogether.
                        (Some(d), Some((None, _, None))) => Some(d),
                        _ => None,
                    };
                }
                let cutoff = (now - retention).timestamp_millis();
                if done_at.is_some_and(|d| d < cutoff) {
                    expired.push(m);
                }
                if expired.len() >= limit {
                    return Ok(expired);
                }
            }
        }
        Ok(expired)
    }

    /// Removes a clip's metadata everywhere (its object is deleted first).
    pub async fn forget_clip(&self, meta: &ClipMeta) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(keys::clip(&meta.clip_id)).ignore();
        pipe.cmd("ZREM")
            .arg(keys::clips_of(&meta.clip_id))
            .arg(&meta.clip_id)
            .ignore();
        for o in &meta.order_ids {
            pipe.cmd("HDEL")
                .arg(keys::order_clips(o.as_str()))
                .arg(&meta.clip_id)
                .ignore();
        }
        let () = self.query(&pipe).await?;
        Ok(())
    }
}

/// Parses an order's clips hash, newest first.
pub(super) fn parse_order_clips(raw: HashMap<String, String>) -> Vec<ClipListing> {
    let mut clips: Vec<ClipListing> = raw
        .values()
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect();
    clips.sort_by(|a, b| {
        b.captured_at
            .cmp(&a.captured_at)
            .then(b.clip_id.cmp(&a.clip_id))
    });
    clips
}
