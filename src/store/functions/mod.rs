//! The typed interface to vinpath's Redis functions (`store/lua/*.lua`):
//! one Rust type per function with its arguments by name, and one per
//! answer, parsed strictly: an answer of the wrong shape is an error, never
//! an empty string or a zero. Each type's `ARGV` lists the names the Lua
//! binds at the top of the function, in order; a test holds the two sides
//! together, and another calls every function on a real Redis.

mod correct;
mod fix;
mod misc;
mod scan;
mod webhooks;

use chrono::{DateTime, Utc};
use redis::{Pipeline, Value};

pub use correct::{Correct, CorrectAnswer, VoidTruckFix};
pub use fix::{CarriedFix, Conclusions, Fix, FixAnswer, FixCore, TruckFix, TruckFixAnswer};
pub use misc::{
    AckAlert, AlertOp, AlertOps, Arrive, Bind, Claim, ClaimAnswer, Clip, ClipAnswer, Create,
    Forget, HandOver, Inspect, LiveList, Patch, Quiet, QuietCamera, RecordAnswer, Rotate, Seat,
    Settle, Spill, TakeRecording, TellLive, Unbind, Unclaim,
};
pub use scan::{Cancel, PendingWork, Scan, ScanAnswer, SitePlacement};
pub use webhooks::{Attempt, Enqueue, EnqueueItem, ForgetDeliveries, Redeliver, Take};

use super::{StoreError, keys};
use crate::domain::EventStatus;

/// The Lua library, loaded with `FUNCTION LOAD REPLACE`: one library in
/// files by subject, joined (the helpers first, the registrations last).
pub const LIBRARY: &str = concat!(
    include_str!("../lua/library.lua"),
    "\n",
    include_str!("../lua/scan.lua"),
    "\n",
    include_str!("../lua/fix.lua"),
    "\n",
    include_str!("../lua/webhooks.lua"),
    "\n",
    include_str!("../lua/correct.lua"),
    "\n",
    include_str!("../lua/small.lua"),
);

/// The library's version prefix: every function is `vinpath8_<name>`.
pub const PREFIX: &str = "vinpath8_";

/// A Redis function: its name, its keys and arguments in order.
pub trait Function {
    /// The name after [`PREFIX`].
    const NAME: &'static str;
    /// The Lua locals its `KEYS` and `ARGV` are bound to, in order.
    const KEYS: &'static [&'static str];
    const ARGV: &'static [&'static str];

    fn keys(&self) -> Vec<String>;
    fn argv(&self) -> Vec<String>;

    /// Adds the call to a pipeline.
    fn push(&self, pipe: &mut Pipeline) {
        let keys = self.keys();
        debug_assert_eq!(keys.len(), Self::KEYS.len(), "{} keys", Self::NAME);
        pipe.cmd("FCALL")
            .arg(format!("{PREFIX}{}", Self::NAME))
            .arg(keys.len())
            .arg(keys)
            .arg(self.argv());
    }

    /// The whole command, as `redis-benchmark` takes it.
    fn command_line(&self) -> Vec<String> {
        let keys = self.keys();
        let mut line = vec![
            "FCALL".to_owned(),
            format!("{PREFIX}{}", Self::NAME),
            keys.len().to_string(),
        ];
        line.extend(keys);
        line.extend(self.argv());
        line
    }
}

/// Who remembers an event id, for duplicate detection: a carrier (its ids
/// are one namespace, as the contract says), or an order or a truck (for
/// what vinpath derives itself: crossings, and truck fixes carried to each
/// car; and on a Redis Cluster for every event, after a claim among the
/// carrier's ids: see `Claim`).
#[derive(Debug, Clone)]
pub enum IdSpace<'a> {
    Carrier(&'a str),
    Order(&'a str),
    /// `carrier/truck`.
    Truck(&'a str),
}

/// How an event is known for duplicate detection: its id, a digest of its
/// content (so a reused id with other content is told apart), what it is
/// about, and the buckets of remembered ids around this instance's clock.
/// Redis picks the bucket by its own clock, so instances that disagree on
/// the time still agree on what was seen.
#[derive(Debug, Clone)]
pub struct Identity {
    pub event_id: String,
    pub digest: String,
    /// The order or truck the event is about, for the `event_id_reused`
    /// message.
    pub target: String,
    pub bucket: i64,
    pub span_s: i64,
}

impl Identity {
    pub fn new(
        event_id: &str,
        digest: String,
        target: String,
        now: DateTime<Utc>,
        days: u32,
    ) -> Self {
        let span_s = 86_400 * i64::from(days.max(1));
        Self {
            event_id: event_id.to_owned(),
            digest,
            target,
            bucket: now.timestamp().div_euclid(span_s),
            span_s,
        }
    }

    /// The id hashes of the buckets before, at and after this one.
    pub fn keys(&self, space: &IdSpace<'_>) -> [String; 3] {
        let key = |b: i64| match space {
            IdSpace::Carrier(c) => keys::carrier_ids(c, b),
            IdSpace::Order(o) => keys::order_ids(o, b),
            IdSpace::Truck(t) => keys::truck_ids(t, b),
        };
        [key(self.bucket - 1), key(self.bucket), key(self.bucket + 1)]
    }

    /// `event_id, digest, target, bucket, span`, as every function takes them.
    fn argv(&self) -> [String; 5] {
        [
            self.event_id.clone(),
            self.digest.clone(),
            self.target.clone(),
            self.bucket.to_string(),
            self.span_s.to_string(),
        ]
    }
}

/// Reads an answer that must be an array of exactly `n` items.
pub(crate) fn items(v: Value, n: usize, what: &str) -> Result<Vec<Value>, StoreError> {
    match v {
        Value::Array(items) if items.len() == n => Ok(items),
        Value::ServerError(e) => Err(redis::RedisError::from(e).into()),
        other => Err(StoreError::Corrupt(format!(
            "{what} answered {other:?}, not {n} items"
        ))),
    }
}

/// A string item of an answer.
pub(crate) fn text(v: &Value, what: &str) -> Result<String, StoreError> {
    redis::from_redis_value_ref::<String>(v)
        .map_err(|_| StoreError::Corrupt(format!("{what}: {v:?} is not a string")))
}

/// An optional string item ('' is none).
fn opt(v: &Value, what: &str) -> Result<Option<String>, StoreError> {
    text(v, what).map(|s| (!s.is_empty()).then_some(s))
}

pub(crate) fn number(v: &Value, what: &str) -> Result<i64, StoreError> {
    text(v, what)?
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{what}: {v:?} is not a number")))
}

fn opt_number(v: &Value, what: &str) -> Result<Option<i64>, StoreError> {
    match text(v, what)?.as_str() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("{what}: {n:?} is not a number"))),
    }
}

/// An expected revision as the functions take it ('' unchecked).
fn rev_arg(rev: Option<i64>) -> String {
    rev.map(|r| r.to_string()).unwrap_or_default()
}

/// A status the functions answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Event(EventStatus),
    /// The call did not apply here (a car no longer on the truck, a
    /// crossing whose fix lost a race).
    Skip,
    /// The caller's copy of the context is out of date: nothing was done;
    /// read it again and retry.
    Retry,
}

fn status(v: &Value, what: &str) -> Result<Status, StoreError> {
    let s = text(v, what)?;
    match s.as_str() {
        "skip" => return Ok(Status::Skip),
        "retry" => return Ok(Status::Retry),
        _ => {}
    }
    EventStatus::parse(&s)
        .map(Status::Event)
        .ok_or_else(|| StoreError::Corrupt(format!("{what}: unknown status {s:?}")))
}

#[cfg(test)]
mod tests;
