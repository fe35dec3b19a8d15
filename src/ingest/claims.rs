//! Event ids on a Redis Cluster. A carrier's ids are one namespace (the
//! contract's duplicates are per carrier), but its events land in the slots
//! of many orders and trucks. So before a batch is applied, each event
//! claims its id among the carrier's ids (one round trip, in the carrier's
//! slot); an id another event holds is `event_id_reused` there, and the
//! events that pass are judged as duplicates by their order's or truck's
//! own ids. A rejected event's claim is given up after, as rejected events
//! are not remembered. On one Redis none of this runs: the functions check
//! the carrier's ids in the same call.

use chrono::{DateTime, Utc};

use crate::domain::{CarrierEvent, EventStatus, Outcome};
use crate::store::functions::{Claim, ClaimAnswer, Function, Identity, Unclaim};
use crate::store::{Result, Store, StoreError};

use super::plan;

/// The events that claimed their ids (by their place in the batch).
pub(super) struct Claimed(Vec<(usize, Identity)>);

/// Claims every event's id; events whose id another event holds get their
/// outcome and leave `valid`.
pub(super) async fn claim(
    store: &Store,
    carrier: &str,
    received_at: DateTime<Utc>,
    valid: &mut Vec<(usize, CarrierEvent)>,
    outcomes: &mut [Option<Outcome>],
) -> Result<Claimed> {
    let identities: Vec<Identity> = valid
        .iter()
        .map(|(_, e)| identity(store, e, received_at))
        .collect();
    let mut pipe = redis::pipe();
    for identity in &identities {
        Claim { carrier, identity }.push(&mut pipe);
    }
    let values = store.query_each(&mut pipe).await?;
    if values.len() != identities.len() {
        return Err(StoreError::Corrupt("claim answers do not match".into()));
    }
    let mut claimed = Vec::new();
    let mut reused = Vec::new();
    for (((i, _), identity), v) in valid.iter().zip(identities).zip(values) {
        match ClaimAnswer::parse(v)? {
            ClaimAnswer::Ours => claimed.push((*i, identity)),
            ClaimAnswer::Reused(before) => {
                outcomes[*i] = Some(Outcome::rejected(
                    "event_id_reused",
                    plan::reused(Some(&before)),
                ));
                reused.push(*i);
            }
        }
    }
    valid.retain(|(i, _)| !reused.contains(i));
    Ok(Claimed(claimed))
}

/// Gives up the claims of events that ended rejected.
pub(super) async fn release(
    store: &Store,
    carrier: &str,
    claimed: &Claimed,
    outcomes: &[Option<Outcome>],
) -> Result<()> {
    let mut pipe = redis::pipe();
    for (i, identity) in &claimed.0 {
        if outcomes[*i]
            .as_ref()
            .is_some_and(|o| o.status == EventStatus::Rejected)
        {
            Unclaim { carrier, identity }.push(&mut pipe);
        }
    }
    if pipe.is_empty() {
        return Ok(());
    }
    let _ = store.query_each(&mut pipe).await?;
    Ok(())
}

/// How an event is known among its carrier's ids: as the functions that
/// apply it know it.
fn identity(store: &Store, e: &CarrierEvent, received_at: DateTime<Utc>) -> Identity {
    let (_, digest) = plan::record_and_digest(e, received_at);
    Identity::new(
        e.event_id.as_str(),
        digest,
        plan::target(e),
        received_at,
        store.options().dedupe_days,
    )
}
