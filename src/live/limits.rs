//! How many sockets one tracking link may hold open at once, across every
//! instance: a link is handed out by text message and may be forwarded, so
//! one link never ties up more than a few sockets. Each socket holds a seat
//! in Redis (a lease this instance renews while the socket lives); this
//! instance's own count answers the ninth without a round trip.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::{Store, StoreError};

/// Sockets at once per tracking link (the contract's limit).
pub const PER_LINK: usize = 8;

/// How long a seat lasts unless renewed: a dead instance's seats free
/// themselves within this.
pub const LEASE: Duration = Duration::from_secs(60);

/// The seats of this instance's open sockets, by link hash; cheap to clone.
#[derive(Clone)]
pub struct LinkSockets {
    open: Arc<Mutex<HashMap<String, HashSet<String>>>>,
    store: Store,
    instance: String,
    next: Arc<AtomicU64>,
}

/// One socket's seat under its link's limit, given back when dropped.
pub struct LinkSlot {
    sockets: LinkSockets,
    link: String,
    seat: String,
}

impl LinkSockets {
    pub fn new(store: Store) -> Self {
        Self {
            open: Arc::default(),
            store,
            instance: ulid::Ulid::generate().to_string(),
            next: Arc::default(),
        }
    }

    /// A seat for one more socket of `link`, unless it holds the most.
    pub async fn claim(&self, link: &str) -> Result<Option<LinkSlot>, StoreError> {
        if self.here(link) >= PER_LINK {
            return Ok(None);
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let seat = format!("{}:{n}", self.instance);
        if !self.store.take_seat(link, &seat, PER_LINK, LEASE).await? {
            return Ok(None);
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.entry(link.to_owned())
            .or_default()
            .insert(seat.clone());
        Ok(Some(LinkSlot {
            sockets: self.clone(),
            link: link.to_owned(),
            seat,
        }))
    }

    /// Sockets of `link` open on this instance.
    fn here(&self, link: &str) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(link).map_or(0, HashSet::len)
    }

    /// Renews the leases of this instance's seats, every third of a lease,
    /// for as long as the instance runs.
    pub async fn renew_forever(self) {
        let mut tick = tokio::time::interval(LEASE / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let seats: Vec<(String, String)> = {
                let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
                open.iter()
                    .flat_map(|(link, seats)| seats.iter().map(|s| (link.clone(), s.clone())))
                    .collect()
            };
            if let Err(e) = self.store.renew_seats(&seats, LEASE).await {
                tracing::debug!(error = ?e, "could not renew sockets' seats; will retry");
            }
        }
    }
}

impl Drop for LinkSlot {
    fn drop(&mut self) {
        {
            let mut open = self.sockets.open.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(seats) = open.get_mut(&self.link) {
                seats.remove(&self.seat);
                if seats.is_empty() {
                    open.remove(&self.link);
                }
            }
        }
        let (store, link, seat) = (
            self.sockets.store.clone(),
            std::mem::take(&mut self.link),
            std::mem::take(&mut self.seat),
        );
        // Given back at once; if Redis cannot be told now, the lease ends.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = store.free_seat(&link, &seat).await;
            });
        }
    }
}
