//! An order recomputed from its history (pure): every entry that still
//! counts judged again, in the order vinpath recorded them, by the rules
//! that judged them the first time (the same `Milestone::judge`, the same
//! stale rule, the same placement of scans and fixes). A correction writes
//! what comes out.
//!
//! What is replayed: scans, geofence crossings, cancels, fixes, and the
//! ETAs and notices fixes concluded. A fix judged noise stays noise (its
//! verdict was against the neighbours it had then). What a fix concluded
//! beyond that (the vehicle's geofence memory, alerts) is not recomputed:
//! the next fix concludes afresh.

use std::collections::HashSet;

use chrono::DateTime;
use serde_json::{Map, Value, json};

use crate::domain::{CarrierEvent, EventBody, FixTarget, Milestone, Verdict};
use crate::geo::pass::SiteInfo;
use crate::ingest::plan;
use crate::store::functions::SitePlacement;
use crate::store::live_wire::Change;

/// One recorded history entry, as the replay reads it.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub status: &'a str,
    pub change: Option<Change>,
    pub record: &'a Map<String, Value>,
}

/// An order's state, as the functions keep it in its hash (times in ms,
/// places as the JSON the hash holds).
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub milestone: Milestone,
    pub m_at: i64,
    /// Scans older than this are stale.
    pub stale_at: i64,
    /// What an `on_hold` car was held from.
    pub held: Option<Milestone>,
    pub truck: Option<String>,
    pub truck_since: i64,
    pub pos: Option<String>,
    pub pos_at: i64,
    pub site: Option<String>,
    pub delivered_at: Option<i64>,
    /// The newest ETA a remaining fix concluded (`None`: none did).
    pub eta: Option<i64>,
    pub arriving: bool,
    /// The leg the newest loading started (JSON), if it was replayed.
    pub leg: Option<String>,
    /// The timeline, as its list keeps it (JSON entries).
    pub timeline: Vec<String>,
}

impl Replayed {
    /// An order as it was created.
    pub fn created(created_at_ms: i64) -> Self {
        Self {
            milestone: Milestone::Ordered,
            m_at: created_at_ms,
            stale_at: 0,
            held: None,
            truck: None,
            truck_since: 0,
            pos: None,
            pos_at: 0,
            site: None,
            delivered_at: None,
            eta: None,
            arriving: false,
            leg: None,
            timeline: vec![timeline_entry(Milestone::Ordered, created_at_ms, false)],
        }
    }
}

fn timeline_entry(m: Milestone, at: i64, gap: bool) -> String {
    json!({"milestone": m, "at": at, "gap": gap}).to_string()
}

/// Whether an entry is voided: its own event, or a conclusion of a voided
/// fix (a crossing, an ETA, a notice).
pub fn voided(record: &Map<String, Value>, voids: &HashSet<String>) -> bool {
    let named = |k: &str| record.get(k).and_then(Value::as_str);
    named("event_id").is_some_and(|id| voids.contains(id))
        || named("fix_event_id").is_some_and(|id| voids.contains(id))
}

/// Replays `entries` (oldest first) over an order created at
/// `created_at_ms`, leaving out the voided ones.
pub fn replay(
    created_at_ms: i64,
    entries: &[Entry<'_>],
    voids: &HashSet<String>,
    sites: &[SiteInfo],
) -> Replayed {
    let mut o = Replayed::created(created_at_ms);
    for e in entries {
        if voided(e.record, voids) {
            continue;
        }
        match e.record.get("kind").and_then(Value::as_str) {
            Some("scan") => scan(&mut o, e.record, sites),
            Some("geofence") => geofence(&mut o, e.record),
            Some("cancel") => cancel(&mut o, e.record),
            Some("gps") if e.status != "filtered" => fix(&mut o, e),
            Some("eta") => o.eta = time(e.record, "eta").or(o.eta),
            Some("notice") => o.arriving = true,
            // A scan's position is replayed with the scan; clips, notes
            // and corrections change no state.
            _ => {}
        }
    }
    o
}

fn time(record: &Map<String, Value>, key: &str) -> Option<i64> {
    let s = record.get(key)?.as_str()?;
    Some(DateTime::parse_from_rfc3339(s).ok()?.timestamp_millis())
}

/// A recorded carrier event parsed back (its record is its wire form),
/// judged as of when it was said to occur (it passed the clock check).
fn event(record: &Map<String, Value>) -> Option<CarrierEvent> {
    let at = DateTime::from_timestamp_millis(time(record, "occurred_at")?)?;
    CarrierEvent::parse(Value::Object(record.clone()), at).ok()
}

fn scan(o: &mut Replayed, record: &Map<String, Value>, sites: &[SiteInfo]) {
    let Some(e) = event(record) else { return };
    let EventBody::Scan(s) = &e.body else { return };
    let at = e.occurred_at.timestamp_millis();
    if !milestone(o, s.milestone, at, s.truck_id.as_ref().map(|t| t.as_str())) {
        return;
    }
    if let Some(leg) = plan::loading_leg(s, sites) {
        o.leg = Some(leg);
    }
    place(
        o,
        plan::site_placement(s.milestone, s.site_id.as_ref(), sites, e.occurred_at),
    );
    if let Some(p) = s.position
        && at >= o.pos_at
        && !o.milestone.is_final()
    {
        o.pos = Some(plan::scan_position(&e, p, e.occurred_at).0);
        o.pos_at = at;
    }
}

/// A crossing a fix implied: a scan of vinpath's own (where the car is
/// shown is the fix's to say).
fn geofence(o: &mut Replayed, record: &Map<String, Value>) {
    let to = record
        .get("milestone")
        .and_then(Value::as_str)
        .and_then(Milestone::parse);
    if let (Some(to), Some(at)) = (to, time(record, "occurred_at")) {
        milestone(o, to, at, None);
    }
}

fn cancel(o: &mut Replayed, record: &Map<String, Value>) {
    let at = time(record, "occurred_at").unwrap_or(o.m_at);
    if Milestone::may_cancel(o.milestone) {
        moved(o, Milestone::Cancelled, at, false, None);
        o.site = None;
    }
}

fn place(o: &mut Replayed, placement: SitePlacement) {
    match placement {
        SitePlacement::Left => o.site = None,
        SitePlacement::At(site) => o.site = Some(site),
        SitePlacement::Unchanged => {}
    }
}

/// A scan of `to` judged as the scan function judges it: stale when older
/// than the current milestone (kept in the timeline, moves nothing), else
/// by `Milestone::judge`. Whether it moved the car.
fn milestone(o: &mut Replayed, to: Milestone, at: i64, truck: Option<&str>) -> bool {
    if at < o.stale_at {
        if to != o.milestone {
            o.timeline.push(timeline_entry(to, at, false));
        }
        return false;
    }
    let verdict = Milestone::judge(o.milestone, o.held, to);
    if verdict == Verdict::Illegal {
        return false;
    }
    moved(o, to, at, verdict == Verdict::Gap, truck);
    true
}

/// The function's `move`: state, timeline, truck.
fn moved(o: &mut Replayed, to: Milestone, at: i64, gap: bool, truck: Option<&str>) {
    let from = o.milestone;
    if to != from {
        if to == Milestone::OnHold {
            o.held = Some(from);
        } else if from == Milestone::OnHold {
            o.held = None;
        }
        if to == Milestone::Delivered {
            o.delivered_at = Some(at);
        }
        o.milestone = to;
        o.m_at = at;
        o.stale_at = at;
        o.timeline.push(timeline_entry(to, at, gap));
    } else if at > o.stale_at {
        o.stale_at = at;
    }
    let mut new_truck = o.truck.clone();
    if to == Milestone::Loaded
        && let Some(t) = truck.filter(|t| !t.is_empty())
    {
        new_truck = Some(t.to_owned());
    }
    if !to.on_truck() {
        new_truck = None;
    }
    if new_truck != o.truck {
        o.truck = new_truck;
        o.truck_since = at;
    }
}

/// A fix that was applied or stale (never noise): the newest moves the
/// car, a truck's only while the car was aboard, none once it ended.
fn fix(o: &mut Replayed, e: &Entry<'_>) {
    let Some(ev) = event(e.record) else { return };
    let EventBody::Fix(f) = &ev.body else { return };
    let at = ev.occurred_at.timestamp_millis();
    if o.milestone.is_final() {
        return;
    }
    if let FixTarget::Truck(t) = &f.target
        && (o.truck.as_deref() != Some(t.as_str()) || at < o.truck_since)
    {
        return;
    }
    if at < o.pos_at {
        return;
    }
    o.pos = Some(plan::fix_position(&ev, f));
    o.pos_at = at;
    // A fix told as a position outside any site took the car out of one
    // (one told inside a site kept it there).
    if e.change == Some(Change::Position) {
        o.site = None;
    }
}

#[cfg(test)]
mod tests;
