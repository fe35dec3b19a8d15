//! `vinpath8_scan` and `vinpath8_cancel`: a milestone reached.

use chrono::{DateTime, Utc};
use redis::Value;
use serde::Deserialize;

use super::{Function, IdSpace, Identity, Status, items, opt, status};
use crate::store::keys;

/// Where a scan places the car.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SitePlacement {
    /// Nothing said of sites: the car stays where it is.
    #[default]
    Unchanged,
    /// Inside this site, shown at it (its JSON as the order keeps it).
    At(String),
    /// Out of any site, on the road.
    Left,
}

impl SitePlacement {
    pub(super) fn arg(&self) -> String {
        match self {
            SitePlacement::Unchanged => String::new(),
            SitePlacement::At(json) => json.clone(),
            SitePlacement::Left => "-".into(),
        }
    }
}

/// A scan of one order, judged in the contract's order.
#[derive(Debug, Clone)]
pub struct Scan<'a> {
    pub order: &'a str,
    /// Whose ids the event is remembered among.
    pub ids: IdSpace<'a>,
    /// The carrier the order must belong to; `None` for a crossing vinpath
    /// derived itself.
    pub carrier: Option<&'a str>,
    pub identity: &'a Identity,
    pub at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub record: &'a str,
    pub milestone: &'a str,
    /// Verdict letters by current milestone, and from `on_hold` by the
    /// milestone it was held from (`Milestone::ALL` order).
    pub by_current: &'a str,
    pub from_hold: &'a str,
    /// `1` by current milestone where reaching this one ends alerts.
    pub ends_alerts: &'a str,
    pub truck: Option<&'a str>,
    /// Where the scan was made (the order's `pos`), and the history entry
    /// of that move: an entry of its own, so its live frame has its own
    /// cursor.
    pub position: Option<(&'a str, &'a str)>,
    pub vin: Option<&'a str>,
    pub site: &'a SitePlacement,
    /// For a crossing a fix implied: apply only while the order's position
    /// is still that fix (ms) and its milestone the one crossed from.
    pub crossing: Option<(i64, &'a str)>,
    /// For a loading: the leg it starts (JSON), where it says where.
    pub leg: Option<&'a str>,
    /// A delivery's proof: `code:NNNNNN`, `away:{record}` or ''.
    pub proof: &'a str,
    /// Whether a delivery needs a proof (`VINPATH_PROOF_OF_DELIVERY`).
    pub proof_required: bool,
}

impl Function for Scan<'_> {
    const NAME: &'static str = "scan";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "timeline", "pending", "index", "ids_prev", "ids_this", "ids_next",
        "ended", "handover",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "carrier", "event_id", "digest", "target", "bucket", "span", "at", "received", "rec",
        "channel", "to", "by_current", "from_hold", "ends_alerts", "truck", "position",
        "vin", "site", "only_at_fix", "only_from", "leg", "position_rec", "proof",
        "proof_required",
    ];

    fn keys(&self) -> Vec<String> {
        let mut k = vec![
            keys::order(self.order),
            keys::order_log(self.order),
            keys::order_timeline(self.order),
            keys::order_pending(self.order),
            keys::pending_of(self.order),
        ];
        k.extend(self.identity.keys(&self.ids));
        k.push(keys::ended_of(self.order));
        k.push(keys::order_handover(self.order));
        k
    }

    fn argv(&self) -> Vec<String> {
        let mut a = vec![self.carrier.unwrap_or_default().to_owned()];
        a.extend(self.identity.argv());
        a.extend([
            self.at.timestamp_millis().to_string(),
            self.received_at.timestamp_millis().to_string(),
            self.record.to_owned(),
            keys::live_of(self.order),
            self.milestone.to_owned(),
            self.by_current.to_owned(),
            self.from_hold.to_owned(),
            self.ends_alerts.to_owned(),
            self.truck.unwrap_or_default().to_owned(),
            self.position.map(|p| p.0).unwrap_or_default().to_owned(),
            self.vin.unwrap_or_default().to_owned(),
            self.site.arg(),
            self.crossing.map(|c| c.0.to_string()).unwrap_or_default(),
            self.crossing.map(|c| c.1).unwrap_or_default().to_owned(),
            self.leg.unwrap_or_default().to_owned(),
            self.position.map(|p| p.1).unwrap_or_default().to_owned(),
            self.proof.to_owned(),
            if self.proof_required { "1" } else { "" }.to_owned(),
        ]);
        a
    }
}

/// A cancel by the sales system.
#[derive(Debug, Clone)]
pub struct Cancel<'a> {
    pub order: &'a str,
    pub at: DateTime<Utc>,
    pub record: &'a str,
}

impl Function for Cancel<'_> {
    const NAME: &'static str = "cancel";
    #[rustfmt::skip]
    const KEYS: &'static [&'static str] = &[
        "order_key", "log", "timeline", "pending", "index", "ended",
    ];
    #[rustfmt::skip]
    const ARGV: &'static [&'static str] = &[
        "at", "rec", "channel",
    ];

    fn keys(&self) -> Vec<String> {
        vec![
            keys::order(self.order),
            keys::order_log(self.order),
            keys::order_timeline(self.order),
            keys::order_pending(self.order),
            keys::pending_of(self.order),
            keys::ended_of(self.order),
        ]
    }

    fn argv(&self) -> Vec<String> {
        vec![
            self.at.timestamp_millis().to_string(),
            self.record.to_owned(),
            keys::live_of(self.order),
        ]
    }
}

/// Work a milestone change left on other keys: the car moved between
/// trucks, and alerts its new milestone ends. Kept on the order until done.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PendingWork {
    pub order_id: String,
    pub carrier_id: String,
    pub from: String,
    pub to: String,
    pub old_truck: String,
    pub old_since: i64,
    pub new_truck: String,
    pub new_since: i64,
    /// The item exactly as the order keeps it, to settle it by.
    #[serde(skip)]
    pub raw: String,
}

impl PendingWork {
    pub fn parse(raw: &str) -> Result<Self, crate::store::StoreError> {
        let mut w: Self = serde_json::from_str(raw)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("pending work {raw:?}: {e}")))?;
        w.raw = raw.to_owned();
        Ok(w)
    }
}

/// What `scan` and `cancel` answer.
#[derive(Debug, Clone)]
pub struct ScanAnswer {
    pub status: Status,
    /// `gap` when accepted across missing scans; the reason otherwise;
    /// `pending` on a duplicate whose follow-up is not done yet.
    pub code: Option<String>,
    /// For `rejected`: what the reason is about (the order's VIN, the
    /// milestone it was held from, the target of a reused id); for `stale`:
    /// the time (ms) of the current milestone.
    pub detail: Option<String>,
    /// The order's milestone and truck after the call ('' when unknown).
    pub milestone: Option<String>,
    pub truck: Option<String>,
    pub cursor: Option<String>,
    pub followup: Option<PendingWork>,
}

impl ScanAnswer {
    pub fn parse(v: Value) -> Result<Self, crate::store::StoreError> {
        let w = "scan answer";
        let i = items(v, 7, w)?;
        let followup = opt(&i[6], w)?;
        Ok(Self {
            status: status(&i[0], w)?,
            code: opt(&i[1], w)?,
            detail: opt(&i[2], w)?,
            milestone: opt(&i[3], w)?,
            truck: opt(&i[4], w)?,
            cursor: opt(&i[5], w)?,
            followup: followup.as_deref().map(PendingWork::parse).transpose()?,
        })
    }
}
