//! Pure types and rules of car delivery: identifiers, VINs, milestones and
//! their transitions, positions, carrier events and orders. No I/O here.

pub mod alert;
pub mod camera;
pub mod damage;
pub mod device;
pub mod event;
pub mod handover;
pub mod ids;
pub mod inspection;
pub mod milestone;
pub mod order;
pub mod outcome;
pub mod position;
pub mod role;
pub mod state;
pub mod vin;

pub use alert::{Alert, AlertKind};
pub use camera::{Camera, Pushed, Watches};
pub use damage::{DamageCode, DamageCodes};
pub use device::{Device, DeviceFix, DeviceId, Protocol};
pub use event::{CarrierEvent, EventBody, EventRejection, Fix, FixTarget, Scan};
pub use handover::{Handover, HandoverIn, Proof};
pub use ids::{CarrierId, EventId, OrderId, SiteId, TruckId};
pub use inspection::{Damage, Inspection, InspectionIn, Stage};
pub use milestone::{Milestone, Verdict};
pub use order::{NewOrder, OrderPatch, Place};
pub use outcome::{EventStatus, Outcome};
pub use position::Position;
pub use role::Role;
pub use state::{ClipListing, OrderState, PositionReport, TimelineEntry};
pub use vin::{Vin, VinWarning};

/// A rule a value broke, named by the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Formats a time as the API answers it: RFC 3339 in UTC with `Z`.
pub fn utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
