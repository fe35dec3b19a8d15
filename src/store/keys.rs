//! Key names. One order's keys share the hash tag `{o:ID}`, one truck's
//! the tag `{t:CARRIER/TRUCK}` and one carrier's event ids `{c:CARRIER}`.
//! Not every function stays in one slot yet: `scan`, `fix` and
//! `carried_fix` also touch the carrier's ids (duplicates are per carrier),
//! the open alerts and the follow-up index, which a single Redis allows and
//! Redis Cluster does not (the scale-out work: per-slot alerts and index,
//! and a carrier id claim beside the order's apply).

use crate::domain::{CarrierId, TruckId};

/// Pub/sub channel of every live change, read by every instance.
pub const LIVE_CHANNEL: &str = "vp:live";
/// Set of order ids that may still be active (finished ones are pruned
/// lazily when the fleet is read).
pub const ACTIVE_ORDERS: &str = "vp:orders:active";
/// Set of `carrier/truck` names of every truck ever loaded.
pub const TRUCKS: &str = "vp:trucks";
/// Hash of the admin token generated at first start.
pub const ADMIN_TOKEN_HASH: &str = "vp:admin:token_hash";
/// The secret generated at first start.
pub const SECRET: &str = "vp:secret";

pub fn order(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}")
}

pub fn order_log(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}:log")
}

pub fn order_timeline(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}:tl")
}

/// Event ids an order remembers itself (crossings vinpath derived, truck
/// fixes carried to it), by bucket of time: id to `digest|target`.
pub fn order_ids(id: &str, bucket: i64) -> String {
    format!("vp:{{o:{id}}}:ids:{bucket}")
}

/// Event ids a carrier sent, by bucket of time: id to `digest|target`.
/// One namespace per carrier, as the contract's duplicates are.
pub fn carrier_ids(carrier: &str, bucket: i64) -> String {
    format!("vp:{{c:{carrier}}}:ids:{bucket}")
}

/// Follow-ups an order's changes left on other keys, until done.
pub fn order_pending(id: &str) -> String {
    format!("vp:{{o:{id}}}:pending")
}

/// Orders with follow-ups not done yet, by when they were left (ms): the
/// repair job's work list.
pub const PENDING: &str = "vp:pending";

/// How a truck is named inside keys and the fleet set.
pub fn truck_name(carrier: &CarrierId, truck: &TruckId) -> String {
    format!("{carrier}/{truck}")
}

pub fn truck(name: &str) -> String {
    format!("vp:{{t:{name}}}")
}

pub fn truck_orders(name: &str) -> String {
    format!("vp:{{t:{name}}}:orders")
}

/// A credential, by the hex SHA-256 of its token.
pub fn credential(hash: &str) -> String {
    format!("vp:cred:{hash}")
}

pub fn carrier(id: &CarrierId) -> String {
    format!("vp:carrier:{id}")
}

/// A tracking link, by the hex SHA-256 of its token.
pub fn link(hash: &str) -> String {
    format!("vp:link:{hash}")
}

/// An order's clips: clip id to its listing.
pub fn order_clips(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}:clips")
}

/// A stored clip's record.
pub fn clip(id: &str) -> String {
    format!("vp:clip:{id}")
}

/// Every clip by creation time, for the retention sweep.
pub const CLIPS: &str = "vp:clips";

/// Written before each `WAIT` of durable writes, so the `WAIT` covers all
/// that was written before, on any connection.
pub const DURABLE: &str = "vp:durable";

/// Clip uploads under way, by when they began (ms): the clip ids whose
/// objects may exist without a record yet.
pub const UPLOADS: &str = "vp:uploads";

/// An upload's `Idempotency-Key`, by the hash of the carrier and key.
pub fn idempotency(carrier: &CarrierId, key: &str) -> String {
    format!("vp:idem:{carrier}:{}", super::auth::hash(key))
}

/// A vehicle's kept fixes by time: `vp:{o:ID}:track` for a car with its
/// own telematics, `vp:{t:NAME}:track` for a truck.
pub fn order_track(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}:track")
}

pub fn truck_track(name: &str) -> String {
    format!("vp:{{t:{name}}}:track")
}

/// An order's planned route (GeoJSON LineString coordinates).
pub fn order_route(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("vp:{{o:{id}}}:route")
}

/// Open alerts: alert id to its JSON.
pub const ALERTS: &str = "vp:alerts";
/// Sites: site id to its JSON; and a counter bumped on every change.
pub const SITES: &str = "vp:sites";
pub const SITES_VERSION: &str = "vp:sites:version";
