//! The audit log (contract v2, "Credentials and audit"): every write by
//! an admin or a dispatcher, in a stream. Its oldest entries beyond what
//! Redis keeps move to the clip store in parts (`jobs::audit`), never just
//! trimmed, and are read back the same.

use std::collections::HashMap;

use serde::Serialize;

use super::spill::{RawEntries, SpilledPart};
use super::{Result, Store, StoreError, keys};

/// One write by an admin or a dispatcher, as the audit log keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub cursor: String,
    pub at: String,
    pub credential_id: String,
    pub role: String,
    pub action: String,
    pub target: String,
}

impl Store {
    /// Records a write by an admin or a dispatcher.
    pub async fn audit(
        &self,
        credential_id: &str,
        role: &str,
        action: &str,
        target: &str,
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("XADD")
            .arg(keys::AUDIT)
            .arg("*")
            .arg("c")
            .arg(credential_id)
            .arg("r")
            .arg(role)
            .arg("a")
            .arg(action)
            .arg("t")
            .arg(target)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(())
    }

    /// Up to `limit` audit entries after `after`, and whether more follow.
    pub async fn audit_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, bool)> {
        let start = after.map(|a| format!("({a}")).unwrap_or_else(|| "-".into());
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(keys::AUDIT)
            .arg(start)
            .arg("+")
            .arg("COUNT")
            .arg(limit + 1);
        let (raw,): (RawEntries,) = self.query(&pipe).await?;
        let more = raw.len() > limit;
        Ok((
            raw.into_iter()
                .take(limit)
                .map(AuditEntry::from_raw)
                .collect(),
            more,
        ))
    }

    /// When the log holds more than it keeps, its oldest entries (at most
    /// `chunk`) to move out.
    pub async fn audit_overflow(&self, chunk: usize) -> Result<RawEntries> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(keys::AUDIT);
        let (len,): (usize,) = self.query(&pipe).await?;
        let over = len.saturating_sub(self.options().audit_kept);
        if over == 0 {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(keys::AUDIT)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(over.min(chunk));
        let (raw,): (RawEntries,) = self.query(&pipe).await?;
        Ok(raw)
    }

    /// Takes the audit log for moving its oldest entries, for at most
    /// `hold`; false when another instance has it (two moving at once
    /// would record the same part twice).
    pub async fn take_audit_for_work(&self, hold: std::time::Duration) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::AUDIT_BUSY)
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(hold.as_millis() as u64);
        let (taken,): (Option<String>,) = self.query(&pipe).await?;
        Ok(taken.is_some())
    }

    pub async fn release_audit(&self) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(keys::AUDIT_BUSY).ignore();
        self.query(&pipe).await
    }

    /// Records a part written to the clip store and lets its entries go
    /// from Redis, together.
    pub async fn audit_moved(&self, part: &SpilledPart) -> Result<()> {
        let json = serde_json::to_string(part).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("RPUSH").arg(keys::AUDIT_PARTS).arg(json).ignore();
        pipe.cmd("XTRIM")
            .arg(keys::AUDIT)
            .arg("MINID")
            .arg(next_id(&part.last))
            .ignore();
        self.query(&pipe).await
    }

    /// The parts of the audit log in the clip store, oldest first.
    pub async fn audit_parts(&self) -> Result<Vec<SpilledPart>> {
        let mut pipe = redis::pipe();
        pipe.cmd("LRANGE").arg(keys::AUDIT_PARTS).arg(0).arg(-1);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        raw.iter()
            .map(|r| {
                serde_json::from_str(r)
                    .map_err(|e| StoreError::Corrupt(format!("audit part {r:?}: {e}")))
            })
            .collect()
    }
}

impl AuditEntry {
    /// An entry as the stream (or a part of it in the clip store) keeps it.
    pub fn from_raw((cursor, mut f): (String, HashMap<String, String>)) -> Self {
        let ms = cursor.split('-').next().and_then(|m| m.parse().ok());
        AuditEntry {
            at: ms.and_then(utc_ms).unwrap_or_default(),
            cursor,
            credential_id: f.remove("c").unwrap_or_default(),
            role: f.remove("r").unwrap_or_default(),
            action: f.remove("a").unwrap_or_default(),
            target: f.remove("t").unwrap_or_default(),
        }
    }
}

/// The stream id right after `id` (`ms-seq`).
fn next_id(id: &str) -> String {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    format!("{ms}-{}", seq.parse::<u64>().unwrap_or(0) + 1)
}

fn utc_ms(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(crate::domain::utc)
}
