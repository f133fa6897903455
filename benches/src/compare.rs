//! Medians and ratios over the JSON lines of a comparison run (benches/compare.sh).
//!
//! Each line is a [`LoadReport`] whose label is `SERVER:rREPETITION` (for example
//! `reference:r2`). Lines are grouped into points by (mix, sessions, in-flight); for each
//! point and server the median of the repetitions is taken, and the ratio of each server
//! to the baseline is computed from those medians.

use crate::error::LoadError;
use crate::report::LoadReport;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One measured point of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Point {
    /// The operation mix.
    pub mix: String,
    /// Sessions.
    pub sessions: usize,
    /// Requests in flight per session.
    pub in_flight: usize,
}

impl Point {
    /// Requests in flight over all sessions.
    pub fn total_in_flight(&self) -> usize {
        self.sessions * self.in_flight
    }
}

/// Medians of one server at one point.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Medians {
    /// Repetitions measured.
    pub runs: usize,
    /// Throughput.
    pub ops_per_s: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Server CPU per op, µs (NaN when no pid was given).
    pub server_cpu_us_per_op: f64,
    /// Client CPU per op, µs.
    pub client_cpu_us_per_op: f64,
    /// Server resident memory after the run, MiB (NaN when no pid was given).
    pub server_rss_mib: f64,
    /// Errors over all repetitions (a sum, not a median: errors are never averaged away).
    pub errors: u64,
}

/// Parses a JSON-lines file of reports; blank lines are skipped.
pub fn parse_reports(text: &str) -> Result<Vec<LoadReport>, LoadError> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|source| LoadError::ResultLine {
                line: index + 1,
                source,
            })
        })
        .collect()
}

/// The server part of a `SERVER:rN` label.
pub fn server_of(label: &str) -> &str {
    label.split_once(':').map_or(label, |(server, _)| server)
}

/// The median of `values` (mean of the middle two for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// Point to server to medians.
pub type Table = BTreeMap<Point, BTreeMap<String, Medians>>;

/// Groups reports by point and server and takes the medians.
pub fn summarise(reports: &[LoadReport]) -> Table {
    let mut grouped: BTreeMap<Point, BTreeMap<String, Vec<&LoadReport>>> = BTreeMap::new();
    for report in reports {
        let point = Point {
            mix: report.mix.clone(),
            sessions: report.sessions,
            in_flight: report.in_flight,
        };
        grouped
            .entry(point)
            .or_default()
            .entry(server_of(&report.label).to_owned())
            .or_default()
            .push(report);
    }
    grouped
        .into_iter()
        .map(|(point, servers)| {
            let servers = servers
                .into_iter()
                .map(|(server, runs)| (server, medians_of(&runs)))
                .collect();
            (point, servers)
        })
        .collect()
}

fn medians_of(runs: &[&LoadReport]) -> Medians {
    let of = |field: fn(&LoadReport) -> f64| {
        median(&runs.iter().map(|run| field(run)).collect::<Vec<_>>())
    };
    Medians {
        runs: runs.len(),
        ops_per_s: of(|run| run.ops_per_s),
        p50_us: of(|run| run.latency.p50_us as f64),
        p99_us: of(|run| run.latency.p99_us as f64),
        server_cpu_us_per_op: of(|run| run.server_cpu_us_per_op.unwrap_or(f64::NAN)),
        client_cpu_us_per_op: of(|run| run.client_cpu_us_per_op.unwrap_or(f64::NAN)),
        server_rss_mib: of(|run| run.server_rss_kb.map_or(f64::NAN, |kb| kb as f64 / 1024.0)),
        errors: runs.iter().map(|run| run.errors).sum(),
    }
}

fn ratio(ours: f64, baseline: f64) -> String {
    if ours.is_nan() || baseline.is_nan() || baseline == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}", ours / baseline)
    }
}

fn number(value: f64, decimals: usize) -> String {
    if value.is_nan() {
        "n/a".into()
    } else {
        format!("{value:.decimals$}")
    }
}

/// A markdown table: one row per point, `candidate` beside `baseline` with ratios
/// candidate / baseline.
pub fn markdown_table(table: &Table, baseline: &str, candidate: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| op | sessions x in-flight | ops/s {baseline} | ops/s {candidate} | ratio | p50 us {baseline} | p50 us {candidate} | p99 us {baseline} | p99 us {candidate} | ratio | server CPU us/op {baseline} | server CPU us/op {candidate} | ratio | RSS MiB {baseline} | RSS MiB {candidate} | ratio | client CPU us/op | errors {baseline}/{candidate} | runs |"
    );
    let _ = writeln!(
        text,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (point, servers) in table {
        let missing = Medians {
            ops_per_s: f64::NAN,
            p50_us: f64::NAN,
            p99_us: f64::NAN,
            server_cpu_us_per_op: f64::NAN,
            client_cpu_us_per_op: f64::NAN,
            server_rss_mib: f64::NAN,
            ..Medians::default()
        };
        let base = servers.get(baseline).copied().unwrap_or(missing);
        let ours = servers.get(candidate).copied().unwrap_or(missing);
        let _ = writeln!(
            text,
            "| {} | {}x{} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} | {}/{} | {}/{} |",
            point.mix,
            point.sessions,
            point.in_flight,
            number(base.ops_per_s, 0),
            number(ours.ops_per_s, 0),
            ratio(ours.ops_per_s, base.ops_per_s),
            number(base.p50_us, 0),
            number(ours.p50_us, 0),
            number(base.p99_us, 0),
            number(ours.p99_us, 0),
            ratio(ours.p99_us, base.p99_us),
            number(base.server_cpu_us_per_op, 1),
            number(ours.server_cpu_us_per_op, 1),
            ratio(ours.server_cpu_us_per_op, base.server_cpu_us_per_op),
            number(base.server_rss_mib, 0),
            number(ours.server_rss_mib, 0),
            ratio(ours.server_rss_mib, base.server_rss_mib),
            number(base.client_cpu_us_per_op, 1),
            number(ours.client_cpu_us_per_op, 1),
            base.errors,
            ours.errors,
            base.runs,
            ours.runs,
        );
    }
    text
}

/// CSV for the plot: `mix,server,total_in_flight,ops_per_s,p99_us`, one line per point and
/// server.
pub fn plot_csv(table: &Table) -> String {
    let mut text = String::from("mix,server,total_in_flight,ops_per_s,p99_us\n");
    for (point, servers) in table {
        for (server, medians) in servers {
            let _ = writeln!(
                text,
                "{},{},{},{:.1},{:.0}",
                point.mix,
                server,
                point.total_in_flight(),
                medians.ops_per_s,
                medians.p99_us
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::histogram::LatencySummary;

    fn report(label: &str, mix: &str, in_flight: usize, ops_per_s: f64, errors: u64) -> LoadReport {
        LoadReport {
            label: label.into(),
            server: "127.0.0.1:1".into(),
            sessions: 8,
            in_flight,
            mix: mix.into(),
            data_bytes: 100,
            keys: 1000,
            seed: 1,
            warmup_s: 1.0,
            measured_s: 2.0,
            ops: 0,
            ops_per_s,
            latency: LatencySummary {
                p50_us: 100,
                p99_us: ops_per_s as u64 / 10,
                ..LatencySummary::default()
            },
            per_operation: BTreeMap::new(),
            errors,
            errors_by_kind: BTreeMap::new(),
            session_failures: Vec::new(),
            client_cpu_us_per_op: Some(2.0),
            server_cpu_us_per_op: Some(10.0),
            server_rss_kb: Some(2048),
            servers: Vec::new(),
            setup: None,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
    }

    #[test]
    fn reports_group_by_point_and_server() {
        let reports = vec![
            report("reference:r1", "get=1", 100, 1000.0, 0),
            report("ours:r1", "get=1", 100, 3000.0, 1),
            report("reference:r2", "get=1", 100, 1200.0, 0),
            report("ours:r2", "get=1", 100, 2000.0, 0),
            report("reference:r3", "get=1", 100, 5000.0, 0),
            report("ours:r3", "get=1", 100, 2500.0, 0),
            report("ours:r1", "set=1", 1, 100.0, 0),
        ];
        let table = summarise(&reports);
        assert_eq!(table.len(), 2);
        let get = &table[&Point {
            mix: "get=1".into(),
            sessions: 8,
            in_flight: 100,
        }];
        assert_eq!(get["reference"].ops_per_s, 1200.0);
        assert_eq!(get["ours"].ops_per_s, 2500.0);
        assert_eq!(get["ours"].errors, 1);
        assert_eq!(get["ours"].runs, 3);
        assert_eq!(get["ours"].server_rss_mib, 2.0);

        let markdown = markdown_table(&table, "reference", "ours");
        assert!(
            markdown.contains("| get=1 | 8x100 | 1200 | 2500 | 2.08 |"),
            "{markdown}"
        );
        // The set point has no reference run: its ratios say so instead of inventing one.
        assert!(
            markdown.contains("| set=1 | 8x1 | n/a | 100 | n/a |"),
            "{markdown}"
        );
        let csv = plot_csv(&table);
        assert!(csv.contains("get=1,ours,800,2500.0,"), "{csv}");
    }

    #[test]
    fn lines_parse_and_bad_lines_name_their_number() {
        let line = report("ours:r1", "get=1", 1, 10.0, 0).to_json_line();
        let text = format!("{line}\n\n{line}\n");
        assert_eq!(parse_reports(&text).unwrap().len(), 2);
        let error = parse_reports(&format!("{line}\nnot json\n")).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
    }

    #[test]
    fn label_server_part() {
        assert_eq!(server_of("ours:r3"), "ours");
        assert_eq!(server_of("plain"), "plain");
    }
}
