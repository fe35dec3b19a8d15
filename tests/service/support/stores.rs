//! The clip stores tests run on: a directory, memory, and an
//! S3-compatible server (s3s-fs, which checks signatures) on a free port.

use std::path::{Path, PathBuf};
use std::process::Command;

use vinpath::media::{ClipStore, S3Config};

use super::{Daemon, free_port};

/// An S3-compatible server that checks signatures (s3s-fs), on a free port.
pub struct TestS3 {
    daemon: Daemon,
    dir: tempfile::TempDir,
}

impl TestS3 {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("clips")).unwrap();
        let root = dir.path().to_owned();
        let port = free_port();
        let make = move || {
            let mut c = Command::new("s3s-fs");
            c.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", "vinpath", "--secret-key", "vinpath-secret"])
                .arg(&root);
            c
        };
        let daemon = Daemon::spawn("s3s-fs", port, make, Daemon::listening);
        Self { daemon, dir }
    }

    pub fn config(&self) -> S3Config {
        S3Config {
            endpoint: Some(format!("http://127.0.0.1:{}", self.daemon.port)),
            access_key_id: Some("vinpath".into()),
            secret_access_key: Some("vinpath-secret".into()),
            region: Some("us-east-1".into()),
            allow_http: true,
        }
    }
}

/// Where a test's clips live.
pub enum Where {
    File(tempfile::TempDir),
    Memory,
    S3(TestS3),
}

impl Where {
    pub fn apply(&self, s: &mut vinpath::app::Settings) {
        match self {
            Where::File(d) => s.clip_store = Some(format!("file://{}", d.path().display())),
            Where::Memory => s.clip_store = Some("memory://".into()),
            Where::S3(s3) => {
                s.clip_store = Some("s3://clips".into());
                s.s3 = Some(s3.config());
            }
        }
    }

    /// The directory the objects end up in, where the test can see it.
    pub fn dir(&self) -> Option<PathBuf> {
        match self {
            Where::File(d) => Some(d.path().to_owned()),
            Where::Memory => None,
            Where::S3(s3) => Some(s3.dir.path().join("clips")),
        }
    }

    /// Stored objects (files under the store's directory, staging excluded).
    pub fn objects(&self) -> Option<usize> {
        fn count(p: &Path) -> usize {
            std::fs::read_dir(p).map_or(0, |rd| {
                rd.flatten()
                    .map(|e| {
                        if e.path().is_dir() {
                            count(&e.path())
                        } else {
                            usize::from(!e.file_name().to_string_lossy().starts_with('.'))
                        }
                    })
                    .sum()
            })
        }
        self.dir().map(|d| count(&d))
    }

    pub fn open(&self) -> Option<ClipStore> {
        match self {
            Where::File(d) => ClipStore::open(&format!("file://{}", d.path().display()), None).ok(),
            Where::Memory => None,
            Where::S3(s3) => ClipStore::open("s3://clips", Some(&s3.config())).ok(),
        }
    }
}
