//! Credentials: the admin token, carriers' API keys, dispatchers' tokens,
//! and vinpath's signing secret. Tokens are random and kept only as
//! SHA-256 hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::credentials::Issued;
use super::{Result, Store, StoreError, keys};
use crate::domain::{CarrierId, Role};

/// A new random token (256 bits) with a prefix that says what it is for.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of a token: how it is stored and looked up.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Makes sure an admin token exists. Returns a newly generated token
    /// (to print once) when none was configured and Redis had none yet.
    pub async fn ensure_admin_token(&self, configured: Option<&str>) -> Result<Option<String>> {
        if configured.is_some() {
            return Ok(None);
        }
        let token = new_token("vpa_");
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::ADMIN_TOKEN_HASH)
            .arg(hash(&token))
            .arg("NX");
        let (set,): (Option<String>,) = self.query(&pipe).await?;
        Ok(set.map(|_| token))
    }

    /// The secret for anything vinpath signs: the configured one, or one
    /// generated once and shared through Redis.
    pub async fn ensure_secret(&self, configured: Option<&str>) -> Result<String> {
        if let Some(s) = configured {
            return Ok(s.to_owned());
        }
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::SECRET)
            .arg(new_token(""))
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(keys::SECRET);
        let (secret,): (String,) = self.query(&pipe).await?;
        Ok(secret)
    }

    /// The role a bearer token grants, if any, and its credential's id
    /// (`None` for the admin token). `admin_hash` is the hash of a
    /// configured admin token.
    pub async fn authenticate(
        &self,
        token: &str,
        admin_hash: Option<&str>,
    ) -> Result<Option<(Role, Option<String>)>> {
        let h = hash(token);
        if admin_hash == Some(h.as_str()) {
            return Ok(Some((Role::Admin, None)));
        }
        if let Some(known) = self.inner.credentials.get(&h) {
            if !matches!(known.0, Role::Admin) {
                self.note_use(&h);
            }
            return Ok(Some(known));
        }
        let mut pipe = redis::pipe();
        pipe.cmd("GET")
            .arg(keys::ADMIN_TOKEN_HASH)
            .cmd("HMGET")
            .arg(keys::credential(&h))
            .arg("role")
            .arg("id")
            .arg("credential_id");
        type Fields = (Option<String>, Option<String>, Option<String>);
        let (admin, (role, id, credential_id)): (Option<String>, Fields) =
            self.query(&pipe).await?;
        let role = if admin_hash.is_none() && admin.as_deref() == Some(h.as_str()) {
            Some(Role::Admin)
        } else {
            match (role.as_deref(), id) {
                (Some("dispatcher"), Some(name)) => Some(Role::Dispatcher { name }),
                (Some("carrier"), Some(id)) => Some(Role::Carrier(
                    CarrierId::parse(&id).map_err(StoreError::Corrupt)?,
                )),
                _ => None,
            }
        };
        let known = match role {
            Some(Role::Admin) => Some((Role::Admin, None)),
            Some(r) => {
                // A credential made before credentials had ids gets one on
                // its first use, so it can be listed and revoked.
                let id = match credential_id {
                    Some(id) => id,
                    None => self.give_credential_id(&h).await?,
                };
                Some((r, Some(id)))
            }
            None => None,
        };
        if let Some(k) = &known {
            if !matches!(k.0, Role::Admin) {
                self.note_use(&h);
            }
            self.inner.credentials.insert(h, k.clone());
        }
        Ok(known)
    }

    /// Creates a carrier and its first API key, or `None` if it exists.
    pub async fn create_carrier(
        &self,
        id: &CarrierId,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<Issued>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX")
            .arg(keys::carrier(id))
            .arg("name")
            .arg(name);
        let (created,): (bool,) = self.query(&pipe).await?;
        if !created {
            return Ok(None);
        }
        // A crash here leaves a carrier without a key; an admin gives it
        // one (`POST /api/v1/carriers/{id}/keys`).
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(keys::carrier(id))
            .arg("created_at")
            .arg(now_ms)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(Some(
            self.issue("carrier", id.as_str(), name, now_ms).await?,
        ))
    }

    pub async fn carrier_exists(&self, id: &CarrierId) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(keys::carrier(id));
        let (exists,): (bool,) = self.query(&pipe).await?;
        Ok(exists)
    }

    /// Creates a dispatcher's token.
    pub async fn create_dispatcher(&self, name: &str, now_ms: i64) -> Result<Issued> {
        self.issue("dispatcher", name, name, now_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = new_token("vpc_");
        assert!(a.starts_with("vpc_") && a.len() == 4 + 43);
        assert_ne!(a, new_token("vpc_"));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
