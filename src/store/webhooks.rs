//! Webhooks in Redis (contract v2, "Webhooks"): the endpoints, the
//! partitions' outboxes (written by the functions that change orders, in
//! the same call), and the deliveries made from them, due one at a time
//! per order and endpoint.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::functions::{
    Attempt, Enqueue, EnqueueItem, ForgetDeliveries, Function, Redeliver, Take,
};
use super::{Result, Store, StoreError, keys};

/// An endpoint, as kept (its secret included: never shown after creation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Webhook {
    pub webhook_id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub secret: String,
    pub created_at: String,
    /// The endpoint answered 410 Gone: nothing more is sent to it.
    #[serde(default)]
    pub disabled: bool,
}

/// One delivery of one change to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub delivery_id: String,
    pub webhook_id: String,
    pub order_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// The body every attempt sends.
    pub body: String,
    pub partition: u16,
    /// The key of its line (its order's deliveries to its endpoint).
    pub line: String,
}

impl Delivery {
    /// As `GET /api/v1/webhooks/{id}/deliveries` lists it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "delivery_id": self.delivery_id,
            "type": self.kind,
            "order_id": self.order_id,
            "status": self.status,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "next_attempt_at": self.next_attempt_at,
            "created_at": self.created_at,
        })
    }
}

impl Delivery {
    /// The key of the line a delivery of this order to this endpoint
    /// waits in.
    pub fn line_of(partition: u16, webhook: &str, order: &str) -> String {
        keys::line(partition, webhook, order)
    }

    /// The delivery as `Enqueue` takes it, listed at `rank` (its change's
    /// place in time: newest first is highest first).
    pub fn enqueue_item(&self, rank: i64) -> EnqueueItem {
        EnqueueItem {
            id: self.delivery_id.clone(),
            line: self.line.clone(),
            list: keys::webhook_deliveries(self.partition, &self.webhook_id),
            at: rank,
            json: serde_json::to_string(self).unwrap_or_default(),
        }
    }
}

/// One outbox entry read: its partition, id and the live message it holds.
/// An attempt made: the delivery as it now stands, when it is due again
/// (`None`: delivered or failed), and the lease it was taken with.
#[derive(Debug, Clone)]
pub struct Finished {
    pub delivery: Delivery,
    pub next_ms: Option<i64>,
    pub now_ms: i64,
    pub lease_ms: i64,
}

#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub partition: u16,
    pub id: String,
    pub message: String,
}

fn parse<T: for<'de> Deserialize<'de>>(raw: &str, what: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("{what} {raw:?}: {e}")))
}

type Entries = Vec<(String, HashMap<String, String>)>;

impl Store {
    pub async fn create_webhook(&self, w: &Webhook) -> Result<()> {
        let json = serde_json::to_string(w).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(keys::WEBHOOKS)
            .arg(&w.webhook_id)
            .arg(json)
            .ignore();
        self.query(&pipe).await
    }

    /// Every endpoint, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(keys::WEBHOOKS);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        let mut all = raw
            .iter()
            .map(|r| parse::<Webhook>(r, "webhook"))
            .collect::<Result<Vec<_>>>()?;
        all.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(all)
    }

    /// Removes an endpoint; false if there was none. Its deliveries still
    /// waiting are dropped as they come due.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("HDEL").arg(keys::WEBHOOKS).arg(id);
        let (n,): (i64,) = self.query(&pipe).await?;
        if n == 1 {
            // Its deliveries are forgotten by the sweep, as they finish.
            let mut pipe = redis::pipe();
            pipe.cmd("SADD").arg(keys::WEBHOOKS_GONE).arg(id).ignore();
            self.query::<()>(&pipe).await?;
        }
        Ok(n == 1)
    }

    /// Forgets finished deliveries (delivered or failed) made before
    /// `before`, of every endpoint and of endpoints deleted; an endpoint
    /// deleted is forgotten once none of its deliveries is left. Answers
    /// how many deliveries it forgot.
    pub async fn forget_deliveries(&self, before: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        const MOST: usize = 1000;
        let mut pipe = redis::pipe();
        pipe.cmd("SMEMBERS").arg(keys::WEBHOOKS_GONE);
        let (gone,): (Vec<String>,) = self.query(&pipe).await?;
        let live: Vec<String> = self
            .webhooks()
            .await?
            .into_iter()
            .map(|w| w.webhook_id)
            .collect();
        // A list's rank is its outbox entry's id as one number (ms * 1000 + seq).
        let rank = before.timestamp_millis().saturating_mul(1000);
        let mut forgot = 0;
        for webhook in live.iter().chain(&gone) {
            loop {
                let mut pipe = redis::pipe();
                for partition in keys::partitions() {
                    ForgetDeliveries {
                        partition,
                        webhook,
                        before: rank,
                        most: MOST,
                    }
                    .push(&mut pipe);
                }
                let answers = self
                    .query_each(&mut pipe)
                    .await?
                    .into_iter()
                    .map(|v| match v {
                        redis::Value::ServerError(e) => Err(redis::RedisError::from(e).into()),
                        v => redis::from_redis_value::<(usize, usize)>(v)
                            .map_err(|e| StoreError::Corrupt(format!("forget_deliveries: {e}"))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let round: usize = answers.iter().map(|a| a.0).sum();
                forgot += round;
                // Again only where a part was full and gave way.
                if round == 0 || answers.iter().all(|a| a.1 < MOST) {
                    break;
                }
            }
        }
        for webhook in &gone {
            let mut pipe = redis::pipe();
            for partition in keys::partitions() {
                pipe.cmd("EXISTS")
                    .arg(keys::webhook_deliveries(partition, webhook));
            }
            let left: Vec<i64> = self.query(&pipe).await?;
            if left.iter().all(|n| *n == 0) {
                let mut pipe = redis::pipe();
                pipe.cmd("SREM")
                    .arg(keys::WEBHOOKS_GONE)
                    .arg(webhook)
                    .ignore();
                self.query::<()>(&pipe).await?;
            }
        }
        Ok(forgot)
    }

    /// Marks an endpoint disabled (it answered 410).
    pub async fn disable_webhook(&self, id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::WEBHOOKS).arg(id);
        let (raw,): (Option<String>,) = self.query(&pipe).await?;
        let Some(raw) = raw else { return Ok(()) };
        let mut w: Webhook = parse(&raw, "webhook")?;
        w.disabled = true;
        self.create_webhook(&w).await
    }

    /// Makes every outbox's consumer group (once; an existing one stays).
    pub async fn ensure_outbox_groups(&self, group: &str) -> Result<()> {
        for p in keys::partitions() {
            let mut pipe = redis::pipe();
            pipe.cmd("XGROUP")
                .arg("CREATE")
                .arg(keys::outbox(p))
                .arg(group)
                .arg("0")
                .arg("MKSTREAM")
                .ignore();
            match self.query::<()>(&pipe).await {
                Ok(()) => {}
                Err(StoreError::Redis(e)) if e.to_string().contains("BUSYGROUP") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// New outbox entries for this consumer, and (with `claim_idle_ms`)
    /// those another consumer took that long ago and never let go (its
    /// instance died).
    pub async fn read_outbox(
        &self,
        group: &str,
        consumer: &str,
        count: usize,
        claim_idle_ms: Option<u64>,
    ) -> Result<Vec<OutboxEntry>> {
        let mut out = Vec::new();
        if let Some(idle) = claim_idle_ms {
            let mut pipe = redis::pipe();
            for p in keys::partitions() {
                pipe.cmd("XAUTOCLAIM")
                    .arg(keys::outbox(p))
                    .arg(group)
                    .arg(consumer)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(count);
            }
            let claimed: Vec<(String, Entries, Vec<String>)> = self.query(&pipe).await?;
            for (p, (_, entries, _)) in keys::partitions().zip(claimed) {
                out.extend(entries.into_iter().filter_map(|e| entry(p, e)));
            }
        }
        // This consumer's own entries not let go yet (a step that failed
        // after reading them) come first, so an order's changes stay in
        // order; new ones only when none is left.
        for from in ["0", ">"] {
            let mut pipe = redis::pipe();
            for p in keys::partitions() {
                pipe.cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(group)
                    .arg(consumer)
                    .arg("COUNT")
                    .arg(count)
                    .arg("STREAMS")
                    .arg(keys::outbox(p))
                    .arg(from);
            }
            let read: Vec<Option<Vec<(String, Entries)>>> = self.query(&pipe).await?;
            for (p, streams) in keys::partitions().zip(read) {
                for (_, entries) in streams.unwrap_or_default() {
                    out.extend(entries.into_iter().filter_map(|e| entry(p, e)));
                }
            }
            if !out.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Makes the deliveries of outbox entries and lets the entries go.
    pub async fn enqueue(&self, calls: &[Enqueue<'_>]) -> Result<()> {
        if calls.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for c in calls {
            c.push(&mut pipe);
        }
        let _: Vec<redis::Value> = self.query_each(&mut pipe).await?;
        Ok(())
    }

    /// Takes the deliveries due now, each leased until `lease_ms`.
    pub async fn take_due(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let mut pipe = redis::pipe();
        for partition in keys::partitions() {
            Take {
                partition,
                now_ms,
                lease_ms,
                limit,
            }
            .push(&mut pipe);
        }
        let taken: Vec<Vec<String>> = self.query(&pipe).await?;
        taken
            .iter()
            .flatten()
            .map(|raw| parse(raw, "delivery"))
            .collect()
    }

    /// Records attempts of deliveries, in one round trip: for each,
    /// whether it was recorded (not when its lease had run out and the
    /// delivery was taken again since).
    pub async fn record_attempts(&self, done: &[Finished]) -> Result<Vec<bool>> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let json: Vec<String> = done
            .iter()
            .map(|f| serde_json::to_string(&f.delivery).unwrap_or_default())
            .collect();
        let mut pipe = redis::pipe();
        for (f, json) in done.iter().zip(&json) {
            Attempt {
                partition: f.delivery.partition,
                id: &f.delivery.delivery_id,
                json,
                next_ms: f.next_ms,
                line: &f.delivery.line,
                now_ms: f.now_ms,
                lease_ms: f.lease_ms,
            }
            .push(&mut pipe);
        }
        let values = self.query_each(&mut pipe).await?;
        values
            .into_iter()
            .map(|v| match v {
                redis::Value::Int(n) => Ok(n == 1),
                redis::Value::ServerError(e) => Err(redis::RedisError::from(e).into()),
                other => Err(StoreError::Corrupt(format!("attempt answered {other:?}"))),
            })
            .collect()
    }

    /// Sends a delivery again (at the end of its line).
    pub async fn redeliver(&self, d: &Delivery, now_ms: i64) -> Result<bool> {
        let json = serde_json::to_string(d).unwrap_or_default();
        let mut pipe = redis::pipe();
        Redeliver {
            partition: d.partition,
            id: &d.delivery_id,
            json: &json,
            line: &d.line,
            now_ms,
        }
        .push(&mut pipe);
        let values = self.query_each(&mut pipe).await?;
        Ok(matches!(values.first(), Some(redis::Value::Int(1))))
    }

    /// An endpoint's newest deliveries, newest first.
    pub async fn deliveries_of(&self, webhook: &str, limit: usize) -> Result<Vec<Delivery>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("ZRANGE")
                .arg(keys::webhook_deliveries(p, webhook))
                .arg("+inf")
                .arg("-inf")
                .arg("BYSCORE")
                .arg("REV")
                .arg("LIMIT")
                .arg(0)
                .arg(limit)
                .arg("WITHSCORES");
        }
        let lists: Vec<Vec<(String, f64)>> = self.query(&pipe).await?;
        let mut newest: Vec<(f64, u16, String)> = keys::partitions()
            .zip(lists)
            .flat_map(|(p, l)| l.into_iter().map(move |(id, at)| (at, p, id)))
            .collect();
        newest.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.2.cmp(&a.2)));
        newest.truncate(limit);
        if newest.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (_, p, id) in &newest {
            pipe.cmd("HGET").arg(keys::deliveries(*p)).arg(id);
        }
        let raw: Vec<Option<String>> = self.query(&pipe).await?;
        raw.iter().flatten().map(|r| parse(r, "delivery")).collect()
    }

    /// One delivery of an endpoint, wherever its partition.
    pub async fn delivery(&self, webhook: &str, id: &str) -> Result<Option<Delivery>> {
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd("HGET").arg(keys::deliveries(p)).arg(id);
        }
        let raw: Vec<Option<String>> = self.query(&pipe).await?;
        let found = raw.iter().flatten().next();
        let d = found
            .map(|r| parse::<Delivery>(r, "delivery"))
            .transpose()?;
        Ok(d.filter(|d| d.webhook_id == webhook))
    }
}

fn entry(
    partition: u16,
    (id, mut fields): (String, HashMap<String, String>),
) -> Option<OutboxEntry> {
    let message = fields.remove("m")?;
    Some(OutboxEntry {
        partition,
        id,
        message,
    })
}
