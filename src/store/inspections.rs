//! Inspections of an order, kept by id: each with the damages it found
//! new, written with its history entry and its damage alert at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::functions::{Function, Inspect, RecordAnswer, Status};
use super::{Result, Store, StoreError, keys};
use crate::domain::{Alert, AlertKind, Damage, EventStatus, Inspection, OrderId, utc};

/// An inspection as kept: as sent, with what vinpath made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionRecord {
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Its damages no earlier stage saw.
    pub new_damages: Vec<Damage>,
    pub recorded_at: String,
    /// The SHA-256 of its body as sent: a retry with the same body is the
    /// same inspection.
    pub digest: String,
}

/// What recording an inspection came to.
#[derive(Debug)]
pub enum Recorded {
    New(InspectionRecord),
    /// Sent before with the same body: the record kept then.
    Again(InspectionRecord),
    /// Sent before with another body.
    Conflict,
    NotYours,
    NoOrder,
}

impl InspectionRecord {
    /// As a customer sees it: when and where in the car's custody, its
    /// photos (copies without metadata, under the link's token) and its
    /// damages in words, those new at this stage marked (at the first
    /// inspection nothing is: there is nothing to be new against).
    pub fn public_view(
        &self,
        photo_url: impl Fn(&str) -> String,
        first: bool,
    ) -> serde_json::Value {
        let codes = crate::domain::DamageCodes::get();
        let i = &self.inspection;
        let damages: Vec<_> = i
            .damages
            .iter()
            .map(|d| {
                let name = |c: Option<&crate::domain::DamageCode>| {
                    c.map(|c| (c.name.clone(), c.name_zh.clone()))
                        .unwrap_or_default()
                };
                let (area, kind, size) = (
                    name(codes.area(&d.area)),
                    name(codes.kind(&d.kind)),
                    name(codes.severity(&d.severity)),
                );
                json!({
                    "area": d.area, "type": d.kind, "severity": d.severity, "note": d.note,
                    "new": !first && self.new_damages.contains(d),
                    "photos": d.photo_ids.iter().map(|p| photo_url(p)).collect::<Vec<_>>(),
                    "text": {
                        "en": format!("{}: {}, {}", area.0, kind.0, size.0),
                        "zh": format!("{}：{}，{}", area.1, kind.1, size.1),
                    },
                })
            })
            .collect();
        json!({
            "inspection_id": i.inspection_id,
            "stage": i.stage,
            "at": i.at,
            "photos": i.photos.iter().map(|p| json!({"view": p.view, "url": photo_url(&p.photo_id)})).collect::<Vec<_>>(),
            "damages": damages,
        })
    }
}

fn parse(raw: &str) -> Result<InspectionRecord> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("inspection {raw:?}: {e}")))
}

impl Store {
    /// Every inspection of an order, oldest first (by when it was made).
    pub async fn inspections(&self, order: &OrderId) -> Result<Vec<InspectionRecord>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(keys::order_inspections(order));
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        let mut all = raw.iter().map(|r| parse(r)).collect::<Result<Vec<_>>>()?;
        all.sort_by(|a, b| {
            (a.inspection.at(), &a.inspection.inspection_id)
                .cmp(&(b.inspection.at(), &b.inspection.inspection_id))
        });
        Ok(all)
    }

    /// Records an inspection, its new damages judged against the order's
    /// inspections as they are now. `carrier`: the order must be theirs.
    pub async fn record_inspection(
        &self,
        order: &OrderId,
        carrier: Option<&str>,
        inspection: Inspection,
        digest: String,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        let earlier: Vec<Inspection> = self
            .inspections(order)
            .await?
            .into_iter()
            .map(|r| r.inspection)
            .collect();
        let new_damages = inspection.new_damages(&earlier);
        let record = InspectionRecord {
            inspection,
            new_damages,
            recorded_at: utc(now),
            digest,
        };
        let i = &record.inspection;
        let entry = json!({
            "event_id": format!("inspection-{}", i.inspection_id),
            "kind": "inspection",
            "inspection_id": i.inspection_id,
            "stage": i.stage,
            "occurred_at": i.at,
            "received_at": utc(now),
            "damages": i.damages,
            "new_damages": record.new_damages,
        });
        let alert = (!record.new_damages.is_empty()).then(|| {
            let detail = json!({"stage": i.stage, "inspection_id": i.inspection_id,
                "damages": record.new_damages});
            Alert::for_order(AlertKind::Damage, order.as_str(), None, now, detail)
        });
        let alert_json = alert.as_ref().map(Alert::to_json);
        let kept =
            serde_json::to_string(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut pipe = redis::pipe();
        Inspect {
            order: order.as_str(),
            carrier,
            inspection_id: &i.inspection_id,
            kept: &kept,
            digest: &record.digest,
            record: &entry.to_string(),
            alert: alert
                .as_ref()
                .zip(alert_json.as_deref())
                .map(|(a, j)| (a.alert_id.as_str(), j)),
        }
        .push(&mut pipe);
        let (raw,): (redis::Value,) = self.query(&pipe).await?;
        let answer = RecordAnswer::parse(raw)?;
        Ok(match (answer.status, answer.code.as_deref()) {
            (Status::Event(EventStatus::Accepted), _) => Recorded::New(record),
            (Status::Event(EventStatus::Duplicate), _) => {
                Recorded::Again(parse(answer.value.as_deref().unwrap_or_default())?)
            }
            (_, Some("inspection_conflict")) => Recorded::Conflict,
            (_, Some("not_your_order")) => Recorded::NotYours,
            (_, Some("unknown_order")) => Recorded::NoOrder,
            (s, c) => {
                return Err(StoreError::Corrupt(format!("inspect answered {s:?} {c:?}")));
            }
        })
    }
}
