//! Devices as they talk to vinpath: a JT/T 808 terminal over TCP and
//! Traccar Client over HTTP. Shared by the device simulator, the demo
//! fleet, the benchmark and the tests.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::devices::jt808::frame::{self, Frame, Header, Piece, Splitter};
use crate::devices::jt808::message::{self, Location};

/// A JT/T 808 terminal on one connection.
pub struct Terminal {
    stream: TcpStream,
    /// The phone number of its headers.
    pub phone: String,
    /// `Some(1)` speaks the 2019 edition.
    pub version: Option<u8>,
    serial: u16,
    splitter: Splitter,
}

/// The platform's general response (0x8001): which message it answers
/// (serial, id) and the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub serial: u16,
    pub msg_id: u16,
    pub result: u8,
}

impl Answer {
    /// Reads a general response; `None` for any other frame.
    pub fn of(f: &Frame) -> Option<Self> {
        if f.header.msg_id != message::PLATFORM_RESPONSE || f.body.len() < 5 {
            return None;
        }
        Some(Self {
            serial: u16::from_be_bytes([f.body[0], f.body[1]]),
            msg_id: u16::from_be_bytes([f.body[2], f.body[3]]),
            result: f.body[4],
        })
    }
}

/// How long a terminal waits for an answer.
const WAIT: Duration = Duration::from_secs(5);

impl Terminal {
    pub async fn connect(addr: &str, phone: &str, version: Option<u8>) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            phone: phone.to_owned(),
            version,
            serial: 0,
            splitter: Splitter::default(),
        })
    }

    /// A header of this terminal's next message.
    pub fn header(&mut self, msg_id: u16) -> Header {
        self.serial = self.serial.wrapping_add(1);
        Header {
            msg_id,
            version: self.version,
            phone: self.phone.clone(),
            serial: self.serial,
            encrypted: false,
            package: None,
        }
    }

    /// Sends a message; returns its serial.
    pub async fn send(&mut self, msg_id: u16, body: &[u8]) -> std::io::Result<u16> {
        let h = self.header(msg_id);
        self.send_raw(&frame::encode(&h, body)).await?;
        Ok(h.serial)
    }

    /// Sends bytes as they are (broken frames, for tests).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next frame from the platform, within `wait`; `Ok(None)` when
    /// none came in time, an error when the connection closed.
    pub async fn receive(&mut self, wait: Duration) -> std::io::Result<Option<Frame>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(p) = self.splitter.next_piece() {
                if let Piece::Frame(f) = p
                    && let Ok(f) = frame::decode(&f)
                {
                    return Ok(Some(f));
                }
            }
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut buf)).await;
            match read {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the platform closed the connection",
                    ));
                }
                Ok(Ok(n)) => self.splitter.buffer().extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    /// Sends a message and waits for the platform's answer to it.
    pub async fn request(&mut self, msg_id: u16, body: &[u8]) -> Result<Frame, String> {
        let serial = self.send(msg_id, body).await.map_err(|e| e.to_string())?;
        self.answer_to(serial).await
    }

    /// Waits for the answer to the message of `serial`.
    pub async fn answer_to(&mut self, serial: u16) -> Result<Frame, String> {
        loop {
            let f = self
                .receive(WAIT)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no answer in time")?;
            let answers = Answer::of(&f).map(|a| a.serial).or_else(|| {
                (f.header.msg_id == message::REGISTER_RESPONSE && f.body.len() >= 3)
                    .then(|| u16::from_be_bytes([f.body[0], f.body[1]]))
            });
            if answers == Some(serial) {
                return Ok(f);
            }
        }
    }

    /// Registers (0x0100); the authentication code, or the result.
    pub async fn register(&mut self) -> Result<String, u8> {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(b"VINPT");
        body.extend(std::iter::repeat_n(0u8, 20 + 7));
        body.push(1);
        body.extend_from_slice("粤A12345".as_bytes());
        let f = self
            .request(message::REGISTER, &body)
            .await
            .map_err(|_| 255)?;
        match f.body.get(2) {
            Some(0) => Ok(String::from_utf8_lossy(&f.body[3..]).into_owned()),
            Some(&r) => Err(r),
            None => Err(255),
        }
    }

    /// Authenticates (0x0102); the result (0 is success).
    pub async fn authenticate(&mut self, code: &str) -> Result<u8, String> {
        let body = if self.version.is_some() {
            let mut b = vec![code.len() as u8];
            b.extend_from_slice(code.as_bytes());
            b.extend_from_slice(b"860000000000000");
            b.extend(std::iter::repeat_n(b'0', 20));
            b
        } else {
            code.as_bytes().to_vec()
        };
        self.result(message::AUTHENTICATE, &body).await
    }

    /// Sends a message and returns the result of the general response.
    pub async fn result(&mut self, msg_id: u16, body: &[u8]) -> Result<u8, String> {
        let f = self.request(msg_id, body).await?;
        Answer::of(&f)
            .map(|a| a.result)
            .ok_or_else(|| "not a general response".into())
    }

    /// Reports one location (0x0200); the result.
    pub async fn report(&mut self, l: &Location) -> Result<u8, String> {
        self.result(message::LOCATION, &message::location_body(l))
            .await
    }

    /// Uploads a batch (0x0704); the result.
    pub async fn batch(&mut self, blind_area: bool, ls: &[Location]) -> Result<u8, String> {
        self.result(message::BATCH, &message::batch_body(blind_area, ls))
            .await
    }

    pub async fn heartbeat(&mut self) -> Result<u8, String> {
        self.result(message::HEARTBEAT, &[]).await
    }
}

/// A positioned location report at `at`, moving at `speed_kmh`.
pub fn location(at: DateTime<Utc>, lat: f64, lon: f64, speed_kmh: f64) -> Location {
    Location {
        alarm: 0,
        status: 0b11,
        lat,
        lon,
        altitude_m: 20,
        speed_kmh,
        heading: 0,
        at,
        mileage_km: None,
        tachograph_kmh: None,
        signal: Some(25),
        satellites: Some(12),
    }
}

/// Sends a Traccar Client report as the app does (a POST with the fields
/// in the query); returns the status.
pub async fn traccar_report(
    client: &awc::Client,
    url: &str,
    device_id: &str,
    at: DateTime<Utc>,
    lat: f64,
    lon: f64,
    speed_kmh: f64,
) -> Result<u16, String> {
    let query = format!(
        "{}/?id={device_id}&timestamp={}&lat={lat}&lon={lon}&speed={:.2}&bearing=0&altitude=20&accuracy=8&batt=80",
        url.trim_end_matches('/'),
        at.timestamp(),
        speed_kmh / 1.852
    );
    let res = client.post(query).send().await.map_err(|e| e.to_string())?;
    Ok(res.status().as_u16())
}
