//! `vinpath8_correct` and `vinpath8_void_truck_fix` (`lua/correct.lua`):
//! an order rewritten without a voided event.

use redis::Value;

use super::scan::PendingWork;
use super::{Function, items, text};
use crate::store::{StoreError, keys};

/// Writes an order as replayed without `event_id`, if it is still at the
/// revision it was read at.
#[derive(Debug, Clone)]
pub struct Correct<'a> {
    pub order: &'a str,
    pub event_id: &'a str,
    /// `{reason, at, by}` (JSON).
    pub void: &'a str,
    pub expect_rev: i64,
    /// The order's replayed fields: a JSON object, `""` removing a field.
    pub fields: &'a str,
    /// Its timeline entries, a JSON array of their JSON.
    pub timeline: &'a str,
    /// The correction's own history entry.
    pub record: &'a str,
    /// Whether the change of milestone ends alerts.
    pub ends_alerts: bool,
    /// The voided fix's member of the car's own track ('' none).
    pub track_member: &'a str,
    pub received_ms: i64,
}

impl Function for Correct<'_> {
    const NAME: &'static str = "correct";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "timeline", "pending", "index", "ended", "active", "track",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "event_id", "void", "expect_rev", "fields_json", "timeline_json",
        "rec", "channel", "ends_alerts", "member", "received",
    ];

    fn keys(&self) -> Vec<String> {
        let o = self.order;
        vec![
            keys::order(o),
            keys::order_log(o),
            keys::order_timeline(o),
            keys::order_pending(o),
            keys::pending_of(o),
            keys::ended_of(o),
            keys::active_of(o),
            keys::order_track(o),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.event_id.to_owned(),
            self.void.to_owned(),
            self.expect_rev.to_string(),
            self.fields.to_owned(),
            self.timeline.to_owned(),
            self.record.to_owned(),
            keys::live_of(self.order),
            if self.ends_alerts { "1" } else { "0" }.to_owned(),
            self.track_member.to_owned(),
            self.received_ms.to_string(),
        ]
    }
}

/// What `correct` answers.
#[derive(Debug, Clone, PartialEq)]
pub enum CorrectAnswer {
    /// Rewritten: the correction's history entry, and the follow-up it
    /// left (trucks, alerts).
    Voided {
        cursor: String,
        followup: Option<Box<PendingWork>>,
    },
    /// Voided before: nothing changed.
    Done,
    /// The order changed since it was read: read and replay again.
    Retry,
    Missing,
}

impl CorrectAnswer {
    pub fn parse(v: Value) -> Result<Self, StoreError> {
        let what = "correct";
        let a = items(v, 3, what)?;
        Ok(match text(&a[0], what)?.as_str() {
            "voided" => {
                let followup = text(&a[2], what)?;
                CorrectAnswer::Voided {
                    cursor: text(&a[1], what)?,
                    followup: if followup.is_empty() {
                        None
                    } else {
                        Some(Box::new(PendingWork::parse(&followup)?))
                    },
                }
            }
            "done" => CorrectAnswer::Done,
            "retry" => CorrectAnswer::Retry,
            "missing" => CorrectAnswer::Missing,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "{what}: unknown status {other:?}"
                )));
            }
        })
    }
}

/// Takes a voided fix off its truck's track, and its position back to the
/// newest fix before it while it was the truck's position.
#[derive(Debug, Clone)]
pub struct VoidTruckFix<'a> {
    /// `carrier/truck`.
    pub name: &'a str,
    pub carrier: &'a str,
    pub truck: &'a str,
    pub member: &'a str,
    pub at_ms: i64,
    /// The position before it (JSON) and its time, if any.
    pub before: Option<(&'a str, i64)>,
}

impl Function for VoidTruckFix<'_> {
    const NAME: &'static str = "void_truck_fix";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "truck_key", "track",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "member", "at", "position", "position_at", "channel", "carrier", "truck_id",
    ];

    fn keys(&self) -> Vec<String> {
        vec![keys::truck(self.name), keys::truck_track(self.name)]
    }

    fn argv(&self) -> Vec<String> {
        let (position, at) = self.before.unwrap_or(("", 0));
        vec![
            self.member.to_owned(),
            self.at_ms.to_string(),
            position.to_owned(),
            at.to_string(),
            keys::live_of(self.name),
            self.carrier.to_owned(),
            self.truck.to_owned(),
        ]
    }
}
