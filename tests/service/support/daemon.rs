//! Processes the tests run (redis-server, the S3 server, chromedriver):
//! started on a free port, waited for, killed when dropped, and their log
//! shown when the test fails.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A process answering on a port, for one test.
pub struct Daemon {
    name: &'static str,
    pub port: u16,
    child: Option<Child>,
    /// How to start it (again, after a kill).
    command: Box<dyn Fn() -> Command + Send>,
    /// Whether it answers yet.
    ready: fn(u16) -> bool,
    log: tempfile::NamedTempFile,
}

impl Daemon {
    /// Starts `command` (what `make` builds) on `port`, waiting until
    /// `ready` says it answers.
    pub fn spawn(
        name: &'static str,
        port: u16,
        make: impl Fn() -> Command + Send + 'static,
        ready: fn(u16) -> bool,
    ) -> Self {
        let mut d = Self {
            name,
            port,
            child: None,
            command: Box::new(make),
            ready,
            log: tempfile::NamedTempFile::new().expect("a log file"),
        };
        d.start();
        d
    }

    /// A daemon that is ready once its port accepts a connection.
    pub fn listening(port: u16) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }

    fn start(&mut self) {
        let log = |f: &tempfile::NamedTempFile| {
            f.reopen()
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        let child = (self.command)()
            .stdout(log(&self.log))
            .stderr(log(&self.log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{} is installed (scripts/test installs it): {e}", self.name)
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if (self.ready)(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{} did not start on port {}:\n{}",
            self.name,
            self.port,
            self.log_text()
        );
    }

    /// Kills it at once, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        self.start();
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log_text();
            if !log.trim().is_empty() {
                eprintln!("--- {} on port {} said:\n{log}", self.name, self.port);
            }
        }
    }
}

/// A private redis-server: append-only with fsync always, so a restart
/// keeps every acknowledged write, as production should.
pub struct TestRedis {
    pub port: u16,
    daemon: Daemon,
    _dir: tempfile::TempDir,
}

impl TestRedis {
    pub fn start() -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temp dir");
        let data = dir.path().to_owned();
        let daemon = Daemon::spawn(
            "redis-server",
            port,
            move || {
                let mut c = Command::new("redis-server");
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                    .args([
                        "--save",
                        "",
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "always",
                    ])
                    .arg("--dir")
                    .arg(&data);
                c
            },
            redis_ping,
        );
        Self {
            port,
            daemon,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis at once, as a crash would.
    pub fn kill(&mut self) {
        self.daemon.kill();
    }

    /// Starts Redis again on the same port and data.
    pub fn restart(&mut self) {
        self.daemon.restart();
    }
}

fn redis_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").is_ok()
        && s.read(&mut buf)
            .map(|n| buf[..n].starts_with(b"+PONG"))
            .unwrap_or(false)
}
