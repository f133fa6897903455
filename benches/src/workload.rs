//! A whole load run: create the key space, open the sessions, run them through warm-up and
//! the measurement window, sample CPU and memory at the window's edges, and add it all up.

use crate::connection::{Connection, SessionSettings};
use crate::error::LoadError;
use crate::histogram::LatencySummary;
use crate::key_space::{create_key_space, KeySpace, SetupSettings};
use crate::load_plan::{LoadPlan, PlanSettings, Schedule, SessionTally};
use crate::op_mix::{OpMix, Operation};
use crate::proc_stats::{own_cpu_us, ProcReader, ProcessSample};
use crate::report::LoadReport;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Most sessions one run opens (a named limit: each is a socket and a task).
pub const SESSIONS_MAX: usize = 10_000;
/// Most requests in flight per session.
pub const IN_FLIGHT_MAX: usize = 100_000;
/// Largest data size: the reference's default `jute.maxbuffer` (0xfffff bytes) less room
/// for the path and headers.
pub const DATA_BYTES_MAX: usize = 1_000_000;

/// When a run stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRule {
    /// Measure for this long after the warm-up.
    Duration(Duration),
    /// Measure this many requests in total after the warm-up (spread over the sessions).
    Requests(u64),
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Connection and timeout settings of every session; its address is the server the
    /// keys are created through.
    pub session: SessionSettings,
    /// The servers the load sessions connect to, round-robin (session i to server
    /// i mod len); one for a standalone server, several to spread over an ensemble.
    pub servers: Vec<SocketAddr>,
    /// Sessions (connections) sending load.
    pub sessions: usize,
    /// Requests in flight per session.
    pub in_flight: usize,
    /// Operation weights.
    pub mix: OpMix,
    /// Bytes of data per `setData` and `create`.
    pub data_bytes: usize,
    /// The znodes to use.
    pub key_space: KeySpace,
    /// Use keys a previous run created instead of creating them.
    pub reuse_keys: bool,
    /// How the key space is created.
    pub setup: SetupSettings,
    /// When the measurement ends.
    pub stop: StopRule,
    /// Load before the measurement starts.
    pub warmup: Duration,
    /// Hard limit on warm-up plus measurement: the run always stops by itself.
    pub max_duration: Duration,
    /// Seed of the operation and key choices.
    pub seed: u64,
    /// Decode every reply fully.
    pub check_replies: bool,
    /// Server processes whose CPU and memory are reported.
    pub server_pids: Vec<u32>,
    /// A tag copied into the report.
    pub label: String,
}

impl LoadConfig {
    /// Checks the limits; called by [`run`].
    pub fn validate(&self) -> Result<(), LoadError> {
        let bad = |message: String| Err(LoadError::BadArgument(message));
        if self.servers.is_empty() {
            return bad("give at least one --server".into());
        }
        if !(1..=SESSIONS_MAX).contains(&self.sessions) {
            return bad(format!("--sessions must be in 1..={SESSIONS_MAX}"));
        }
        if !(1..=IN_FLIGHT_MAX).contains(&self.in_flight) {
            return bad(format!("--in-flight must be in 1..={IN_FLIGHT_MAX}"));
        }
        if self.data_bytes > DATA_BYTES_MAX {
            return bad(format!("--data-bytes must be at most {DATA_BYTES_MAX}"));
        }
        match self.stop {
            StopRule::Duration(duration) => {
                if duration.is_zero() {
                    return bad("--duration must be positive".into());
                }
                if self.warmup + duration > self.max_duration {
                    return bad(format!(
                        "--warmup plus --duration exceed --max-duration ({:?})",
                        self.max_duration
                    ));
                }
            }
            StopRule::Requests(0) => return bad("--requests must be positive".into()),
            StopRule::Requests(_) => {
                if self.warmup >= self.max_duration {
                    return bad("--warmup must be shorter than --max-duration".into());
                }
            }
        }
        Ok(())
    }

    fn data(&self) -> Vec<u8> {
        // Printable bytes, so the nodes are readable with zkCli; the content does not matter.
        (0..self.data_bytes)
            .map(|position| b'a' + (position % 26) as u8)
            .collect()
    }
}

/// What one session hands back.
struct SessionOutcome {
    tally: SessionTally,
    failure: Option<String>,
}

/// Runs the load described by `config` and reports it. Must run inside a tokio runtime with
/// time and I/O enabled.
pub async fn run(config: &LoadConfig) -> Result<LoadReport, LoadError> {
    config.validate()?;
    let proc_reader = ProcReader::system();
    // Fail before any load if a server pid is wrong.
    sample_servers(&proc_reader, &config.server_pids)?;

    let data = config.data();
    let setup = if config.reuse_keys {
        None
    } else {
        // The setup is bounded like the load: a server that creates slowly but steadily
        // (so no response timeout fires) still cannot keep the run going for ever.
        let creating = create_key_space(&config.key_space, &data, config.session, config.setup);
        let report = tokio::time::timeout(config.max_duration, creating)
            .await
            .map_err(|_| {
                LoadError::Setup(format!(
                    "creating {} keys took longer than --max-duration ({:?})",
                    config.key_space.keys(),
                    config.max_duration
                ))
            })??;
        Some(report)
    };

    let connections = open_sessions(config.session, &config.servers, config.sessions).await?;
    let started = Instant::now();
    let window_start = started + config.warmup;
    let (window_end, issue_until, total_quota) = match config.stop {
        StopRule::Duration(duration) => {
            (Some(window_start + duration), window_start + duration, None)
        }
        StopRule::Requests(total) => (None, started + config.max_duration, Some(total)),
    };
    let plan_settings = PlanSettings {
        mix: config.mix.clone(),
        key_space: config.key_space.clone(),
        data,
        check_replies: config.check_replies,
    };
    let sessions = spawn_sessions(
        connections,
        &plan_settings,
        config,
        Schedule {
            window_start,
            window_end,
            issue_until,
            quota: None,
        },
        total_quota,
    );

    tokio::time::sleep_until(window_start).await;
    let own_cpu_before_us = own_cpu_us();
    let servers_before = sample_servers(&proc_reader, &config.server_pids)?;

    // Every session ends within the response timeout after it stops sending, plus the
    // closeSession exchange; the slack covers a scheduler that runs late.
    let join_deadline = issue_until + config.session.response_timeout * 2 + Duration::from_secs(1);
    let (outcomes, window_closed_at, own_cpu_after_us, servers_after) = match window_end {
        Some(window_end) => {
            tokio::time::sleep_until(window_end).await;
            let own_cpu_after_us = own_cpu_us();
            let servers_after = sample_servers(&proc_reader, &config.server_pids)?;
            let outcomes = join_sessions(sessions, join_deadline).await;
            (outcomes, window_end, own_cpu_after_us, servers_after)
        }
        None => {
            let outcomes = join_sessions(sessions, join_deadline).await;
            let own_cpu_after_us = own_cpu_us();
            let servers_after = sample_servers(&proc_reader, &config.server_pids)?;
            let last_reply = outcomes
                .iter()
                .filter_map(|outcome| outcome.tally.last_measured_reply_at)
                .max()
                .unwrap_or(window_start);
            (outcomes, last_reply, own_cpu_after_us, servers_after)
        }
    };

    let mut total = SessionTally::default();
    let mut session_failures = Vec::new();
    for outcome in &outcomes {
        total.merge(&outcome.tally);
        session_failures.extend(outcome.failure.clone());
    }
    let measured_s = window_closed_at
        .saturating_duration_since(window_start)
        .as_secs_f64();
    let ops = total.latency.count();
    // Per-op figures need ops: a run that measured none reports none rather than a
    // division by zero dressed up as a number.
    let per_op = |micros: u64| (ops > 0).then(|| micros as f64 / ops as f64);
    let servers: Vec<ProcessSample> = servers_before
        .iter()
        .zip(&servers_after)
        .map(|(before, after)| ProcessSample {
            cpu_us: after.cpu_us.saturating_sub(before.cpu_us),
            ..*after
        })
        .collect();
    let has_servers = !servers.is_empty();
    let per_operation: BTreeMap<String, LatencySummary> = config
        .mix
        .operations()
        .map(|operation: Operation| {
            (
                operation.name().to_owned(),
                total.per_operation[operation.index()].summary(),
            )
        })
        .collect();
    Ok(LoadReport {
        label: config.label.clone(),
        server: config
            .servers
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(","),
        sessions: config.sessions,
        in_flight: config.in_flight,
        mix: config.mix.to_string(),
        data_bytes: config.data_bytes,
        keys: config.key_space.keys(),
        seed: config.seed,
        warmup_s: config.warmup.as_secs_f64(),
        measured_s,
        ops,
        ops_per_s: ops as f64 / measured_s.max(1e-9),
        latency: total.latency.summary(),
        per_operation,
        errors: total.error_count(),
        errors_by_kind: total.errors.clone(),
        session_failures,
        client_cpu_us_per_op: per_op(own_cpu_after_us.saturating_sub(own_cpu_before_us)),
        server_cpu_us_per_op: has_servers
            .then(|| per_op(servers.iter().map(|server| server.cpu_us).sum()))
            .flatten(),
        server_rss_kb: has_servers.then(|| servers.iter().map(|server| server.rss_kb).sum()),
        servers,
        setup,
    })
}

fn sample_servers(reader: &ProcReader, pids: &[u32]) -> Result<Vec<ProcessSample>, LoadError> {
    pids.iter().map(|&pid| reader.sample(pid)).collect()
}

/// Opens `count` sessions concurrently, session i to `servers[i % servers.len()]`; any
/// failure fails the run (there is nothing to measure against a server that cannot take the
/// sessions).
async fn open_sessions(
    settings: SessionSettings,
    servers: &[SocketAddr],
    count: usize,
) -> Result<Vec<Connection>, LoadError> {
    let mut opening = JoinSet::new();
    for addr in servers.iter().cycle().take(count) {
        opening.spawn(Connection::open(SessionSettings {
            addr: *addr,
            ..settings
        }));
    }
    let mut connections = Vec::with_capacity(count);
    while let Some(opened) = opening.join_next().await {
        let opened =
            opened.map_err(|error| LoadError::Setup(format!("connect task failed: {error}")))?;
        connections.push(opened?);
    }
    Ok(connections)
}

fn spawn_sessions(
    connections: Vec<Connection>,
    plan_settings: &PlanSettings,
    config: &LoadConfig,
    schedule: Schedule,
    total_quota: Option<u64>,
) -> JoinSet<SessionOutcome> {
    let mut sessions = JoinSet::new();
    let session_count = connections.len() as u64;
    for (index, mut connection) in connections.into_iter().enumerate() {
        let index = index as u64;
        // Spread a total request count so that the quotas add up to it exactly.
        let quota = total_quota
            .map(|total| total / session_count + u64::from(index < total % session_count));
        let mut plan = LoadPlan::new(
            plan_settings,
            config.seed,
            index,
            Schedule { quota, ..schedule },
        );
        let in_flight = config.in_flight;
        sessions.spawn(async move {
            let result = connection.run_pipelined(&mut plan, in_flight).await;
            let failure = match result {
                Ok(()) => {
                    connection.close().await;
                    None
                }
                Err(failure) => {
                    if failure.unanswered > 0 {
                        plan.tally.add_error(
                            "unanswered (session failed)".into(),
                            failure.unanswered as u64,
                        );
                    }
                    plan.tally.add_error("session failures".into(), 1);
                    Some(format!("session {index}: {}", failure.error))
                }
            };
            SessionOutcome {
                tally: plan.tally,
                failure,
            }
        });
    }
    sessions
}

/// Waits for every session until `deadline`; sessions still running then are aborted and
/// reported as failures.
async fn join_sessions(
    mut sessions: JoinSet<SessionOutcome>,
    deadline: Instant,
) -> Vec<SessionOutcome> {
    let mut outcomes = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, sessions.join_next()).await {
            Ok(Some(Ok(outcome))) => outcomes.push(outcome),
            Ok(Some(Err(error))) => outcomes.push(failed_outcome(format!("session task: {error}"))),
            Ok(None) => return outcomes,
            Err(_) => {
                let stuck = sessions.len();
                sessions.shutdown().await;
                for _ in 0..stuck {
                    outcomes.push(failed_outcome(
                        "session did not finish before the run's deadline".into(),
                    ));
                }
                return outcomes;
            }
        }
    }
}

fn failed_outcome(reason: String) -> SessionOutcome {
    let mut tally = SessionTally::default();
    tally.add_error("session failures".into(), 1);
    SessionOutcome {
        tally,
        failure: Some(reason),
    }
}
