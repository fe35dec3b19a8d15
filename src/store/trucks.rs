//! The second round trip of a run of scans: cars bound to and unbound from
//! trucks.
//!
//! A truck's cars are a sorted set scored by when each was loaded, so a
//! removal about an older loading never undoes a newer one, whichever
//! instance gets there first. Every step is idempotent: a retried request
//! (answered `duplicate`) repairs what a failure between the two round
//! trips left undone.

use redis::Pipeline;

use super::events::Call;
use super::{Result, Store, keys};

/// Work left for the second round trip of a segment.
pub(super) enum Followup {
    /// A scan's answer: take the car off `old`, put it on `new` (truck
    /// and loading time, ms).
    Bind {
        order: String,
        old: Option<(String, i64)>,
        new: Option<(String, i64)>,
    },
    /// A scan named a site this instance had not heard of yet.
    PlaceAtSite { order: String, site: String },
    /// A scan took the car out of what these alerts are about.
    ClearAlerts {
        order: String,
        kinds: &'static [&'static str],
    },
}

/// Adds the removal of `order` from truck `name`, unless it was loaded
/// onto it again after `upto` (ms).
pub(super) fn unbind(pipe: &mut Pipeline, name: &str, order: &str, upto: i64) {
    pipe.cmd("FCALL")
        .arg("vinpath2_unbind")
        .arg(1)
        .arg(keys::truck_orders(name))
        .arg(order)
        .arg(upto)
        .ignore();
}

/// Adds the clearing of an order's alerts of these kinds (each announced
/// once, if it was open).
pub(super) fn clear_alerts(pipe: &mut Pipeline, order: &str, kinds: &[&str]) {
    for kind in kinds {
        pipe.cmd("FCALL")
            .arg("vinpath2_alert")
            .arg(1)
            .arg(keys::ALERTS)
            .arg("clear")
            .arg(format!("{kind}:{order}"))
            .arg("")
            .arg(keys::LIVE_CHANNEL)
            .ignore();
    }
}

fn bind(pipe: &mut Pipeline, carrier: &str, name: &str, order: &str, since: i64) {
    pipe.cmd("ZADD")
        .arg(keys::truck_orders(name))
        .arg("GT")
        .arg(since)
        .arg(order)
        .ignore();
    pipe.cmd("HSETNX")
        .arg(keys::truck(name))
        .arg("carrier_id")
        .arg(carrier)
        .ignore();
    pipe.cmd("SADD").arg(keys::TRUCKS).arg(name).ignore();
}

impl Store {
    /// Binds and unbinds cars as their scans said.
    pub(super) async fn follow_up(&self, call: &Call<'_>, followups: Vec<Followup>) -> Result<()> {
        if followups.is_empty() {
            return Ok(());
        }
        let carrier = call.carrier.as_str();
        let mut pipe = redis::pipe();
        for f in followups {
            match f {
                Followup::Bind { order, old, new } => {
                    if let Some((truck, since)) = old {
                        unbind(&mut pipe, &format!("{carrier}/{truck}"), &order, since);
                    }
                    if let Some((truck, since)) = new {
                        bind(
                            &mut pipe,
                            carrier,
                            &format!("{carrier}/{truck}"),
                            &order,
                            since,
                        );
                    }
                }
                Followup::ClearAlerts { order, kinds } => clear_alerts(&mut pipe, &order, kinds),
                Followup::PlaceAtSite { order, site } => {
                    pipe.cmd("HSET")
                        .arg(keys::order(order.as_str()))
                        .arg("site")
                        .arg(site)
                        .ignore();
                }
            }
        }
        let () = self.query(&pipe).await?;
        Ok(())
    }
}
