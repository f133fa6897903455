//! The members of an ensemble under test, their roles, and the wait until the ensemble
//! serves: one leader, every other member a follower (or observer) answering requests.

use crate::connection::SessionSettings;
use crate::error::LoadError;
use crate::probe::{probe, ProbeOutcome};
use crate::server_mode::{server_mode, ServerMode};
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;
use tokio::time::Instant;

/// Pause between two looks at an ensemble that is not ready yet.
const READY_POLL_PAUSE: Duration = Duration::from_millis(50);

/// One member: its client address and, when it is to be measured or killed, its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The client port's address.
    pub addr: SocketAddr,
    /// The server's process id.
    pub pid: Option<u32>,
}

impl FromStr for Member {
    type Err = LoadError;

    /// `HOST:PORT` or `HOST:PORT=PID`.
    fn from_str(text: &str) -> Result<Member, LoadError> {
        let bad = || {
            LoadError::BadArgument(format!(
                "--member {text:?} is not HOST:PORT or HOST:PORT=PID"
            ))
        };
        let (addr, pid) = match text.split_once('=') {
            Some((addr, pid)) => (addr, Some(pid.trim().parse().map_err(|_| bad())?)),
            None => (text, None),
        };
        let addr = addr
            .trim()
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(bad)?;
        Ok(Member { addr, pid })
    }
}

/// Each member's role as `srvr` reports it, in the members' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsembleStatus {
    /// Member and mode, or why `srvr` got no answer.
    pub members: Vec<(Member, Result<ServerMode, String>)>,
}

impl EnsembleStatus {
    /// The one leader, when exactly one member says it leads and every other member says
    /// it follows or observes.
    pub fn single_leader(&self) -> Option<Member> {
        let mut leaders = self
            .members
            .iter()
            .filter(|(_, mode)| mode == &Ok(ServerMode::Leader));
        let leader = leaders.next()?.0;
        if leaders.next().is_some() {
            return None;
        }
        let others_serve = self.members.iter().all(|(_, mode)| {
            matches!(
                mode,
                Ok(ServerMode::Leader | ServerMode::Follower | ServerMode::Observer)
            )
        });
        others_serve.then_some(leader)
    }

    /// One line per member: `HOST:PORT MODE`.
    pub fn to_text(&self) -> String {
        self.members
            .iter()
            .map(|(member, mode)| match mode {
                Ok(mode) => format!("{} {mode}\n", member.addr),
                Err(error) => format!("{} unreachable ({error})\n", member.addr),
            })
            .collect()
    }
}

/// Asks every member for its mode, each within `limit`.
pub async fn ensemble_status(members: &[Member], limit: Duration) -> EnsembleStatus {
    let mut status = Vec::with_capacity(members.len());
    for member in members {
        let mode = server_mode(member.addr, limit)
            .await
            .map_err(|error| error.to_string());
        status.push((*member, mode));
    }
    EnsembleStatus { members: status }
}

/// Waits until the ensemble has a single leader and every member answers `exists /`;
/// gives up after `limit` with the last status seen.
pub async fn wait_until_serving(
    members: &[Member],
    limit: Duration,
) -> Result<EnsembleStatus, (LoadError, Option<EnsembleStatus>)> {
    let deadline = Instant::now() + limit;
    let each_try = Duration::from_secs(2);
    let mut last_status = None;
    while Instant::now() < deadline {
        let status = ensemble_status(members, each_try).await;
        if status.single_leader().is_some() && all_answer(members, each_try).await {
            return Ok(status);
        }
        last_status = Some(status);
        tokio::time::sleep(READY_POLL_PAUSE).await;
    }
    Err((
        LoadError::Ensemble(format!(
            "no single leader with every member answering within {limit:?}"
        )),
        last_status,
    ))
}

/// Whether every member answers a real request (`srvr` answers before a member has synced
/// with its leader).
async fn all_answer(members: &[Member], limit: Duration) -> bool {
    for member in members {
        let settings = SessionSettings {
            addr: member.addr,
            connect_timeout: limit,
            response_timeout: limit,
            session_timeout_ms: 30_000,
        };
        if probe(settings, "/", limit).await.outcome != ProbeOutcome::Found {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(port: u16) -> Member {
        Member {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            pid: None,
        }
    }

    #[test]
    fn members_parse_with_and_without_pid() {
        let with_pid: Member = "127.0.0.1:2181=42".parse().unwrap();
        assert_eq!(with_pid.addr.port(), 2181);
        assert_eq!(with_pid.pid, Some(42));
        let without: Member = "127.0.0.1:2182".parse().unwrap();
        assert_eq!(without.pid, None);
        assert!("127.0.0.1:2181=x".parse::<Member>().is_err());
        assert!("nowhere".parse::<Member>().is_err());
    }

    #[test]
    fn a_single_leader_needs_every_other_member_serving() {
        let status = |modes: Vec<Result<ServerMode, String>>| EnsembleStatus {
            members: modes
                .into_iter()
                .enumerate()
                .map(|(index, mode)| (member(3000 + index as u16), mode))
                .collect(),
        };
        let ready = status(vec![
            Ok(ServerMode::Follower),
            Ok(ServerMode::Leader),
            Ok(ServerMode::Follower),
        ]);
        assert_eq!(ready.single_leader(), Some(member(3001)));
        assert_eq!(
            ready.to_text(),
            "127.0.0.1:3000 follower\n127.0.0.1:3001 leader\n127.0.0.1:3002 follower\n"
        );
        for not_ready in [
            vec![Ok(ServerMode::Leader), Ok(ServerMode::Leader)],
            vec![Ok(ServerMode::Leader), Ok(ServerMode::NotServing)],
            vec![Ok(ServerMode::Leader), Err("refused".into())],
            vec![Ok(ServerMode::Follower), Ok(ServerMode::Follower)],
        ] {
            assert_eq!(status(not_ready).single_leader(), None);
        }
    }
}
