//! Readiness probe: connect, create a session and ask `exists PATH`, again and again until
//! one attempt gets an answer or the deadline passes.
//!
//! A server is ready when it answers a real request: the reference answers `ruok` before it
//! has loaded its database, and an open port proves even less. The probe also tells whether
//! a znode survived a restart (found or missing).

use crate::connection::{Connection, SessionSettings};
use crate::error::LoadError;
use std::time::Duration;
use tokio::time::Instant;
use zk_proto::{ErrorCode, ExistsRequest, RequestBody};

/// Pause between failed attempts: short, since restart times are measured with it.
pub const PROBE_RETRY_PAUSE: Duration = Duration::from_millis(10);

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The server answered and the znode exists.
    Found,
    /// The server answered that the znode does not exist.
    Missing,
    /// No attempt got an answer before the deadline; the last error.
    Unreachable(String),
}

/// The probe's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// What it found.
    pub outcome: ProbeOutcome,
    /// From the probe's start to the answer (or to giving up).
    pub elapsed: Duration,
    /// Attempts made.
    pub attempts: u32,
}

/// Probes `path` until an answer or `limit` has passed.
pub async fn probe(settings: SessionSettings, path: &str, limit: Duration) -> ProbeResult {
    let started = Instant::now();
    let deadline = started + limit;
    let mut attempts = 0;
    let mut last_error = String::from("no attempt made");
    while Instant::now() < deadline {
        attempts += 1;
        match tokio::time::timeout_at(deadline, attempt(settings, path)).await {
            Ok(Ok(outcome)) => {
                return ProbeResult {
                    outcome,
                    elapsed: started.elapsed(),
                    attempts,
                }
            }
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => last_error = "the deadline passed during an attempt".into(),
        }
        tokio::time::sleep(
            PROBE_RETRY_PAUSE.min(deadline.saturating_duration_since(Instant::now())),
        )
        .await;
    }
    ProbeResult {
        outcome: ProbeOutcome::Unreachable(last_error),
        elapsed: started.elapsed(),
        attempts,
    }
}

async fn attempt(settings: SessionSettings, path: &str) -> Result<ProbeOutcome, LoadError> {
    let mut connection = Connection::open(settings).await?;
    let response = connection
        .call(RequestBody::Exists(ExistsRequest {
            path: path.to_owned(),
            watch: false,
        }))
        .await?;
    connection.close().await;
    match response.header.result() {
        Ok(()) => Ok(ProbeOutcome::Found),
        Err(Some(ErrorCode::NoNode)) => Ok(ProbeOutcome::Missing),
        Err(_) => Err(LoadError::Setup(format!(
            "exists {path} answered error {}",
            response.header.err
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, SocketAddr, TcpListener};

    #[tokio::test(flavor = "current_thread")]
    async fn closed_port_is_unreachable_within_the_limit() {
        // Bind then drop a listener to get a port nobody listens on.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let settings = SessionSettings {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            connect_timeout: Duration::from_millis(100),
            response_timeout: Duration::from_millis(100),
            session_timeout_ms: 10_000,
        };
        let result = probe(settings, "/", Duration::from_millis(200)).await;
        assert!(
            matches!(result.outcome, ProbeOutcome::Unreachable(_)),
            "{result:?}"
        );
        assert!(result.attempts >= 1);
        assert!(result.elapsed < Duration::from_secs(2), "{result:?}");
    }
}
