//! The worker every instance runs: it turns outbox entries into
//! deliveries and sends the deliveries due. It runs on a thread of its own
//! (its HTTP client is not `Send`) at a lower priority than the server's:
//! on a busy machine carriers' events are taken first and deliveries use
//! what CPU is left; on an idle one they go at full speed. Sends run side
//! by side, bounded in all and per endpoint, so a slow endpoint delays
//! only itself. What
//! the sends found is recorded together, a pass at a time: a pass runs
//! every poll, and soon after a send ends (so the next change of an order
//! goes out at once), gathering the sends that end meanwhile.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

use super::{WebhookOptions, event, retry_after, sign, target};
use crate::clock::Clock;
use crate::domain::utc;
use crate::store::functions::{Enqueue, EnqueueItem};
use crate::store::webhooks::{Delivery, Finished, Webhook};
use crate::store::{Result, Store};

/// The outboxes' consumer group: every instance reads in it.
const GROUP: &str = "webhooks";
/// Sends at once, in all and to one endpoint.
const MOST_IN_FLIGHT: usize = 64;
const MOST_PER_ENDPOINT: usize = 16;
/// How often the outboxes are emptied when no endpoint wants anything.
const IDLE_DRAIN: Duration = Duration::from_secs(2);
/// The most of an endpoint's answer vinpath reads.
const ANSWER_BYTES: usize = 4096;
/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// After a send ends, how long the pass waits for others to end with it.
const GATHER: Duration = Duration::from_millis(20);
/// A pass is followed by a rest this many times as long as it took.
const RESTING: u32 = 4;

/// How much lower the worker's thread runs than the server's (`nice`).
const NICENESS: i32 = 10;

/// The running worker; `stop` ends it (it records the attempts it made,
/// then its thread ends).
pub struct Worker {
    stop: watch::Sender<bool>,
}

impl Worker {
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// Starts the worker on a thread of its own. `store` is a handle with its
/// own connection, first used on that thread.
pub fn start(store: Store, clock: Clock, options: WebhookOptions, public_url: String) -> Worker {
    let (stop, stopped) = watch::channel(false);
    let started = std::thread::Builder::new()
        .name("vinpath-webhooks".into())
        .spawn(move || {
            lower_priority();
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "webhooks: no runtime; nothing is delivered");
                    return;
                }
            };
            tokio::task::LocalSet::new().block_on(&runtime, async move {
                let ctx = Rc::new(Ctx {
                    store,
                    clock,
                    options,
                    public_url,
                    consumer: format!("vinpath-{}", ulid::Ulid::generate()),
                    client: awc::Client::builder()
                        .disable_redirects()
                        .timeout(TIMEOUT)
                        .finish(),
                    in_flight: RefCell::default(),
                    finished: RefCell::default(),
                    ended: Notify::new(),
                });
                run(ctx, stopped).await;
            });
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "webhooks: no thread; nothing is delivered");
    }
    Worker { stop }
}

/// Lowers this thread's priority (Linux: a thread's own nice value).
fn lower_priority() {
    // SAFETY: plain system calls on this thread's own id.
    let done = unsafe {
        let tid = libc::gettid();
        libc::setpriority(libc::PRIO_PROCESS as _, tid as libc::id_t, NICENESS)
    };
    if done != 0 {
        tracing::debug!("webhooks: the worker's priority was not lowered");
    }
}

struct Ctx {
    store: Store,
    clock: Clock,
    options: WebhookOptions,
    public_url: String,
    /// This instance in the consumer group.
    consumer: String,
    client: awc::Client,
    /// Sends under way, by endpoint.
    in_flight: RefCell<HashMap<String, usize>>,
    /// Attempts made and not recorded yet.
    finished: RefCell<Vec<Finished>>,
    /// Told when a send ends.
    ended: Notify,
}

async fn run(ctx: Rc<Ctx>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(ctx.options.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = Polls::default();
    let mut rest = Duration::ZERO;
    loop {
        let polled = tokio::select! {
            _ = tick.tick() => true,
            _ = ctx.ended.notified() => false,
            _ = stopped.changed() => {
                record(&ctx).await;
                return;
            }
        };
        // A send ended: wait for those that end meanwhile, to record them
        // together. And after every pass a rest in proportion to how long
        // it took: a slow pass means a busy Redis (carriers' events come
        // first), so the worker keeps to a share of its time; an idle
        // Redis answers in a millisecond or two.
        let wait = if polled { rest } else { rest.max(GATHER) };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let began = Instant::now();
        record(&ctx).await;
        // With no endpoint, sending too waits for the polls that let the
        // outboxes go, now and then (a deleted endpoint's deliveries fail).
        if (!polled || poll(&ctx, &mut polls).await)
            && let Err(e) = send_due(&ctx).await
        {
            tracing::warn!(error = %e, "webhooks: could not take deliveries; will retry");
        }
        rest = began.elapsed() * RESTING;
    }
}

/// What polling remembers from one poll to the next.
#[derive(Default)]
struct Polls {
    /// The outboxes' consumer group is made.
    groups: bool,
    /// When a dead instance's entries were last claimed (at once at
    /// start, then every lease).
    claimed_at: Option<Instant>,
    /// When the outboxes were last read.
    drained_at: Option<Instant>,
}

/// Turns new outbox entries into deliveries (and claims a dead
/// instance's, now and then); false when it did nothing (no endpoint, and
/// the outboxes were let go of a moment ago), and nothing is to be sent.
async fn poll(ctx: &Ctx, polls: &mut Polls) -> bool {
    // The endpoints, to know when idle (fan-out and sending read them
    // again after what they judge by them).
    let hooks = match ctx.store.webhooks().await {
        Ok(h) => h,
        Err(e) => {
            tracing::debug!(error = %e, "webhooks: endpoints not read; will retry");
            return false;
        }
    };
    // With no endpoint, the outboxes are only let go of, now and then.
    if hooks.is_empty() && polls.drained_at.is_some_and(|t| t.elapsed() < IDLE_DRAIN) {
        return false;
    }
    polls.drained_at = Some(Instant::now());
    if !polls.groups {
        match ctx.store.ensure_outbox_groups(GROUP).await {
            Ok(()) => polls.groups = true,
            Err(e) => {
                tracing::debug!(error = %e, "webhooks: outbox groups not made yet");
                return true;
            }
        }
    }
    let claim = polls
        .claimed_at
        .is_none_or(|t| t.elapsed() >= ctx.options.lease);
    if claim {
        polls.claimed_at = Some(Instant::now());
    }
    if let Err(e) = fan_out(ctx, claim).await {
        tracing::warn!(error = %e, "webhooks: could not read the outboxes; will retry");
    }
    true
}

/// A delivery's id: the same for the same change and endpoint, however
/// often its outbox entry is read.
fn delivery_id(webhook: &str, entry: &str) -> String {
    let h = Sha256::digest(format!("{webhook}|{entry}").as_bytes());
    let hex: String = h.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// An outbox entry id (`ms-seq`) as one number that keeps their order,
/// for listing an endpoint's deliveries newest first.
fn order_of(entry: &str) -> i64 {
    let (ms, seq) = entry.split_once('-').unwrap_or((entry, "0"));
    let (ms, seq): (i64, i64) = (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0));
    ms.saturating_mul(1000).saturating_add(seq.min(999))
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

async fn fan_out(ctx: &Ctx, claim: bool) -> Result<()> {
    let lease_ms = u64::try_from(ctx.options.lease.as_millis()).unwrap_or(u64::MAX);
    let entries = ctx
        .store
        .read_outbox(GROUP, &ctx.consumer, 100, claim.then_some(lease_ms))
        .await?;
    if entries.is_empty() {
        return Ok(());
    }
    // The endpoints are read after the entries, never before: an entry
    // is then judged by a list that holds every endpoint made before it
    // was written (a list read earlier in the tick could miss one made
    // meanwhile, and its changes would be let go undelivered).
    let hooks = &ctx.store.webhooks().await?;
    let now = ctx.clock.now();
    let items: Vec<Vec<EnqueueItem>> = entries
        .iter()
        .map(|e| {
            let Some(r) = event::reported(&e.message, &ctx.public_url) else {
                return Vec::new();
            };
            hooks
                .iter()
                .filter(|h| !h.disabled && h.events.iter().any(|t| t == r.kind))
                .map(|h| {
                    let d = Delivery {
                        delivery_id: delivery_id(&h.webhook_id, &e.id),
                        webhook_id: h.webhook_id.clone(),
                        order_id: r.order_id.clone(),
                        kind: r.kind.to_owned(),
                        status: "pending".into(),
                        attempts: 0,
                        last_status: None,
                        next_attempt_at: Some(utc(now)),
                        created_at: utc(now),
                        body: json!({"type": r.kind, "timestamp": utc(now), "data": r.data})
                            .to_string(),
                        partition: e.partition,
                        line: Delivery::line_of(e.partition, &h.webhook_id, &r.order_id),
                    };
                    d.enqueue_item(order_of(&e.id))
                })
                .collect()
        })
        .collect();
    let calls: Vec<Enqueue<'_>> = entries
        .iter()
        .zip(&items)
        .map(|(e, items)| Enqueue {
            partition: e.partition,
            group: GROUP,
            entry_id: &e.id,
            now_ms: ms(now),
            items,
        })
        .collect();
    ctx.store.enqueue(&calls).await
}

/// Records the attempts made since the last pass, in one round trip; kept
/// for the next pass when Redis cannot be reached.
async fn record(ctx: &Ctx) {
    let done = std::mem::take(&mut *ctx.finished.borrow_mut());
    match ctx.store.record_attempts(&done).await {
        Ok(recorded) => {
            let late = recorded.iter().filter(|r| !**r).count();
            if late > 0 {
                tracing::info!(
                    late,
                    "webhooks: attempts that outlived their lease were not recorded"
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "webhooks: could not record attempts; will retry");
            let mut finished = ctx.finished.borrow_mut();
            let newer = std::mem::replace(&mut *finished, done);
            finished.extend(newer);
        }
    }
}

async fn send_due(ctx: &Rc<Ctx>) -> Result<()> {
    let busy: usize = ctx.in_flight.borrow().values().sum();
    if busy >= MOST_IN_FLIGHT {
        return Ok(());
    }
    let now = ctx.clock.now();
    // Held at least as long as an attempt may take, so a slow endpoint's
    // delivery is not taken again while it is still being sent.
    let lease = ctx.options.lease.max(TIMEOUT + Duration::from_secs(5));
    let lease_ms = ms(now + chrono::Duration::from_std(lease).unwrap_or_default());
    let due = ctx.store.take_due(ms(now), lease_ms, 4).await?;
    if due.is_empty() {
        return Ok(());
    }
    // Read after the deliveries, as in fan-out: a list read before could
    // miss the endpoint of a delivery made meanwhile, and fail it unsent.
    let hooks = ctx.store.webhooks().await?;
    let hooks: HashMap<&str, &Webhook> = hooks.iter().map(|h| (h.webhook_id.as_str(), h)).collect();
    let mut given_back = Vec::new();
    // Each partition gives up to 4: what is over the cap goes back at once.
    let mut room = MOST_IN_FLIGHT - busy;
    for d in due {
        if room == 0 {
            given_back.push(Finished {
                delivery: d,
                next_ms: Some(ms(now)),
                now_ms: ms(now),
                lease_ms,
            });
            continue;
        }
        let hook = hooks.get(d.webhook_id.as_str()).map(|h| (*h).clone());
        let full = ctx
            .in_flight
            .borrow()
            .get(&d.webhook_id)
            .is_some_and(|n| *n >= MOST_PER_ENDPOINT);
        if full {
            // Its endpoint is busy: give the lease back, try a moment later.
            given_back.push(Finished {
                delivery: d,
                next_ms: Some(ms(now) + 250),
                now_ms: ms(now),
                lease_ms,
            });
            continue;
        }
        room -= 1;
        *ctx.in_flight
            .borrow_mut()
            .entry(d.webhook_id.clone())
            .or_default() += 1;
        let ctx = ctx.clone();
        tokio::task::spawn_local(async move {
            let id = d.webhook_id.clone();
            match send(&ctx, hook, d, lease_ms).await {
                Ok(done) => ctx.finished.borrow_mut().push(done),
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: an endpoint not disabled; it comes due again");
                }
            }
            if let Some(n) = ctx.in_flight.borrow_mut().get_mut(&id) {
                *n = n.saturating_sub(1);
            }
            ctx.ended.notify_one();
        });
    }
    ctx.finished.borrow_mut().extend(given_back);
    Ok(())
}

/// One attempt, and what it leads to.
async fn send(
    ctx: &Ctx,
    hook: Option<Webhook>,
    mut d: Delivery,
    lease_ms: i64,
) -> Result<Finished> {
    let Some(hook) = hook.filter(|h| !h.disabled) else {
        // Deleted or disabled since: nothing more is sent to it.
        d.status = "failed".into();
        d.next_attempt_at = None;
        return Ok(Finished {
            delivery: d,
            next_ms: None,
            now_ms: ms(ctx.clock.now()),
            lease_ms,
        });
    };
    let status = attempt(ctx, &hook, &d).await;
    let now = ctx.clock.now();
    d.attempts += 1;
    d.last_status = status;
    let next = match status {
        Some(s) if (200..300).contains(&s) => {
            d.status = "delivered".into();
            None
        }
        Some(410) => {
            d.status = "failed".into();
            tracing::info!(webhook = %hook.webhook_id, "webhooks: the endpoint answered 410; disabled");
            ctx.store.disable_webhook(&hook.webhook_id).await?;
            None
        }
        _ => match retry_after(d.attempts, ctx.options.retry_scale) {
            Some(wait) => {
                d.status = "pending".into();
                Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
            }
            None => {
                d.status = "failed".into();
                None
            }
        },
    };
    d.next_attempt_at = next.map(utc);
    Ok(Finished {
        delivery: d,
        next_ms: next.map(ms),
        now_ms: ms(now),
        lease_ms,
    })
}

/// Sends one attempt; the status the endpoint answered, `None` for no
/// answer (refused address, no connection, no answer in 10 s).
async fn attempt(ctx: &Ctx, hook: &Webhook, d: &Delivery) -> Option<u16> {
    let resolved = tokio::time::timeout(
        TIMEOUT,
        target::resolve(&hook.url, ctx.options.allow_private),
    )
    .await;
    let addr = match resolved {
        Err(_) => return None,
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            tracing::info!(webhook = %hook.webhook_id, error = %e, "webhooks: not sent");
            return None;
        }
    };
    let timestamp = ctx.clock.now().timestamp();
    let signature = sign::signature(&hook.secret, &d.delivery_id, timestamp, &d.body);
    let sent = ctx
        .client
        .post(&hook.url)
        .address(addr)
        .insert_header(("webhook-id", d.delivery_id.as_str()))
        .insert_header(("webhook-timestamp", timestamp.to_string()))
        .insert_header(("webhook-signature", signature))
        .insert_header(("content-type", "application/json"))
        .send_body(d.body.clone())
        .await;
    let mut res = match sent {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(webhook = %hook.webhook_id, error = %e, "webhooks: no answer");
            return None;
        }
    };
    let status = res.status().as_u16();
    // A short answer is read, so the connection can carry the next
    // delivery; a long one is cut off (the connection is then dropped):
    // an endpoint cannot make vinpath hold much.
    let _ = res.body().limit(ANSWER_BYTES).await;
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_id_is_stable_per_change_and_endpoint() {
        let a = delivery_id("wh_1", "1-0");
        assert_eq!(a, delivery_id("wh_1", "1-0"));
        assert_ne!(a, delivery_id("wh_2", "1-0"));
        assert_ne!(a, delivery_id("wh_1", "1-1"));
        assert!(a.starts_with("msg_") && a.len() == 28);
    }
}
