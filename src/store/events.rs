//! Applying carrier events (and the API's cancel) to orders and trucks.
//!
//! A request's events are sorted by `occurred_at` and applied in segments:
//! each segment is one pipelined round trip of Redis functions (one per
//! event, each atomic on its order's or truck's slot), followed, only when
//! needed, by a second round trip that binds cars to trucks and carries
//! truck fixes to every car on board. A truck fix that follows a scan
//! starts a new segment, so it sees the bindings that scan made.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use redis::Value;

use super::trucks::Followup;
use super::{Result, Store, StoreError, keys};
use crate::domain::{
    CarrierEvent, CarrierId, EventBody, EventRejection, Milestone, OrderId, PositionReport,
    Verdict, utc,
};

/// How vinpath judged one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Outcome {
    fn new(status: &'static str, code: Option<String>) -> Self {
        Self {
            status,
            code,
            message: None,
        }
    }

    pub fn rejected(r: EventRejection) -> Self {
        Self {
            status: "rejected",
            code: Some(r.code.to_owned()),
            message: Some(r.message),
        }
    }
}

/// What an order function answered.
pub(super) struct Applied {
    pub status: String,
    pub code: String,
    /// The order's milestone after the event, and before it.
    pub milestone: String,
    pub previous: String,
    pub truck: String,
    pub old_truck: String,
    pub message: String,
    /// When the car was put on its current truck (ms).
    pub since: i64,
    /// When it had been put on the truck it just left (ms).
    pub old_since: i64,
}

pub(super) fn text(v: &Value) -> String {
    redis::from_redis_value_ref::<String>(v).unwrap_or_default()
}

pub(super) fn applied(v: Value) -> Result<Applied> {
    match v {
        Value::Array(items) => {
            let at = |i: usize| items.get(i).map(text).unwrap_or_default();
            Ok(Applied {
                status: at(0),
                code: at(1),
                milestone: at(2),
                previous: at(9),
                truck: at(3),
                old_truck: at(5),
                message: at(6),
                since: at(7).parse().unwrap_or(0),
                old_since: at(8).parse().unwrap_or(0),
            })
        }
        Value::ServerError(e) => Err(StoreError::Redis(e.into())),
        other => Err(StoreError::Corrupt(format!(
            "unexpected function answer {other:?}"
        ))),
    }
}

pub(super) fn status(s: &str) -> Result<&'static str> {
    Ok(match s {
        "accepted" => "accepted",
        "duplicate" => "duplicate",
        "filtered" => "filtered",
        "stale" => "stale",
        "rejected" => "rejected",
        other => return Err(StoreError::Corrupt(format!("unknown status {other}"))),
    })
}

pub(super) fn outcome(a: &Applied) -> Result<Outcome> {
    let mut o = Outcome::new(status(&a.status)?, None);
    if a.status != "accepted" && !a.code.is_empty() {
        o.code = Some(a.code.clone());
    }
    if !a.message.is_empty() {
        o.message = Some(a.message.clone());
    }
    Ok(o)
}

/// Verdict letters of a scan to `to`: by current milestone, and from
/// `on_hold` by the milestone it was held from.
pub(super) fn verdicts(to: Milestone) -> (String, String) {
    let by_current = Milestone::ALL
        .iter()
        .map(|&from| Milestone::judge(from, None, to).letter())
        .collect();
    let from_hold = Milestone::ALL
        .iter()
        .map(|&h| Milestone::judge(Milestone::OnHold, Some(h), to).letter())
        .collect();
    (by_current, from_hold)
}

pub(super) fn position_json(
    lat: f64,
    lon: f64,
    at: DateTime<Utc>,
    speed: Option<f64>,
    heading: Option<f64>,
) -> String {
    let p = PositionReport {
        lat,
        lon,
        at: utc(at),
        speed_kmh: speed,
        heading,
    };
    serde_json::to_string(&p).unwrap_or_default()
}

/// Which dedupe bucket a time falls in.
fn bucket(store: &Store, t: DateTime<Utc>) -> i64 {
    let span = 86_400 * i64::from(store.options().dedupe_days.max(1));
    t.timestamp().div_euclid(span)
}

/// The frame every order function call shares.
pub(super) struct Call<'a> {
    pub store: &'a Store,
    pub carrier: &'a CarrierId,
    pub received_at: DateTime<Utc>,
    /// The dedupe bucket of this call's time (buckets are `dedupe_days` long).
    pub bucket: i64,
}

impl Call<'_> {
    /// The dedupe sets to check, newest first: this bucket and the one
    /// before, so an id is remembered at least one bucket (`dedupe_days`).
    pub fn seen_keys(&self, key: impl Fn(i64) -> String) -> Vec<String> {
        vec![key(self.bucket), key(self.bucket - 1)]
    }

    /// A set lives through its bucket and the next, and a day more.
    pub fn ttl(&self) -> i64 {
        (2 * i64::from(self.store.options().dedupe_days) + 1) * 86_400
    }

    pub fn member(&self, e: &CarrierEvent) -> String {
        format!("{}|{}", self.carrier, e.event_id.as_str())
    }

    /// Adds `vinpath2_apply` for one order.
    pub fn push_apply(&self, pipe: &mut redis::Pipeline, a: Apply<'_>) {
        let keys = keys::order_apply(a.order, &[self.bucket, self.bucket - 1]);
        pipe.cmd("FCALL")
            .arg("vinpath2_apply")
            .arg(keys.len())
            .arg(&keys);
        pipe.arg(a.kind)
            .arg(a.carrier)
            .arg(a.member)
            .arg(a.at.timestamp_millis())
            .arg(self.received_at.timestamp_millis())
            .arg(a.noise)
            .arg(a.record)
            .arg(self.store.options().history_limit)
            .arg(self.ttl())
            .arg(keys::LIVE_CHANNEL)
            .arg(a.tail);
    }
}

/// The arguments of one `vinpath2_apply` call (see the Lua library).
pub(super) struct Apply<'a> {
    pub order: &'a OrderId,
    /// `scan`, `fix` or `cancel`.
    pub kind: &'a str,
    /// The carrier the order must belong to; empty: any.
    pub carrier: &'a str,
    /// The dedupe member; empty: none.
    pub member: &'a str,
    pub at: DateTime<Utc>,
    pub noise: &'a str,
    pub record: &'a str,
    /// The kind's own arguments.
    pub tail: &'a [&'a str],
}

impl Store {
    /// Judges and applies a carrier's batch; one outcome per event, in the
    /// order given.
    pub async fn ingest(
        &self,
        carrier: &CarrierId,
        events: Vec<std::result::Result<CarrierEvent, EventRejection>>,
        received_at: DateTime<Utc>,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
        let mut valid: Vec<(usize, CarrierEvent)> = Vec::new();
        for (i, e) in events.into_iter().enumerate() {
            match e {
                Ok(e) => valid.push((i, e)),
                Err(r) => outcomes[i] = Some(Outcome::rejected(r)),
            }
        }
        valid.sort_by_key(|(_, e)| e.occurred_at);
        let call = Call {
            store: self,
            carrier,
            received_at,
            bucket: bucket(self, received_at),
        };
        // A segment is a run of scans or a run of fixes: fixes must see the
        // bindings earlier scans made, and scans come after older fixes.
        let mut start = 0;
        while start < valid.len() {
            let scans = matches!(valid[start].1.body, EventBody::Scan(_));
            let end = valid[start..]
                .iter()
                .position(|(_, e)| matches!(e.body, EventBody::Scan(_)) != scans)
                .map_or(valid.len(), |n| start + n);
            if scans {
                self.apply_scans(&call, &valid[start..end], &mut outcomes)
                    .await?;
            } else {
                self.apply_fix_segment(&call, &valid[start..end], &mut outcomes)
                    .await?;
            }
            start = end;
        }
        outcomes
            .into_iter()
            .map(|o| {
                let o =
                    o.ok_or_else(|| StoreError::Corrupt("an event was left unjudged".into()))?;
                metrics::counter!("vinpath_events_total", "status" => o.status).increment(1);
                Ok(o)
            })
            .collect()
    }

    /// Applies a run of scans, then binds and unbinds the cars they moved.
    async fn apply_scans(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<()> {
        // Scans at a site show the car there, placed from this instance's
        // copy of the sites; the same round trip reads the sites' version,
        // and a changed version refreshes the copy for what follows.
        let at_sites = segment
            .iter()
            .any(|(_, e)| matches!(&e.body, EventBody::Scan(s) if s.site_id.is_some()));
        let sites = self.cached_sites();
        let mut pipe = redis::pipe();
        for (_, e) in segment {
            let EventBody::Scan(s) = &e.body else {
                continue;
            };
            let record = e.record(call.received_at).to_string();
            let member = call.member(e);
            let (by_current, from_hold) = verdicts(s.milestone);
            let pos = s
                .position
                .map(|p| position_json(p.lat, p.lon, e.occurred_at, None, None))
                .unwrap_or_default();
            let truck = s.truck_id.as_ref().map(|t| t.as_str()).unwrap_or("");
            let vin = s.vin.as_ref().map(|v| v.as_str()).unwrap_or("");
            // A scan at a known site shows the car there; leaving for the
            // road shows it wherever its fixes say.
            let site = match (&s.site_id, s.milestone) {
                (
                    _,
                    Milestone::Loaded
                    | Milestone::InTransit
                    | Milestone::OutForDelivery
                    | Milestone::Delivered,
                ) => "-".to_owned(),
                (Some(id), _) => {
                    super::geo_plan::site_json(&sites, Some(id.as_str()), e.occurred_at)
                }
                (None, _) => String::new(),
            };
            let tail = [
                s.milestone.as_str(),
                &by_current,
                &from_hold,
                truck,
                &pos,
                vin,
                &site,
            ];
            call.push_apply(
                &mut pipe,
                Apply {
                    order: &s.order_id,
                    kind: "scan",
                    carrier: call.carrier.as_str(),
                    member: &member,
                    at: e.occurred_at,
                    noise: "",
                    record: &record,
                    tail: &tail,
                },
            );
        }
        if at_sites {
            pipe.cmd("GET").arg(keys::SITES_VERSION);
        }
        let mut values = self.query_each(&mut pipe).await?;
        // The copy was out of date (a site created on another instance):
        // refresh it and place the cars these scans left unplaced.
        let mut placed_late = Vec::new();
        if at_sites && let Some(v) = values.pop() {
            let version = redis::from_redis_value::<Option<i64>>(v)
                .ok()
                .flatten()
                .unwrap_or(0);
            let fresh = self.sites_at(version).await?;
            if !Arc::ptr_eq(&fresh, &sites) {
                for (_, e) in segment {
                    if let EventBody::Scan(s) = &e.body
                        && let Some(id) = &s.site_id
                        && !sites.iter().any(|x| x.site.id == id.as_str())
                    {
                        let json =
                            super::geo_plan::site_json(&fresh, Some(id.as_str()), e.occurred_at);
                        if !json.is_empty() {
                            placed_late.push((s.order_id.clone(), json));
                        }
                    }
                }
            }
        }
        let mut followups = Vec::new();
        for ((i, e), v) in segment.iter().zip(values) {
            let EventBody::Scan(s) = &e.body else {
                continue;
            };
            let a = applied(v)?;
            match a.status.as_str() {
                "accepted" if a.old_truck != a.truck => followups.push(Followup::Bind {
                    order: s.order_id.to_string(),
                    old: (!a.old_truck.is_empty()).then(|| (a.old_truck.clone(), a.old_since)),
                    new: (!a.truck.is_empty()).then(|| (a.truck.clone(), a.since)),
                }),
                // A retry after a failure between the two round trips:
                // make sure the binding the order names exists.
                "duplicate" if !a.truck.is_empty() => followups.push(Followup::Bind {
                    order: s.order_id.to_string(),
                    old: None,
                    new: Some((a.truck.clone(), a.since)),
                }),
                _ => {}
            }
            if a.status == "accepted" && a.previous != a.milestone {
                let left_transit = a.previous == Milestone::InTransit.as_str();
                let milestone = Milestone::parse(&a.milestone);
                // Stops and silence matter only in transit; lateness and
                // the route only until the car is delivered or cancelled.
                let ended: &[&str] = match milestone {
                    Some(m) if m.is_final() => &["stationary", "no_signal", "off_route", "late"],
                    Some(_) if left_transit => &["stationary", "no_signal"],
                    _ => &[],
                };
                if !ended.is_empty() {
                    followups.push(Followup::ClearAlerts {
                        order: s.order_id.to_string(),
                        kinds: ended,
                    });
                }
            }
            if a.status == "accepted"
                && let Some((_, json)) = placed_late.iter().find(|(o, _)| *o == s.order_id)
            {
                followups.push(Followup::PlaceAtSite {
                    order: s.order_id.to_string(),
                    site: json.clone(),
                });
            }
            outcomes[*i] = Some(outcome(&a)?);
        }
        self.follow_up(call, followups).await
    }

    /// Cancels an order (the sales system's act). `None` if it does not
    /// exist; otherwise the outcome (`rejected` once delivered).
    pub async fn cancel_order(
        &self,
        order: &OrderId,
        now: DateTime<Utc>,
    ) -> Result<Option<Outcome>> {
        let carrier = CarrierId::parse("api").map_err(StoreError::Corrupt)?;
        let call = Call {
            store: self,
            carrier: &carrier,
            received_at: now,
            bucket: bucket(self, now),
        };
        let by_current: String = Milestone::ALL
            .iter()
            .map(|&m| {
                if Milestone::may_cancel(m) {
                    Verdict::Direct
                } else {
                    Verdict::Illegal
                }
                .letter()
            })
            .collect();
        let from_hold = Verdict::Direct
            .letter()
            .to_string()
            .repeat(Milestone::ALL.len());
        let record = serde_json::json!({
            "event_id": format!("cancel-{}", now.timestamp_millis()),
            "kind": "cancel",
            "milestone": "cancelled",
            "occurred_at": utc(now),
            "received_at": utc(now),
        })
        .to_string();
        let mut pipe = redis::pipe();
        let tail = ["cancelled", &by_current, &from_hold, "", "", "", "-"];
        call.push_apply(
            &mut pipe,
            Apply {
                order,
                kind: "cancel",
                carrier: "",
                member: "",
                at: now,
                noise: "",
                record: &record,
                tail: &tail,
            },
        );
        let values = self.query_each(&mut pipe).await?;
        let a = applied(values.into_iter().next().unwrap_or(Value::Nil))?;
        if a.code == "unknown_order" {
            return Ok(None);
        }
        if a.status == "accepted" {
            let mut pipe = redis::pipe();
            super::trucks::clear_alerts(
                &mut pipe,
                order.as_str(),
                &["stationary", "no_signal", "off_route", "late"],
            );
            // The car's truck is named by its carrier: find it on the order.
            if !a.old_truck.is_empty()
                && let Some(state) = self.order(order).await?
            {
                let name = format!("{}/{}", state.carrier_id, a.old_truck);
                super::trucks::unbind(&mut pipe, &name, order.as_str(), a.old_since);
            }
            let () = self.query(&pipe).await?;
        }
        Ok(Some(outcome(&a)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lua_milestone_index_matches_the_domain() {
        let lua = include_str!("lua/vinpath.lua");
        let flat: String = lua.split_whitespace().collect::<Vec<_>>().join(" ");
        let pairs: Vec<String> = Milestone::ALL
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{} = {}", m.as_str(), i + 1))
            .collect();
        assert!(flat.contains(&format!("local INDEX = {{{}}}", pairs.join(", "))));
    }

    #[test]
    fn verdict_letters_follow_milestone_order() {
        let (by_current, from_hold) = verdicts(Milestone::Loaded);
        assert_eq!(by_current.len(), 16);
        assert_eq!(&by_current[2..4], "DS");
        assert_eq!(from_hold.chars().nth(2), Some('D'));
    }
}
