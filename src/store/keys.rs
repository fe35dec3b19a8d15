//! Key names, laid out for Redis Cluster: every function touches one slot.
//!
//! Orders and trucks are spread over [`PARTITIONS`] partitions by a hash of
//! their id, and every key of one carries its partition's hash tag
//! `{pN}`: an order's keys, and the partition's own indexes (active orders,
//! trucks, open alerts, follow-ups, clips) and live channel, share a slot,
//! so one function call changes an order, its indexes and tells its
//! channel atomically. No key every event writes lives in one slot.
//!
//! A carrier's event ids (`{c:CARRIER}`) are the one thing that spans
//! partitions: on one Redis the functions check them in the same call; on
//! a cluster a claim there comes first (see `store::claims`).

use sha2::{Digest, Sha256};

use crate::domain::{CarrierId, TruckId};

/// How many partitions orders and trucks are spread over: fixed for the
/// life of the data (a key's name depends on it). 64 spread evenly over the
/// slots of 3 primaries (20, 20 and 24) and leave room to grow to dozens.
pub const PARTITIONS: u16 = 64;

/// The partition of an order id or a truck name.
pub fn partition_of(id: &str) -> u16 {
    let h = Sha256::digest(id.as_bytes());
    u16::from_be_bytes([h[0], h[1]]) % PARTITIONS
}

/// Every partition, for reading indexes whole.
pub fn partitions() -> impl Iterator<Item = u16> {
    0..PARTITIONS
}

/// The live channel of one partition (sharded pub/sub: `SPUBLISH` from the
/// functions that change its orders and trucks).
pub fn live(partition: u16) -> String {
    format!("vp:{{p{partition}}}:live")
}

/// Order ids that may still be active (finished ones are pruned lazily
/// when the fleet is read), per partition.
pub fn active_orders(partition: u16) -> String {
    format!("vp:{{p{partition}}}:active")
}

/// `carrier/truck` names of every truck ever loaded, per partition.
pub fn trucks(partition: u16) -> String {
    format!("vp:{{p{partition}}}:trucks")
}

/// Open alerts of the partition's orders: alert id to its JSON.
pub fn alerts(partition: u16) -> String {
    format!("vp:{{p{partition}}}:alerts")
}

/// Orders with follow-ups not done yet, by when they were left (ms): the
/// repair job's work list, per partition.
pub fn pending(partition: u16) -> String {
    format!("vp:{{p{partition}}}:pending")
}

/// The partition's orders that ended (delivered or cancelled), by when
/// (ms): the archive's work list.
pub fn ended(partition: u16) -> String {
    format!("vp:{{p{partition}}}:ended")
}

pub fn ended_of(order: &str) -> String {
    ended(partition_of(order))
}

/// The partition's archived orders: order id to when it ended (ms), for
/// its clips' retention and so its id is never given again.
pub fn archived(partition: u16) -> String {
    format!("vp:{{p{partition}}}:archived")
}

pub fn archived_of(order: &str) -> String {
    archived(partition_of(order))
}

/// The partition's clips by creation time, for the retention sweep.
pub fn clips(partition: u16) -> String {
    format!("vp:{{p{partition}}}:clips")
}

/// Written before each `WAIT` of durable writes, in the slot of the keys
/// the `WAIT` follows (`tag`: their hash tag), so the `WAIT` covers all
/// that was written before, on any connection.
pub fn durable(tag: &str) -> String {
    format!("vp:{{{tag}}}:durable")
}

/// The partition keys of the order or truck `id` (its live channel, its
/// partition's indexes).
pub fn live_of(id: &str) -> String {
    live(partition_of(id))
}

pub fn alerts_of(order: &str) -> String {
    alerts(partition_of(order))
}

pub fn pending_of(order: &str) -> String {
    pending(partition_of(order))
}

pub fn active_of(order: &str) -> String {
    active_orders(partition_of(order))
}

pub fn trucks_of(name: &str) -> String {
    trucks(partition_of(name))
}

/// The clips index a clip is listed in, by the clip's id.
pub fn clips_of(clip_id: &str) -> String {
    clips(partition_of(clip_id))
}

/// Hash of the admin token generated at first start.
pub const ADMIN_TOKEN_HASH: &str = "vp:admin:token_hash";
/// The secret generated at first start.
pub const SECRET: &str = "vp:secret";

fn tag(id: &str) -> String {
    format!("vp:{{p{}}}", partition_of(id))
}

pub fn order(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}", tag(&id.to_string()))
}

pub fn order_log(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:log", tag(&id.to_string()))
}

pub fn order_timeline(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:tl", tag(&id.to_string()))
}

/// Event ids an order remembers itself (crossings vinpath derived, truck
/// fixes carried to it), by bucket of time: id to `digest|target`.
pub fn order_ids(id: &str, bucket: i64) -> String {
    format!("{}:o:{id}:ids:{bucket}", tag(id))
}

/// Event ids a truck's fixes were remembered by on a Redis Cluster (where
/// its carrier's ids are in another slot), by bucket of time.
pub fn truck_ids(name: &str, bucket: i64) -> String {
    format!("{}:t:{name}:ids:{bucket}", tag(name))
}

/// Event ids a carrier sent, by bucket of time: id to `digest|target`.
/// One namespace per carrier, as the contract's duplicates are.
pub fn carrier_ids(carrier: &str, bucket: i64) -> String {
    format!("vp:{{c:{carrier}}}:ids:{bucket}")
}

/// Follow-ups an order's changes left on other keys, until done.
pub fn order_pending(id: &str) -> String {
    format!("{}:o:{id}:pending", tag(id))
}

/// How a truck is named inside keys and the fleet set.
pub fn truck_name(carrier: &CarrierId, truck: &TruckId) -> String {
    format!("{carrier}/{truck}")
}

pub fn truck(name: &str) -> String {
    format!("{}:t:{name}", tag(name))
}

pub fn truck_orders(name: &str) -> String {
    format!("{}:t:{name}:orders", tag(name))
}

/// Every car a truck carried (its newest 1000), by when loaded.
pub fn truck_cars(name: &str) -> String {
    format!("{}:t:{name}:cars", tag(name))
}

/// Every credential but the admin token: credential id to token hash.
pub const CREDENTIALS: &str = "vp:creds";
/// The audit log: every write by an admin or a dispatcher.
pub const AUDIT: &str = "vp:audit";
/// The audit log's parts moved to the clip store, oldest first (in the
/// slot of [`AUDIT`]: its hash tag is that key's whole name).
pub const AUDIT_PARTS: &str = "{vp:audit}:parts";
/// Held by the one instance moving the audit log's oldest entries.
pub const AUDIT_BUSY: &str = "{vp:audit}:busy";
/// When each credential was last used (ms), by token hash.
pub const CREDENTIALS_USED: &str = "vp:creds:used";

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

/// The sockets open on a tracking link across instances (seat id to the
/// end of its lease, ms), by the link's hash.
pub fn link_seats(hash: &str) -> String {
    format!("vp:seats:{{{hash}}}")
}

/// An order's clips: clip id to its listing.
pub fn order_clips(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:clips", tag(&id.to_string()))
}

/// An order's inspection photos: photo id to its record.
pub fn order_photos(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:photos", tag(&id.to_string()))
}

/// An order's inspections: inspection id to its record.
pub fn order_inspections(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:insp", tag(&id.to_string()))
}

/// An order's handover at the door: the customer's signature and code,
/// then how the delivery was proved.
pub fn order_handover(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:hand", tag(&id.to_string()))
}

/// A stored clip's record.
pub fn clip(id: &str) -> String {
    format!("vp:clip:{id}")
}

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
    format!("{}:o:{id}:track", tag(&id.to_string()))
}

pub fn truck_track(name: &str) -> String {
    format!("{}:t:{name}:track", tag(name))
}

/// The parts of an order's history moved to the object store, oldest
/// first (JSON of each: its first and last cursor, its object).
pub fn order_spilled(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:spilled", tag(&id.to_string()))
}

/// Held while one instance archives an order or moves its old history,
/// so two never write its objects at once.
pub fn order_busy(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:busy", tag(&id.to_string()))
}

/// An order's planned route (GeoJSON LineString coordinates).
pub fn order_route(id: &(impl std::fmt::Display + ?Sized)) -> String {
    format!("{}:o:{id}:route", tag(&id.to_string()))
}

/// Sites: site id to its JSON; and a counter bumped on every change.
pub const SITES: &str = "vp:{sites}";
pub const SITES_VERSION: &str = "vp:{sites}:version";

/// Registered devices: `protocol:device_id` to the device's JSON. Devices
/// change rarely and are read through each instance's cache.
pub const DEVICES: &str = "vp:{dev}:devices";
/// JT/T 808 authentication codes vinpath gave at registration:
/// `jt808:device_id` to the code (in the slot of [`DEVICES`]).
pub const DEVICE_CODES: &str = "vp:{dev}:codes";

/// Webhook endpoints: webhook id to its JSON (secret included).
pub const WEBHOOKS: &str = "vp:{wh}:hooks";

/// Endpoints deleted whose finished deliveries are still listed (the
/// sweep forgets them, then the endpoint).
pub const WEBHOOKS_GONE: &str = "vp:{wh}:gone";

/// The partition's outbox: the changes webhooks report, written by the
/// functions beside the live message (the Lua derives it from the
/// channel's name: keep the two in step).
pub fn outbox(partition: u16) -> String {
    format!("vp:{{p{partition}}}:outbox")
}

/// The partition's webhook deliveries: delivery id to its JSON.
pub fn deliveries(partition: u16) -> String {
    format!("vp:{{p{partition}}}:deliveries")
}

/// The partition's deliveries due (the head of each order's line per
/// endpoint), by when (ms); a taken one is leased by moving it later.
pub fn due(partition: u16) -> String {
    format!("vp:{{p{partition}}}:due")
}

/// One order's deliveries to one endpoint, in order: only the first is
/// ever due, so an endpoint hears an order's changes in order.
pub fn line(partition: u16, webhook: &str, order: &str) -> String {
    format!("vp:{{p{partition}}}:line:{webhook}:{order}")
}

/// One endpoint's deliveries in the partition, by when made (ms).
pub fn webhook_deliveries(partition: u16, webhook: &str) -> String {
    format!("vp:{{p{partition}}}:wh:{webhook}")
}
