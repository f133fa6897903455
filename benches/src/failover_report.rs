//! [`FailoverReport`], the result of one leader kill, and the table of medians over the
//! repetitions of a comparison run.

use crate::compare::{median, server_of};
use crate::error::LoadError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one leader kill measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverReport {
    /// A free-form tag (`SERVER:rN` in the comparison run).
    pub label: String,
    /// Every member's client address.
    pub members: Vec<String>,
    /// The member that led, and was killed.
    pub leader: String,
    /// Its process id.
    pub leader_pid: u32,
    /// The member the writer was connected to when the leader was killed.
    pub writer_server: String,
    /// Writes answered successfully before the kill.
    pub writes_before_kill: u64,
    /// Writes sent before the kill and answered successfully after it (committed by the
    /// old leader); not a sign of recovery.
    pub writes_straddling_kill: u64,
    /// From the last successful reply before the kill to the kill, ms.
    pub last_write_before_kill_ms: Option<f64>,
    /// From the kill to the reply of the first write sent after it that succeeded, ms.
    pub failover_ms: f64,
    /// That write's own latency (sent to answered), ms.
    pub first_write_latency_ms: f64,
    /// The member that answered it.
    pub recovered_via: String,
    /// The member `srvr` named leader right after the recovery, if one did.
    pub new_leader: Option<String>,
    /// Writes sent after the kill, the successful one included.
    pub writes_after_kill: u64,
    /// Connection attempts after the kill.
    pub connects_after_kill: u64,
    /// Writes left without an answer for the whole response timeout (the server kept the
    /// connection open but did not reply); each adds that timeout to the failover time.
    pub writes_timed_out: u64,
    /// The writer's response timeout, ms.
    pub response_timeout_ms: f64,
    /// Whether the session had to be replaced (the survivors did not resume it).
    pub new_session: bool,
    /// Every failure the writer saw (expected while there is no leader: lost connections,
    /// refused connects).
    pub errors: u64,
    /// The failures by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl FailoverReport {
    /// The report as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let mut line = |line: String| {
            text.push_str(&line);
            text.push('\n');
        };
        line(format!(
            "zk-failover{}: killed leader {} (pid {}); writer on {}",
            if self.label.is_empty() {
                String::new()
            } else {
                format!(" [{}]", self.label)
            },
            self.leader,
            self.leader_pid,
            self.writer_server
        ));
        line(format!(
            "failover        {:.1} ms from the kill to the first successful write (via {}; that write took {:.1} ms)",
            self.failover_ms, self.recovered_via, self.first_write_latency_ms
        ));
        line(format!(
            "before the kill {} writes; the last answered {} ms before it; {} sent before and answered after it",
            self.writes_before_kill,
            self.last_write_before_kill_ms
                .map_or("n/a".into(), |ms| format!("{ms:.1}")),
            self.writes_straddling_kill
        ));
        line(format!(
            "after the kill  {} writes ({} unanswered within the {:.0} ms response timeout), {} connection attempts, new session: {}",
            self.writes_after_kill,
            self.writes_timed_out,
            self.response_timeout_ms,
            self.connects_after_kill,
            if self.new_session { "yes" } else { "no" }
        ));
        line(format!(
            "new leader      {}",
            self.new_leader.as_deref().unwrap_or("none reported")
        ));
        line(format!("client errors   {}", self.errors));
        for (kind, count) in &self.errors_by_kind {
            line(format!("  {kind}: {count}"));
        }
        text
    }
}

/// A repetition that measured no failover, and why (no single leader to kill, no write
/// within the limit, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailoverFailure {
    /// The tag of the repetition.
    pub label: String,
    /// What went wrong.
    pub failure: String,
}

impl FailoverFailure {
    /// The failure as one line of JSON.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a failure always serialises")
    }
}

/// One line of a failover results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FailoverLine {
    /// A measured failover (boxed: it is much larger than a failure).
    Measured(Box<FailoverReport>),
    /// A repetition that failed.
    Failed(FailoverFailure),
}

impl FailoverLine {
    fn label(&self) -> &str {
        match self {
            FailoverLine::Measured(report) => &report.label,
            FailoverLine::Failed(failure) => &failure.label,
        }
    }
}

/// Parses a JSON-lines file of failover results; blank lines are skipped.
pub fn parse_failover_lines(text: &str) -> Result<Vec<FailoverLine>, LoadError> {
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

/// A markdown table of the failover times: median, minimum and maximum per server, and the
/// ratio of the candidate's median to the baseline's; failed repetitions are counted, not
/// hidden.
pub fn failover_table(lines: &[FailoverLine], baseline: &str, candidate: &str) -> String {
    let mut by_server: BTreeMap<&str, Vec<&FailoverReport>> = BTreeMap::new();
    let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
    for line in lines {
        let server = server_of(line.label());
        match line {
            FailoverLine::Measured(report) => {
                by_server.entry(server).or_default().push(report.as_ref())
            }
            FailoverLine::Failed(_) => *failures.entry(server).or_default() += 1,
        }
    }
    let failover_median = |server: &str| {
        by_server.get(server).map_or(f64::NAN, |runs| {
            median(&runs.iter().map(|run| run.failover_ms).collect::<Vec<_>>())
        })
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| server | failover ms median | min | max | ratio | first write's own latency ms median | writes unanswered until the response timeout, per run median | client errors per run median | new sessions | runs | failed runs |"
    );
    let _ = writeln!(
        text,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for server in [baseline, candidate] {
        let runs = by_server.get(server).cloned().unwrap_or_default();
        let of = |field: fn(&FailoverReport) -> f64| {
            runs.iter().map(|run| field(run)).collect::<Vec<_>>()
        };
        let times = of(|run| run.failover_ms);
        let minimum = times.iter().copied().fold(f64::NAN, f64::min);
        let maximum = times.iter().copied().fold(f64::NAN, f64::max);
        let ratio = if server == candidate {
            let (ours, base) = (failover_median(candidate), failover_median(baseline));
            if ours.is_nan() || base.is_nan() || base == 0.0 {
                "n/a".to_owned()
            } else {
                format!("{:.2}", ours / base)
            }
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "| {server} | {} | {} | {} | {ratio} | {} | {} | {} | {} | {} | {} |",
            number(median(&times)),
            number(minimum),
            number(maximum),
            number(median(&of(|run| run.first_write_latency_ms))),
            number(median(&of(|run| run.writes_timed_out as f64))),
            number(median(&of(|run| run.errors as f64))),
            runs.iter().filter(|run| run.new_session).count(),
            runs.len(),
            failures.get(server).copied().unwrap_or(0),
        );
    }
    text
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "n/a".into()
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(label: &str, failover_ms: f64, errors: u64) -> FailoverReport {
        FailoverReport {
            label: label.into(),
            members: vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()],
            leader: "127.0.0.1:1".into(),
            leader_pid: 7,
            writer_server: "127.0.0.1:2".into(),
            writes_before_kill: 300,
            writes_straddling_kill: 1,
            last_write_before_kill_ms: Some(0.4),
            failover_ms,
            first_write_latency_ms: 3.0,
            recovered_via: "127.0.0.1:2".into(),
            new_leader: Some("127.0.0.1:2".into()),
            writes_after_kill: 2,
            connects_after_kill: 40,
            writes_timed_out: 0,
            response_timeout_ms: 5000.0,
            new_session: false,
            errors,
            errors_by_kind: BTreeMap::from([("connection closed".into(), errors)]),
        }
    }

    #[test]
    fn json_round_trips_and_text_names_the_time() {
        let original = report("reference:r1", 412.5, 3);
        let failure = FailoverFailure {
            label: "ours:r1".into(),
            failure: "no single leader".into(),
        };
        let text = format!(
            "{}\n\n{}\n",
            original.to_json_line(),
            failure.to_json_line()
        );
        let back = parse_failover_lines(&text).unwrap();
        assert_eq!(
            back,
            [
                FailoverLine::Measured(Box::new(original.clone())),
                FailoverLine::Failed(failure)
            ]
        );
        let text = original.to_text();
        assert!(text.contains("failover        412.5 ms"), "{text}");
        assert!(text.contains("connection closed: 3"), "{text}");
    }

    #[test]
    fn table_has_medians_extremes_and_the_ratio() {
        let failed = |label: &str| {
            FailoverLine::Failed(FailoverFailure {
                label: label.into(),
                failure: "no write within 60 s".into(),
            })
        };
        let measured = |report| FailoverLine::Measured(Box::new(report));
        let lines = [
            measured(report("reference:r1", 400.0, 2)),
            measured(report("reference:r2", 600.0, 4)),
            measured(report("reference:r3", 500.0, 3)),
            measured(report("ours:r1", 250.0, 1)),
            failed("ours:r2"),
            failed("ours:r3"),
        ];
        let table = failover_table(&lines, "reference", "ours");
        assert!(
            table.contains("| reference | 500 | 400 | 600 |  | 3 | 0 | 3 | 0 | 3 | 0 |"),
            "{table}"
        );
        assert!(
            table.contains("| ours | 250 | 250 | 250 | 0.50 | 3 | 0 | 1 | 0 | 1 | 2 |"),
            "{table}"
        );
        let only_reference = failover_table(&lines[..1], "reference", "ours");
        assert!(
            only_reference.contains("| ours | n/a | n/a | n/a | n/a |"),
            "{only_reference}"
        );
    }
}
