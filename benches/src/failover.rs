//! Failover time of an ensemble: a client writes continuously through a follower, the
//! leader is killed with SIGKILL, and the time from the kill to the first successful write
//! sent after it is measured.
//!
//! The writer behaves like a client with the whole ensemble in its connect string: one
//! `setData` in flight at a time; when its connection fails it resumes its session on the
//! surviving members in turn (a short pause between attempts) until one takes it, and keeps
//! writing. Unlike the Java client it adds no random back-off, so the time measured is the
//! servers', not a client's retry policy. The kill is sent from this process, timed just
//! before kill(2), while the writer waits for a reply; a write counts as the recovery only
//! if it was sent after the kill (a reply to an earlier write proves nothing about the new
//! leader).

use crate::connection::{Connection, SessionSettings};
use crate::ensemble::{ensemble_status, Member};
use crate::error::LoadError;
use crate::failover_report::FailoverReport;
use crate::server_mode::ServerMode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use zk_proto::{Acl, CreateMode, CreateRequest, ErrorCode, RequestBody, SessionId, SetDataRequest};

/// Everything one leader kill needs.
#[derive(Debug, Clone)]
pub struct FailoverConfig {
    /// The ensemble; the leader among them must have a pid.
    pub members: Vec<Member>,
    /// Writing before the kill.
    pub steady: Duration,
    /// From the kill: a write must have succeeded by then.
    pub limit: Duration,
    /// TCP connect plus handshake, per attempt.
    pub connect_timeout: Duration,
    /// Per reply; a late reply counts as a failure and the writer reconnects.
    pub response_timeout: Duration,
    /// Pause after a failed connect or an error reply.
    pub retry_pause: Duration,
    /// The session timeout asked for: long enough that the session outlives the election.
    pub session_timeout_ms: i32,
    /// The znode written (created if missing).
    pub path: String,
    /// Bytes per write.
    pub data_bytes: usize,
    /// A tag copied into the report.
    pub label: String,
}

/// Kills the leader of `config.members` while a client writes, and measures the failover.
pub async fn measure_failover(config: &FailoverConfig) -> Result<FailoverReport, LoadError> {
    let status = ensemble_status(&config.members, config.connect_timeout).await;
    let leader = status.single_leader().ok_or_else(|| {
        LoadError::Ensemble(format!(
            "no single leader to kill; members say:\n{}",
            status.to_text()
        ))
    })?;
    let leader_pid = leader.pid.ok_or_else(|| {
        LoadError::Ensemble(format!(
            "the leader {} was given without its pid (--member HOST:PORT=PID)",
            leader.addr
        ))
    })?;
    let survivors: Vec<SocketAddr> = config
        .members
        .iter()
        .map(|member| member.addr)
        .filter(|addr| *addr != leader.addr)
        .collect();
    if survivors.is_empty() {
        return Err(LoadError::Ensemble(
            "the leader is the only member: nothing would survive".into(),
        ));
    }

    let settings = SessionSettings {
        addr: survivors[0],
        connect_timeout: config.connect_timeout,
        response_timeout: config.response_timeout,
        session_timeout_ms: config.session_timeout_ms,
    };
    let mut connection = Connection::open(settings).await?;
    create_if_missing(&mut connection, &config.path).await?;

    let started = Instant::now();
    let kill_at = started + config.steady;
    let (kill_sender, kill_receiver) = watch::channel(None);
    let writer = Writer {
        settings,
        survivors: survivors.clone(),
        next_survivor: 1,
        request: SetDataRequest {
            path: config.path.clone(),
            data: Some(vec![b'f'; config.data_bytes]),
            version: -1,
        },
        deadline: kill_at + config.limit,
        retry_pause: config.retry_pause,
        tally: WriterTally::default(),
    };
    let writing = tokio::spawn(writer.run(connection, kill_receiver));

    tokio::time::sleep_until(kill_at).await;
    if writing.is_finished() {
        // The writer gave up before the kill; its error explains why.
        return Err(join_writer(writing)
            .await
            .err()
            .unwrap_or_else(|| LoadError::Failover("the writer stopped before the kill".into())));
    }
    let killed_at = Instant::now();
    // SAFETY: kill(2) with a pid given by the caller and a constant signal touches no memory.
    let sent = unsafe { libc::kill(leader_pid as libc::pid_t, libc::SIGKILL) };
    if sent != 0 {
        writing.abort();
        return Err(LoadError::Signal {
            pid: leader_pid,
            source: std::io::Error::last_os_error(),
        });
    }
    // The writer reads this before each write it sends; on this single-threaded runtime it
    // cannot send one between the kill and this line.
    kill_sender.send_replace(Some(killed_at));

    let recovered = join_writer(writing).await?;
    let new_leader = new_leader(&survivors, config.connect_timeout).await;
    recovered.connection.close().await;
    let tally = recovered.tally;
    Ok(FailoverReport {
        label: config.label.clone(),
        members: config
            .members
            .iter()
            .map(|member| member.addr.to_string())
            .collect(),
        leader: leader.addr.to_string(),
        leader_pid,
        writer_server: tally.server_at_kill.unwrap_or(survivors[0]).to_string(),
        writes_before_kill: tally.writes_before_kill,
        writes_straddling_kill: tally.writes_straddling_kill,
        last_write_before_kill_ms: tally
            .last_success_before_kill
            .map(|at| millis(killed_at.saturating_duration_since(at))),
        failover_ms: millis(recovered.answered_at.saturating_duration_since(killed_at)),
        first_write_latency_ms: millis(recovered.answered_at - recovered.sent_at),
        recovered_via: recovered.via.to_string(),
        new_leader: new_leader.map(|addr| addr.to_string()),
        writes_after_kill: tally.writes_after_kill,
        connects_after_kill: tally.connects_after_kill,
        writes_timed_out: tally.writes_timed_out,
        response_timeout_ms: millis(config.response_timeout),
        new_session: tally.new_session,
        errors: tally.errors.values().sum(),
        errors_by_kind: tally.errors,
    })
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn join_writer(
    writing: tokio::task::JoinHandle<Result<Recovered, LoadError>>,
) -> Result<Recovered, LoadError> {
    writing
        .await
        .map_err(|error| LoadError::Failover(format!("the writer task failed: {error}")))?
}

async fn create_if_missing(connection: &mut Connection, path: &str) -> Result<(), LoadError> {
    let response = connection
        .call(RequestBody::Create(CreateRequest {
            path: path.to_owned(),
            data: None,
            acl: Acl::open_unsafe(),
            flags: CreateMode::Persistent.flag(),
        }))
        .await?;
    match response.header.result() {
        Ok(()) | Err(Some(ErrorCode::NodeExists)) => Ok(()),
        Err(_) => Err(LoadError::Setup(format!(
            "creating {path}: error {}",
            response.header.err
        ))),
    }
}

/// The member `srvr` names leader among the survivors, if exactly one does.
async fn new_leader(survivors: &[SocketAddr], limit: Duration) -> Option<SocketAddr> {
    let members: Vec<Member> = survivors
        .iter()
        .map(|&addr| Member { addr, pid: None })
        .collect();
    let status = ensemble_status(&members, limit).await;
    let mut leaders = status
        .members
        .iter()
        .filter(|(_, mode)| mode == &Ok(ServerMode::Leader));
    let leader = leaders.next()?.0.addr;
    leaders.next().is_none().then_some(leader)
}

/// What the writer counts.
#[derive(Debug, Default)]
struct WriterTally {
    writes_before_kill: u64,
    writes_straddling_kill: u64,
    last_success_before_kill: Option<Instant>,
    server_at_kill: Option<SocketAddr>,
    writes_after_kill: u64,
    connects_after_kill: u64,
    writes_timed_out: u64,
    new_session: bool,
    errors: BTreeMap<String, u64>,
}

impl WriterTally {
    fn add_error(&mut self, kind: String) {
        *self.errors.entry(kind).or_default() += 1;
    }
}

/// The first successful write after the kill.
struct Recovered {
    connection: Connection,
    via: SocketAddr,
    sent_at: Instant,
    answered_at: Instant,
    tally: WriterTally,
}

/// The continuously writing client.
struct Writer {
    settings: SessionSettings,
    survivors: Vec<SocketAddr>,
    next_survivor: usize,
    request: SetDataRequest,
    deadline: Instant,
    retry_pause: Duration,
    tally: WriterTally,
}

impl Writer {
    async fn run(
        mut self,
        mut connection: Connection,
        kill: watch::Receiver<Option<Instant>>,
    ) -> Result<Recovered, LoadError> {
        loop {
            let after_kill = kill.borrow().is_some();
            if after_kill {
                self.tally.writes_after_kill += 1;
                self.tally.server_at_kill.get_or_insert(connection.addr());
            }
            let sent_at = Instant::now();
            let outcome = connection
                .call(RequestBody::SetData(self.request.clone()))
                .await;
            let answered_at = Instant::now();
            match outcome {
                Ok(response) => match response.header.result() {
                    Ok(()) if after_kill => {
                        return Ok(Recovered {
                            via: connection.addr(),
                            connection,
                            sent_at,
                            answered_at,
                            tally: self.tally,
                        })
                    }
                    Ok(()) => match *kill.borrow() {
                        // Sent before the kill, answered after it: the old leader had
                        // committed it, so it says nothing about the new one.
                        Some(killed_at) if answered_at > killed_at => {
                            self.tally.writes_straddling_kill += 1;
                        }
                        _ => {
                            self.tally.writes_before_kill += 1;
                            self.tally.last_success_before_kill = Some(answered_at);
                        }
                    },
                    Err(code) => {
                        self.tally.add_error(match code {
                            Some(code) => format!("setData {code:?} ({})", response.header.err),
                            None => format!("setData error code {}", response.header.err),
                        });
                        self.pause_before_retry().await?;
                    }
                },
                Err(error) => {
                    // The request may or may not have been applied; either way the connection
                    // is no longer usable, as for a real client after a connection loss.
                    self.tally
                        .add_error(format!("setData: {}", error_kind(&error)));
                    if matches!(error, LoadError::ResponseTimeout { .. }) {
                        // The server kept the connection but never answered: the client
                        // waited the whole response timeout, part of the time measured.
                        self.tally.writes_timed_out += 1;
                    }
                    if kill.borrow().is_some() && self.tally.server_at_kill.is_none() {
                        self.tally.server_at_kill = Some(connection.addr());
                    }
                    connection = self.reconnect(&connection, &kill).await?;
                }
            }
        }
    }

    async fn pause_before_retry(&self) -> Result<(), LoadError> {
        if Instant::now() + self.retry_pause >= self.deadline {
            return Err(self.gave_up("an error reply"));
        }
        tokio::time::sleep(self.retry_pause).await;
        Ok(())
    }

    fn gave_up(&self, last: &str) -> LoadError {
        LoadError::Failover(format!(
            "no successful write within the limit after the kill (last failure: {last}; failures seen: {:?})",
            self.tally.errors
        ))
    }

    /// Resumes the session on the survivors in turn (from the one after `lost`) until one
    /// takes it; a new session if they all refuse it as expired.
    async fn reconnect(
        &mut self,
        lost: &Connection,
        kill: &watch::Receiver<Option<Instant>>,
    ) -> Result<Connection, LoadError> {
        let session_id: SessionId = lost.session_id();
        let password = lost.password().to_vec();
        let mut last_failure = String::from("none");
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(self.gave_up(&last_failure));
            }
            let addr = self.survivors[self.next_survivor % self.survivors.len()];
            self.next_survivor += 1;
            if kill.borrow().is_some() {
                self.tally.connects_after_kill += 1;
            }
            let settings = SessionSettings {
                addr,
                connect_timeout: self.settings.connect_timeout.min(self.deadline - now),
                ..self.settings
            };
            let attempt = if self.tally.new_session {
                Connection::open(settings).await
            } else {
                Connection::resume(settings, session_id, &password).await
            };
            match attempt {
                Ok(connection) => return Ok(connection),
                Err(LoadError::SessionRefused { .. }) if !self.tally.new_session => {
                    // The session expired: carry on as a client does, with a new one.
                    self.tally.add_error("connect: session expired".into());
                    self.tally.new_session = true;
                }
                Err(error) => {
                    last_failure = error_kind(&error);
                    self.tally.add_error(format!("connect: {last_failure}"));
                }
            }
            if Instant::now() + self.retry_pause >= self.deadline {
                return Err(self.gave_up(&last_failure));
            }
            tokio::time::sleep(self.retry_pause).await;
        }
    }
}

/// A failure's kind, without addresses or counts, so that the same failure adds up.
fn error_kind(error: &LoadError) -> String {
    match error {
        LoadError::Connect { source, .. } => format!("{:?}", source.kind()),
        LoadError::ConnectTimeout { .. } => "no handshake within the connect timeout".into(),
        LoadError::SessionRefused { .. } => "session refused".into(),
        LoadError::ConnectionClosed { .. } => "connection closed by the server".into(),
        LoadError::ResponseTimeout { .. } => "no reply within the response timeout".into(),
        LoadError::Io(source) => format!("socket {:?}", source.kind()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_leave_out_addresses() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let refused = LoadError::Connect {
            addr,
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(error_kind(&refused), "ConnectionRefused");
        assert_eq!(
            error_kind(&LoadError::ConnectionClosed { in_flight: 1 }),
            "connection closed by the server"
        );
        assert!(!error_kind(&LoadError::ConnectTimeout {
            addr,
            limit: Duration::from_secs(1)
        })
        .contains("127.0.0.1"));
    }
}
