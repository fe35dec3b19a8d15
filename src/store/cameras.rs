//! Cameras and their live broadcasts. A camera's record is kept by id (and
//! by its ingest secret's hash, and under the truck or site it watches);
//! its live state, the segments vinpath lists (the last 50) and those that
//! arrived but no playlist has named yet sit in one slot, so `live` lists
//! segments and starts or ends a broadcast atomically.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use redis::Value as RedisValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::functions::{Arrive, Function, LiveList, QuietCamera, TakeRecording, TellLive};
use super::{Result, Store, StoreError, auth};
use crate::domain::{Camera, OrderState, Watches};

const CAMERAS: &str = "vp:cameras";

fn key_of(hash: &str) -> String {
    format!("vp:camkey:{hash}")
}

fn watching(w: &Watches) -> String {
    match w {
        Watches::Truck {
            carrier_id,
            truck_id,
        } => format!("vp:camtruck:{carrier_id}:{truck_id}"),
        Watches::Site { site_id } => format!("vp:camsite:{site_id}"),
    }
}

/// A camera's live state.
pub fn state_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}")
}

/// The segments listed for a camera, oldest first.
pub fn segments_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:segs")
}

/// Segments that arrived and await a playlist naming them.
pub fn arrived_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:arr")
}

/// Segments a playlist named that have not arrived yet, with durations.
pub fn named_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:named")
}

/// The names listed in the broadcast on, by sequence number.
pub fn done_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:done")
}

/// Every segment of the broadcasts not yet recorded.
pub fn recording_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:rec")
}

/// The cars a broadcast on has shown.
fn cars_key(camera: &str) -> String {
    format!("vp:{{cam:{camera}}}:cars")
}

/// The keys of `live` and `arrive`, in their order.
pub fn live_keys(camera: &str) -> Vec<String> {
    vec![
        state_key(camera),
        segments_key(camera),
        arrived_key(camera),
        named_key(camera),
        done_key(camera),
        recording_key(camera),
    ]
}

/// A segment as listed for viewers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    /// vinpath's own sequence number.
    pub seq: u64,
    /// The object in the clip store.
    pub obj: String,
    /// `ts` or `m4s`.
    pub k: String,
    /// Its size in bytes.
    pub n: u64,
    pub dur: f64,
    /// When it arrived whole (ms), and when it was listed.
    #[serde(default)]
    pub put: i64,
    pub at: i64,
    /// The broadcast it belongs to (when it started, ms).
    pub b: String,
    /// fMP4: the initialisation segment's object it goes with.
    #[serde(default)]
    pub i: Option<String>,
}

/// A camera's live state now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    /// The broadcast on ('' none).
    pub broadcast: String,
    pub last_ms: i64,
    pub target: u64,
    /// The current fMP4 initialisation segment's object and size.
    pub init: Option<(String, u64)>,
}

impl LiveState {
    /// On air: a broadcast started and a segment came within 3 target
    /// durations.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        !self.broadcast.is_empty()
            && now.timestamp_millis() - self.last_ms <= 3_000 * self.target.max(1) as i64
    }
}

/// What listing segments did to the broadcast.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub started: bool,
    /// The broadcast it ended.
    pub ended: Option<String>,
}

impl Listing {
    fn read(v: &[RedisValue]) -> Self {
        Self {
            started: matches!(v.first(), Some(RedisValue::Int(1))),
            ended: v.get(1).and_then(text).filter(|b| !b.is_empty()),
        }
    }
}

/// A Redis string answer as text.
fn text(v: &RedisValue) -> Option<String> {
    match v {
        RedisValue::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        RedisValue::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Why a camera could not be registered.
#[derive(Debug)]
pub enum Registered {
    /// Its ingest secret, shown once.
    New(String),
    Exists,
}

impl Store {
    /// Registers a camera; answers its ingest secret (shown once).
    pub async fn register_camera(&self, c: &Camera) -> Result<Registered> {
        let secret = auth::new_token("vpcam_");
        let json = serde_json::to_string(c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let key = key_of(&auth::hash(&secret));
        // Its secret first, its record last: a camera that exists has its
        // secret (a secret left by a failure opens no camera).
        let mut pipe = redis::pipe();
        pipe.cmd("HEXISTS").arg(CAMERAS).arg(&c.camera_id);
        let (exists,): (bool,) = self.query(&pipe).await?;
        if exists {
            return Ok(Registered::Exists);
        }
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&key).arg(&c.camera_id).ignore();
        self.query::<()>(&pipe).await?;
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX").arg(CAMERAS).arg(&c.camera_id).arg(&json);
        let (added,): (bool,) = self.query(&pipe).await?;
        if !added {
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(&key).ignore();
            self.query::<()>(&pipe).await?;
            return Ok(Registered::Exists);
        }
        let mut pipe = redis::pipe();
        pipe.cmd("SADD")
            .arg(watching(&c.watches))
            .arg(&c.camera_id)
            .ignore();
        self.query::<()>(&pipe).await?;
        Ok(Registered::New(secret))
    }

    /// Every camera.
    pub async fn cameras(&self) -> Result<Vec<Camera>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(CAMERAS);
        let (all,): (Vec<String>,) = self.query(&pipe).await?;
        let mut all: Vec<Camera> = all
            .iter()
            .map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .collect::<Result<_>>()?;
        all.sort_by(|a, b| a.camera_id.cmp(&b.camera_id));
        Ok(all)
    }

    pub async fn camera(&self, id: &str) -> Result<Option<Camera>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(CAMERAS).arg(id);
        let (json,): (Option<String>,) = self.query(&pipe).await?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }

    /// The camera an ingest secret belongs to.
    pub async fn camera_by_secret(&self, secret: &str) -> Result<Option<Camera>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(key_of(&auth::hash(secret)));
        let (id,): (Option<String>,) = self.query(&pipe).await?;
        match id {
            Some(id) => self.camera(&id).await,
            None => Ok(None),
        }
    }

    /// The cameras watching a truck or a site.
    pub async fn cameras_watching(&self, w: &Watches) -> Result<Vec<Camera>> {
        let mut pipe = redis::pipe();
        pipe.cmd("SMEMBERS").arg(watching(w));
        let (ids,): (Vec<String>,) = self.query(&pipe).await?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(c) = self.camera(&id).await? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Cameras' live states, by id.
    pub async fn live_states(&self, ids: &[&str]) -> Result<HashMap<String, LiveState>> {
        let mut out = HashMap::new();
        for id in ids {
            let mut pipe = redis::pipe();
            pipe.cmd("HMGET")
                .arg(state_key(id))
                .arg(&["bcast", "last_ms", "target", "init", "init_n"]);
            let (f,): (Vec<Option<String>>,) = self.query(&pipe).await?;
            let text = |i: usize| f.get(i).cloned().flatten();
            out.insert(
                (*id).to_owned(),
                LiveState {
                    broadcast: text(0).unwrap_or_default(),
                    last_ms: text(1).and_then(|v| v.parse().ok()).unwrap_or_default(),
                    target: text(2).and_then(|v| v.parse().ok()).unwrap_or_default(),
                    init: text(3)
                        .filter(|v| !v.is_empty())
                        .map(|o| (o, text(4).and_then(|n| n.parse().ok()).unwrap_or(0))),
                },
            );
        }
        Ok(out)
    }

    /// A segment arrived whole and is stored: listed at once if a
    /// playlist named it, else when one does (an initialisation segment
    /// is the broadcast's at once).
    pub async fn segment_arrived(
        &self,
        camera: &str,
        name: &str,
        object: &str,
        kind: &str,
        size: u64,
        now: DateTime<Utc>,
    ) -> Result<Listing> {
        let mut pipe = redis::pipe();
        if kind == "mp4" {
            pipe.cmd("HSET")
                .arg(state_key(camera))
                .arg("init")
                .arg(object)
                .arg("init_n")
                .arg(size)
                .ignore();
            self.query::<()>(&pipe).await?;
            return Ok(Listing {
                started: false,
                ended: None,
            });
        }
        let segment = serde_json::json!({"obj": object, "k": kind, "n": size,
            "put": now.timestamp_millis()})
        .to_string();
        Arrive {
            camera,
            name,
            segment: &segment,
            now,
        }
        .push(&mut pipe);
        let (v,): (Vec<RedisValue>,) = self.query(&pipe).await?;
        Ok(Listing::read(&v))
    }

    /// Lists the segments a camera's playlist names (in its order, each
    /// with its duration) that have arrived; starts a broadcast with the
    /// first, ends it at `#EXT-X-ENDLIST`.
    pub async fn list_segments(
        &self,
        camera: &str,
        named: &[(String, f64)],
        target: u64,
        end_list: bool,
        now: DateTime<Utc>,
    ) -> Result<Listing> {
        let mut pipe = redis::pipe();
        LiveList {
            camera,
            now,
            target,
            end_list,
            named,
        }
        .push(&mut pipe);
        let (v,): (Vec<RedisValue>,) = self.query(&pipe).await?;
        Ok(Listing::read(&v))
    }

    /// Counts a segment of `size` bytes against its camera's cap for the
    /// current window; answers whether it fits.
    pub async fn within_rate(&self, camera: &str, size: u64, now: DateTime<Utc>) -> Result<bool> {
        use crate::domain::camera::{RATE_BYTES, RATE_SEGMENTS, RATE_WINDOW_SECS};
        let window = now.timestamp() as u64 / RATE_WINDOW_SECS;
        let key = format!("vp:{{cam:{camera}}}:rate:{window}");
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HINCRBY")
            .arg(&key)
            .arg("n")
            .arg(1)
            .cmd("HINCRBY")
            .arg(&key)
            .arg("bytes")
            .arg(size)
            .cmd("EXPIRE")
            .arg(&key)
            .arg(RATE_WINDOW_SECS * 2)
            .ignore();
        let (n, bytes): (u64, u64) = self.query(&pipe).await?;
        Ok(n <= RATE_SEGMENTS && bytes <= RATE_BYTES)
    }

    /// The segments listed for a camera, oldest first.
    pub async fn listed(&self, camera: &str) -> Result<Vec<Listed>> {
        let mut pipe = redis::pipe();
        pipe.cmd("LRANGE").arg(segments_key(camera)).arg(0).arg(-1);
        let (all,): (Vec<String>,) = self.query(&pipe).await?;
        Ok(all
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }
}

impl Store {
    /// The cameras that show a car now, with whether each is live, as the
    /// public view lists them (`base`: where its link plays them).
    pub async fn camera_views(
        &self,
        order: &OrderState,
        base: &str,
        now: DateTime<Utc>,
    ) -> Result<Value> {
        let mut watched = Vec::new();
        if let Some(t) = &order.truck_id {
            watched.push(Watches::Truck {
                carrier_id: order.carrier_id.to_string(),
                truck_id: t.to_string(),
            });
        }
        if let Some(s) = &order.site {
            watched.push(Watches::Site {
                site_id: s.site_id.clone(),
            });
        }
        let mut cameras = Vec::new();
        for w in &watched {
            cameras.extend(
                self.cameras_watching(w)
                    .await?
                    .into_iter()
                    .filter(|c| c.shows(order)),
            );
        }
        let ids: Vec<&str> = cameras.iter().map(|c| c.camera_id.as_str()).collect();
        let states = self.live_states(&ids).await?;
        Ok(cameras
            .iter()
            .map(|c| {
                let live = states.get(&c.camera_id).is_some_and(|s| s.live(now));
                serde_json::json!({"camera_id": c.camera_id, "kind": c.kind(), "live": live,
                    "url": format!("{base}{}/live.m3u8", c.camera_id)})
            })
            .collect())
    }
}

/// Cameras with a broadcast on (the watch ends those gone silent).
const ON_AIR: &str = "vp:cams:on";

impl Store {
    /// A camera went live or off: each car it shows is told (its history
    /// and live: `live` on its customer's socket, the fleet and webhooks).
    /// Returns the orders told.
    pub async fn announce_camera(
        &self,
        camera: &Camera,
        live: bool,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut pipe = redis::pipe();
        pipe.cmd(if live { "SADD" } else { "SREM" })
            .arg(ON_AIR)
            .arg(&camera.camera_id)
            .ignore();
        self.query::<()>(&pipe).await?;
        let shown: Vec<OrderState> = match &camera.watches {
            Watches::Truck {
                carrier_id,
                truck_id,
            } => {
                let (Ok(c), Ok(t)) = (
                    crate::domain::CarrierId::parse(carrier_id),
                    crate::domain::TruckId::parse(truck_id),
                ) else {
                    return Ok(0);
                };
                let mut out = Vec::new();
                for id in self.orders_on_truck(&c, &t).await?.unwrap_or_default() {
                    if let Ok(id) = crate::domain::OrderId::parse(&id)
                        && let Some(o) = self.order(&id).await?
                    {
                        out.push(o);
                    }
                }
                out
            }
            // Cars are not indexed by site: the active ones are read (a
            // camera goes on or off a few times a day).
            Watches::Site { .. } => self.active_orders().await?,
        };
        let record = live_record(camera, live, now);
        let mut told = Vec::new();
        for o in shown.iter().filter(|o| camera.shows(o)) {
            let mut pipe = redis::pipe();
            TellLive {
                order: o.order_id.as_str(),
                record: &record,
            }
            .push(&mut pipe);
            self.query::<()>(&pipe).await?;
            told.push(o.order_id.to_string());
        }
        // The cars in view at either end of a broadcast have its recording.
        if !told.is_empty() {
            let mut pipe = redis::pipe();
            pipe.cmd("SADD")
                .arg(cars_key(&camera.camera_id))
                .arg(&told)
                .ignore();
            self.query::<()>(&pipe).await?;
        }
        Ok(told.len())
    }

    /// A car just loaded onto a truck: each camera of the truck on air
    /// tells it (a `live` event), and the car joins the broadcast's
    /// recording.
    pub async fn tell_if_on_air(
        &self,
        order: &str,
        carrier: &str,
        truck: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let cameras = self
            .cameras_watching(&Watches::Truck {
                carrier_id: carrier.to_owned(),
                truck_id: truck.to_owned(),
            })
            .await?;
        if cameras.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = cameras.iter().map(|c| c.camera_id.as_str()).collect();
        let states = self.live_states(&ids).await?;
        for c in &cameras {
            if !states.get(&c.camera_id).is_some_and(|s| s.live(now)) {
                continue;
            }
            let record = live_record(c, true, now);
            let mut pipe = redis::pipe();
            TellLive {
                order,
                record: &record,
            }
            .push(&mut pipe);
            pipe.cmd("SADD")
                .arg(cars_key(&c.camera_id))
                .arg(order)
                .ignore();
            self.query::<()>(&pipe).await?;
        }
        Ok(())
    }

    /// The segments of an ended broadcast, taken for its recording, and
    /// the cars it showed (both forgotten here).
    pub async fn take_recording(
        &self,
        camera: &str,
        broadcast: &str,
    ) -> Result<(Vec<Listed>, Vec<String>)> {
        let mut pipe = redis::pipe();
        TakeRecording { camera, broadcast }.push(&mut pipe);
        pipe.cmd("SMEMBERS").arg(cars_key(camera));
        pipe.cmd("DEL").arg(cars_key(camera)).ignore();
        let (taken, mut cars): (Vec<String>, Vec<String>) = self.query(&pipe).await?;
        cars.sort();
        Ok((
            taken
                .iter()
                .filter_map(|j| serde_json::from_str(j).ok())
                .collect(),
            cars,
        ))
    }

    /// Ends the broadcasts gone silent for 3 target durations, telling
    /// their cars; returns each camera with the broadcast it ended.
    pub async fn quiet_cameras(&self, now: DateTime<Utc>) -> Result<Vec<(Camera, String)>> {
        let mut pipe = redis::pipe();
        pipe.cmd("SMEMBERS").arg(ON_AIR);
        let (on,): (Vec<String>,) = self.query(&pipe).await?;
        let mut ended = Vec::new();
        for id in on {
            let mut pipe = redis::pipe();
            QuietCamera { camera: &id, now }.push(&mut pipe);
            let (quiet,): (String,) = self.query(&pipe).await?;
            match self.camera(&id).await? {
                Some(c) if !quiet.is_empty() => {
                    self.announce_camera(&c, false, now).await?;
                    ended.push((c, quiet));
                }
                Some(_)
                    if self
                        .live_states(&[&id])
                        .await?
                        .get(&id)
                        .is_some_and(|s| !s.broadcast.is_empty()) => {}
                // Ended by its playlist meanwhile, or unregistered.
                _ => {
                    let mut pipe = redis::pipe();
                    pipe.cmd("SREM").arg(ON_AIR).arg(&id).ignore();
                    self.query::<()>(&pipe).await?;
                }
            }
        }
        Ok(ended)
    }
}

/// The history entry of a camera going live or off for a car.
fn live_record(camera: &Camera, live: bool, now: DateTime<Utc>) -> String {
    serde_json::json!({
        "event_id": format!("live-{}-{}", camera.camera_id, now.timestamp_millis()),
        "kind": "live",
        "camera_id": camera.camera_id,
        "camera_kind": camera.kind(),
        "live": live,
        "occurred_at": crate::domain::utc(now),
        "received_at": crate::domain::utc(now),
    })
    .to_string()
}
