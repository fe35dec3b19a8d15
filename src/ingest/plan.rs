//! What a scan means, decided without I/O: the verdict letters the Redis
//! functions judge by, the alerts a milestone ends, where a scan places the
//! car, how an event is known for duplicates, and the words of every answer
//! a carrier's developer reads.

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::Scan;
use crate::domain::{
    AlertKind, CarrierEvent, EventBody, EventStatus, FixTarget, Milestone, Outcome, SiteId, utc,
};
use crate::geo::leg::{Leg, LoadingPlace};
use crate::geo::pass::SiteInfo;
use crate::store::functions::{ScanAnswer, SitePlacement, Status};

/// An event as history keeps it, and the digest of what it says (its
/// record before `received_at` is added): the same event sent again has
/// the same digest, an event id reused for another event has another.
pub fn record_and_digest(e: &CarrierEvent, received_at: DateTime<Utc>) -> (String, String) {
    let said = e.record_without_received().to_string();
    let hash = Sha256::digest(said.as_bytes());
    let digest = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
    (stamped(&said, received_at), digest)
}

/// A record (a JSON object) with `received_at` added.
fn stamped(said: &str, received_at: DateTime<Utc>) -> String {
    let body = said.strip_suffix('}').unwrap_or(said);
    let sep = if body.len() > 1 { "," } else { "" };
    format!("{body}{sep}\"received_at\":\"{}\"}}", utc(received_at))
}

/// The digest alone (tests; vinpath takes it with the record).
pub fn digest(e: &CarrierEvent) -> String {
    record_and_digest(e, DateTime::<Utc>::UNIX_EPOCH).1
}

/// What an event is about, in words: `order JD-1` or `truck YUE-A-12345`.
pub fn target(e: &CarrierEvent) -> String {
    match &e.body {
        EventBody::Scan(s) => format!("order {}", s.order_id),
        EventBody::Fix(f) => match &f.target {
            FixTarget::Order(o) => format!("order {o}"),
            FixTarget::Truck(t) => format!("truck {t}"),
        },
    }
}

/// The letters a scan to `to` is judged by in Redis, one per milestone of
/// `Milestone::ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanLetters {
    /// The verdict by the current milestone.
    pub by_current: String,
    /// The verdict from `on_hold`, by the milestone it was held from.
    pub from_hold: String,
    /// `1` where reaching `to` from that milestone ends alerts.
    pub ends_alerts: String,
}

pub fn scan_letters(to: Milestone) -> ScanLetters {
    let each = |f: &dyn Fn(Milestone) -> char| Milestone::ALL.iter().map(|&m| f(m)).collect();
    ScanLetters {
        by_current: each(&|from| Milestone::judge(from, None, to).letter()),
        from_hold: each(&|held| Milestone::judge(Milestone::OnHold, Some(held), to).letter()),
        ends_alerts: each(&|from| {
            if alerts_ended(from, to).is_empty() {
                '0'
            } else {
                '1'
            }
        }),
    }
}

/// The alerts a car's move from `from` to `to` ends: stops and silence
/// matter only in transit; lateness and the route until the car is
/// delivered or cancelled.
pub fn alerts_ended(from: Milestone, to: Milestone) -> &'static [AlertKind] {
    if from == to {
        &[]
    } else if to.is_final() {
        &AlertKind::ALL
    } else if from == Milestone::InTransit {
        &[AlertKind::Stationary, AlertKind::NoSignal]
    } else {
        &[]
    }
}

/// Where a car inside a site is shown: the site, not the bay.
pub fn site_json(sites: &[SiteInfo], id: &str, at: DateTime<Utc>) -> Option<String> {
    sites.iter().find(|s| s.site.id == id).map(|s| {
        json!({"site_id": s.site.id, "lat": s.lat, "lon": s.lon, "at": utc(at)}).to_string()
    })
}

/// Where a scan places the car: a scan that puts it on the road takes it
/// out of any site; a scan at a known site shows it there.
pub fn site_placement(
    milestone: Milestone,
    site: Option<&SiteId>,
    sites: &[SiteInfo],
    at: DateTime<Utc>,
) -> SitePlacement {
    use Milestone::*;
    match (milestone, site) {
        (Loaded | InTransit | OutForDelivery | Delivered, _) => SitePlacement::Left,
        (_, Some(id)) => site_json(sites, id.as_str(), at)
            .map(SitePlacement::At)
            .unwrap_or(SitePlacement::Unchanged),
        (_, None) => SitePlacement::Unchanged,
    }
}

/// The leg a loading scan starts (JSON): loaded at the site it names, or
/// where it was scanned; with neither, the truck's first fix says. `None`
/// for any other scan.
pub fn loading_leg(s: &Scan, sites: &[SiteInfo]) -> Option<String> {
    if s.milestone != Milestone::Loaded {
        return None;
    }
    let known = s
        .site_id
        .as_ref()
        .filter(|id| sites.iter().any(|x| x.site.id == id.as_str()));
    let loaded_at = match (known, s.position) {
        (Some(id), _) => Some(LoadingPlace::Site(id.to_string())),
        (None, Some(p)) => Some(LoadingPlace::Point {
            lat: p.lat,
            lon: p.lon,
        }),
        (None, None) => None,
    };
    serde_json::to_string(&Leg {
        loaded_at,
        out_since: None,
    })
    .ok()
}

/// Where a scan was made, as the order keeps it, and the history entry of
/// that move (kind `position`, under the scan's event id).
pub fn scan_position(
    e: &CarrierEvent,
    p: crate::domain::Position,
    received_at: DateTime<Utc>,
) -> (String, String) {
    let at = utc(e.occurred_at);
    let pos = json!({"lat": p.lat, "lon": p.lon, "at": at, "speed_kmh": null, "heading": null});
    let rec = json!({"event_id": e.event_id, "kind": "position", "lat": p.lat, "lon": p.lon,
        "occurred_at": at, "received_at": utc(received_at)});
    (pos.to_string(), rec.to_string())
}

/// Where a fix places its vehicle, as the order (or truck) keeps it.
pub fn fix_position(e: &CarrierEvent, f: &crate::domain::Fix) -> String {
    json!({
        "lat": f.position.lat, "lon": f.position.lon, "at": utc(e.occurred_at),
        "speed_kmh": f.speed_kmh, "heading": f.heading,
    })
    .to_string()
}

/// The outcome of a scan, in words a carrier's developer can act on.
pub fn scan_outcome(a: &ScanAnswer, order: &str, to: Milestone, carrier: &str) -> Outcome {
    let current = a.milestone.as_deref().and_then(Milestone::parse);
    match a.status {
        // A gap shows in the order's history, not in the answer.
        Status::Event(EventStatus::Accepted) => Outcome::new(EventStatus::Accepted),
        Status::Event(EventStatus::Duplicate) => Outcome::new(EventStatus::Duplicate),
        Status::Event(EventStatus::Stale) => {
            let since = a
                .detail
                .as_deref()
                .and_then(|ms| ms.parse().ok())
                .and_then(DateTime::from_timestamp_millis)
                .map(utc)
                .unwrap_or_default();
            Outcome::new(EventStatus::Stale).with_message(format!(
                "order {order} already shows {} since {since}, later than this scan; the scan is kept in its history and moves nothing",
                current.map(Milestone::as_str).unwrap_or("?")
            ))
        }
        Status::Event(EventStatus::Rejected) | Status::Event(EventStatus::Filtered) => {
            rejected(a, order, to, current, carrier)
        }
        Status::Skip | Status::Retry => Outcome::new(EventStatus::Stale),
    }
}

fn rejected(
    a: &ScanAnswer,
    order: &str,
    to: Milestone,
    current: Option<Milestone>,
    carrier: &str,
) -> Outcome {
    let code = a.code.as_deref().unwrap_or("rejected");
    let message = match code {
        "unknown_order" => format!("there is no order {order}"),
        "not_your_order" => format!("order {order} is not assigned to carrier {carrier}"),
        "invalid_field" => format!(
            "vin does not match order {order}'s VIN {}",
            a.detail.as_deref().unwrap_or("?")
        ),
        "event_id_reused" => reused(a.detail.as_deref()),
        "illegal_transition" => illegal(order, to, current, a.detail.as_deref()),
        "handover_required" => format!(
            "order {order} is delivered only with the customer's handover_code, or with customer_not_available and photo_ids of where the car was left"
        ),
        "handover_code_mismatch" => mismatch(order, a.detail.as_deref()),
        other => other.to_owned(),
    };
    Outcome::rejected(code, message)
}

/// The `handover_code_mismatch` message: why the code does not open this
/// delivery.
fn mismatch(order: &str, detail: Option<&str>) -> String {
    use crate::domain::handover::MAX_TRIES;
    match detail {
        Some("locked") => format!(
            "order {order}'s handover code is locked after {MAX_TRIES} wrong tries; the customer can sign again for a new one, or record customer_not_available"
        ),
        Some("none") | None => format!(
            "order {order} has no handover code open for this delivery: the customer signs on their tracking page once the car is out for delivery"
        ),
        Some(n) => format!(
            "this is not the code the customer was given for order {order} (wrong try {n} of {MAX_TRIES})"
        ),
    }
}

/// The `event_id_reused` message: what the id named before.
pub fn reused(before: Option<&str>) -> String {
    format!(
        "this event_id was already used for another event ({}); give each event an id of its own",
        before.unwrap_or("other content")
    )
}

fn illegal(order: &str, to: Milestone, current: Option<Milestone>, held: Option<&str>) -> String {
    let Some(current) = current else {
        return format!("order {order} cannot move to {}", to.as_str());
    };
    if current.is_final() {
        return format!("order {order} is {}: no scan may follow", current.as_str());
    }
    let next: Vec<&str> = match (current, held.and_then(Milestone::parse)) {
        (Milestone::OnHold, Some(h)) => std::iter::once(h)
            .chain(h.next().iter().copied())
            .map(Milestone::as_str)
            .collect(),
        _ => current.next().iter().map(|m| m.as_str()).collect(),
    };
    // What a leg's milestones need first: a gap never hides a loading.
    let why = if matches!(
        to,
        Milestone::InTransit | Milestone::Arrived | Milestone::Unloaded
    ) && !matches!(
        current,
        Milestone::Loaded | Milestone::InTransit | Milestone::Arrived
    ) {
        " (a gap never hides a loading: scan loaded first)"
    } else {
        ""
    };
    format!(
        "order {order} is at {}; a scan may move it to {} (or further along, except past a loading), not to {}{why}",
        current.as_str(),
        next.join(", "),
        to.as_str()
    )
}

#[cfg(test)]
mod tests;
