//! The JT/T 808 listener: one task per terminal connection. A session
//! answers every frame as the standard says (registration with a code
//! kept in Redis, so any instance accepts it; authentication; the general
//! response to the rest), records locations once authenticated, and drops
//! a terminal silent for 3 heartbeat intervals. An idle session holds no
//! read buffer and its frame handling lives on the heap only while it runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use super::frame::{self, Header, Piece, Splitter};
use super::message::{self, Location, Message, Registered, Result808};
use super::parts::{self, Added, Parts};
use crate::devices::{DeviceOptions, Devices};
use crate::domain::{DeviceId, Protocol};

/// A running listener; `stop` closes it and every session.
pub struct Listener {
    port: u16,
    stop: watch::Sender<bool>,
}

impl Listener {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// Starts taking terminals on `listener` (a bound std listener, so the
/// port is known before the runtime runs).
pub fn listen(
    listener: std::net::TcpListener,
    devices: Devices,
    options: &DeviceOptions,
) -> std::io::Result<Listener> {
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(listener)?;
    let (stop, stopped) = watch::channel(false);
    let limits = Limits {
        silence: options.heartbeat * 3,
        max: options.max_connections,
    };
    tokio::spawn(accept(listener, devices, limits, stopped));
    Ok(Listener { port, stop })
}

#[derive(Clone, Copy)]
struct Limits {
    silence: Duration,
    max: usize,
}

async fn accept(
    listener: TcpListener,
    devices: Devices,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _) = tokio::select! {
            _ = stopped.changed() => return,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors, most likely: wait, do not spin.
                    tracing::warn!(error = %e, "jt808: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        if open.load(Ordering::Relaxed) >= limits.max {
            metrics::counter!("vinpath_device_connections_refused_total", "protocol" => "jt808")
                .increment(1);
            continue;
        }
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::Relaxed);
        let gauge = metrics::gauge!("vinpath_device_connections", "protocol" => "jt808");
        gauge.increment(1.0);
        let session = Session {
            devices: devices.clone(),
            stream,
            splitter: Splitter::default(),
            authenticated: None,
            serial: 0,
            parts: None,
        };
        let open = open.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            session.run(limits.silence, stopped).await;
            open.fetch_sub(1, Ordering::Relaxed);
            gauge.decrement(1.0);
        });
    }
}

struct Session {
    devices: Devices,
    stream: TcpStream,
    splitter: Splitter,
    /// The terminal this connection authenticated as.
    authenticated: Option<DeviceId>,
    /// The platform's own message serial.
    serial: u16,
    parts: Option<Parts>,
}

/// How long a write may wait for a terminal that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

impl Session {
    async fn run(mut self, silence: Duration, mut stopped: watch::Receiver<bool>) {
        let mut deadline = Instant::now() + silence;
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep_until(deadline) => {
                    metrics::counter!("vinpath_jt808_dropped_total", "reason" => "silent").increment(1);
                    return;
                }
                r = self.stream.readable() => if r.is_err() { return },
            }
            let buf = self.splitter.buffer();
            buf.reserve(1024);
            match self.stream.try_read_buf(buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
            while let Some(piece) = self.splitter.next_piece() {
                match piece {
                    Piece::Garbage(n) => {
                        metrics::counter!("vinpath_jt808_bad_frames_total", "reason" => "garbage")
                            .increment(1);
                        tracing::debug!(bytes = n, "jt808: bytes outside any frame");
                    }
                    Piece::Frame(f) => match Box::pin(self.on_frame(f)).await {
                        Ok(true) => deadline = Instant::now() + silence,
                        Ok(false) => {}
                        Err(()) => return,
                    },
                }
            }
            self.splitter.shrink();
        }
    }

    /// Answers one frame; `Ok(true)` when it was a readable message (the
    /// terminal is alive), `Err` when the connection is lost.
    async fn on_frame(&mut self, escaped: Vec<u8>) -> Result<bool, ()> {
        let f = match frame::decode(&escaped) {
            Ok(f) => f,
            Err(bad) => {
                metrics::counter!("vinpath_jt808_bad_frames_total", "reason" => bad.error.as_str())
                    .increment(1);
                if let Some(h) = bad.header {
                    self.respond(&h, Result808::BadMessage).await?;
                }
                return Ok(false);
            }
        };
        metrics::counter!("vinpath_jt808_frames_total", "msg_id" => message::label(f.header.msg_id))
            .increment(1);
        if f.header.encrypted {
            self.respond(&f.header, Result808::Unsupported).await?;
            return Ok(true);
        }
        if f.header.package.is_some() {
            let part = f.header.clone();
            return match parts::add(&mut self.parts, &f.header, f.body) {
                Added::Waiting => {
                    self.respond(&part, Result808::Ok).await?;
                    Ok(true)
                }
                Added::Refused => {
                    self.respond(&part, Result808::BadMessage).await?;
                    Ok(true)
                }
                // The last part is answered with how the whole went.
                Added::Whole(h, body) => {
                    let result = self.handle(&h, &body).await?;
                    if let Some(r) = result {
                        self.respond(&part, r).await?;
                    }
                    Ok(true)
                }
            };
        }
        if let Some(r) = self.handle(&f.header, &f.body).await? {
            self.respond(&f.header, r).await?;
        }
        Ok(true)
    }

    /// Acts on a whole message; the general response to send, if any.
    async fn handle(&mut self, h: &Header, body: &[u8]) -> Result<Option<Result808>, ()> {
        let Ok(msg) = message::read(h, body) else {
            return Ok(Some(Result808::BadMessage));
        };
        let Ok(id) = DeviceId::parse(Protocol::Jt808, &h.phone) else {
            return Ok(Some(Result808::BadMessage));
        };
        let result = match msg {
            Message::Register => {
                self.register(h, &id).await?;
                None
            }
            Message::Authenticate { code } => Some(self.authenticate(&id, &code).await),
            Message::Heartbeat => Some(Result808::Ok),
            Message::Logout => {
                let cleared = self.devices.store.clear_device_code(&id).await;
                self.authenticated = None;
                Some(if cleared.is_ok() {
                    Result808::Ok
                } else {
                    Result808::Failure
                })
            }
            Message::Location(l) => Some(self.locations(&id, vec![l]).await),
            Message::Batch { locations, .. } => Some(self.locations(&id, locations).await),
            Message::Response => None,
            Message::Other(_) => Some(Result808::Unsupported),
        };
        Ok(result)
    }

    async fn register(&mut self, h: &Header, id: &DeviceId) -> Result<(), ()> {
        let found = self.devices.find(Protocol::Jt808, id).await;
        let (result, code) = match found {
            Ok(Some(_)) => {
                let code: String = rand::rng()
                    .sample_iter(&Alphanumeric)
                    .take(16)
                    .map(char::from)
                    .collect();
                match self.devices.store.set_device_code(id, &code).await {
                    Ok(()) => (Registered::Ok, code),
                    // No answer: the terminal registers again later.
                    Err(_) => return Ok(()),
                }
            }
            Ok(None) => {
                Devices::unregistered(Protocol::Jt808);
                (Registered::NoSuchTerminal, String::new())
            }
            Err(_) => return Ok(()),
        };
        let body = message::register_response(h, result, &code);
        self.send(h, message::REGISTER_RESPONSE, &body).await
    }

    async fn authenticate(&mut self, id: &DeviceId, code: &str) -> Result808 {
        let device = self.devices.find(Protocol::Jt808, id).await;
        let expected = self.devices.store.device_code(id).await;
        match (device, expected) {
            (Ok(Some(_)), Ok(Some(expected))) if !code.is_empty() && expected == code => {
                self.authenticated = Some(id.clone());
                Result808::Ok
            }
            (Ok(_), Ok(_)) => Result808::Failure,
            _ => Result808::Failure,
        }
    }

    /// Records reports of the authenticated terminal. A failure to record
    /// (Redis down) answers failure: the terminal keeps them and resends.
    async fn locations(&mut self, id: &DeviceId, locations: Vec<Location>) -> Result808 {
        if self.authenticated.as_ref() != Some(id) {
            if matches!(self.devices.find(Protocol::Jt808, id).await, Ok(None)) {
                Devices::unregistered(Protocol::Jt808);
            }
            return Result808::Failure;
        }
        let device = match self.devices.find(Protocol::Jt808, id).await {
            Ok(Some(d)) => d,
            Ok(None) => {
                // Deleted since it authenticated.
                Devices::unregistered(Protocol::Jt808);
                self.authenticated = None;
                return Result808::Failure;
            }
            Err(_) => return Result808::Failure,
        };
        // A report without a fix (GNSS not positioned) moves nothing, but
        // its alarm still counts.
        let fixes: Vec<_> = locations
            .iter()
            .filter(|l| l.positioned())
            .map(Location::fix)
            .collect();
        let alarm = locations
            .iter()
            .max_by_key(|l| l.at)
            .map(|l| (l.emergency(), l.at));
        match self.devices.record(&device, &fixes, alarm).await {
            Ok(_) => Result808::Ok,
            Err(e) => {
                tracing::warn!(error = ?e, "jt808: could not record a report");
                Result808::Failure
            }
        }
    }

    async fn respond(&mut self, to: &Header, result: Result808) -> Result<(), ()> {
        let body = message::general_response(to, result);
        self.send(to, message::PLATFORM_RESPONSE, &body).await
    }

    async fn send(&mut self, to: &Header, msg_id: u16, body: &[u8]) -> Result<(), ()> {
        self.serial = self.serial.wrapping_add(1);
        let wire = frame::encode(&to.reply(msg_id, self.serial), body);
        match tokio::time::timeout(WRITE_TIMEOUT, self.stream.write_all(&wire)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }
}
