//! [`LoadReport`], the result of one zk-load run: printed for people, or as one JSON line
//! for scripts.

use crate::histogram::LatencySummary;
use crate::key_space::SetupReport;
use crate::proc_stats::ProcessSample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// A free-form tag given with `--label` (the compare script names the server and point).
    pub label: String,
    /// The server address.
    pub server: String,
    /// Sessions (TCP connections).
    pub sessions: usize,
    /// Requests in flight per session.
    pub in_flight: usize,
    /// The operation mix in `--mix` syntax.
    pub mix: String,
    /// Bytes of data per `setData` and `create`.
    pub data_bytes: usize,
    /// Pre-created keys.
    pub keys: u64,
    /// The seed of the request streams.
    pub seed: u64,
    /// Load before the measurement, not counted.
    pub warmup_s: f64,
    /// Length of the measurement window.
    pub measured_s: f64,
    /// Successful replies received inside the window.
    pub ops: u64,
    /// `ops / measured_s`.
    pub ops_per_s: f64,
    /// Latency of the measured replies.
    pub latency: LatencySummary,
    /// Operation name to its measured count and latency, for the operations of the mix.
    pub per_operation: BTreeMap<String, LatencySummary>,
    /// Every error of the run (warm-up, window and drain): error replies, undecodable
    /// replies, and requests left unanswered by a failed session.
    pub errors: u64,
    /// The errors by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Why sessions ended early, one line each.
    pub session_failures: Vec<String>,
    /// The load generator's own CPU time (user + system) per measured op, in µs; `None`
    /// when no op was measured.
    pub client_cpu_us_per_op: Option<f64>,
    /// The servers' CPU time per measured op, in µs (all `--server-pid`s together); `None`
    /// without `--server-pid` or when no op was measured.
    pub server_cpu_us_per_op: Option<f64>,
    /// The servers' resident memory at the end of the window, in KiB (summed).
    pub server_rss_kb: Option<u64>,
    /// Each server: CPU used inside the window and memory at its end.
    pub servers: Vec<ProcessSample>,
    /// The key-space creation, unless the keys were reused.
    pub setup: Option<SetupReport>,
}

impl LoadReport {
    /// The report as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// The banner that makes errors impossible to miss; `None` when there were none.
    pub fn error_banner(&self) -> Option<String> {
        if self.errors == 0 {
            return None;
        }
        let kinds = self
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind}: {count}"))
            .collect::<Vec<_>>()
            .join("; ");
        Some(format!(
            "!!!!!!!! {} ERRORS in this run ({kinds}) !!!!!!!!",
            self.errors
        ))
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let banner = self.error_banner();
        let mut line = |line: String| {
            text.push_str(&line);
            text.push('\n');
        };
        if let Some(banner) = &banner {
            line(banner.clone());
        }
        line(format!(
            "zk-load {}{}: {} sessions x {} in flight, mix {}, {}-byte data, {} keys, seed {}",
            self.server,
            if self.label.is_empty() {
                String::new()
            } else {
                format!(" [{}]", self.label)
            },
            self.sessions,
            self.in_flight,
            self.mix,
            self.data_bytes,
            self.keys,
            self.seed
        ));
        if let Some(setup) = &self.setup {
            line(format!(
                "setup           created {} znodes in {:.2} s ({:.0}/s)",
                setup.znodes,
                setup.seconds,
                setup.znodes as f64 / setup.seconds.max(1e-9)
            ));
        }
        line(format!(
            "measured        {:.2} s after {:.2} s of warm-up",
            self.measured_s, self.warmup_s
        ));
        line(format!(
            "throughput      {:.0} ops/s ({} ops)",
            self.ops_per_s, self.ops
        ));
        line(format!("latency (us)    {}", self.latency.to_text()));
        if self.per_operation.len() > 1 {
            for (operation, latency) in &self.per_operation {
                line(format!(
                    "  {operation:<13} {} ops, {}",
                    latency.count,
                    latency.to_text()
                ));
            }
        }
        line(format!(
            "client CPU      {} us/op",
            per_op_text(self.client_cpu_us_per_op)
        ));
        if !self.servers.is_empty() {
            let memory = self
                .server_rss_kb
                .map(|kb| format!(", RSS {:.1} MiB", kb as f64 / 1024.0))
                .unwrap_or_default();
            line(format!(
                "server CPU      {} us/op{memory}",
                per_op_text(self.server_cpu_us_per_op)
            ));
            for server in &self.servers {
                line(format!(
                    "  pid {:<9} {:.3} s CPU in the window, RSS {:.1} MiB (peak {:.1} MiB)",
                    server.pid,
                    server.cpu_us as f64 / 1e6,
                    server.rss_kb as f64 / 1024.0,
                    server.rss_peak_kb as f64 / 1024.0
                ));
            }
        }
        line(format!("errors          {}", self.errors));
        for failure in &self.session_failures {
            line(format!("  session failed: {failure}"));
        }
        if let Some(banner) = &banner {
            line(banner.clone());
        }
        text
    }
}

fn per_op_text(value: Option<f64>) -> String {
    value.map_or("n/a (no op measured)".into(), |value| format!("{value:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_report() -> LoadReport {
        LoadReport {
            label: "ours get 8x100".into(),
            server: "127.0.0.1:2181".into(),
            sessions: 8,
            in_flight: 100,
            mix: "get=1".into(),
            data_bytes: 100,
            keys: 1000,
            seed: 1,
            warmup_s: 1.0,
            measured_s: 2.0,
            ops: 40_000,
            ops_per_s: 20_000.0,
            latency: LatencySummary {
                count: 40_000,
                mean_us: 400.0,
                p50_us: 380,
                p90_us: 500,
                p99_us: 900,
                p999_us: 1500,
                max_us: 4000,
            },
            per_operation: BTreeMap::new(),
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            session_failures: Vec::new(),
            client_cpu_us_per_op: Some(3.2),
            server_cpu_us_per_op: Some(20.5),
            server_rss_kb: Some(10_240),
            servers: vec![ProcessSample {
                pid: 77,
                cpu_us: 820_000,
                rss_kb: 10_240,
                rss_peak_kb: 12_000,
            }],
            setup: None,
        }
    }

    #[test]
    fn json_line_round_trips() {
        let report = sample_report();
        let line = report.to_json_line();
        assert!(!line.contains('\n'));
        let back: LoadReport = serde_json::from_str(&line).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn clean_run_has_no_banner() {
        let text = sample_report().to_text();
        assert!(!text.contains("ERRORS"), "{text}");
        assert!(text.contains("throughput      20000 ops/s"), "{text}");
        assert!(
            text.contains("server CPU      20.50 us/op, RSS 10.0 MiB"),
            "{text}"
        );
    }

    #[test]
    fn errors_are_printed_first_and_last() {
        let mut report = sample_report();
        report.errors = 3;
        report.errors_by_kind.insert("get NoNode (-101)".into(), 3);
        let text = report.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("3 ERRORS"), "{text}");
        assert!(
            lines.last().unwrap().contains("get NoNode (-101): 3"),
            "{text}"
        );
    }
}
