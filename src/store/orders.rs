//! Orders in Redis: creation, reading and changes. Their links are in
//! `links`, the fleet in `fleet`, reading a hash into a state in `state`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::functions::{Create, Function, Patch};
use super::handover::HandoverRecord;
use super::inspections::InspectionRecord;
use super::links::TrackingToken;
use super::state::{ms, parse_state, parse_timeline, place_json};
use super::{Result, Store, StoreError, auth, keys};
use crate::domain::{
    Alert, AlertKind, ClipListing, Milestone, NewOrder, OrderId, OrderPatch, OrderState, Stage,
    TimelineEntry,
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

/// An order with what its customer sees, read at one instant.
pub struct OrderSnapshot {
    pub state: OrderState,
    pub timeline: Vec<TimelineEntry>,
    pub clips: Vec<ClipListing>,
    /// The road travelled: the car's last kept fixes, `[lat, lon]`, oldest first.
    pub track: Vec<[f64; 2]>,
    /// The cursor of the latest history entry ("0-0" for none).
    pub cursor: String,
    /// Since when the car has stood still on the road, while that is
    /// unusually long (its `stationary` alert is open).
    pub stopped_since: Option<String>,
    /// Its inspections, oldest first.
    pub inspections: Vec<InspectionRecord>,
    /// The handover at the door, once signed or proved.
    pub handover: Option<HandoverRecord>,
    /// Its planned route, `[lon, lat]` (as set), if a dispatcher set one.
    pub route: Vec<[f64; 2]>,
}

impl OrderSnapshot {
    /// Whether the customer may sign for the car now: it is out for
    /// delivery, the driver recorded its delivery inspection, and no code
    /// of this run still stands.
    pub fn handover_ready(&self) -> bool {
        let s = &self.state;
        s.milestone == Milestone::OutForDelivery
            && self
                .inspections
                .iter()
                .any(|i| i.inspection.stage == Stage::Delivery)
            && !self
                .handover
                .as_ref()
                .is_some_and(|h| h.code_open(s.milestone, s.milestone_at))
    }

    /// The handover as the customer's page shows it.
    fn handover_view(&self, photo_url: impl Fn(&str) -> String) -> serde_json::Value {
        let s = &self.state;
        let mut v = match &self.handover {
            Some(h) => h.public_view(s.milestone, s.milestone_at, photo_url),
            None => serde_json::json!({"signed": null, "proof": null}),
        };
        v["ready"] = self.handover_ready().into();
        v
    }

    /// What the customer sees, with the road travelled.
    /// What a customer's link shows; `clip_url` and `photo_url` make the
    /// links under its token.
    pub fn public_view(
        &self,
        clip_url: impl Fn(&str) -> String,
        photo_url: impl Fn(&str) -> String,
    ) -> serde_json::Value {
        let mut v = self
            .state
            .public_view(&self.timeline, &self.clips, clip_url);
        v["track"] = serde_json::json!(self.track);
        v["inspections"] = self
            .inspections
            .iter()
            .enumerate()
            .map(|(n, r)| r.public_view(&photo_url, n == 0))
            .collect();
        v["handover"] = self.handover_view(&photo_url);
        v["route"] = serde_json::json!(crate::geo::route::for_a_map(&self.route));
        if let (Some(since), Some(notices)) = (&self.stopped_since, v["notices"].as_array_mut())
            && !self.state.milestone.is_final()
        {
            notices.push(serde_json::json!({"kind": "stopped", "since": since}));
        }
        v
    }
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
            .arg(keys::active_of(o.order_id.as_str()))
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
            Create {
                order: o.order_id.as_str(),
                first_entry: &timeline.to_string(),
                fields: &fields,
            }
            .push(&mut pipe);
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
            .arg(-1)
            .cmd("HGET")
            .arg(keys::alerts_of(id.as_str()))
            .arg(AlertKind::Stationary.id(id.as_str()))
            .cmd("HVALS")
            .arg(keys::order_inspections(id))
            .cmd("HMGET")
            .arg(keys::order_handover(id))
            .arg(&super::handover::VIEW_FIELDS)
            .cmd("GET")
            .arg(keys::order_route(id));
        type Fields = HashMap<String, String>;
        type Latest = Vec<(String, Fields)>;
        type Read = (
            Fields,
            Vec<String>,
            Fields,
            Latest,
            Vec<String>,
            Option<String>,
            Vec<String>,
            Vec<Option<String>>,
            Option<String>,
        );
        let (h, tl, clips, latest, track, stopped, inspections, handover, route): Read =
            self.query(&pipe).await?;
        let mut inspections: Vec<InspectionRecord> = inspections
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect();
        inspections.sort_by(|a, b| {
            (a.inspection.at(), &a.inspection.inspection_id)
                .cmp(&(b.inspection.at(), &b.inspection.inspection_id))
        });
        let cursor = latest
            .into_iter()
            .next()
            .map(|(id, _)| id)
            .unwrap_or_else(|| "0-0".into());
        let handover = HandoverRecord::read(&handover)?;
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
            stopped_since: stopped
                .and_then(|a| serde_json::from_str::<Alert>(&a).ok())
                .map(|a| a.since),
            inspections,
            handover,
            route: route
                .and_then(|r| serde_json::from_str(&r).ok())
                .unwrap_or_default(),
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
        Patch {
            order: id.as_str(),
            fields: &fields,
        }
        .push(&mut pipe);
        pipe.cmd("HGETALL").arg(keys::order(id));
        let (outcome, h): (String, HashMap<String, String>) = self.query(&pipe).await?;
        match outcome.as_str() {
            "missing" => Err(PatchError::NotFound),
            "vin_locked" => Err(PatchError::VinLocked),
            _ => parse_state(&h)?.ok_or(PatchError::NotFound),
        }
    }
}
