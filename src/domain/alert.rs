//! Alerts: what looks wrong with a car on its way, for dispatchers.

use serde::{Deserialize, Serialize};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Still too long while in transit.
    Stationary,
    /// Far from the planned route.
    OffRoute,
    /// Expected after the promised time.
    Late,
    /// No fix for too long while in transit.
    NoSignal,
    /// The truck's (or car's) tracker raised its emergency alarm.
    Emergency,
    /// An inspection found damage no earlier stage saw.
    Damage,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::Stationary,
        AlertKind::OffRoute,
        AlertKind::Late,
        AlertKind::NoSignal,
        AlertKind::Emergency,
        AlertKind::Damage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Stationary => "stationary",
            AlertKind::OffRoute => "off_route",
            AlertKind::Late => "late",
            AlertKind::NoSignal => "no_signal",
            AlertKind::Emergency => "emergency",
            AlertKind::Damage => "damage",
        }
    }

    /// An order's alert of this kind: there is at most one open at a time.
    pub fn id(self, order: &str) -> String {
        format!("{}:{order}", self.as_str())
    }
}

/// An open alert, as `GET /api/v1/alerts` and the fleet show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub kind: AlertKind,
    pub order_id: Option<String>,
    pub truck_id: Option<String>,
    /// RFC 3339, UTC.
    pub since: String,
    /// What the alert is about, as data (`{"since"}`, `{"minutes_late"}`,
    /// `{"km_off_route"}`...): pages word it in the viewer's language and
    /// from the current time.
    pub detail: serde_json::Value,
    /// Who acknowledged it, when, and their note (`{by, at, note}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<serde_json::Value>,
}

impl Alert {
    pub fn for_order(
        kind: AlertKind,
        order: &str,
        truck: Option<&str>,
        since: chrono::DateTime<chrono::Utc>,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            alert_id: kind.id(order),
            kind,
            order_id: Some(order.to_owned()),
            truck_id: truck.map(str::to_owned),
            since: super::utc(since),
            detail,
            ack: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
