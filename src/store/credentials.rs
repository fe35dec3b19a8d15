//! Credentials as operators manage them (contract v2): each carrier key and
//! dispatcher token has an id, a name, when it was made and last used; an
//! admin lists them, gives a carrier another key, and revokes any. A
//! revoked credential is told to every instance on the live channels, so
//! each forgets its cached copy and closes its sockets within a second.
//!
//! When a credential was last used is noted in memory by each instance and
//! written every so often (`flush_last_used`), never a write per request.

use std::collections::HashMap;

use serde::Serialize;

use super::auth::{hash, new_token};
use super::{Result, Store, keys};
use crate::domain::CarrierId;

/// A credential as `GET /api/v1/credentials` lists it: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialInfo {
    pub credential_id: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier_id: Option<String>,
    pub name: String,
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A credential just made: its id and its token, shown once.
pub struct Issued {
    pub credential_id: String,
    pub token: String,
}

fn utc_ms(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(crate::domain::utc)
}

impl Store {
    /// Makes a credential: `role` "carrier" (`id` the carrier's) or
    /// "dispatcher" (`id` its name).
    pub(super) async fn issue(
        &self,
        role: &str,
        id: &str,
        name: &str,
        now_ms: i64,
    ) -> Result<Issued> {
        let prefix = if role == "carrier" { "vpc_" } else { "vpd_" };
        let token = new_token(prefix);
        let credential_id = format!("cred_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let h = hash(&token);
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(keys::credential(&h))
            .arg("role")
            .arg(role)
            .arg("id")
            .arg(id)
            .arg("credential_id")
            .arg(&credential_id)
            .arg("name")
            .arg(name)
            .arg("created_at")
            .arg(now_ms)
            .ignore();
        pipe.cmd("HSET")
            .arg(keys::CREDENTIALS)
            .arg(&credential_id)
            .arg(&h)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(Issued {
            credential_id,
            token,
        })
    }

    /// Gives an id to a credential made before credentials had ids (the
    /// first instance to do so wins); answers its id.
    pub(super) async fn give_credential_id(&self, token_hash: &str) -> Result<String> {
        let id = format!("cred_{}", ulid::Ulid::generate().to_string().to_lowercase());
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX")
            .arg(keys::credential(token_hash))
            .arg("credential_id")
            .arg(&id)
            .ignore();
        pipe.cmd("HGET")
            .arg(keys::credential(token_hash))
            .arg("credential_id");
        let (given,): (String,) = self.query(&pipe).await?;
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(keys::CREDENTIALS)
            .arg(&given)
            .arg(token_hash)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(given)
    }

    /// Another key for a carrier (for rotation); `None` for no such carrier.
    pub async fn add_carrier_key(&self, id: &CarrierId, now_ms: i64) -> Result<Option<Issued>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::carrier(id)).arg("name");
        let (name,): (Option<String>,) = self.query(&pipe).await?;
        let Some(name) = name else { return Ok(None) };
        Ok(Some(
            self.issue("carrier", id.as_str(), &name, now_ms).await?,
        ))
    }

    /// Every credential but the admin token, by id.
    pub async fn credentials(&self) -> Result<Vec<CredentialInfo>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::CREDENTIALS);
        pipe.cmd("HGETALL").arg(keys::CREDENTIALS_USED);
        let (ids, used): (HashMap<String, String>, HashMap<String, i64>) =
            self.query(&pipe).await?;
        let mut ids: Vec<(String, String)> = ids.into_iter().collect();
        ids.sort();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (_, h) in &ids {
            pipe.cmd("HGETALL").arg(keys::credential(h));
        }
        let fields: Vec<HashMap<String, String>> = self.query(&pipe).await?;
        Ok(ids
            .into_iter()
            .zip(fields)
            .filter(|(_, f)| !f.is_empty())
            .map(|((credential_id, h), f)| {
                let role = f.get("role").cloned().unwrap_or_default();
                let id = f.get("id").cloned().unwrap_or_default();
                CredentialInfo {
                    credential_id,
                    carrier_id: (role == "carrier").then(|| id.clone()),
                    name: f.get("name").cloned().unwrap_or(id),
                    role,
                    created_at: f
                        .get("created_at")
                        .and_then(|c| c.parse().ok())
                        .and_then(utc_ms),
                    last_used_at: used.get(&h).copied().and_then(utc_ms),
                }
            })
            .collect())
    }

    /// Revokes a credential: gone from Redis, forgotten here, and every
    /// instance told (they forget it and close its sockets). False for an
    /// unknown id.
    pub async fn revoke(&self, credential_id: &str) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::CREDENTIALS).arg(credential_id);
        let (h,): (Option<String>,) = self.query(&pipe).await?;
        let Some(h) = h else { return Ok(false) };
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(keys::credential(&h)).ignore();
        pipe.cmd("HDEL")
            .arg(keys::CREDENTIALS)
            .arg(credential_id)
            .ignore();
        pipe.cmd("HDEL")
            .arg(keys::CREDENTIALS_USED)
            .arg(&h)
            .ignore();
        let () = self.query_each(&mut pipe).await.map(|_| ())?;
        self.forget_credential(&h);
        let message =
            serde_json::json!({"v": super::live_wire::VERSION, "kind": "revoked", "credential": h});
        self.tell(&keys::live_of(&h), &message.to_string()).await?;
        Ok(true)
    }

    /// Whether a credential (by its token's hash) still exists.
    pub async fn credential_exists(&self, token_hash: &str) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(keys::credential(token_hash));
        let (exists,): (bool,) = self.query(&pipe).await?;
        Ok(exists)
    }

    /// Forgets this instance's cached copy of a credential (by its hash).
    pub fn forget_credential(&self, token_hash: &str) {
        self.inner.credentials.invalidate(&token_hash.to_owned());
    }

    /// Forgets every cached credential (a revocation may have been missed).
    pub fn forget_credentials(&self) {
        self.inner.credentials.invalidate_all();
    }

    /// Notes that a credential (by its hash) was used now.
    pub(super) fn note_use(&self, token_hash: &str) {
        let now = chrono::Utc::now().timestamp_millis();
        let mut used = self.inner.used.lock().unwrap_or_else(|p| p.into_inner());
        // On every authenticated request: no allocation once noted.
        match used.get_mut(token_hash) {
            Some(at) => *at = now,
            None => {
                used.insert(token_hash.to_owned(), now);
            }
        }
    }

    /// Writes when credentials were last used, as noted since the last
    /// time; returns how many.
    pub async fn flush_last_used(&self) -> Result<usize> {
        let used: Vec<(String, i64)> = {
            let mut u = self.inner.used.lock().unwrap_or_else(|p| p.into_inner());
            u.drain().collect()
        };
        if used.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for (h, _) in &used {
            // The latest of every instance's word.
            pipe.cmd("HGET").arg(keys::CREDENTIALS_USED).arg(h);
        }
        let before: Vec<Option<i64>> = self.query(&pipe).await?;
        let mut pipe = redis::pipe();
        for ((h, ms), b) in used.iter().zip(before) {
            if b.is_none_or(|b| b < *ms) {
                pipe.cmd("HSET")
                    .arg(keys::CREDENTIALS_USED)
                    .arg(h)
                    .arg(ms)
                    .ignore();
            }
        }
        if !pipe.is_empty() {
            let () = self.query(&pipe).await?;
        }
        Ok(used.len())
    }
}
