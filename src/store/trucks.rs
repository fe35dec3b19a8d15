//! The second round trip of an ingest segment: cars bound to and unbound
//! from trucks, and truck fixes carried to every car on board.
//!
//! A truck's cars are a sorted set scored by when each was loaded, so a
//! removal about an older loading never undoes a newer one, whichever
//! instance gets there first. Every step is idempotent: a retried request
//! (answered `duplicate`) repairs what a failure between the two round
//! trips left undone.

use redis::Pipeline;

use super::events::{Apply, Call, applied, position_json};
use super::{Result, Store, keys};
use crate::domain::{CarrierEvent, EventBody, OrderId};
use crate::geo::filter;

/// Work left for the second round trip of a segment.
pub(super) enum Followup {
    /// A scan's answer: take the car off `old`, put it on `new` (truck
    /// and loading time, ms).
    Bind {
        order: String,
        old: Option<(String, i64)>,
        new: Option<(String, i64)>,
    },
    /// A truck fix's answer: apply it to every car on board (as stale
    /// where the truck judged it so).
    Carry {
        index: usize,
        truck: String,
        orders: Vec<String>,
        stale: bool,
    },
}

/// Adds the removal of `order` from truck `name`, unless it was loaded
/// onto it again after `upto` (ms).
pub(super) fn unbind(pipe: &mut Pipeline, name: &str, order: &str, upto: i64) {
    pipe.cmd("FCALL")
        .arg("vinpath_unbind")
        .arg(1)
        .arg(keys::truck_orders(name))
        .arg(order)
        .arg(upto)
        .ignore();
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
    pub(super) async fn follow_up(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        records: &[String],
        followups: Vec<Followup>,
    ) -> Result<()> {
        if followups.is_empty() {
            return Ok(());
        }
        let carrier = call.carrier.as_str();
        let mut pipe = redis::pipe();
        let mut carried = Vec::new();
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
                Followup::Carry {
                    index,
                    truck,
                    orders,
                    stale,
                } => {
                    let e = &segment[index].1;
                    let EventBody::Fix(f) = &e.body else { continue };
                    let noise = filter::judge(f).map(|n| n.code()).unwrap_or("");
                    let pos = position_json(
                        f.position.lat,
                        f.position.lon,
                        e.occurred_at,
                        f.speed_kmh,
                        f.heading,
                    );
                    let member = call.member(e);
                    let stale = if stale { "1" } else { "" };
                    for o in orders {
                        let Ok(order) = OrderId::parse(&o) else {
                            continue;
                        };
                        call.push_apply(
                            &mut pipe,
                            Apply {
                                order: &order,
                                kind: "fix",
                                carrier,
                                member: &member,
                                at: e.occurred_at,
                                noise,
                                record: &records[index],
                                tail: &[&pos, &truck, stale],
                            },
                        );
                        carried.push((truck.clone(), o));
                    }
                }
            }
        }
        let values = self.query_each(&mut pipe).await?;
        // Cars a truck fix found no longer on board (or handed to another
        // carrier) leave its set now.
        let mut pipe = redis::pipe();
        let mut stray = false;
        for ((truck, order), v) in carried.iter().zip(values) {
            let a = applied(v)?;
            let name = format!("{carrier}/{truck}");
            if a.status == "skip" && a.truck != *truck {
                unbind(&mut pipe, &name, order, a.since - 1);
                stray = true;
            } else if a.code == "not_your_order" {
                unbind(&mut pipe, &name, order, i64::MAX);
                stray = true;
            }
        }
        if stray {
            let () = self.query(&pipe).await?;
        }
        Ok(())
    }
}
