//! The small functions: truck bindings, follow-ups settled, alerts, clips.

use redis::Value;
use serde::Serialize;

use super::{Function, IdSpace, Identity, Status, items, opt, status, text};
use crate::store::{StoreError, keys};

/// Puts a car on a truck, scored by its loading time (a newer loading wins).
#[derive(Debug, Clone)]
pub struct Bind<'a> {
    /// `carrier/truck`.
    pub name: &'a str,
    pub carrier: &'a str,
    pub order: &'a str,
    pub since: i64,
}

impl Function for Bind<'_> {
    const NAME: &'static str = "bind";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "truck_key", "on_board_key", "cars_key",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "order_id", "since",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::truck(self.name),
            keys::truck_orders(self.name),
            keys::truck_cars(self.name),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.carrier.to_owned(),
            self.order.to_owned(),
            self.since.to_string(),
        ]
    }
}

/// Takes a car off a truck unless it was loaded onto it after `upto` (ms).
#[derive(Debug, Clone)]
pub struct Unbind<'a> {
    pub name: &'a str,
    pub order: &'a str,
    pub upto: i64,
}

impl Function for Unbind<'_> {
    const NAME: &'static str = "unbind";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "truck_key", "on_board_key",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "order_id", "upto",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::truck(self.name), keys::truck_orders(self.name)]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.order.to_owned(), self.upto.to_string()]
    }
}

/// Marks one follow-up of an order done.
#[derive(Debug, Clone)]
pub struct Settle<'a> {
    pub order: &'a str,
    /// The item exactly as the order keeps it.
    pub item: &'a str,
}

impl Function for Settle<'_> {
    const NAME: &'static str = "settle";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "pending", "index",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "item", "order_id",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order_pending(self.order),
            keys::pending_of(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.item.to_owned(), self.order.to_owned()]
    }
}

/// One alert raised or cleared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertOp {
    /// `raise` or `clear`.
    pub op: &'static str,
    pub id: String,
    /// The alert's JSON when raised ('' when cleared).
    pub alert: String,
}

impl AlertOp {
    pub fn raise(id: String, alert: String) -> Self {
        Self {
            op: "raise",
            id,
            alert,
        }
    }

    pub fn clear(id: String) -> Self {
        Self {
            op: "clear",
            id,
            alert: String::new(),
        }
    }

    /// A list of them as the functions take it ('' for none).
    pub fn encode(ops: &[AlertOp]) -> Option<String> {
        (!ops.is_empty()).then(|| serde_json::to_string(ops).unwrap_or_default())
    }
}

/// Raises or clears alerts outside any fix (the no-signal watch, follow-ups).
#[derive(Debug, Clone)]
pub struct AlertOps<'a> {
    /// The order the alerts are about (every alert is an order's).
    pub order: &'a str,
    pub ops: &'a [AlertOp],
}

impl Function for AlertOps<'_> {
    const NAME: &'static str = "alert";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "alerts",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "ops", "channel",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::alerts_of(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            AlertOp::encode(self.ops).unwrap_or_default(),
            keys::live_of(self.order),
        ]
    }
}

/// Raises `no_signal` for an order still in transit and still quiet.
#[derive(Debug, Clone)]
pub struct Quiet<'a> {
    pub order: &'a str,
    pub alert_id: &'a str,
    pub alert: &'a str,
    /// The newest fix (or the departure) the watch saw (ms).
    pub last_ms: i64,
}

impl Function for Quiet<'_> {
    const NAME: &'static str = "quiet";
    const KEYS: &'static [&'static str] = &["order_key", "alerts"];
    const ARGV: &'static [&'static str] = &["alert_id", "alert_json", "last_ms", "channel"];

    fn keys(&self) -> Vec<String> {
        vec![keys::order(self.order), keys::alerts_of(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.alert_id.to_owned(),
            self.alert.to_owned(),
            self.last_ms.to_string(),
            keys::live_of(self.order),
        ]
    }
}

/// Creates an order unless it exists: its first timeline entry, then its
/// fields as name, value pairs (after the named arguments).
#[derive(Debug, Clone)]
pub struct Create<'a> {
    pub order: &'a str,
    pub first_entry: &'a str,
    pub fields: &'a [(&'a str, String)],
}

impl Function for Create<'_> {
    const NAME: &'static str = "create";
    const KEYS: &'static [&'static str] = &["order_key", "timeline", "archived"];
    const ARGV: &'static [&'static str] = &["first_entry", "order_id"];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order(self.order),
            keys::order_timeline(self.order),
            keys::archived_of(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        let mut a = vec![self.first_entry.to_owned(), self.order.to_owned()];
        for (k, v) in self.fields {
            a.push((*k).to_owned());
            a.push(v.clone());
        }
        a
    }
}

/// Changes an order's fields (name, value pairs); the VIN only until the
/// car is produced. Answers `ok`, `missing` or `vin_locked`.
#[derive(Debug, Clone)]
pub struct Patch<'a> {
    pub order: &'a str,
    pub fields: &'a [(&'a str, String)],
}

impl Function for Patch<'_> {
    const NAME: &'static str = "patch";
    const KEYS: &'static [&'static str] = &["order_key"];
    const ARGV: &'static [&'static str] = &[];

    fn keys(&self) -> Vec<String> {
        vec![keys::order(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        self.fields
            .iter()
            .flat_map(|(k, v)| [(*k).to_owned(), v.clone()])
            .collect()
    }
}

/// Points an order at a new tracking link (by its hash), telling the old
/// link's open sockets; answers the old hash.
#[derive(Debug, Clone)]
pub struct Rotate<'a> {
    pub order: &'a str,
    pub new_hash: &'a str,
}

impl Function for Rotate<'_> {
    const NAME: &'static str = "rotate";
    const KEYS: &'static [&'static str] = &["order_key"];
    const ARGV: &'static [&'static str] = &["new_hash", "order_id", "channel"];

    fn keys(&self) -> Vec<String> {
        vec![keys::order(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.new_hash.to_owned(),
            self.order.to_owned(),
            keys::live_of(self.order),
        ]
    }
}

/// Attaches a stored clip to one order.
#[derive(Debug, Clone)]
pub struct Clip<'a> {
    pub order: &'a str,
    /// The carrier the order must belong to; `None`: any.
    pub carrier: Option<&'a str>,
    pub clip_id: &'a str,
    pub listing: &'a str,
    pub record: &'a str,
    /// A truck's clip reaches only the cars on that truck when it was
    /// filmed (`at`).
    pub truck: Option<&'a str>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Function for Clip<'_> {
    const NAME: &'static str = "clip";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "clips",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "clip_id", "listing", "rec", "channel", "truck", "at",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order(self.order),
            keys::order_log(self.order),
            keys::order_clips(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.carrier.unwrap_or_default().to_owned(),
            self.clip_id.to_owned(),
            self.listing.to_owned(),
            self.record.to_owned(),
            keys::live_of(self.order),
            self.truck.unwrap_or_default().to_owned(),
            self.at.timestamp_millis().to_string(),
        ]
    }
}

/// Records an inspection (`lua/small.lua`'s `inspect`).
#[derive(Debug, Clone)]
pub struct Inspect<'a> {
    pub order: &'a str,
    /// The carrier the order must belong to; `None`: any (staff).
    pub carrier: Option<&'a str>,
    pub inspection_id: &'a str,
    /// The record kept (JSON, with its `digest`).
    pub kept: &'a str,
    pub digest: &'a str,
    /// The history entry (JSON).
    pub record: &'a str,
    /// The damage alert to raise, replacing one open (its id and JSON;
    /// `None`: no new damage).
    pub alert: Option<(&'a str, &'a str)>,
}

impl Function for Inspect<'_> {
    const NAME: &'static str = "inspect";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "inspections", "alerts",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "inspection_id", "kept", "digest", "rec", "channel", "alert_id", "alert",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order(self.order),
            keys::order_log(self.order),
            keys::order_inspections(self.order),
            keys::alerts_of(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.carrier.unwrap_or_default().to_owned(),
            self.inspection_id.to_owned(),
            self.kept.to_owned(),
            self.digest.to_owned(),
            self.record.to_owned(),
            keys::live_of(self.order),
            self.alert.map(|a| a.0).unwrap_or_default().to_owned(),
            self.alert.map(|a| a.1).unwrap_or_default().to_owned(),
        ]
    }
}

/// What `inspect` and `handover` answer: accepted with a value (the
/// history cursor; the code given), a duplicate with what was kept first
/// (the record; the code), or rejected with a code.
#[derive(Debug, Clone)]
pub struct RecordAnswer {
    pub status: Status,
    pub code: Option<String>,
    /// The cursor (accepted) or the record kept (duplicate).
    pub value: Option<String>,
}

impl RecordAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let w = "record answer";
        let i = items(v, 3, w)?;
        Ok(Self {
            status: status(&i[0], w)?,
            code: opt(&i[1], w)?,
            value: opt(&i[2], w)?,
        })
    }
}

/// The customer's handover at the door (`handover` in `lua/small.lua`).
#[derive(Debug, Clone)]
pub struct HandOver<'a> {
    pub order: &'a str,
    /// The SHA-256 of what was signed: a retry with it is the same signing.
    pub digest: &'a str,
    /// The code to give, if this is a new handover.
    pub code: &'a str,
    /// The record kept (JSON, without the signature).
    pub kept: &'a str,
    /// The signature PNG, base64.
    pub signature: &'a str,
    /// The history entry (JSON).
    pub record: &'a str,
}

impl Function for HandOver<'_> {
    const NAME: &'static str = "handover";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "handover_key",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "digest", "code", "kept", "signature", "rec", "channel",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order(self.order),
            keys::order_log(self.order),
            keys::order_handover(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.digest.to_owned(),
            self.code.to_owned(),
            self.kept.to_owned(),
            self.signature.to_owned(),
            self.record.to_owned(),
            keys::live_of(self.order),
        ]
    }
}

/// Lists the segments a camera's playlist names (`live` in
/// `lua/small.lua`).
#[derive(Debug, Clone)]
pub struct LiveList<'a> {
    pub camera: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    pub target: u64,
    pub end_list: bool,
    /// Segment names with their durations, in the playlist's order
    /// (argv after `ended`, in pairs).
    pub named: &'a [(String, f64)],
}

impl Function for LiveList<'_> {
    const NAME: &'static str = "live";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "state", "segs", "arrived", "named", "done", "rec",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "now", "target", "ended",
    ];

    fn keys(&self) -> Vec<String> {
        crate::store::cameras::live_keys(self.camera)
    }

    fn argv(&self) -> Vec<String> {
        let mut a = vec![
            self.now.timestamp_millis().to_string(),
            self.target.to_string(),
            if self.end_list { "1" } else { "" }.to_owned(),
        ];
        for (name, dur) in self.named {
            a.push(name.clone());
            a.push(dur.to_string());
        }
        a
    }
}

/// A camera's segment arrived whole (`arrive` in `lua/small.lua`).
#[derive(Debug, Clone)]
pub struct Arrive<'a> {
    pub camera: &'a str,
    pub name: &'a str,
    /// Its record (JSON: object, kind, size, when it arrived).
    pub segment: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Function for Arrive<'_> {
    const NAME: &'static str = "arrive";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "state", "segs", "arrived", "named", "done", "rec",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "name", "seg", "now",
    ];

    fn keys(&self) -> Vec<String> {
        crate::store::cameras::live_keys(self.camera)
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.name.to_owned(),
            self.segment.to_owned(),
            self.now.timestamp_millis().to_string(),
        ]
    }
}

/// A camera that shows a car went live or off (`tell_live`).
#[derive(Debug, Clone)]
pub struct TellLive<'a> {
    pub order: &'a str,
    /// The history entry (JSON).
    pub record: &'a str,
}

impl Function for TellLive<'_> {
    const NAME: &'static str = "tell_live";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "rec", "channel",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::order(self.order), keys::order_log(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.record.to_owned(), keys::live_of(self.order)]
    }
}

/// Ends a camera's broadcast that has gone silent (`quiet_camera`).
#[derive(Debug, Clone)]
pub struct QuietCamera<'a> {
    pub camera: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl Function for QuietCamera<'_> {
    const NAME: &'static str = "quiet_camera";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "state", "done",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "now",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            crate::store::cameras::state_key(self.camera),
            crate::store::cameras::done_key(self.camera),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.now.timestamp_millis().to_string()]
    }
}

/// Takes an ended broadcast's segments for its recording
/// (`take_recording`).
#[derive(Debug, Clone)]
pub struct TakeRecording<'a> {
    pub camera: &'a str,
    pub broadcast: &'a str,
}

impl Function for TakeRecording<'_> {
    const NAME: &'static str = "take_recording";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "rec",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "bcast",
    ];

    fn keys(&self) -> Vec<String> {
        vec![crate::store::cameras::recording_key(self.camera)]
    }

    fn argv(&self) -> Vec<String> {
        vec![self.broadcast.to_owned()]
    }
}

/// What `clip` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipAnswer {
    pub status: Status,
    pub code: Option<String>,
    pub cursor: Option<String>,
}

impl ClipAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let w = "clip answer";
        let i = items(v, 3, w)?;
        Ok(Self {
            status: status(&i[0], w)?,
            code: opt(&i[1], w)?,
            cursor: opt(&i[2], w)?,
        })
    }
}

/// Claims a carrier's event id on a Redis Cluster, before the event is
/// applied in its target's slot.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub carrier: &'a str,
    pub identity: &'a Identity,
}

impl Function for Claim<'_> {
    const NAME: &'static str = "claim";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "ids_prev", "ids_this", "ids_next",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "event_id", "digest", "target", "bucket", "span",
    ];

    fn keys(&self) -> Vec<String> {
        self.identity.keys(&IdSpace::Carrier(self.carrier)).to_vec()
    }

    fn argv(&self) -> Vec<String> {
        self.identity.argv().to_vec()
    }
}

/// What `claim` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimAnswer {
    /// Claimed now, or before by this very event (a retry).
    Ours,
    /// Another event holds the id; the target it named.
    Reused(String),
}

impl ClaimAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let w = "claim answer";
        let i = items(v, 2, w)?;
        match text(&i[0], w)?.as_str() {
            "new" | "same" => Ok(Self::Ours),
            "reused" => Ok(Self::Reused(text(&i[1], w)?)),
            other => Err(StoreError::Corrupt(format!("{w}: {other:?}"))),
        }
    }
}

/// Gives up the claim of an event that was rejected.
#[derive(Debug, Clone)]
pub struct Unclaim<'a> {
    pub carrier: &'a str,
    pub identity: &'a Identity,
}

impl Function for Unclaim<'_> {
    const NAME: &'static str = "unclaim";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "ids_prev", "ids_this", "ids_next",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "event_id", "digest", "target",
    ];

    fn keys(&self) -> Vec<String> {
        self.identity.keys(&IdSpace::Carrier(self.carrier)).to_vec()
    }

    fn argv(&self) -> Vec<String> {
        let i = self.identity;
        vec![i.event_id.clone(), i.digest.clone(), i.target.clone()]
    }
}

/// Takes an archived order out of Redis, if nothing changed since it was
/// read for the archive.
#[derive(Debug, Clone)]
pub struct Forget<'a> {
    pub order: &'a str,
    /// The buckets of its own event ids that may still exist.
    pub ids: [String; 3],
    /// The cursor of its newest history entry when read ('' none).
    pub last: &'a str,
}

impl Function for Forget<'_> {
    const NAME: &'static str = "forget";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "timeline", "track", "clips", "route", "pending", "ended", "active",
        "ids_prev", "ids_this", "ids_next", "spilled", "archived", "photos", "inspections",
        "handover",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "order_id", "last",
    ];

    fn keys(&self) -> Vec<String> {
        let o = self.order;
        let mut k = vec![
            keys::order(o),
            keys::order_log(o),
            keys::order_timeline(o),
            keys::order_track(o),
            keys::order_clips(o),
            keys::order_route(o),
            keys::order_pending(o),
            keys::ended_of(o),
            keys::active_of(o),
        ];
        k.extend(self.ids.iter().cloned());
        k.push(keys::order_spilled(o));
        k.push(keys::archived_of(o));
        k.push(keys::order_photos(o));
        k.push(keys::order_inspections(o));
        k.push(keys::order_handover(o));
        k
    }

    fn argv(&self) -> Vec<String> {
        vec![self.order.to_owned(), self.last.to_owned()]
    }
}

/// Moves the oldest part of an order's history out of Redis, once it is
/// in the object store.
#[derive(Debug, Clone)]
pub struct Spill<'a> {
    pub order: &'a str,
    /// The cursor of the part's first entry, and the first cursor kept.
    pub first: &'a str,
    pub min_kept: &'a str,
    /// The part's record (JSON): its cursors and its object.
    pub part: &'a str,
}

impl Function for Spill<'_> {
    const NAME: &'static str = "spill";
    const KEYS: &'static [&'static str] = &["log", "spilled"];
    const ARGV: &'static [&'static str] = &["first", "min_kept", "part"];

    fn keys(&self) -> Vec<String> {
        vec![keys::order_log(self.order), keys::order_spilled(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.first.to_owned(),
            self.min_kept.to_owned(),
            self.part.to_owned(),
        ]
    }
}

/// A seat for one more socket of a tracking link, across instances.
#[derive(Debug, Clone)]
pub struct Seat<'a> {
    pub link_hash: &'a str,
    pub seat_id: &'a str,
    /// The end of its lease, and now (ms).
    pub until_ms: i64,
    pub now_ms: i64,
    pub most: usize,
}

impl Function for Seat<'_> {
    const NAME: &'static str = "seat";
    const KEYS: &'static [&'static str] = &["seats"];
    const ARGV: &'static [&'static str] = &["seat_id", "until_ms", "most", "now_ms"];

    fn keys(&self) -> Vec<String> {
        vec![keys::link_seats(self.link_hash)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.seat_id.to_owned(),
            self.until_ms.to_string(),
            self.most.to_string(),
            self.now_ms.to_string(),
        ]
    }
}

/// Acknowledges an open alert (`lua/small.lua`'s `ack_alert`).
#[derive(Debug, Clone)]
pub struct AckAlert<'a> {
    /// The order the alert is about (its partition holds the alert).
    pub order: &'a str,
    pub alert_id: &'a str,
    /// `{by, at, note}` (JSON).
    pub ack: &'a str,
}

impl Function for AckAlert<'_> {
    const NAME: &'static str = "ack_alert";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "alerts",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "alert_id", "ack", "channel",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::alerts_of(self.order)]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.alert_id.to_owned(),
            self.ack.to_owned(),
            keys::live_of(self.order),
        ]
    }
}
