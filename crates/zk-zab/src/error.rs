//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in the ZAB cores.
///
/// Two kinds: requests the core declines ([`ZabError::NotLeader`], backpressure, bad input from
/// the host at start-up), after which the peer carries on; and fatal ones
/// ([`ZabError::is_fatal`]), after which the host must stop the peer because its state can no
/// longer be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ZabError {
    /// The configuration cannot work (see [`crate::Config::validate`]).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
    /// The state the host restored from disk is inconsistent.
    #[error("invalid restored state: {reason}")]
    InvalidRestoredState {
        /// What is wrong.
        reason: String,
    },
    /// Proposals are only accepted by a leader whose epoch is established.
    #[error("this server is not an established leader")]
    NotLeader,
    /// Too many proposals wait for a quorum; the caller should retry later.
    #[error("{outstanding} proposals are outstanding, the limit is {limit}")]
    TooManyOutstandingProposals {
        /// Proposals logged but not yet committed.
        outstanding: usize,
        /// `Config::outstanding_proposals_max`.
        limit: usize,
    },
    /// The low 32 bits of the zxid ran out; the leader steps down so that a new epoch starts.
    #[error("the zxid counter of epoch {epoch} is exhausted")]
    ZxidCounterExhausted {
        /// The exhausted epoch.
        epoch: u32,
    },
    /// A peer speaks a protocol version this server does not.
    #[error("peer protocol version {version} is not supported (this server speaks {supported})")]
    UnsupportedProtocolVersion {
        /// The version the peer sent.
        version: u16,
        /// [`crate::PROTOCOL_VERSION`].
        supported: u16,
    },
    /// The host reported something it cannot know, such as confirming a write never issued.
    #[error("the host broke its contract: {reason}")]
    HostContract {
        /// What the host did.
        reason: String,
    },
    /// A safety invariant would be broken, for example a leader asking to truncate committed
    /// transactions. The peer must stop.
    #[error("invariant violated: {reason}")]
    InvariantViolated {
        /// Which invariant.
        reason: String,
    },
}

impl ZabError {
    /// Whether the host must stop this peer: its durable state or a peer's behaviour
    /// contradicts the protocol.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ZabError::HostContract { .. } | ZabError::InvariantViolated { .. }
        )
    }
}
