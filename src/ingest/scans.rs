//! A run of scans: one round trip of `scan` calls, then the follow-ups
//! they left (truck bindings, alerts their milestones end).

use crate::domain::{CarrierEvent, EventBody, EventStatus, Outcome, Proof, Scan as ScanEvent, utc};
use crate::store::functions::{Function, IdSpace, Identity, Scan, ScanAnswer, Status};
use crate::store::{Result, StoreError};

use super::{Request, followup, plan};

pub(super) async fn apply(
    req: &Request<'_>,
    segment: &[(usize, CarrierEvent)],
    outcomes: &mut [Option<Outcome>],
) -> Result<()> {
    let store = req.store;
    let mut scans: Vec<(usize, &CarrierEvent, &ScanEvent)> = Vec::new();
    let mut proofs: Vec<String> = Vec::new();
    for (i, e) in segment {
        let EventBody::Scan(s) = &e.body else {
            continue;
        };
        match proof_arg(store, s, e, req.received_at).await? {
            Ok(proof) => {
                scans.push((*i, e, s));
                proofs.push(proof);
            }
            Err(refused) => outcomes[*i] = Some(refused),
        }
    }
    if scans.is_empty() {
        return Ok(());
    }
    // Scans place cars at sites from this instance's copy of them; a site
    // it has not heard of (created on another instance) refreshes it first.
    let mut sites = store.cached_sites();
    let unheard = scans.iter().any(|(_, _, s)| {
        s.site_id
            .as_ref()
            .is_some_and(|id| !sites.iter().any(|x| x.site.id == id.as_str()))
    });
    if unheard {
        sites = store.current_sites().await?;
    }
    let carrier = req.carrier.as_str();
    let options = store.options();
    let prepared: Vec<_> = scans
        .iter()
        .map(|(_, e, s)| {
            let (record, digest) = plan::record_and_digest(e, req.received_at);
            let identity = Identity::new(
                e.event_id.as_str(),
                digest,
                plan::target(e),
                req.received_at,
                options.dedupe_days,
            );
            let position = s
                .position
                .map(|p| plan::scan_position(e, p, req.received_at));
            let placement =
                plan::site_placement(s.milestone, s.site_id.as_ref(), &sites, e.occurred_at);
            let leg = plan::loading_leg(s, &sites);
            let letters = plan::scan_letters(s.milestone);
            (identity, position, placement, record, letters, leg)
        })
        .collect();
    let mut pipe = redis::pipe();
    for (((_, e, s), (identity, position, placement, record, letters, leg)), proof) in
        scans.iter().zip(&prepared).zip(&proofs)
    {
        Scan {
            order: s.order_id.as_str(),
            ids: req.ids(IdSpace::Order(s.order_id.as_str())),
            carrier: Some(carrier),
            identity,
            at: e.occurred_at,
            received_at: req.received_at,
            record,
            milestone: s.milestone.as_str(),
            by_current: &letters.by_current,
            from_hold: &letters.from_hold,
            ends_alerts: &letters.ends_alerts,
            truck: s.truck_id.as_ref().map(|t| t.as_str()),
            position: position.as_ref().map(|(p, r)| (p.as_str(), r.as_str())),
            vin: s.vin.as_ref().map(|v| v.as_str()),
            site: placement,
            crossing: None,
            leg: leg.as_deref(),
            proof,
            proof_required: options.proof_required,
        }
        .push(&mut pipe);
    }
    let values = store.query_each(&mut pipe).await?;
    if values.len() != scans.len() {
        return Err(StoreError::Corrupt("scan answers do not match".into()));
    }
    let mut done = Vec::new();
    let mut retried = Vec::new();
    for ((i, _, s), v) in scans.iter().zip(values) {
        let a = ScanAnswer::parse(v)?;
        if a.status == Status::Event(EventStatus::Duplicate) && a.code.as_deref() == Some("pending")
        {
            retried.push(s.order_id.to_string());
        }
        outcomes[*i] = Some(plan::scan_outcome(
            &a,
            s.order_id.as_str(),
            s.milestone,
            carrier,
        ));
        done.extend(a.followup);
    }
    followup::after(store, done, retried).await
}

/// A delivered scan's proof as the `scan` function takes it: its code, or
/// its customer-not-available record once every photo it names is one of
/// the order's (a refusal naming the photo otherwise).
async fn proof_arg(
    store: &crate::store::Store,
    s: &ScanEvent,
    e: &CarrierEvent,
    received_at: chrono::DateTime<chrono::Utc>,
) -> Result<std::result::Result<String, Outcome>> {
    Ok(Ok(match &s.proof {
        None => String::new(),
        Some(Proof::Code(code)) => format!("code:{code}"),
        Some(Proof::CustomerAway { photo_ids }) => {
            let photos = store.photos(&s.order_id).await?;
            if let Some(stranger) = photo_ids.iter().find(|p| !photos.contains_key(*p)) {
                return Ok(Err(Outcome::rejected(
                    "invalid_field",
                    format!(
                        "photo_ids: no photo of order {} has id {stranger:?}",
                        s.order_id
                    ),
                )));
            }
            let away = serde_json::json!({
                "event_id": e.event_id,
                "at": utc(e.occurred_at),
                "recorded_at": utc(received_at),
                "photo_ids": photo_ids,
                "position": s.position.map(|p| [p.lat, p.lon]),
            });
            format!("away:{away}")
        }
    }))
}
