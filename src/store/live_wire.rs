//! The live messages vinpath's Redis functions publish on the live channel
//! and every instance's `live` reads: their one definition on the Rust
//! side (the Lua's `publish_*` helpers write them; a test round-trips each
//! through a real Redis).

use serde::Deserialize;
use serde_json::{Map, Value};

/// The version of the messages; the Lua writes it as `v`.
pub const VERSION: u32 = 3;

/// The beat each instance sends down the live channel.
pub const BEAT: &str = r#"{"v":3,"kind":"beat"}"#;

/// What one history entry of an order changed: each entry one change, so
/// each live frame has a cursor of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Change {
    #[serde(rename = "m")]
    Milestone,
    #[serde(rename = "p")]
    Position,
    /// A position inside a site: for dispatchers only (customers see the
    /// site, not the bay).
    #[serde(rename = "q")]
    SitePosition,
    #[serde(rename = "e")]
    Eta,
    #[serde(rename = "n")]
    Notice,
    #[serde(rename = "c")]
    Clip,
    /// A dispatcher voided an event: the order was recomputed.
    #[serde(rename = "v")]
    Correction,
    /// An inspection was recorded.
    #[serde(rename = "i")]
    Inspection,
    /// The customer signed for the car at the door.
    #[serde(rename = "h")]
    Handover,
    /// A camera that shows the car went live or off.
    #[serde(rename = "l")]
    Live,
}

impl Change {
    /// As history entries keep it (`x`).
    pub fn parse(letter: &str) -> Option<Self> {
        Some(match letter {
            "m" => Change::Milestone,
            "p" => Change::Position,
            "q" => Change::SitePosition,
            "e" => Change::Eta,
            "n" => Change::Notice,
            "c" => Change::Clip,
            "v" => Change::Correction,
            "i" => Change::Inspection,
            "h" => Change::Handover,
            "l" => Change::Live,
            _ => return None,
        })
    }
}

/// A change of one order.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderChange {
    pub order_id: String,
    pub carrier_id: String,
    /// The truck the car is on ('' none).
    pub truck_id: String,
    pub milestone: String,
    /// The history entry's id: the websocket cursor.
    pub cursor: String,
    pub change: Change,
    pub gap: bool,
    /// The entry's record.
    pub event: Map<String, Value>,
}

/// A truck that moved.
#[derive(Debug, Clone, Deserialize)]
pub struct TruckMove {
    pub carrier_id: String,
    pub truck_id: String,
    pub position: Value,
}

/// Whether an alert was raised or cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Raised,
    /// A dispatcher acknowledged it; it stays open until its cause clears.
    Acked,
    Cleared,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Raised => "raised",
            AlertState::Acked => "acked",
            AlertState::Cleared => "cleared",
        }
    }
}

/// An alert raised or cleared.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertChange {
    pub state: AlertState,
    pub alert: Value,
}

/// An order's tracking link was replaced: sockets opened with the old one
/// close.
#[derive(Debug, Clone, Deserialize)]
pub struct LinkChange {
    pub order_id: String,
}

/// A credential was revoked (by its token's hash): instances forget it and
/// close its sockets.
#[derive(Debug, Clone, Deserialize)]
pub struct Revocation {
    pub credential: String,
}

/// A registered device changed (`protocol:device_id`): instances forget
/// their copy.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceChange {
    pub key: String,
}

/// One message of the live channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveMessage {
    Order(OrderChange),
    Truck(TruckMove),
    Alert(AlertChange),
    Link(LinkChange),
    Revoked(Revocation),
    Device(DeviceChange),
    /// An instance's beat: proof that the channel carries messages.
    Beat,
}

#[derive(Deserialize)]
struct Envelope {
    v: u32,
    #[serde(flatten)]
    message: LiveMessage,
}

/// Why a live message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("live message of version {0}, this vinpath reads {VERSION}")]
    Version(u32),
    #[error("unreadable live message: {0}")]
    Shape(#[from] serde_json::Error),
}

impl LiveMessage {
    pub fn parse(payload: &[u8]) -> Result<Self, WireError> {
        let e: Envelope = serde_json::from_slice(payload)?;
        if e.v != VERSION {
            return Err(WireError::Version(e.v));
        }
        Ok(e.message)
    }
}
