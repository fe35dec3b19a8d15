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

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

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
