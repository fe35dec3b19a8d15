//! A fix's answer to the carrier, in words their developer can act on.

use crate::domain::{EventStatus, Outcome};
use crate::ingest::plan;
use crate::store::functions::Status;

/// Sets an event's outcome, unless an earlier attempt did (a retry finds
/// what that attempt applied as duplicates).
pub(super) fn settle(
    outcomes: &mut [Option<Outcome>],
    index: usize,
    judged: (Status, Option<&str>, Option<&str>),
    carrier: &str,
    target: &str,
) {
    if judged.0 == Status::Retry || outcomes[index].is_some() {
        return;
    }
    outcomes[index] = Some(outcome(judged, carrier, target));
}

/// A fix's outcome, in words a carrier's developer can act on; `target`
/// names what the fix is about (`order JD-1`, `truck YUE-A-12345`).
fn outcome(
    (status, code, detail): (Status, Option<&str>, Option<&str>),
    carrier: &str,
    target: &str,
) -> Outcome {
    match status {
        Status::Event(EventStatus::Rejected) => {
            let code = code.unwrap_or("rejected");
            let message = match code {
                "unknown_order" => format!("there is no {target}"),
                "not_your_order" => format!("{target} is not assigned to carrier {carrier}"),
                "unknown_truck" => format!(
                    "carrier {carrier} never loaded a car on {target}: send the loaded scan with its truck_id first"
                ),
                "event_id_reused" => plan::reused(detail),
                other => other.to_owned(),
            };
            Outcome::rejected(code, message)
        }
        Status::Event(EventStatus::Filtered) => {
            let o = Outcome::new(EventStatus::Filtered);
            match code {
                Some(c) => o.with_code(c),
                None => o,
            }
        }
        Status::Event(s) => Outcome::new(s),
        Status::Skip | Status::Retry => Outcome::new(EventStatus::Stale),
    }
}
