//! The `vinpath` binary as an operator runs it: its own private Redis,
//! persistence across restarts, a clear word when redis-server is missing,
//! a warning when the given Redis may evict.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::support::*;

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start(cmd: &mut Command) -> Self {
        // Device listeners on free ports unless a test says otherwise, so
        // runs side by side (or beside a demo) never clash.
        for var in ["VINPATH_JT808_LISTEN", "VINPATH_OSMAND_LISTEN"] {
            if !cmd.get_envs().any(|(k, _)| k == var) {
                cmd.env(var, "127.0.0.1:0");
            }
        }
        let mut child = cmd
            .env("VINPATH_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let (tx, lines) = mpsc::channel();
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|e| Box::new(e) as _),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Self { child, lines }
    }

    /// Lines printed until one contains `needle` (which is included).
    fn until(&self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(15)) {
            let done = line.contains(needle);
            seen.push(line);
            if done {
                return seen;
            }
        }
        panic!("never printed {needle:?}; printed {seen:#?}");
    }

    fn stop(mut self) {
        // SAFETY: sends SIGTERM to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let status = self.child.wait().expect("it exits");
        assert!(status.success(), "a clean stop: {status}");
    }
}

fn vinpath() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vinpath"))
}

fn http_status(port: u16, path: &str, token: Option<&str>, body: Option<&str>) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    let body = body.unwrap_or("");
    let method = if body.is_empty() { "GET" } else { "POST" };
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("an answer");
    out.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line")
}

#[test]
fn serve_starts_and_stops_its_own_redis_and_keeps_data() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let start = || {
        Running::start(
            vinpath()
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .arg("--data-dir")
                .arg(data.path())
                .env_remove("VINPATH_REDIS_URL")
                .env_remove("VINPATH_ADMIN_TOKEN"),
        )
    };
    let first = start();
    let lines = first.until("listening");
    let token = lines
        .iter()
        .find_map(|l| l.split("admin token").nth(1))
        .and_then(|rest| rest.split_whitespace().last())
        .expect("the admin token is printed at the first start")
        .to_owned();
    assert_eq!(http_status(port, "/healthz", None, None), 200);
    // Ready once it hears its live channels: moments after it listens.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while http_status(port, "/readyz", None, None) != 200 {
        assert!(std::time::Instant::now() < deadline, "ready within 5 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let carrier = r#"{"carrier_id":"sf-auto","name":"SF"}"#;
    assert_eq!(
        http_status(port, "/api/v1/carriers", Some(&token), Some(carrier)),
        201
    );
    assert!(
        data.path().join("redis/appendonlydir").exists(),
        "append-only data under the data dir"
    );
    first.stop();
    assert!(
        !data.path().join("redis/redis.sock").exists(),
        "the private Redis stopped with vinpath"
    );

    let second = start();
    let lines = second.until("listening");
    assert!(
        !lines.iter().any(|l| l.contains("admin token")),
        "the token is shown only once"
    );
    assert_eq!(
        http_status(port, "/api/v1/carriers", Some(&token), Some(carrier)),
        409,
        "data and token survived"
    );
    second.stop();
}

#[test]
fn a_missing_redis_server_is_explained_in_one_line() {
    let data = tempfile::tempdir().unwrap();
    let out = vinpath()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("VINPATH_REDIS_URL")
        .env("PATH", data.path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("redis-server was not found") && err.contains("apt-get install redis-server"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_redis_that_may_evict_is_warned_about() {
    let redis = TestRedis::start();
    let mut cli = std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    std::io::Write::write_all(&mut cli, b"CONFIG SET maxmemory-policy allkeys-lru\r\n").unwrap();
    let mut buf = [0u8; 5];
    std::io::Read::read_exact(&mut cli, &mut buf).unwrap();
    let run = Running::start(
        vinpath()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--redis-url",
                &redis.url(),
            ])
            .env("VINPATH_ADMIN_TOKEN", "t"),
    );
    let lines = run.until("listening");
    assert!(lines.iter().any(|l| l.contains("noeviction")), "{lines:#?}");
    run.stop();
}

/// The port a line such as "... on port 5015" names.
fn port_in(lines: &[String], what: &str) -> Option<u16> {
    lines
        .iter()
        .find(|l| l.contains(what))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|p| p.parse().ok())
}

#[test]
fn the_device_listeners_listen_where_told_and_not_when_off() {
    use std::io::{Read, Write};
    use vinpath::devices::jt808::{frame, message};
    let redis = TestRedis::start();
    let run = Running::start(
        vinpath()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--redis-url",
                &redis.url(),
            ])
            .env("VINPATH_ADMIN_TOKEN", "t"),
    );
    let lines = run.until("listening");
    let jt808 = port_in(&lines, "JT/T 808").expect("the JT/T 808 port is printed");
    let osmand = port_in(&lines, "Traccar Client").expect("the Traccar Client port is printed");
    // A terminal's heartbeat is answered with the general response.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", jt808)).unwrap();
    let h = frame::Header {
        msg_id: message::HEARTBEAT,
        version: None,
        phone: "013900000001".into(),
        serial: 9,
        encrypted: false,
        package: None,
    };
    s.write_all(&frame::encode(&h, &[])).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    let mut splitter = frame::Splitter::default();
    splitter.buffer().extend_from_slice(&buf[..n]);
    let Some(frame::Piece::Frame(f)) = splitter.next_piece() else {
        panic!("an answer frame");
    };
    let f = frame::decode(&f).unwrap();
    assert_eq!(f.header.msg_id, message::PLATFORM_RESPONSE);
    assert_eq!(
        f.body,
        [0, 9, 0, 2, 0],
        "answers serial 9, message 0x0002: ok"
    );
    // An unregistered phone is refused.
    assert_eq!(
        http_status(osmand, "/?id=nobody&lat=23&lon=113", None, None),
        403
    );
    run.stop();

    let off = Running::start(
        vinpath()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--redis-url",
                &redis.url(),
            ])
            .env("VINPATH_ADMIN_TOKEN", "t")
            .env("VINPATH_JT808_LISTEN", "off")
            .env("VINPATH_OSMAND_LISTEN", "off"),
    );
    let lines = off.until("listening");
    assert_eq!(port_in(&lines, "JT/T 808"), None, "{lines:#?}");
    assert_eq!(port_in(&lines, "Traccar Client"), None, "{lines:#?}");
    off.stop();
}
