//! `vinpath8_fix`, `vinpath8_carried_fix` and `vinpath8_truck_fix`: GPS.

use chrono::{DateTime, Utc};
use redis::Value;

use super::{
    Function, IdSpace, Identity, SitePlacement, Status, items, number, opt, opt_number, rev_arg,
    status, text,
};
use crate::store::{StoreError, StoreOptions, keys};

/// What a vehicle's newest fix means for one car, written with that fix
/// and only if it still is the car's newest when applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conclusions {
    /// The car's ETA (ms); `None` for a fix that concludes nothing.
    pub eta_ms: Option<i64>,
    /// The ETA event to tell the customer, when it moved enough.
    pub eta_record: Option<String>,
    /// The "arriving soon" notice, the first time.
    pub notice: Option<String>,
    /// The site the car is shown at.
    pub site: SitePlacement,
    /// Alerts raised and cleared, in order (JSON array of `AlertOp`s).
    pub alerts: Option<String>,
    /// The car's leg after it (JSON): where it was loaded, and since when
    /// it is out of there.
    pub leg: Option<String>,
}

impl Conclusions {
    fn argv(&self) -> [String; 6] {
        [
            self.eta_ms.map(|t| t.to_string()).unwrap_or_default(),
            self.eta_record.clone().unwrap_or_default(),
            self.notice.clone().unwrap_or_default(),
            self.site.arg(),
            self.alerts.clone().unwrap_or_default(),
            self.leg.clone().unwrap_or_default(),
        ]
    }
}

/// The fix itself, as every GPS function takes it.
#[derive(Debug, Clone)]
pub struct FixCore<'a> {
    pub carrier: &'a str,
    pub identity: &'a Identity,
    pub at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub record: &'a str,
    /// The noise code when filtered.
    pub noise: Option<&'static str>,
    /// The position as orders keep it (JSON), and as tracks keep it.
    pub position: &'a str,
    pub track_member: &'a str,
    pub options: &'a StoreOptions,
}

impl FixCore<'_> {
    /// `carrier`, then the identity's arguments: how every GPS call starts.
    fn lead(&self) -> Vec<String> {
        let mut a = vec![self.carrier.to_owned()];
        a.extend(self.identity.argv());
        a
    }
}

/// A fix of a car's own tracker.
#[derive(Debug, Clone)]
pub struct Fix<'a> {
    pub order: &'a str,
    /// Whose ids the event is remembered among.
    pub ids: IdSpace<'a>,
    pub fix: FixCore<'a>,
    /// The car's geo memory after this fix (JSON), when it is the newest.
    pub geo: Option<&'a str>,
    pub conclusions: &'a Conclusions,
    /// The order's revision the context was read at; `None`: unchecked.
    pub expect_rev: Option<i64>,
}

fn order_keys(order: &str) -> [String; 4] {
    [
        keys::order(order),
        keys::order_log(order),
        keys::order_track(order),
        keys::alerts_of(order),
    ]
}

impl Function for Fix<'_> {
    const NAME: &'static str = "fix";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order", "log", "track", "alerts", "ids_prev", "ids_this", "ids_next",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "event_id", "digest", "target", "bucket", "span", "at", "received", "rec",
        "channel", "noise", "position", "member", "geo", "eta_ms", "eta_rec", "notice",
        "site", "alerts_json", "leg", "expect_rev",
    ];

    fn keys(&self) -> Vec<String> {
        let mut k = order_keys(self.order).to_vec();
        k.extend(self.fix.identity.keys(&self.ids));
        k
    }

    fn argv(&self) -> Vec<String> {
        let f = &self.fix;
        let mut a = f.lead();
        a.extend([
            f.at.timestamp_millis().to_string(),
            f.received_at.timestamp_millis().to_string(),
            f.record.to_owned(),
            keys::live_of(self.order),
            f.noise.unwrap_or_default().to_owned(),
            f.position.to_owned(),
            f.track_member.to_owned(),
            self.geo.unwrap_or_default().to_owned(),
        ]);
        a.extend(self.conclusions.argv());
        a.push(rev_arg(self.expect_rev));
        a
    }
}

/// A truck's fix carried to one car on board; pipelined after the truck's
/// own, which it checks took this very event (among the ids of `taken`;
/// `None` on a Redis Cluster, where a claim came first).
#[derive(Debug, Clone)]
pub struct CarriedFix<'a> {
    pub order: &'a str,
    pub truck: &'a str,
    pub taken: Option<IdSpace<'a>>,
    pub fix: FixCore<'a>,
    /// The truck already holds a newer fix: this one moves no car.
    pub truck_stale: bool,
    pub conclusions: &'a Conclusions,
    /// The car's revision its context was read at; `None`: unchecked.
    pub expect_rev: Option<i64>,
}

impl Function for CarriedFix<'_> {
    const NAME: &'static str = "carried_fix";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order", "log", "track", "alerts", "ids_prev", "ids_this", "ids_next", "taken_prev",
        "taken_this", "taken_next",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "event_id", "digest", "target", "bucket", "span", "truck_id", "at", "received",
        "rec", "channel", "noise", "position", "member", "truck_stale", "eta_ms",
        "eta_rec", "notice", "site", "alerts_json", "leg", "expect_rev", "check_taken",
    ];

    fn keys(&self) -> Vec<String> {
        let f = &self.fix;
        let own = IdSpace::Order(self.order);
        let mut k = order_keys(self.order).to_vec();
        k.extend(f.identity.keys(&own));
        // Unused without a check, but named in the car's slot.
        k.extend(f.identity.keys(self.taken.as_ref().unwrap_or(&own)));
        k
    }

    fn argv(&self) -> Vec<String> {
        let f = &self.fix;
        let mut a = f.lead();
        a.extend([
            self.truck.to_owned(),
            f.at.timestamp_millis().to_string(),
            f.received_at.timestamp_millis().to_string(),
            f.record.to_owned(),
            keys::live_of(self.order),
            f.noise.unwrap_or_default().to_owned(),
            f.position.to_owned(),
            f.track_member.to_owned(),
            if self.truck_stale { "1" } else { "" }.to_owned(),
        ]);
        a.extend(self.conclusions.argv());
        a.push(rev_arg(self.expect_rev));
        a.push(if self.taken.is_some() { "1" } else { "" }.to_owned());
        a
    }
}

/// What `fix` and `carried_fix` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FixAnswer {
    pub status: Status,
    pub code: Option<String>,
    pub detail: Option<String>,
    /// The car's truck, and since when it is on it (ms).
    pub truck: Option<String>,
    pub truck_since: i64,
    /// The order's revision after the call, when it changed it.
    pub rev: Option<i64>,
}

impl FixAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let w = "fix answer";
        let i = items(v, 6, w)?;
        Ok(Self {
            status: status(&i[0], w)?,
            code: opt(&i[1], w)?,
            detail: opt(&i[2], w)?,
            truck: opt(&i[3], w)?,
            truck_since: number(&i[4], w)?,
            rev: opt_number(&i[5], w)?,
        })
    }
}

/// A truck's own fix.
#[derive(Debug, Clone)]
pub struct TruckFix<'a> {
    /// `carrier/truck`, as keys name it, and the truck's own id.
    pub name: &'a str,
    pub truck: &'a str,
    /// Whose ids the event is remembered among.
    pub ids: IdSpace<'a>,
    pub fix: FixCore<'a>,
    /// The truck's geo memory after this fix, when it is the newest.
    pub geo: Option<&'a str>,
    /// The truck's revision its context was read at; `None`: unchecked.
    pub expect_rev: Option<i64>,
}

impl Function for TruckFix<'_> {
    const NAME: &'static str = "truck_fix";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "truck_key", "on_board_key", "track", "ids_prev", "ids_this", "ids_next",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "event_id", "digest", "target", "bucket", "span", "at", "noise", "position",
        "member", "geo", "channel", "truck_id", "expect_rev",
    ];

    fn keys(&self) -> Vec<String> {
        let f = &self.fix;
        let mut k = vec![
            keys::truck(self.name),
            keys::truck_orders(self.name),
            keys::truck_track(self.name),
        ];
        k.extend(f.identity.keys(&self.ids));
        k
    }

    fn argv(&self) -> Vec<String> {
        let f = &self.fix;
        let mut a = f.lead();
        a.extend([
            f.at.timestamp_millis().to_string(),
            f.noise.unwrap_or_default().to_owned(),
            f.position.to_owned(),
            f.track_member.to_owned(),
            self.geo.unwrap_or_default().to_owned(),
            keys::live_of(self.name),
            self.truck.to_owned(),
            rev_arg(self.expect_rev),
        ]);
        a
    }
}

/// What `truck_fix` answers: its judgement and the cars on board.
#[derive(Debug, Clone, PartialEq)]
pub struct TruckFixAnswer {
    pub status: Status,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub on_board: Vec<String>,
    /// The truck's revision after the call, when it changed it.
    pub rev: Option<i64>,
}

impl TruckFixAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let w = "truck fix answer";
        let i = items(v, 5, w)?;
        let on_board = match &i[3] {
            Value::Array(cars) => cars.iter().map(|c| text(c, w)).collect::<Result<_, _>>()?,
            other => return Err(StoreError::Corrupt(format!("{w}: {other:?} is not a list"))),
        };
        Ok(Self {
            status: status(&i[0], w)?,
            code: opt(&i[1], w)?,
            detail: opt(&i[2], w)?,
            on_board,
            rev: opt_number(&i[4], w)?,
        })
    }
}
