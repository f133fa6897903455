//! The client's configuration: timeouts, the retry policy, the seed, and a named limit for
//! every queue the client keeps.

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use std::time::Duration;

/// How a [`crate::Client`] connects and behaves. Build with [`ClientConfig::new`] and change
/// the public fields; [`ClientConfig::validate`] runs when the client starts.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port[,host:port...][/chroot]`.
    pub connect_string: String,
    /// The session timeout to ask for; the server clamps it to its bounds and the client uses
    /// the negotiated value (pings go out at a third of it).
    pub session_timeout: Duration,
    /// How long one TCP connect plus handshake may take; `None` means the session timeout
    /// divided by the number of hosts, as the Java client does.
    pub connect_attempt_timeout: Option<Duration>,
    /// How long [`crate::Client::connect`] waits for the first session.
    pub initial_connect_timeout: Duration,
    /// The pause after every host has been tried once without success.
    pub reconnect_pause: Duration,
    /// How long [`crate::Client::close`] waits for the server to confirm.
    pub close_timeout: Duration,
    /// Retries for idempotent reads after a connection loss.
    pub retry_policy: RetryPolicy,
    /// Seeds host order, backoff jitter and recipe ids; `None` draws a seed from the OS.
    pub seed: Option<u64>,
    /// The largest frame accepted from a server (Apache's `jute.maxbuffer`).
    pub max_frame_len: usize,
    /// Requests sent and not yet answered, plus requests waiting for a connection; beyond
    /// this a request fails at once with `ConnectionLoss` instead of queueing.
    pub max_outstanding_requests: usize,
    /// Events buffered for one persistent watch stream; a consumer that falls further behind
    /// loses the watch with [`Error::WatchOverflow`] (never events silently).
    pub watch_event_queue_limit: usize,
    /// Connection state changes buffered for one state stream; a stream that falls further
    /// behind skips to the current state.
    pub state_event_queue_limit: usize,
    /// Frames read from the socket and not yet processed by the session task.
    pub inbound_frame_queue_limit: usize,
}

impl ClientConfig {
    /// Defaults for `connect_string`: 30 s sessions, default retry policy, unseeded.
    pub fn new(connect_string: impl Into<String>) -> Self {
        ClientConfig {
            connect_string: connect_string.into(),
            session_timeout: Duration::from_secs(30),
            connect_attempt_timeout: None,
            initial_connect_timeout: Duration::from_secs(15),
            reconnect_pause: Duration::from_millis(200),
            close_timeout: Duration::from_secs(2),
            retry_policy: RetryPolicy::default(),
            seed: None,
            max_frame_len: zk_proto::DEFAULT_MAX_FRAME_LEN,
            max_outstanding_requests: 10_000,
            watch_event_queue_limit: 1_024,
            state_event_queue_limit: 64,
            inbound_frame_queue_limit: 256,
        }
    }

    /// Checks every value; the client refuses to start on an error.
    pub fn validate(&self) -> Result<()> {
        let invalid = |why: &str| Err(Error::InvalidArgument(why.to_owned()));
        let session_ms = self.session_timeout.as_millis();
        if session_ms == 0 || session_ms > i32::MAX as u128 {
            return invalid("session_timeout must be between 1 ms and i32::MAX ms");
        }
        if self.connect_attempt_timeout == Some(Duration::ZERO) {
            return invalid("connect_attempt_timeout must be positive");
        }
        if self.max_frame_len < 1024 {
            return invalid("max_frame_len below 1 KiB cannot hold a reply");
        }
        for (name, value) in [
            ("max_outstanding_requests", self.max_outstanding_requests),
            ("watch_event_queue_limit", self.watch_event_queue_limit),
            ("state_event_queue_limit", self.state_event_queue_limit),
            ("inbound_frame_queue_limit", self.inbound_frame_queue_limit),
        ] {
            if value == 0 {
                return Err(Error::InvalidArgument(format!("{name} must be positive")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zero_limits_are_not() {
        let config = ClientConfig::new("127.0.0.1:2181");
        config.validate().unwrap();
        let mut bad = config.clone();
        bad.watch_event_queue_limit = 0;
        assert!(bad.validate().is_err());
        let mut bad = config;
        bad.session_timeout = Duration::ZERO;
        assert!(bad.validate().is_err());
    }
}
