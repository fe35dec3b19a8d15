//! Latency samples and the figures the bench table reports.

use std::time::Duration;

/// Latency samples, in microseconds.
#[derive(Default)]
pub struct Samples(Vec<u64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    pub fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// How many samples are longer than `d`.
    pub fn count_over(&self, d: Duration) -> usize {
        let limit = d.as_micros() as u64;
        self.0.iter().filter(|&&s| s > limit).count()
    }

    /// The `q` quantile (0..=1) in milliseconds.
    pub fn quantile_ms(&mut self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[i] as f64 / 1000.0
    }
}

/// One line of the bench table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    pub id: String,
    pub figure: String,
    pub value: f64,
    pub unit: String,
    pub baseline: Option<f64>,
    pub ratio: Option<f64>,
    pub target: String,
    pub met: Option<bool>,
}

impl Figure {
    pub fn new(id: &str, figure: &str, value: f64, unit: &str) -> Self {
        Self {
            id: id.into(),
            figure: figure.into(),
            value,
            unit: unit.into(),
            baseline: None,
            ratio: None,
            target: String::new(),
            met: None,
        }
    }

    /// Compares against a baseline measured in the same run.
    pub fn against(mut self, baseline: f64, min_ratio: f64) -> Self {
        let ratio = self.value / baseline;
        self.baseline = Some(baseline);
        self.ratio = Some(ratio);
        self.target = format!("≥ {min_ratio} × baseline");
        self.met = Some(ratio >= min_ratio);
        self
    }

    pub fn at_most(mut self, limit: f64) -> Self {
        self.target = format!("≤ {limit} {}", self.unit);
        self.met = Some(self.value <= limit);
        self
    }

    pub fn at_least(mut self, limit: f64) -> Self {
        self.target = format!("≥ {limit} {}", self.unit);
        self.met = Some(self.value >= limit);
        self
    }

    pub fn info(self) -> Self {
        self
    }
}

/// The table, as people read it.
pub fn table(figures: &[Figure]) -> String {
    let mut out = format!(
        "{:<4} {:<58} {:>12} {:<8} {:>12} {:>7} {:<22} {}\n",
        "#", "figure", "value", "unit", "baseline", "ratio", "target", "met"
    );
    for f in figures {
        let num = |v: f64| {
            if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        };
        out.push_str(&format!(
            "{:<4} {:<58} {:>12} {:<8} {:>12} {:>7} {:<22} {}\n",
            f.id,
            f.figure,
            num(f.value),
            f.unit,
            f.baseline.map(num).unwrap_or_default(),
            f.ratio.map(|r| format!("{r:.2}")).unwrap_or_default(),
            f.target,
            match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "",
            }
        ));
    }
    out
}

/// Resident memory of a process, in KiB (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU seconds a process has used so far (user and system, all threads).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    stat_cpu_secs(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU seconds from a `/proc/PID/stat` line.
fn stat_cpu_secs(stat: &str) -> Option<f64> {
    // Fields after the command name, which may hold spaces and ')': utime
    // and stime are the 12th and 13th, in clock ticks.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let ticks: f64 = fields.next()?.parse::<f64>().ok()? + fields.next()?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Rewrites Redis's append-only file and waits (up to a minute) until no
/// rewrite is running or due.
pub async fn compact_redis(port: u16) {
    let cli = |args: &[&str]| {
        std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    cli(&["BGREWRITEAOF"]);
    for _ in 0..600 {
        let info = cli(&["INFO", "persistence"]);
        let busy = |f: &str| info.lines().any(|l| l.trim() == format!("{f}:1"));
        if !busy("aof_rewrite_in_progress") && !busy("aof_rewrite_scheduled") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Redis's own account of its work so far: CPU seconds, and commands run
/// (those a function runs included).
pub fn redis_work(port: u16) -> Option<(f64, f64)> {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "INFO", "all"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    };
    let cpu = field("used_cpu_user:")? + field("used_cpu_sys:")?;
    Some((cpu, commands(&text)))
}

/// Commands run, summed over `INFO commandstats` lines.
fn commands(info: &str) -> f64 {
    info.lines()
        .filter(|l| l.starts_with("cmdstat_"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .sum()
}

/// What vinpath and Redis spend on a stretch of load, per unit of work:
/// CPU (noisy on a shared machine) and Redis commands (exact).
pub struct WorkMeter {
    pid: u32,
    redis_port: u16,
    start: (Option<f64>, Option<(f64, f64)>),
}

impl WorkMeter {
    pub fn start(pid: u32, redis_port: u16) -> Self {
        Self {
            pid,
            redis_port,
            start: (cpu_secs(pid), redis_work(redis_port)),
        }
    }

    /// vinpath's CPU per unit alone, in microseconds.
    pub fn vinpath_per(&self, units: usize) -> f64 {
        match (self.start.0, cpu_secs(self.pid)) {
            (Some(a), Some(b)) if units > 0 => (b - a) * 1e6 / units as f64,
            _ => f64::NAN,
        }
    }

    /// The figures per unit, as info lines of figure `id`.
    pub fn figures(&self, id: &str, units: usize) -> [Figure; 3] {
        let per = |a: Option<f64>, b: Option<f64>, scale: f64| match (a, b) {
            (Some(a), Some(b)) if units > 0 => (b - a) * scale / units as f64,
            _ => f64::NAN,
        };
        let redis = redis_work(self.redis_port);
        let (start_cpu, start_calls) = (self.start.1.map(|w| w.0), self.start.1.map(|w| w.1));
        [
            Figure::new(id, "  vinpath CPU per event", self.vinpath_per(units), "µs").info(),
            Figure::new(
                id,
                "  Redis CPU per event",
                per(start_cpu, redis.map(|w| w.0), 1e6),
                "µs",
            )
            .info(),
            Figure::new(
                id,
                "  Redis commands per event",
                per(start_calls, redis.map(|w| w.1), 1.0),
                "cmds",
            )
            .info(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_comes_from_utime_and_stime_after_an_odd_command_name() {
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(stat_cpu_secs(stat), Some(3.0));
        assert_eq!(stat_cpu_secs("garbage"), None);
    }

    #[test]
    fn commands_sum_every_command_with_those_functions_ran() {
        let info = "# Commandstats\r\ncmdstat_fcall:calls=10,usec=300,usec_per_call=30.00\r\n\
                    cmdstat_hset:calls=25,usec=10,usec_per_call=0.40,rejected_calls=0\r\n\
                    used_cpu_sys:1.5\r\n";
        assert_eq!(commands(info), 35.0);
    }

    #[test]
    fn quantiles() {
        let mut s = Samples::default();
        for ms in 1..=100 {
            s.push(Duration::from_millis(ms));
        }
        assert_eq!(s.quantile_ms(0.5), 51.0);
        assert_eq!(s.quantile_ms(0.99), 99.0);
        assert_eq!(s.quantile_ms(1.0), 100.0);
    }
}
