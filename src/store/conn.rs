//! How vinpath reaches Redis: one server (with or without replicas), or a
//! Redis Cluster, told apart from the node itself (`INFO cluster`). The
//! rest of the store sees one thing: pipelines run in one round trip.
//!
//! On a cluster a pipeline is split by slot, each part sent to its node at
//! once, and the answers put back in order; every command (and every
//! function call) must stay in one slot, which the key layout ensures.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{SingleNodeRoutingInfo, Slot};
use redis::{Arg, Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::{Result, StoreError, keys};

/// Where Redis is: the seed URLs, and the authority `rediss://` is
/// checked against.
#[derive(Clone)]
pub(super) struct Seeds {
    pub urls: Vec<String>,
    pub ca_pem: Option<Vec<u8>>,
}

impl Seeds {
    /// `VINPATH_REDIS_URL`: one URL, or several comma-separated.
    pub fn parse(spec: &str, ca_pem: Option<Vec<u8>>) -> Result<Self> {
        let urls: Vec<String> = spec
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err(StoreError::Corrupt("no Redis URL given".into()));
        }
        Ok(Self { urls, ca_pem })
    }

    fn certs(&self) -> Option<redis::TlsCertificates> {
        self.ca_pem.as_ref().map(|ca| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.clone()),
        })
    }

    pub fn client(&self, url: &str) -> Result<redis::Client> {
        self.client_speaking(url, None)
    }

    /// A client of `url` speaking RESP3, which carries pub/sub as pushes.
    pub fn resp3_client(&self, url: &str) -> Result<redis::Client> {
        self.client_speaking(url, Some(redis::ProtocolVersion::RESP3))
    }

    fn client_speaking(
        &self,
        url: &str,
        protocol: Option<redis::ProtocolVersion>,
    ) -> Result<redis::Client> {
        use redis::IntoConnectionInfo;
        let mut info = url.into_connection_info().map_err(StoreError::Redis)?;
        if let Some(p) = protocol {
            let settings = info.redis_settings().clone().set_protocol(p);
            info = info.set_redis_settings(settings);
        }
        match self.certs() {
            Some(certs) if url.starts_with("rediss://") => {
                redis::Client::build_with_tls(info, certs)
            }
            _ => redis::Client::open(info),
        }
        .map_err(StoreError::Redis)
    }

    /// A cluster client; with `push`, over RESP3 with pushes (pub/sub)
    /// sent there.
    pub fn cluster(
        &self,
        push: Option<tokio::sync::mpsc::UnboundedSender<redis::PushInfo>>,
    ) -> Result<ClusterClient> {
        let mut b = ClusterClientBuilder::new(self.urls.clone())
            .connection_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_millis(1000))
            .retries(2)
            .min_retry_wait(50)
            .max_retry_wait(300);
        if let Some(certs) = self.certs()
            && self.urls.iter().any(|u| u.starts_with("rediss://"))
        {
            b = b.certs(certs);
        }
        if let Some(tx) = push {
            b = b
                .use_protocol(redis::ProtocolVersion::RESP3)
                .push_sender(tx);
        }
        b.build().map_err(StoreError::Redis)
    }
}

/// One Redis or a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Single,
    Cluster,
}

/// Asks the first seed that answers whether it is a cluster node, trying
/// again for a moment (a Redis started beside vinpath may not listen yet),
/// but never longer than a request may wait for its 503.
/// Answers the topology and the seed that answered.
pub(super) async fn detect(seeds: &Seeds) -> Result<(Topology, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1800);
    let mut last = None;
    loop {
        for url in &seeds.urls {
            let client = seeds.client(url)?;
            let asked = async {
                let mut c = client.get_multiplexed_async_connection().await?;
                redis::cmd("INFO")
                    .arg("cluster")
                    .query_async::<String>(&mut c)
                    .await
            };
            match tokio::time::timeout_at(deadline, asked).await {
                Ok(Ok(info)) => {
                    let topology = if info.contains("cluster_enabled:1") {
                        Topology::Cluster
                    } else {
                        Topology::Single
                    };
                    return Ok((topology, url.clone()));
                }
                Ok(Err(e)) => last = Some(StoreError::from(e)),
                Err(_) => break,
            }
        }
        let pause = Duration::from_millis(200);
        if tokio::time::Instant::now() + pause >= deadline {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    Err(last.unwrap_or_else(|| {
        StoreError::Unavailable(redis::RedisError::from((
            redis::ErrorKind::Io,
            "redis did not answer in time",
        )))
    }))
}

/// The clients of one topology, made once it is known (one per process,
/// so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub(super) enum Backend {
    /// One Redis: the seed that answered, and its client.
    Single(String, redis::Client),
    Cluster(ClusterClient),
}

impl Backend {
    pub fn new(topology: Topology, url: &str, seeds: &Seeds) -> Result<Self> {
        Ok(match topology {
            Topology::Single => Backend::Single(url.to_owned(), seeds.client(url)?),
            Topology::Cluster => Backend::Cluster(seeds.cluster(None)?),
        })
    }

    pub fn topology(&self) -> Topology {
        match self {
            Backend::Single(..) => Topology::Single,
            Backend::Cluster(_) => Topology::Cluster,
        }
    }

    /// A new connection: lazy and reconnecting on one Redis (vinpath
    /// starts while Redis is down, and a request fails fast rather than
    /// waiting out an outage); on a cluster, one that follows slot moves
    /// and failovers.
    pub async fn connect(&self) -> Result<Conn> {
        Ok(match self {
            Backend::Single(_, client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(Duration::from_millis(1000)))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(200));
                Conn::Single(ConnectionManager::new_lazy_with_config(
                    client.clone(),
                    config,
                )?)
            }
            Backend::Cluster(client) => Conn::Cluster(client.get_async_connection().await?),
        })
    }
}

#[derive(Clone)]
pub(super) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Runs a pipeline; with `durable`, each part also waits for that many
    /// replicas, and the fewest any part reached is returned beside.
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        pipe: &Pipeline,
        durable: Option<u32>,
    ) -> RedisResult<(T, Option<i64>)> {
        match self {
            Conn::Single(c) => match durable {
                None => Ok((pipe.query_async(&mut c.clone()).await?, None)),
                Some(n) => {
                    // A write first, so the WAIT covers everything written so
                    // far on any connection: a retry that writes nothing (a
                    // duplicate) still waits for the first try's write.
                    let mut pipe = pipe.clone();
                    pipe.cmd("INCR").arg(keys::durable("durable"));
                    pipe.cmd("WAIT").arg(n).arg(WAIT_MS);
                    let mut values: Vec<Value> = pipe.query_async(&mut c.clone()).await?;
                    let acked = values.pop();
                    let marked = values.pop();
                    // The calls' own answers first: a demoted primary says
                    // READONLY there (and refuses the WAIT).
                    if let Some(Value::ServerError(e)) = marked {
                        values.push(Value::ServerError(e));
                    }
                    let acked = match acked {
                        Some(Value::Int(n)) => n,
                        _ => 0,
                    };
                    Ok((redis::from_redis_value(Value::Array(values))?, Some(acked)))
                }
            },
            Conn::Cluster(c) => {
                let mut split = Split {
                    conn: c.clone(),
                    durable,
                    acked: None,
                };
                let out = pipe.query_async(&mut split).await?;
                Ok((out, split.acked))
            }
        }
    }
}

/// How long a write waits for its replicas (within the connection's
/// one-second answer time).
const WAIT_MS: u64 = 800;

/// A cluster connection that takes a pipeline of many slots: it sends each
/// slot's commands as one pipeline to its node, all at once, and answers
/// in the pipeline's order.
struct Split {
    conn: ClusterConnection,
    durable: Option<u32>,
    acked: Option<i64>,
}

/// One slot's share of a pipeline: its commands' places in the whole.
struct Part {
    places: Vec<usize>,
    pipe: Pipeline,
    /// The key it is routed by, and its hash tag.
    key: Option<Vec<u8>>,
    tag: Option<String>,
}

impl Part {
    /// Sends the part to its slot's node. A node that no longer serves the
    /// slot (a failover, a slot moved) refuses every command of it with
    /// `MOVED`: the slot map is refreshed and the part sent once more, to
    /// the node named.
    async fn send(&self, mut conn: ClusterConnection) -> RedisResult<Vec<Value>> {
        let values = conn
            .req_packed_commands(&self.pipe, 0, self.pipe.len())
            .await?;
        let Some(Value::ServerError(e)) = values.first() else {
            return Ok(values);
        };
        if e.code() != "MOVED" {
            return Ok(values);
        }
        let Some((host, port)) = e
            .details()
            .and_then(|d| d.split(' ').nth(1))
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        else {
            return Ok(values);
        };
        if let Some(key) = &self.key {
            // A single command follows the redirect and rebuilds the map.
            let _: RedisResult<Value> = redis::cmd("EXISTS")
                .arg(key.as_slice())
                .query_async(&mut conn)
                .await;
        }
        let to = SingleNodeRoutingInfo::ByAddress { host, port };
        conn.route_pipeline(self.pipe.clone(), 0, self.pipe.len(), to)
            .await
    }
}

impl ConnectionLike for Split {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.conn.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            if pipe.is_transaction() {
                // MULTI/EXEC stays whole: its keys must share a slot.
                return self.conn.req_packed_commands(pipe, offset, count).await;
            }
            let mut parts: Vec<Part> = Vec::new();
            let mut by_slot: HashMap<Option<Slot>, usize> = HashMap::new();
            for (i, cmd) in pipe.cmd_iter().enumerate() {
                let key = routing_key(cmd);
                let slot = key.map(Slot::for_key);
                let at = *by_slot.entry(slot).or_insert_with(|| {
                    parts.push(Part {
                        places: Vec::new(),
                        pipe: redis::pipe(),
                        key: key.map(<[u8]>::to_vec),
                        tag: key.map(|k| hash_tag(k).to_owned()),
                    });
                    parts.len() - 1
                });
                parts[at].places.push(i);
                parts[at].pipe.add_command(cmd.clone());
            }
            let durable = self.durable;
            for part in &mut parts {
                if let (Some(n), Some(tag)) = (durable, &part.tag) {
                    part.pipe.cmd("INCR").arg(keys::durable(tag));
                    part.pipe.cmd("WAIT").arg(n).arg(WAIT_MS);
                }
            }
            let sends = parts.iter().map(|part| part.send(self.conn.clone()));
            let answers = futures_util::future::try_join_all(sends).await?;
            let mut out = vec![Value::Nil; pipe.len()];
            let mut acked: Option<i64> = None;
            for (part, mut values) in parts.iter().zip(answers) {
                if durable.is_some() && part.tag.is_some() {
                    let waited = values.pop();
                    let marked = values.pop();
                    let n = match waited {
                        Some(Value::Int(n)) => n,
                        _ => 0,
                    };
                    acked = Some(acked.map_or(n, |a| a.min(n)));
                    if let Some(Value::ServerError(e)) = marked {
                        // A demoted primary refuses the mark: the part's
                        // first answer says so.
                        if let Some(&first) = part.places.first() {
                            out[first] = Value::ServerError(e);
                        }
                        continue;
                    }
                }
                for (&place, v) in part.places.iter().zip(values) {
                    out[place] = v;
                }
            }
            // No part written: nothing to wait for (`None`).
            self.acked = acked;
            Ok(out.into_iter().skip(offset).take(count).collect())
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// The key a command is routed by, for the commands vinpath sends; `None`
/// for those that name no key.
fn routing_key(cmd: &Cmd) -> Option<&[u8]> {
    let mut args = cmd.args_iter().filter_map(|a| match a {
        Arg::Simple(d) => Some(d),
        _ => None,
    });
    let name = args.next()?.to_ascii_uppercase();
    match name.as_slice() {
        b"FCALL" | b"FCALL_RO" | b"EVAL" | b"EVALSHA" => {
            let _function = args.next()?;
            let n = args.next()?;
            if n == b"0" { None } else { args.next() }
        }
        b"PING" | b"TIME" | b"INFO" | b"CONFIG" | b"WAIT" | b"FUNCTION" | b"CLUSTER"
        | b"SCRIPT" | b"DBSIZE" | b"PUBLISH" | b"SHUTDOWN" | b"ROLE" => None,
        // `XGROUP CREATE key ...`: the key after the subcommand.
        b"XGROUP" => args.nth(1),
        // `XREADGROUP GROUP g c COUNT n STREAMS key >`: one stream a call.
        b"XREADGROUP" => {
            args.find(|a| a.eq_ignore_ascii_case(b"STREAMS"))?;
            args.next()
        }
        _ => args.next(),
    }
}

/// The part of a key Redis Cluster hashes: its first `{...}` when not
/// empty, else the whole key.
fn hash_tag(key: &[u8]) -> &str {
    let text = std::str::from_utf8(key).unwrap_or_default();
    if let Some(open) = text.find('{')
        && let Some(len) = text[open + 1..].find('}')
        && len > 0
    {
        return &text[open + 1..open + 1 + len];
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_keys() {
        let mut f = redis::cmd("FCALL");
        f.arg("vinpath8_fix").arg(2).arg("vp:{p3}:o:A").arg("x");
        assert_eq!(routing_key(&f), Some(&b"vp:{p3}:o:A"[..]));
        let mut none = redis::cmd("FCALL");
        none.arg("f").arg(0).arg("x");
        assert_eq!(routing_key(&none), None);
        let mut get = redis::cmd("hget");
        get.arg("vp:clip:1").arg("f");
        assert_eq!(routing_key(&get), Some(&b"vp:clip:1"[..]));
        assert_eq!(routing_key(&redis::cmd("PING")), None);
    }

    #[test]
    fn tags_name_the_same_slot() {
        for key in ["vp:{p7}:o:JD-1:log", "vp:clip:01ABC"] {
            let tag = hash_tag(key.as_bytes());
            assert_eq!(
                Slot::for_key(keys::durable(tag)),
                Slot::for_key(key),
                "{key}"
            );
        }
    }
}
