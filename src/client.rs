//! A small client of vinpath over real HTTP and websockets, as carriers,
//! dispatchers and customers' phones use it: shared by the tests, the
//! benchmark's load generator and the demo fleet (feature `client`; the
//! server binary does without it).

pub mod devices;

use std::time::Duration;

use awc::ws;
use futures_util::StreamExt;
use serde_json::{Value, json};

pub type Socket = actix_codec::Framed<awc::BoxedSocket, ws::Codec>;

/// An HTTP answer: status, headers, the body as JSON (`Null` when it is
/// none) and as bytes.
pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// Reads a whole answer (up to 64 MiB).
    pub async fn read<S>(mut res: awc::ClientResponse<S>) -> Result<Self, String>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, awc::error::PayloadError>> + Unpin,
    {
        let bytes = res
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            bytes: bytes.to_vec(),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A client of one vinpath, with the admin token.
#[derive(Clone)]
pub struct Api {
    pub client: awc::Client,
    pub base: String,
    pub admin: String,
}

impl Api {
    pub fn new(base: &str, admin: &str, connections: usize) -> Self {
        let connector = awc::Connector::new()
            .limit(connections)
            .timeout(Duration::from_secs(10));
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(Duration::from_secs(60))
            .finish();
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            admin: admin.to_owned(),
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let method = method.parse().map_err(|_| format!("no method {method}"))?;
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        let res = match body {
            Some(b) => req.send_json(b).await,
            None => req.send().await,
        };
        Reply::read(res.map_err(|e| e.to_string())?).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let mut res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .send_json(body)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = res
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            res.status().as_u16(),
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    pub async fn get_status(&self, path: &str) -> Result<u16, String> {
        let mut res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let _ = res.body().await;
        Ok(res.status().as_u16())
    }

    /// A carrier's API key (creating the carrier).
    pub async fn carrier(&self, id: &str) -> Result<String, String> {
        let (s, v) = self
            .post(
                "/api/v1/carriers",
                &self.admin,
                &json!({"carrier_id": id, "name": id}),
            )
            .await?;
        v["api_key"]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("carrier: {s} {v}"))
    }

    pub async fn dispatcher(&self) -> Result<String, String> {
        let (s, v) = self
            .post(
                "/api/v1/dispatchers",
                &self.admin,
                &json!({"name": "bench"}),
            )
            .await?;
        v["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("dispatcher: {s} {v}"))
    }

    /// Creates `n` orders `{prefix}-{i}` for a carrier, 32 at a time;
    /// returns their tracking tokens.
    pub async fn orders(
        &self,
        prefix: &str,
        carrier: &str,
        n: usize,
    ) -> Result<Vec<String>, String> {
        let mut tokens = Vec::with_capacity(n);
        let ids: Vec<usize> = (0..n).collect();
        for chunk in ids.chunks(32) {
            let posts = chunk.iter().map(|i| {
                let body = json!({"order_id": format!("{prefix}-{i}"), "model": "Aion Y Plus", "carrier_id": carrier,
                    "origin": {"lat": 23.03, "lon": 113.47}, "destination": {"lat": 30.62, "lon": 114.14}});
                async move { self.post("/api/v1/orders", &self.admin, &body).await }
            });
            for r in futures_util::future::join_all(posts).await {
                let (s, v) = r?;
                tokens.push(
                    v["tracking_token"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or(format!("order: {s} {v}"))?,
                );
            }
        }
        Ok(tokens)
    }

    /// Posts events, 1000 a request, expecting every one recorded.
    pub async fn events(&self, key: &str, events: Vec<Value>) -> Result<(), String> {
        for chunk in events.chunks(1000) {
            let (s, v) = self
                .post("/api/v1/events", key, &json!({"events": chunk}))
                .await?;
            if s != 200 {
                return Err(format!("events: {s} {v}"));
            }
        }
        Ok(())
    }

    /// Redis round trips vinpath counted so far.
    pub async fn round_trips(&self) -> Result<f64, String> {
        let mut res = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = res
            .body()
            .limit(16 << 20)
            .await
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&text)
            .lines()
            .find_map(|l| l.strip_prefix("vinpath_redis_round_trips_total{source=\"requests\"} "))
            .and_then(|v| v.trim().parse().ok())
            .ok_or("no round-trip counter in /metrics".into())
    }

    pub async fn ws(&self, path: &str) -> Result<Socket, String> {
        let url = format!("{}{path}", self.base.replacen("http", "ws", 1));
        // A websocket holds its connection for good: each gets a client of
        // its own rather than a place in the shared pool.
        let client = awc::Client::builder()
            .connector(awc::Connector::new().timeout(Duration::from_secs(10)))
            .finish();
        let (_, conn) = client
            .ws(url)
            .max_frame_size(16 << 20)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(conn)
    }
}

/// The next JSON text frame of a socket (pings answered), or `None` when
/// it closed.
pub async fn next_json(conn: &mut Socket) -> Option<Value> {
    use futures_util::SinkExt;
    loop {
        match conn.next().await? {
            Ok(ws::Frame::Text(t)) => return serde_json::from_slice(&t).ok(),
            Ok(ws::Frame::Ping(p)) => {
                let _ = conn.send(ws::Message::Pong(p)).await;
            }
            Ok(ws::Frame::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}
