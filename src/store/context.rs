//! The context GPS fixes are judged by: each vehicle's kept track around
//! its fixes, its geo memory, and the cars it moves with their routes and
//! open alerts. Each instance keeps a copy at the revision its own write
//! left; without one, it is read (`read`): one round trip, and a second for
//! trucks with cars on board.

mod read;

use std::sync::Arc;

use super::{Result, Store, StoreError, keys};
use crate::geo::pass::{CarContext, SiteInfo, VehicleGeo};
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
    /// Whether this copy holds every kept fix from `first_ms` on, so jumps
    /// around fixes from then are judged as a read would. Its kept fixes
    /// are a run in time; they hold all from their oldest on when the run
    /// ends at the vehicle's newest (a read around a late batch may not).
    pub fn covers(&self, first_ms: i64) -> bool {
        match (self.kept.first(), self.kept.last()) {
            (Some(oldest), Some(newest)) => oldest.at_ms <= first_ms && newest.at_ms >= self.pos_at,
            _ => self.pos_at == 0,
        }
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
            .map(|w| cache.get(&w.vehicle).filter(|c| c.covers(w.first_ms)))
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
}
