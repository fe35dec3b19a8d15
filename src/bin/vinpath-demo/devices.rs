//! Two of the demo's trucks report through trackers, not the carrier's
//! API: the Wuhan truck through a JT/T 808 terminal, the Beijing truck
//! through its driver's Traccar Client, as real ones would.

use chrono::{DateTime, Utc};
use serde_json::json;

use vinpath::client::Api;
use vinpath::client::devices::{Terminal, location, traccar_report};

/// The truck (index into the demo's legs) each device rides.
const TERMINAL_TRUCK: usize = 0;
const PHONE_TRUCK: usize = 3;

/// The demo's trackers, each one on if its listener answered. Their ids are
/// the run's own (a second run's fixes never reuse the first's event ids).
pub struct Trackers {
    terminal: Option<Terminal>,
    phone: Option<(awc::Client, String)>,
    phone_id: String,
}

async fn register(api: &Api, key: &str, body: serde_json::Value) -> Result<(), String> {
    let (status, v) = api.post("/api/v1/devices", key, &body).await?;
    if status == 201 || status == 200 {
        Ok(())
    } else {
        Err(format!("device {body}: {status} {v}"))
    }
}

impl Trackers {
    /// Registers the two devices for the trucks and signs the terminal in.
    /// A listener that is off leaves its truck reporting over the API.
    pub async fn start(
        api: &Api,
        key: &str,
        trucks: &[&str],
        jt808: Option<&str>,
        osmand: Option<&str>,
        run: i64,
    ) -> Result<Self, String> {
        // A 12-digit terminal phone number and a driver id of this run.
        let terminal_phone = format!("0138{:08}", run.rem_euclid(100_000_000));
        let phone_id = format!("demo-driver-{run}");
        let mut terminal = None;
        if let Some(addr) = jt808 {
            register(api, key, json!({"device_id": terminal_phone, "protocol": "jt808", "truck_id": trucks[TERMINAL_TRUCK]})).await?;
            match sign_in(addr, &terminal_phone).await {
                Ok(t) => terminal = Some(t),
                Err(e) => eprintln!("JT/T 808 terminal not used ({addr}): {e}"),
            }
        }
        let mut phone = None;
        if let Some(url) = osmand {
            register(api, key, json!({"device_id": phone_id, "protocol": "osmand", "truck_id": trucks[PHONE_TRUCK]})).await?;
            phone = Some((awc::Client::default(), url.to_owned()));
        }
        Ok(Self {
            terminal,
            phone,
            phone_id,
        })
    }

    /// Sends truck `i`'s fix through its tracker; false if it has none
    /// (or it failed: the fix then goes over the API).
    pub async fn report(
        &mut self,
        i: usize,
        t: DateTime<Utc>,
        lat: f64,
        lon: f64,
        kmh: f64,
    ) -> bool {
        match i {
            TERMINAL_TRUCK => match self.terminal.as_mut() {
                Some(term) => matches!(term.report(&location(t, lat, lon, kmh)).await, Ok(0)),
                None => false,
            },
            PHONE_TRUCK => match &self.phone {
                Some((client, url)) => {
                    matches!(
                        traccar_report(client, url, &self.phone_id, t, lat, lon, kmh).await,
                        Ok(200)
                    )
                }
                None => false,
            },
            _ => false,
        }
    }
}

async fn sign_in(addr: &str, phone: &str) -> Result<Terminal, String> {
    let mut t = Terminal::connect(addr, phone, None)
        .await
        .map_err(|e| e.to_string())?;
    let code = t
        .register()
        .await
        .map_err(|r| format!("registration refused ({r})"))?;
    match t.authenticate(&code).await? {
        0 => Ok(t),
        r => Err(format!("authentication refused ({r})")),
    }
}
