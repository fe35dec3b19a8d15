//! How vinpath judged one carrier event: the contract's statuses, a stable
//! code and a message a carrier's developer can act on.

use super::EventRejection;

/// The contract's statuses of an event, in the order they are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Rejected,
    Duplicate,
    Filtered,
    Stale,
    Accepted,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Rejected => "rejected",
            EventStatus::Duplicate => "duplicate",
            EventStatus::Filtered => "filtered",
            EventStatus::Stale => "stale",
            EventStatus::Accepted => "accepted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EventStatus::Rejected,
            EventStatus::Duplicate,
            EventStatus::Filtered,
            EventStatus::Stale,
            EventStatus::Accepted,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// The answer for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: EventStatus,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Outcome {
    pub fn new(status: EventStatus) -> Self {
        Self {
            status,
            code: None,
            message: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn rejected(code: &str, message: impl Into<String>) -> Self {
        Self::new(EventStatus::Rejected)
            .with_code(code)
            .with_message(message)
    }
}

impl From<EventRejection> for Outcome {
    fn from(r: EventRejection) -> Self {
        Self::rejected(r.code, r.message)
    }
}
