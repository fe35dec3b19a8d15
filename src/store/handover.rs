//! The handover at the door, kept per order: what the customer signed and
//! the code they were given (for one delivery run: the time the car went
//! out), then how the delivery was proved (the code, or a
//! customer-not-available record with photos). Written by `handover` and
//! by the `scan` that delivers, each in one atomic step.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::functions::{Function, HandOver, RecordAnswer, Status};
use super::{Result, Store, StoreError, keys};
use crate::domain::handover::{MAX_TRIES, new_code};
use crate::domain::{EventStatus, Handover, Milestone, OrderId, utc};

/// What the customer signed, as kept (the signature apart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signed {
    pub accepted: bool,
    pub exceptions: String,
    pub signer_name: String,
    pub at: String,
}

/// A customer-not-available record: where and when the car was left, and
/// the driver's photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Away {
    pub event_id: String,
    pub at: String,
    pub photo_ids: Vec<String>,
    #[serde(default)]
    pub position: Option<[f64; 2]>,
}

/// How a delivery was proved.
#[derive(Debug, Clone, PartialEq)]
pub enum Proved {
    /// With the customer's code, by this scan.
    Code {
        event_id: String,
        at: DateTime<Utc>,
    },
    Away(Away),
}

/// An order's handover as kept.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HandoverRecord {
    pub signed: Option<Signed>,
    /// The delivery run it was signed for (when the car went out, ms).
    pub run_ms: i64,
    pub code: String,
    pub tries: u32,
    /// The signature PNG, base64 ('' when not read).
    pub signature: String,
    pub proved: Option<Proved>,
}

/// The fields of the handover hash, in the order [`HandoverRecord::read`]
/// takes them; the signature last, read only where it is drawn.
const FIELDS: [&str; 9] = [
    "record",
    "for",
    "code",
    "tries",
    "used",
    "proof",
    "proof_at",
    "away",
    "signature",
];
/// The fields views read: all but the signature.
pub const VIEW_FIELDS: [&str; 8] = [
    "record", "for", "code", "tries", "used", "proof", "proof_at", "away",
];

impl HandoverRecord {
    /// Reads the fields of [`FIELDS`], in order.
    pub(super) fn read(f: &[Option<String>]) -> Result<Option<Self>> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("handover: {e}"));
        let text = |i: usize| f.get(i).cloned().flatten();
        let signed = text(0)
            .map(|r| serde_json::from_str::<Signed>(&r))
            .transpose()
            .map_err(corrupt)?;
        let proved = match text(5).as_deref() {
            Some("code") => Some(Proved::Code {
                event_id: text(4).unwrap_or_default(),
                at: text(6)
                    .and_then(|ms| ms.parse().ok())
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or_default(),
            }),
            Some("away") => Some(Proved::Away(
                serde_json::from_str(&text(7).unwrap_or_default()).map_err(corrupt)?,
            )),
            _ => None,
        };
        if signed.is_none() && proved.is_none() {
            return Ok(None);
        }
        Ok(Some(Self {
            signed,
            run_ms: text(1).and_then(|v| v.parse().ok()).unwrap_or_default(),
            code: text(2).unwrap_or_default(),
            tries: text(3).and_then(|v| v.parse().ok()).unwrap_or_default(),
            signature: text(8).unwrap_or_default(),
            proved,
        }))
    }

    /// Whether its code still opens the delivery of an order now at
    /// `milestone` since `since`.
    pub fn code_open(&self, milestone: Milestone, since: DateTime<Utc>) -> bool {
        self.signed.is_some()
            && milestone == Milestone::OutForDelivery
            && self.run_ms == since.timestamp_millis()
            && self.tries < MAX_TRIES
            && self.proved.is_none()
    }

    /// As the customer's page shows it: what they signed and, while it
    /// opens the delivery, their code (the page is theirs: the token is the
    /// secret); then how the delivery was proved.
    pub fn public_view(
        &self,
        milestone: Milestone,
        since: DateTime<Utc>,
        photo_url: impl Fn(&str) -> String,
    ) -> Value {
        // What was signed belongs to its delivery run: the one out now, or
        // the one the customer's code delivered (not a later delivery with
        // nobody home).
        let this_run = milestone == Milestone::OutForDelivery
            && self.run_ms == since.timestamp_millis()
            || matches!(self.proved, Some(Proved::Code { .. }));
        let signed = self.signed.as_ref().filter(|_| this_run).map(|s| {
            json!({
                "accepted": s.accepted,
                "exceptions": s.exceptions,
                "signer_name": s.signer_name,
                "at": s.at,
                "code": self.code_open(milestone, since).then_some(&self.code),
                "locked": self.tries >= MAX_TRIES && self.proved.is_none(),
            })
        });
        let proof = self.proved.as_ref().map(|p| match p {
            Proved::Code { at, .. } => json!({"kind": "handover", "at": utc(*at)}),
            Proved::Away(a) => json!({
                "kind": "customer_not_available",
                "at": a.at,
                "photos": a.photo_ids.iter().map(|p| photo_url(p)).collect::<Vec<_>>(),
            }),
        });
        json!({"signed": signed, "proof": proof})
    }
}

/// What signing came to.
#[derive(Debug)]
pub enum Signing {
    /// The code given, now or to the same signing before.
    Code(String),
    /// Signed before with another body, and that code still stands.
    Conflict,
    /// The car is not out for delivery (any more).
    NotOut,
    NoOrder,
}

/// The SHA-256 of what was signed: the same body is the same signing.
fn digest(h: &Handover) -> String {
    let mut d = Sha256::new();
    d.update(json!([h.accepted, h.exceptions, h.signer_name]).to_string());
    d.update(&h.signature);
    hex::encode(d.finalize())
}

impl Store {
    /// An order's handover, without its signature (`with_signature` to
    /// draw it).
    pub async fn handover(
        &self,
        order: &OrderId,
        with_signature: bool,
    ) -> Result<Option<HandoverRecord>> {
        let fields: &[&str] = if with_signature {
            &FIELDS
        } else {
            &VIEW_FIELDS
        };
        let mut pipe = redis::pipe();
        pipe.cmd("HMGET")
            .arg(keys::order_handover(order))
            .arg(fields);
        let (f,): (Vec<Option<String>>,) = self.query(&pipe).await?;
        HandoverRecord::read(&f)
    }

    /// The customer signs for the car, now.
    pub async fn sign_handover(
        &self,
        order: &OrderId,
        h: &Handover,
        now: DateTime<Utc>,
    ) -> Result<Signing> {
        use base64::Engine;
        let signed = Signed {
            accepted: h.accepted,
            exceptions: h.exceptions.clone(),
            signer_name: h.signer_name.clone(),
            at: utc(now),
        };
        let kept =
            serde_json::to_string(&signed).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let entry = json!({
            "event_id": format!("handover-{}", now.timestamp_millis()),
            "kind": "handover",
            "accepted": h.accepted,
            "exceptions": h.exceptions,
            "occurred_at": utc(now),
            "received_at": utc(now),
        });
        let mut pipe = redis::pipe();
        HandOver {
            order: order.as_str(),
            digest: &digest(h),
            code: &new_code(),
            kept: &kept,
            signature: &base64::engine::general_purpose::STANDARD.encode(&h.signature),
            record: &entry.to_string(),
        }
        .push(&mut pipe);
        let (raw,): (redis::Value,) = self.query(&pipe).await?;
        let answer = RecordAnswer::parse(raw)?;
        Ok(match (answer.status, answer.code.as_deref()) {
            (Status::Event(EventStatus::Accepted | EventStatus::Duplicate), _) => {
                Signing::Code(answer.value.unwrap_or_default())
            }
            (_, Some("handover_conflict")) => Signing::Conflict,
            (_, Some("not_out_for_delivery")) => Signing::NotOut,
            (_, Some("unknown_order")) => Signing::NoOrder,
            (s, c) => {
                return Err(StoreError::Corrupt(format!(
                    "handover answered {s:?} {c:?}"
                )));
            }
        })
    }
}

/// The fields of an order's handover hash, as read with HGETALL (archives).
pub fn from_fields(h: &HashMap<String, String>) -> Result<Option<HandoverRecord>> {
    let f: Vec<Option<String>> = FIELDS.iter().map(|k| h.get(*k).cloned()).collect();
    HandoverRecord::read(&f)
}
