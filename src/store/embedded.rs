//! The private `redis-server` that `vinpath serve` starts when no
//! `VINPATH_REDIS_URL` is given: append-only, `appendfsync always`, its data
//! under the data dir, reached over a Unix socket, and stopped with vinpath.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// Why the private Redis did not start.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "redis-server was not found on PATH: install it (Debian/Ubuntu: apt-get install redis-server) or set VINPATH_REDIS_URL"
    )]
    Missing,
    #[error("could not prepare {0}: {1}")]
    Dir(PathBuf, #[source] std::io::Error),
    #[error("the data dir path is too long for a Unix socket: {0}")]
    SocketPath(PathBuf),
    #[error("could not start redis-server: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("redis-server did not come up; see {0}")]
    NotReady(PathBuf),
}

/// A running private Redis; killed when dropped (and when vinpath dies).
pub struct EmbeddedRedis {
    child: Child,
    url: String,
}

impl EmbeddedRedis {
    pub async fn start(data_dir: &Path) -> Result<Self, EmbeddedError> {
        let dir = data_dir.join("redis");
        std::fs::create_dir_all(&dir).map_err(|e| EmbeddedError::Dir(dir.clone(), e))?;
        let dir = dir
            .canonicalize()
            .map_err(|e| EmbeddedError::Dir(dir.clone(), e))?;
        let socket = dir.join("redis.sock");
        if socket.as_os_str().len() > 100 {
            return Err(EmbeddedError::SocketPath(socket));
        }
        let log_path = dir.join("redis.log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| EmbeddedError::Dir(log_path.clone(), e))?;
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(&dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .args(["--maxmemory-policy", "noeviction", "--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(EmbeddedError::Spawn)?)
            .stderr(log)
            .kill_on_drop(true);
        // SAFETY: prctl is async-signal-safe; it asks the kernel to kill the
        // child if vinpath dies without running its destructors.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EmbeddedError::Missing,
            _ => EmbeddedError::Spawn(e),
        })?;
        let url = format!("redis+unix://{}", socket.display());
        let client = redis::Client::open(url.as_str())
            .map_err(|_| EmbeddedError::NotReady(log_path.clone()))?;
        for _ in 0..100 {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(EmbeddedError::NotReady(log_path));
            }
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
                if pong.is_ok() {
                    return Ok(Self { child, url });
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(EmbeddedError::NotReady(log_path))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits for the child to exit after it was asked to shut down.
    pub async fn wait(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}
