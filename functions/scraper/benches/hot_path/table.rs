//! The figures of a run, gathered as each repeat finishes, and the one table printed
//! at the end: per workload and tool the median over repeats, the ratios to vmagent
//! measured in the same run, and the goal beside each scraper row. Goals are
//! reported, not enforced: the bench fails only when a tool loses samples or an
//! invocation fails.

use std::collections::BTreeMap;

/// What a row's figure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// CPU seconds per million samples.
    CpuPerMillion,
    /// CPU milliseconds per warm invocation (scraper) or scrape cycle (vmagent).
    CpuMsPerCycle,
    /// Wall milliseconds (cold start).
    WallMs,
    /// CPU milliseconds of one cold run.
    CpuMs,
    /// Instructions (callgrind `Ir`) per sample.
    InstructionsPerSample,
}

impl Unit {
    fn text(self) -> &'static str {
        match self {
            Unit::CpuPerMillion => "CPU s / 1M samples",
            Unit::CpuMsPerCycle => "CPU ms / cycle",
            Unit::WallMs => "wall ms",
            Unit::CpuMs => "CPU ms",
            Unit::InstructionsPerSample => "Ir / sample",
        }
    }
}

/// The goal a scraper row is held to, from issue 20.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// CPU at most this times vmagent's, and (when set) peak RSS at most this times.
    VsVmagent { cpu: f64, rss: Option<f64> },
    /// The figure itself at most this.
    AtMost(f64),
}

impl Goal {
    fn text(self) -> String {
        match self {
            Goal::VsVmagent {
                cpu,
                rss: Some(rss),
            } => {
                format!("CPU <= {cpu}x vmagent, RSS <= {rss}x")
            }
            Goal::VsVmagent { cpu, rss: None } => format!("CPU <= {cpu}x vmagent"),
            Goal::AtMost(limit) => format!("<= {limit}"),
        }
    }
}

#[derive(Default)]
struct Series {
    values: Vec<f64>,
    rss_bytes: Vec<f64>,
}

/// Key: (workload, row label).
#[derive(Default)]
pub struct Table {
    rows: Vec<(String, String, Unit, Option<Goal>)>,
    series: BTreeMap<(String, String), Series>,
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

impl Table {
    /// Adds one repeat's figure (and peak RSS, when the row has one).
    pub fn record(
        &mut self,
        workload: &str,
        tool: &str,
        unit: Unit,
        goal: Option<Goal>,
        value: f64,
        rss_bytes: Option<u64>,
    ) {
        let key = (workload.to_string(), tool.to_string());
        if !self.series.contains_key(&key) {
            self.rows
                .push((workload.to_string(), tool.to_string(), unit, goal));
        }
        let series = self.series.entry(key).or_default();
        series.values.push(value);
        if let Some(rss) = rss_bytes {
            series.rss_bytes.push(rss as f64);
        }
    }

    fn medians(&self, workload: &str, tool: &str) -> (Option<f64>, Option<f64>) {
        self.series
            .get(&(workload.to_string(), tool.to_string()))
            .map_or((None, None), |s| (median(&s.values), median(&s.rss_bytes)))
    }

    /// The table: one line per row, medians over repeats.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{:<10} {:<22} {:>10} {:<19} {:>9} {:>8} {:>8}  {}\n",
            "workload", "tool", "median", "unit", "peak RSS", "CPU/vm", "RSS/vm", "goal (issue 20)"
        );
        for (workload, tool, unit, goal) in &self.rows {
            let (value, rss) = self.medians(workload, tool);
            let (vm_value, vm_rss) = self.medians(workload, "vmagent");
            let cpu_ratio = value.zip(vm_value).map(|(v, vm)| v / vm);
            let rss_ratio = rss.zip(vm_rss).map(|(r, vm)| r / vm);
            let fmt_ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.3}x"));
            let verdict = goal.map_or(String::new(), |g| {
                let met = match g {
                    Goal::VsVmagent { cpu, rss } => {
                        cpu_ratio.is_some_and(|r| r <= cpu)
                            && rss.is_none_or(|limit| rss_ratio.is_some_and(|r| r <= limit))
                    }
                    Goal::AtMost(limit) => value.is_some_and(|v| v <= limit),
                };
                format!("{}: {}", g.text(), if met { "met" } else { "NOT met" })
            });
            out.push_str(&format!(
                "{:<10} {:<22} {:>10} {:<19} {:>9} {:>8} {:>8}  {}\n",
                workload,
                tool,
                value.map_or("-".to_string(), |v| format!("{v:.3}")),
                unit.text(),
                rss.map_or("-".to_string(), |r| format!("{:.0} MB", r / 1e6)),
                if tool == "vmagent" {
                    "-".to_string()
                } else {
                    fmt_ratio(cpu_ratio)
                },
                if tool == "vmagent" {
                    "-".to_string()
                } else {
                    fmt_ratio(rss_ratio)
                },
                verdict
            ));
        }
        out
    }
}
