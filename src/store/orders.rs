//! Orders in Redis: creation, reading, changes, tracking links, the fleet.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, auth, keys};
use crate::domain::{
    CarrierId, ClipListing, Milestone, NewOrder, OrderId, OrderPatch, OrderState, Place,
    PositionReport, TimelineEntry, utc,
};

/// Why an order could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("order exists")]
    Exists,
    #[error("unknown carrier")]
    UnknownCarrier,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an order could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("no such order")]
    NotFound,
    #[error("unknown carrier")]
    UnknownCarrier,
    #[error("the VIN is final once the car is produced")]
    VinLocked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What dispatchers see: active orders, trucks, open alerts.
pub struct Fleet {
    pub orders: Vec<OrderState>,
    pub trucks: Vec<serde_json::Value>,
    pub alerts: Vec<serde_json::Value>,
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
                    .filter(|a| a["order_id"] == o.order_id.as_str())
                    .collect();
                v["alerts"] = serde_json::json!(mine);
                v
            })
            .collect();
        serde_json::json!({"fleet": fleet, "trucks": self.trucks})
    }
}

/// An order with what its customer sees, read at one instant.
pub struct OrderSnapshot {
    pub state: OrderState,
    pub timeline: Vec<TimelineEntry>,
    pub clips: Vec<ClipListing>,
    /// The road travelled: the car's last kept fixes, `[lat, lon]`, oldest first.
    pub track: Vec<[f64; 2]>,
    /// The cursor of the latest history entry ("0-0" for none).
    pub cursor: String,
}

impl OrderSnapshot {
    /// What the customer sees, with the road travelled.
    pub fn public_view(&self, clip_url: impl Fn(&str) -> String) -> serde_json::Value {
        let mut v = self
            .state
            .public_view(&self.timeline, &self.clips, clip_url);
        v["track"] = serde_json::json!(self.track);
        v
    }
}

/// A tracking link: the token to hand out, shown once.
pub struct TrackingToken(pub String);

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: &str) -> Option<DateTime<Utc>> {
    v.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

fn place_json(p: &Place) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

/// Reads an order hash into its state.
pub(super) fn parse_state(h: &HashMap<String, String>) -> Result<Option<OrderState>> {
    let Some(order_id) = h.get("order_id") else {
        return Ok(None);
    };
    let get = |k: &str| h.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let corrupt = |what: &str| StoreError::Corrupt(format!("order {order_id}: {what}"));
    let time = |k: &str| get(k).and_then(from_ms);
    let place = |k: &str| -> Result<Place> {
        serde_json::from_str(get(k).unwrap_or("")).map_err(|_| corrupt(k))
    };
    Ok(Some(OrderState {
        order_id: order_id.clone(),
        carrier_id: get("carrier_id")
            .ok_or_else(|| corrupt("carrier_id"))?
            .to_owned(),
        vin: get("vin").map(str::to_owned),
        model: get("model").unwrap_or_default().to_owned(),
        origin: place("origin")?,
        destination: place("destination")?,
        promised_by: time("promised_by"),
        created_at: time("created_at").ok_or_else(|| corrupt("created_at"))?,
        milestone: get("m")
            .and_then(Milestone::parse)
            .ok_or_else(|| corrupt("m"))?,
        milestone_at: time("m_at").ok_or_else(|| corrupt("m_at"))?,
        truck_id: get("truck").map(str::to_owned),
        position: get("pos").and_then(|p| serde_json::from_str::<PositionReport>(p).ok()),
        site: get("site").and_then(|s| serde_json::from_str(s).ok()),
        eta: time("eta"),
        updated_at: time("updated_at").ok_or_else(|| corrupt("updated_at"))?,
        delivered_at: time("delivered_at"),
        link_hash: get("link_hash").unwrap_or_default().to_owned(),
    }))
}

fn parse_timeline(raw: Vec<String>) -> Vec<TimelineEntry> {
    #[derive(serde::Deserialize)]
    struct Raw {
        milestone: Milestone,
        at: i64,
        gap: bool,
    }
    raw.iter()
        .filter_map(|s| serde_json::from_str::<Raw>(s).ok())
        .filter_map(|r| {
            Some(TimelineEntry {
                milestone: r.milestone,
                at: utc(DateTime::from_timestamp_millis(r.at)?),
                gap: r.gap,
            })
        })
        .collect()
}

impl Store {
    /// Creates an order in state `ordered` with a fresh tracking link.
    pub async fn create_order(
        &self,
        o: &NewOrder,
        now: DateTime<Utc>,
    ) -> Result<TrackingToken, CreateError> {
        let token = auth::new_token("");
        let token_hash = auth::hash(&token);
        let track_key = keys::link(&token_hash);
        // The link is written first: if the order then exists already (or a
        // crash intervenes), the orphan link points at an order whose own
        // `track` field differs, so it answers 404.
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS")
            .arg(keys::carrier(&o.carrier_id))
            .cmd("SET")
            .arg(&track_key)
            .arg(o.order_id.as_str())
            .ignore()
            .cmd("SADD")
            .arg(keys::ACTIVE_ORDERS)
            .arg(o.order_id.as_str())
            .ignore();
        let (carrier_exists,): (bool,) = self.query(&pipe).await?;
        let created = carrier_exists && {
            let now_ms = ms(now).to_string();
            let timeline = serde_json::json!({"milestone": "ordered", "at": ms(now), "gap": false});
            let fields: Vec<(&str, String)> = vec![
                ("order_id", o.order_id.to_string()),
                ("carrier_id", o.carrier_id.to_string()),
                (
                    "vin",
                    o.vin
                        .as_ref()
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                ("model", o.model.clone()),
                ("origin", place_json(&o.origin)),
                ("destination", place_json(&o.destination)),
                (
                    "promised_by",
                    o.promised_by.map(|t| ms(t).to_string()).unwrap_or_default(),
                ),
                ("created_at", now_ms.clone()),
                ("m", "ordered".into()),
                ("m_at", now_ms.clone()),
                // The sales system's clock is not the carriers': a scan is
                // never stale against the order's creation.
                ("stale_at", "0".into()),
                ("pos_at", "0".into()),
                ("truck_since", "0".into()),
                ("updated_at", now_ms),
                ("link_hash", token_hash),
            ];
            let mut pipe = redis::pipe();
            pipe.cmd("FCALL")
                .arg("vinpath3_create")
                .arg(2)
                .arg(keys::order(&o.order_id))
                .arg(keys::order_timeline(&o.order_id))
                .arg(timeline.to_string());
            for (k, v) in &fields {
                pipe.arg(*k).arg(v);
            }
            let (created,): (bool,) = self.query(&pipe).await?;
            created
        };
        if !created {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(&track_key).ignore();
            let () = self.query(&pipe).await?;
            return Err(if carrier_exists {
                CreateError::Exists
            } else {
                CreateError::UnknownCarrier
            });
        }
        Ok(TrackingToken(token))
    }

    /// The order as it stands, or `None`.
    pub async fn order(&self, id: &OrderId) -> Result<Option<OrderState>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::order(id));
        let (h,): (HashMap<String, String>,) = self.query(&pipe).await?;
        parse_state(&h)
    }

    /// The order with its public timeline, its clips and the cursor of its
    /// latest history entry, read together in one transaction.
    pub async fn order_snapshot(&self, id: &OrderId) -> Result<Option<OrderSnapshot>> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HGETALL")
            .arg(keys::order(id))
            .cmd("LRANGE")
            .arg(keys::order_timeline(id))
            .arg(0)
            .arg(-1)
            .cmd("HGETALL")
            .arg(keys::order_clips(id))
            .cmd("XREVRANGE")
            .arg(keys::order_log(id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .cmd("ZRANGE")
            .arg(keys::order_track(id))
            .arg(-500)
            .arg(-1);
        type Fields = HashMap<String, String>;
        type Latest = Vec<(String, Fields)>;
        type Read = (Fields, Vec<String>, Fields, Latest, Vec<String>);
        let (h, tl, clips, latest, track): Read = self.query(&pipe).await?;
        let cursor = latest
            .into_iter()
            .next()
            .map(|(id, _)| id)
            .unwrap_or_else(|| "0-0".into());
        Ok(parse_state(&h)?.map(|state| OrderSnapshot {
            state,
            timeline: parse_timeline(tl),
            clips: super::clips::parse_order_clips(clips),
            track: track
                .iter()
                .filter_map(|m| {
                    let mut it = m.splitn(3, ':').skip(1).map(|v| v.parse::<f64>());
                    Some([it.next()?.ok()?, it.next()?.ok()?])
                })
                .collect(),
            cursor,
        }))
    }

    /// Applies a change. Returns the new state.
    pub async fn patch_order(
        &self,
        id: &OrderId,
        p: &OrderPatch,
    ) -> Result<OrderState, PatchError> {
        if let Some(c) = &p.carrier_id
            && !self.carrier_exists(c).await?
        {
            return Err(PatchError::UnknownCarrier);
        }
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(v) = &p.vin {
            fields.push(("vin", v.as_str().to_owned()));
        }
        if let Some(c) = &p.carrier_id {
            fields.push(("carrier_id", c.to_string()));
        }
        if let Some(d) = &p.destination {
            fields.push(("destination", place_json(d)));
        }
        if let Some(t) = p.promised_by {
            fields.push(("promised_by", ms(t).to_string()));
        }
        let mut pipe = redis::pipe();
        pipe.cmd("FCALL")
            .arg("vinpath3_patch")
            .arg(1)
            .arg(keys::order(id));
        for (k, v) in &fields {
            pipe.arg(*k).arg(v);
        }
        pipe.cmd("HGETALL").arg(keys::order(id));
        let (outcome, h): (String, HashMap<String, String>) = self.query(&pipe).await?;
        match outcome.as_str() {
            "missing" => Err(PatchError::NotFound),
            "vin_locked" => Err(PatchError::VinLocked),
            _ => parse_state(&h)?.ok_or(PatchError::NotFound),
        }
    }

    /// Replaces an order's tracking link; the old one answers 404 from now.
    pub async fn rotate_tracking(&self, id: &OrderId) -> Result<Option<TrackingToken>> {
        let token = auth::new_token("");
        let h = auth::hash(&token);
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::link(&h))
            .arg(id.as_str())
            .ignore();
        pipe.cmd("FCALL")
            .arg("vinpath3_rotate")
            .arg(1)
            .arg(keys::order(id))
            .arg(&h);
        let (old,): (Option<String>,) = self.query(&pipe).await?;
        let mut pipe = redis::pipe();
        match &old {
            Some(old) => pipe.cmd("DEL").arg(keys::link(old)).ignore(),
            None => pipe.cmd("DEL").arg(keys::link(&h)).ignore(),
        };
        let () = self.query(&pipe).await?;
        Ok(old.map(|_| TrackingToken(token)))
    }

    /// The order a tracking token opens, if the token is current.
    pub async fn order_by_tracking(&self, token: &str) -> Result<Option<OrderId>> {
        let h = auth::hash(token);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::link(&h));
        let (id,): (Option<String>,) = self.query(&pipe).await?;
        let Some(id) = id.and_then(|i| OrderId::parse(&i).ok()) else {
            return Ok(None);
        };
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::order(&id)).arg("link_hash");
        let (current,): (Option<String>,) = self.query(&pipe).await?;
        Ok((current.as_deref() == Some(h.as_str())).then_some(id))
    }

    /// Every order not yet delivered or cancelled. Finished orders are
    /// dropped from the active set as they are met.
    pub async fn active_orders(&self) -> Result<Vec<OrderState>> {
        let mut pipe = redis::pipe();
        pipe.cmd("SMEMBERS").arg(keys::ACTIVE_ORDERS);
        let (ids,): (Vec<String>,) = self.query(&pipe).await?;
        let ids: Vec<OrderId> = ids.iter().filter_map(|i| OrderId::parse(i).ok()).collect();
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
            pipe.cmd("SREM")
                .arg(keys::ACTIVE_ORDERS)
                .arg(&finished)
                .ignore();
            let () = self.query(&pipe).await?;
        }
        active.sort_by(|a, b| a.order_id.cmp(&b.order_id));
        Ok(active)
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
        pipe.cmd("SMEMBERS").arg(keys::TRUCKS);
        let (names,): (Vec<String>,) = self.query(&pipe).await?;
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

/// The carrier of an order, for access checks.
pub fn carrier_of(state: &OrderState) -> Option<CarrierId> {
    CarrierId::parse(&state.carrier_id).ok()
}
