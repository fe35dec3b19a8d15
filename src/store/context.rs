//! The context GPS fixes are judged by: each vehicle's kept track around
//! its fixes, its geo memory, and the cars it moves with their routes and
//! open alerts. One round trip, and a second for trucks with cars on board.

use std::sync::Arc;

use chrono::DateTime;
use redis::Value;

use super::{Result, Store, StoreError, keys};
use crate::domain::{AlertKind, Milestone, Place};
use crate::geo::pass::{CarContext, SiteInfo, VehicleGeo};
use crate::geo::route::Route;
use crate::geo::speed::TrackPoint;

/// What a fix locates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vehicle {
    /// A truck: `carrier/truck` as keys name it, and its own id.
    Truck { name: String, truck: String },
    /// A car with its own tracker.
    Order(String),
}

impl Vehicle {
    fn hash(&self) -> String {
        match self {
            Vehicle::Truck { name, .. } => keys::truck(name),
            Vehicle::Order(o) => keys::order(o),
        }
    }

    fn track(&self) -> String {
        match self {
            Vehicle::Truck { name, .. } => keys::truck_track(name),
            Vehicle::Order(o) => keys::order_track(o),
        }
    }

    /// How derived event ids name it.
    pub fn label(&self) -> &str {
        match self {
            Vehicle::Truck { name, .. } => name,
            Vehicle::Order(o) => o,
        }
    }
}

/// A fix as tracks keep it: `ms:lat:lon`.
pub fn track_member(p: &TrackPoint) -> String {
    format!("{}:{}:{}", p.at_ms, p.lat, p.lon)
}

fn parse_member(m: &str) -> Option<TrackPoint> {
    let mut it = m.splitn(3, ':');
    Some(TrackPoint {
        at_ms: it.next()?.parse().ok()?,
        lat: it.next()?.parse().ok()?,
        lon: it.next()?.parse().ok()?,
    })
}

fn points(v: Value) -> Result<Vec<TrackPoint>> {
    let members: Vec<String> =
        redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(format!("track: {e}")))?;
    members
        .iter()
        .map(|m| parse_member(m).ok_or_else(|| StoreError::Corrupt(format!("track member {m:?}"))))
        .collect()
}

/// The order fields a car's context is made of, in `car_context`'s order.
/// The ETA is the one the customer was last told: a change is measured
/// against it, so a slow drift is told once it adds up.
const CAR_FIELDS: [&str; 9] = [
    "m",
    "origin",
    "destination",
    "promised_by",
    "eta_told",
    "arriving",
    "pos_at",
    "rev",
    "leg",
];
/// A vehicle's own fields the geo pass starts from.
const VEHICLE_FIELDS: [&str; 3] = ["pos_at", "geo", "rev"];

fn push_car_reads(pipe: &mut redis::Pipeline, order: &str, first: &[&str]) {
    pipe.cmd("HMGET")
        .arg(keys::order(order))
        .arg(first)
        .arg(&CAR_FIELDS);
    pipe.cmd("GET").arg(keys::order_route(order));
    let ids: Vec<String> = AlertKind::ALL.iter().map(|k| k.id(order)).collect();
    pipe.cmd("HMGET").arg(keys::ALERTS).arg(ids);
}

/// A car's context and its revision; `None` for an order that is gone.
fn car_context(
    order: &str,
    fields: &[Option<String>],
    route: Value,
    alerts: Value,
) -> Result<Option<(CarContext, i64)>> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("order {order}: {what}"));
    let get = |i: usize| fields.get(i).cloned().flatten().filter(|v| !v.is_empty());
    let Some(m) = get(0) else { return Ok(None) };
    let place = |i: usize| -> Result<Place> {
        serde_json::from_str(&get(i).unwrap_or_default()).map_err(|_| corrupt(CAR_FIELDS[i]))
    };
    let ms = |i: usize| {
        get(i)
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
    };
    let origin = place(1)?;
    let destination = place(2)?;
    let route: Option<String> = redis::from_redis_value(route).map_err(|_| corrupt("route"))?;
    let planned = route
        .map(|r| serde_json::from_str::<Vec<[f64; 2]>>(&r).map_err(|_| corrupt("route")))
        .transpose()?
        .and_then(|coords| Route::new(coords.into_iter().map(|[lon, lat]| (lat, lon)).collect()));
    let route_planned = planned.is_some();
    let route = planned.unwrap_or_else(|| {
        Route::straight((origin.lat, origin.lon), (destination.lat, destination.lon))
    });
    let open: Vec<Option<String>> =
        redis::from_redis_value(alerts).map_err(|_| corrupt("alerts"))?;
    let rev = get(7).and_then(|r| r.parse().ok()).unwrap_or(0);
    let leg = match get(8) {
        Some(l) => serde_json::from_str(&l).map_err(|_| corrupt("leg"))?,
        None => Default::default(),
    };
    let car = CarContext {
        leg,
        order_id: order.to_owned(),
        milestone: Milestone::parse(&m).ok_or_else(|| corrupt("m"))?,
        route,
        route_planned,
        destination: (destination.lat, destination.lon),
        promised_by: ms(3),
        eta: ms(4),
        arriving_sent: get(5).is_some(),
        open: AlertKind::ALL
            .iter()
            .zip(open)
            .filter(|(_, o)| o.is_some())
            .map(|(k, _)| *k)
            .collect(),
    };
    Ok(Some((car, rev)))
}

/// One vehicle's context, at a revision.
#[derive(Debug, Clone)]
pub struct VehicleContext {
    pub vehicle: Vehicle,
    /// Kept fixes around the request's (up to two before and after).
    pub kept: Vec<TrackPoint>,
    /// Its newest applied fix (ms).
    pub pos_at: i64,
    pub geo: VehicleGeo,
    /// The truck's or the order's revision this was read at.
    pub rev: i64,
    pub cars: Vec<CarContext>,
    /// Each car's revision (for a car with its own tracker, `rev`).
    pub car_revs: Vec<i64>,
}

impl VehicleContext {
    /// The newest kept fix (ms), 0 for none.
    pub fn newest_kept(&self) -> i64 {
        self.kept.last().map_or(0, |p| p.at_ms)
    }
}

/// Each instance's copy of the vehicles' contexts, valid while their
/// revisions in Redis match (the apply functions check): a vehicle's next
/// fix needs no read in the steady state.
pub struct ContextCache(mini_moka::sync::Cache<Vehicle, Arc<VehicleContext>>);

impl Default for ContextCache {
    fn default() -> Self {
        Self(
            mini_moka::sync::Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(std::time::Duration::from_secs(15 * 60))
                .build(),
        )
    }
}

/// A vehicle to read, with the time span (ms) of its fixes in the request.
pub struct Wanted {
    pub vehicle: Vehicle,
    pub first_ms: i64,
    pub last_ms: i64,
}

fn fields(v: Value, what: &str) -> Result<Vec<Option<String>>> {
    redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl Store {
    /// Each vehicle's context, from this instance's copy where it holds
    /// one that covers the fixes (all newer than its kept track), read
    /// from Redis otherwise; and the sites they may be at.
    pub async fn fix_context(
        &self,
        wanted: &[Wanted],
    ) -> Result<(Vec<Arc<VehicleContext>>, Arc<Vec<SiteInfo>>)> {
        let cache = &self.inner.contexts.0;
        let cached: Vec<Option<Arc<VehicleContext>>> = wanted
            .iter()
            .map(|w| {
                cache
                    .get(&w.vehicle)
                    .filter(|c| c.newest_kept() < w.first_ms && c.pos_at < w.first_ms)
            })
            .collect();
        let missing: Vec<&Wanted> = wanted
            .iter()
            .zip(&cached)
            .filter(|(_, c)| c.is_none())
            .map(|(w, _)| w)
            .collect();
        if missing.is_empty() {
            return Ok((cached.into_iter().flatten().collect(), self.cached_sites()));
        }
        let (read, sites) = self.read_fix_context(&missing).await?;
        let mut read = read.into_iter();
        let all = cached
            .into_iter()
            .map(|c| c.or_else(|| read.next().map(Arc::new)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StoreError::Corrupt("a context went unread".into()))?;
        Ok((all, sites))
    }

    /// Keeps this instance's copy of a vehicle's context, as it stands
    /// after this instance's own write.
    pub fn keep_context(&self, c: VehicleContext) {
        self.inner.contexts.0.insert(c.vehicle.clone(), Arc::new(c));
    }

    /// Drops this instance's copy of a vehicle's context.
    pub fn forget_context(&self, v: &Vehicle) {
        self.inner.contexts.0.invalidate(v);
    }

    async fn read_fix_context(
        &self,
        wanted: &[&Wanted],
    ) -> Result<(Vec<VehicleContext>, Arc<Vec<SiteInfo>>)> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::SITES_VERSION);
        for w in wanted {
            let track = w.vehicle.track();
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(&track)
                .arg(format!("({}", w.first_ms))
                .arg("-inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(&track)
                .arg(w.first_ms)
                .arg(w.last_ms);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(&track)
                .arg(format!("({}", w.last_ms))
                .arg("+inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            match &w.vehicle {
                Vehicle::Truck { name, .. } => {
                    pipe.cmd("HMGET").arg(w.vehicle.hash()).arg(&VEHICLE_FIELDS);
                    pipe.cmd("ZRANGE")
                        .arg(keys::truck_orders(name))
                        .arg(0)
                        .arg(-1);
                }
                // A car's own fields and its context in one read.
                Vehicle::Order(o) => push_car_reads(&mut pipe, o, &VEHICLE_FIELDS),
            }
        }
        let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
        let mut next = || {
            values
                .next()
                .ok_or_else(|| StoreError::Corrupt("short context read".into()))
        };
        let version: Option<i64> = redis::from_redis_value(next()?)
            .map_err(|e| StoreError::Corrupt(format!("sites version: {e}")))?;
        let mut out = Vec::new();
        let mut members: Vec<(usize, String)> = Vec::new();
        for w in wanted {
            let mut kept = points(next()?)?;
            kept.reverse();
            kept.extend(points(next()?)?);
            kept.extend(points(next()?)?);
            kept.sort_by_key(|p| p.at_ms);
            let f = fields(next()?, "vehicle")?;
            let (own, rest) = f.split_at(VEHICLE_FIELDS.len().min(f.len()));
            let geo = match own.get(1).cloned().flatten() {
                Some(g) => serde_json::from_str(&g)
                    .map_err(|_| StoreError::Corrupt(format!("{}: geo", w.vehicle.label())))?,
                None => VehicleGeo::default(),
            };
            let number = |i: usize| {
                own.get(i)
                    .cloned()
                    .flatten()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0)
            };
            let mut c = VehicleContext {
                vehicle: w.vehicle.clone(),
                kept,
                pos_at: number(0),
                geo,
                rev: number(2),
                cars: Vec::new(),
                car_revs: Vec::new(),
            };
            match &w.vehicle {
                Vehicle::Truck { .. } => {
                    let on_board: Vec<String> = redis::from_redis_value(next()?)
                        .map_err(|e| StoreError::Corrupt(format!("cars on board: {e}")))?;
                    members.extend(on_board.into_iter().map(|o| (out.len(), o)));
                }
                Vehicle::Order(o) => {
                    let (r, a) = (next()?, next()?);
                    if let Some((car, rev)) = car_context(o, rest, r, a)? {
                        c.cars.push(car);
                        c.car_revs.push(rev);
                    }
                }
            }
            out.push(c);
        }
        // Round trip 2, for trucks with cars on board: the cars' context.
        if !members.is_empty() {
            let mut pipe = redis::pipe();
            for (_, o) in &members {
                push_car_reads(&mut pipe, o, &[]);
            }
            let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
            let mut next = || {
                values
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("short car read".into()))
            };
            for (i, o) in members {
                let (f, r, a) = (fields(next()?, "car")?, next()?, next()?);
                if let Some((car, rev)) = car_context(&o, &f, r, a)? {
                    out[i].cars.push(car);
                    out[i].car_revs.push(rev);
                }
            }
        }
        Ok((out, self.sites_at(version.unwrap_or(0)).await?))
    }
}
