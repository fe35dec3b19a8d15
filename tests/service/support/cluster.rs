//! A real Redis Cluster for one test: `redis-server --cluster-enabled yes`
//! processes on free ports, joined by `redis-cli --cluster create`, with a
//! short `cluster-node-timeout` so a failover takes seconds.

use std::process::Command;
use std::time::{Duration, Instant};

use super::daemon::{Daemon, free_port};

/// A free port whose cluster bus port (+10000) is free too, so at most
/// 55535.
fn bus_port() -> u16 {
    loop {
        let p = free_port();
        if p <= 55535 && std::net::TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
}

pub struct TestCluster {
    pub nodes: Vec<Daemon>,
    dir: tempfile::TempDir,
}

/// Milliseconds before a silent node is judged failed (the 2000).
pub const NODE_TIMEOUT_MS: u64 = 2000;

impl TestCluster {
    /// `primaries` primaries with `replicas` replicas each.
    pub fn start(primaries: usize, replicas: usize) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let nodes: Vec<Daemon> = (0..primaries * (1 + replicas))
            .map(|_| {
                let port = bus_port();
                let data = dir.path().join(port.to_string());
                std::fs::create_dir_all(&data).expect("a node dir");
                Daemon::spawn(
                    "redis-server",
                    port,
                    move || {
                        let mut c = Command::new("redis-server");
                        c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                            .args(["--cluster-enabled", "yes"])
                            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MS.to_string()])
                            // The other shards serve while one fails over.
                            .args(["--cluster-require-full-coverage", "no"])
                            .args(["--save", "", "--appendonly", "no"])
                            .arg("--dir")
                            .arg(&data);
                        c
                    },
                    Daemon::listening,
                )
            })
            .collect();
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for n in &nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        let out = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .expect("redis-cli runs (scripts/test installs it)");
        assert!(
            out.status.success(),
            "cluster create: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Self { nodes, dir };
        cluster.wait_until_ready(replicas);
        cluster
    }

    /// Every node as a seed, as `VINPATH_REDIS_URL` takes them.
    pub fn url(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One node's answer to a command, `None` if it does not answer.
    pub fn ask(&self, node: usize, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.nodes[node].port.to_string()])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until every node says the cluster is ok and every primary has
    /// its replicas in sync.
    fn wait_until_ready(&self, replicas: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = (0..self.nodes.len()).all(|i| {
                self.ask(i, &["CLUSTER", "INFO"])
                    .is_some_and(|s| s.contains("cluster_state:ok"))
            }) && self.primaries().iter().all(|&i| {
                self.ask(i, &["INFO", "replication"]).is_some_and(|s| {
                    s.contains(&format!("connected_slaves:{replicas}"))
                        && s.matches("state=online").count() == replicas
                })
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster never became ready in {:?}",
                self.dir.path()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The nodes that are primaries now (by their own word).
    pub fn primaries(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.ask(i, &["ROLE"])
                    .is_some_and(|r| r.starts_with("master"))
            })
            .collect()
    }

    /// The node serving `key`'s slot now.
    pub fn primary_of(&self, key: &str) -> usize {
        let slot: u16 = self
            .ask(self.primaries()[0], &["CLUSTER", "KEYSLOT", key])
            .and_then(|s| s.trim().parse().ok())
            .expect("a slot");
        self.primaries()
            .into_iter()
            .find(|&i| self.serves(i, slot))
            .expect("a primary serves every slot")
    }

    /// Whether node `i` holds slot `slot` as a primary.
    fn serves(&self, i: usize, slot: u16) -> bool {
        let Some(nodes) = self.ask(i, &["CLUSTER", "NODES"]) else {
            return false;
        };
        nodes.lines().any(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            f.len() > 8
                && f[2].contains("myself")
                && f[2].contains("master")
                && f[8..].iter().any(|range| match range.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (a.parse().unwrap_or(1), b.parse().unwrap_or(0));
                        (a..=b).contains(&slot)
                    }
                    None => range.parse::<u16>().is_ok_and(|s| s == slot),
                })
        })
    }

    /// Kills a node at once, as a crash would.
    pub fn kill(&mut self, node: usize) {
        self.nodes[node].kill();
    }
}
