//! The era rule of the quorum links. ZAB's host contract: a message sent on a connection
//! that broke is never delivered later. Each server renews its era (a random number) when
//! its role changes and says it in its hello; a pair of eras gets at most one connection,
//! so after a break nothing flows between the same two role periods again.

use crate::quorum::link::Remote;
use std::collections::HashSet;
use zk_proto::ServerId;

/// This server's era and the pairs of eras that already had their connection.
#[derive(Debug)]
pub struct EraGate {
    era: u64,
    seen: HashSet<(ServerId, u64)>,
}

impl EraGate {
    pub fn new(era: u64) -> Self {
        EraGate {
            era,
            seen: HashSet::new(),
        }
    }

    /// The era this server is in.
    pub fn era(&self) -> u64 {
        self.era
    }

    /// A new role period: connections of the old one are gone, any pair may connect again.
    pub fn renew(&mut self, era: u64) {
        self.era = era;
        self.seen.clear();
    }

    /// Whether a connection started in era `started_in` to `remote` may carry messages: it
    /// belongs to this era and is the first between this era and the remote's.
    pub fn admit(&mut self, started_in: u64, remote: Remote) -> bool {
        started_in == self.era && self.seen.insert((remote.id, remote.era))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(id: u64, era: u64) -> Remote {
        Remote {
            id: ServerId(id),
            era,
        }
    }

    #[test]
    fn a_pair_of_eras_gets_one_connection_until_either_side_renews() {
        let mut gate = EraGate::new(10);
        assert!(gate.admit(10, remote(2, 7)));
        assert!(
            !gate.admit(10, remote(2, 7)),
            "a second connection of the same pair"
        );
        assert!(gate.admit(10, remote(2, 8)), "the peer renewed its era");
        assert!(gate.admit(10, remote(3, 7)), "another peer");
        gate.renew(11);
        assert!(!gate.admit(10, remote(2, 9)), "started in the old era");
        assert!(gate.admit(11, remote(2, 7)), "this server renewed its era");
    }
}
