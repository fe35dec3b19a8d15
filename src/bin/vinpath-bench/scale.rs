//! Figures 8 to 10: running at scale. Two instances on a Redis Cluster of
//! three primaries against one instance on one Redis (8), what an order
//! costs Redis after a four-day trip and once archived (9), and the
//! longest time a carrier is answered 503 while a primary fails over (10).

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use vinpath::client::Api;

use crate::ingest::hammer;
use crate::scenarios::{Sizes, Target};
use crate::stats::Figure;

/// Where the cluster is: its instances and its nodes.
pub struct Cluster {
    pub bases: Vec<String>,
    pub node_ports: Vec<u16>,
}

/// Figure 8: the load of figure 2 (eight gateways posting 100-event
/// batches) on two instances on the cluster, against one instance on one
/// Redis, one after the other in this run.
pub async fn cluster_throughput(
    single: &Api,
    single_key: &str,
    cluster: &Cluster,
    admin: &str,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let instances: Vec<Api> = cluster
        .bases
        .iter()
        .map(|b| Api::new(b, admin, 128))
        .collect();
    let cluster_key = instances[0].carrier("scale").await?;
    single.orders("S8", "bench", 800).await?;
    instances[0].orders("S8", "scale", 800).await?;
    let one = rate(vec![single.clone()], single_key, sizes.dur).await;
    let two = rate(instances, &cluster_key, sizes.dur).await;
    Ok(vec![
        Figure::new(
            "8",
            "events/s, 2 instances on a 3-primary cluster",
            two,
            "events/s",
        )
        .against(one, 1.5),
    ])
}

/// Events per second that eight gateways get in, spread over `apis`.
async fn rate(apis: Vec<Api>, key: &str, dur: Duration) -> f64 {
    let start = Utc::now() - chrono::Duration::days(1);
    let seq = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let key = key.to_owned();
    let post = move |w: usize| {
        let api = apis[w % apis.len()].clone();
        let key = key.clone();
        let n = seq.get();
        seq.set(n + 100);
        let events: Vec<Value> = (0..100)
            .map(|o| {
                let at = (start + chrono::Duration::milliseconds((n + o) as i64))
                    .to_rfc3339_opts(SecondsFormat::Millis, true);
                json!({"event_id": format!("s8-{w}-{}", n + o), "kind": "gps",
                    "order_id": format!("S8-{}", w * 100 + o as usize), "occurred_at": at,
                    "lat": 23.03, "lon": 113.47})
            })
            .collect();
        async move {
            matches!(
                api.post("/api/v1/events", &key, &json!({"events": events}))
                    .await,
                Ok((200, _))
            )
        }
    };
    let (n, _) = hammer(8, dur, post).await;
    n as f64 * 100.0 / dur.as_secs_f64()
}

/// Figure 9: Redis memory of one order after a four-day trip with a fix
/// every 30 s (11,520 fixes; fewer in the quick run), and of the same
/// order once it ended and was archived.
pub async fn order_memory(
    api: &Api,
    key: &str,
    target: &Target,
    vinpath_bin: &str,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let fixes = if sizes.dur.as_secs() >= 10 {
        11_520
    } else {
        1_440
    };
    api.orders("MEM", "bench", 1).await?;
    let start = Utc::now() - chrono::Duration::days(4) - chrono::Duration::minutes(5);
    for chunk in (0..fixes).collect::<Vec<i64>>().chunks(1000) {
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| {
                let at = (start + chrono::Duration::seconds(30 * i))
                    .to_rfc3339_opts(SecondsFormat::Millis, true);
                // A road north, a few hundred metres a fix.
                json!({"event_id": format!("mem-{i}"), "kind": "gps", "order_id": "MEM-0",
                    "occurred_at": at, "lat": 23.03 + *i as f64 * 0.0002, "lon": 113.47})
            })
            .collect();
        api.events(key, events).await?;
    }
    // The hourly sweep ran some 96 times on the way: once is the same.
    sweep(vinpath_bin, target, 30)?;
    let active = order_bytes(target.redis_port, "MEM-0")?;
    let r = api
        .call(
            "POST",
            "/api/v1/orders/MEM-0/cancel",
            Some(&api.admin),
            None,
        )
        .await?;
    if r.status != 200 && r.status != 204 {
        return Err(format!("cancel answered {}: {}", r.status, r.body));
    }
    sweep(vinpath_bin, target, 0)?;
    let archived = order_bytes(target.redis_port, "MEM-0")?;
    Ok(vec![
        Figure::new(
            "9",
            &format!("Redis memory of an active order after {fixes} fixes"),
            active as f64 / 1024.0,
            "KiB",
        )
        .at_most(512.0),
        Figure::new(
            "9",
            "Redis memory of that order once archived",
            archived as f64 / 1024.0,
            "KiB",
        )
        .at_most(0.0),
    ])
}

/// Runs `vinpath sweep` on the bench's Redis and data, archiving orders
/// that ended `archive_after_days` ago.
fn sweep(vinpath_bin: &str, target: &Target, archive_after_days: u32) -> Result<(), String> {
    let out = Command::new(vinpath_bin)
        .args(["sweep", "--redis-url"])
        .arg(format!("redis://127.0.0.1:{}", target.redis_port))
        .arg("--data-dir")
        .arg(&target.disk)
        .env("VINPATH_ARCHIVE_AFTER_DAYS", archive_after_days.to_string())
        .output()
        .map_err(|e| format!("vinpath sweep: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "vinpath sweep: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The bytes Redis gives an order's keys (`MEMORY USAGE` of each).
fn order_bytes(redis_port: u16, order: &str) -> Result<u64, String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))
        .map_err(|e| e.to_string())?;
    let mut c = client.get_connection().map_err(|e| e.to_string())?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("vp:{{p*}}:o:{order}*"))
        .query(&mut c)
        .map_err(|e| e.to_string())?;
    let mut total = 0;
    for k in keys {
        let n: Option<u64> = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(&k)
            .arg("SAMPLES")
            .arg(0)
            .query(&mut c)
            .map_err(|e| e.to_string())?;
        total += n.unwrap_or(0);
    }
    Ok(total)
}

/// Figure 10: gateways post to both instances without pause while the
/// primary holding the carrier's event ids is killed (`kill -9`); the
/// longest run of 503 answers one of them sees, first to last.
pub async fn failover_window(
    cluster: &Cluster,
    admin: &str,
    key_carrier: &str,
) -> Result<Vec<Figure>, String> {
    let instances: Vec<Api> = cluster
        .bases
        .iter()
        .map(|b| Api::new(b, admin, 32))
        .collect();
    let key = instances[0].carrier(key_carrier).await?;
    instances[0].orders("F10", key_carrier, 40).await?;
    let victim = primary_of(&cluster.node_ports, &format!("{{c:{key_carrier}}}"))?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..4usize {
        let api = instances[w % instances.len()].clone();
        let key = key.clone();
        tasks.push(actix_web::rt::spawn(async move {
            let mut longest = Duration::ZERO;
            let mut failing_since: Option<Instant> = None;
            let begin = Utc::now() - chrono::Duration::hours(1);
            let mut n = 0u64;
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                n += 1;
                let at = (begin + chrono::Duration::milliseconds(n as i64))
                    .to_rfc3339_opts(SecondsFormat::Millis, true);
                let events = json!({"events": [{"event_id": format!("f10-{w}-{n}"),
                    "kind": "gps", "order_id": format!("F10-{}", (w * 10) as u64 + n % 10),
                    "occurred_at": at, "lat": 23.03, "lon": 113.47}]});
                let ok = matches!(
                    api.post("/api/v1/events", &key, &events).await,
                    Ok((200, _))
                );
                match (ok, failing_since) {
                    (false, None) => failing_since = Some(Instant::now()),
                    (true, Some(since)) => {
                        longest = longest.max(since.elapsed());
                        failing_since = None;
                        if n > 200 && longest > Duration::ZERO {
                            break;
                        }
                    }
                    _ => {}
                }
                if !ok {
                    actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                }
            }
            failing_since.map_or(longest, |s| longest.max(s.elapsed()))
        }));
    }
    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    kill_node(victim)?;
    let mut longest = Duration::ZERO;
    for t in tasks {
        longest = longest.max(t.await.map_err(|e| e.to_string())?);
    }
    eprintln!(
        "bench: 10 failover measured over {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(vec![
        Figure::new(
            "10",
            "longest 503 window across a primary failover",
            longest.as_secs_f64(),
            "s",
        )
        .at_most(5.0),
    ])
}

/// The port of the primary that serves `key`'s slot.
fn primary_of(ports: &[u16], key: &str) -> Result<u16, String> {
    for &port in ports {
        let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}")) else {
            continue;
        };
        let Ok(mut c) = client.get_connection() else {
            continue;
        };
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut c)
            .map_err(|e| e.to_string())?;
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut c)
            .map_err(|e| e.to_string())?;
        for line in nodes.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() < 9 || !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            let serves = f[8..].iter().any(|r| match r.split_once('-') {
                Some((a, b)) => {
                    let (a, b): (u16, u16) = (a.parse().unwrap_or(1), b.parse().unwrap_or(0));
                    (a..=b).contains(&slot)
                }
                None => r.parse::<u16>().is_ok_and(|s| s == slot),
            });
            if serves {
                let addr = f[1].split('@').next().unwrap_or_default();
                return addr
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse().ok())
                    .ok_or_else(|| format!("no port in {addr}"));
            }
        }
    }
    Err(format!("no primary serves {key}"))
}

/// `kill -9` of the Redis node on `port`.
fn kill_node(port: u16) -> Result<(), String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let mut c = client.get_connection().map_err(|e| e.to_string())?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut c)
        .map_err(|e| e.to_string())?;
    let pid: i32 = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
        .ok_or("no process id")?;
    // SAFETY: sends SIGKILL to a redis-server this bench run started.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    Ok(())
}
