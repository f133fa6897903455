//! Total order, agreement and primary order: every server's state machine is a prefix of one
//! sequence, and zxids increase along it.
//!
//! Positions make this exact: the `n`-th transaction a state machine applies must be the
//! `n`-th of the common sequence, whichever server applied it first, across restarts and
//! snapshots.

use zk_proto::ServerId;
use zk_zab::Txn;

#[derive(Debug, Default)]
pub struct Agreement {
    sequence: Vec<Txn>,
}

impl Agreement {
    /// Checks that `txn` at `position` agrees with the sequence; returns its index when it
    /// extended the sequence.
    pub fn observe(
        &mut self,
        server: ServerId,
        position: usize,
        txn: &Txn,
    ) -> Result<Option<usize>, String> {
        if let Some(agreed) = self.sequence.get(position) {
            return if agreed == txn {
                Ok(None)
            } else {
                Err(format!(
                    "server {server} applied zxid {} with {} bytes as transaction #{position}, \
                     but another server applied zxid {} with {} bytes there",
                    txn.zxid,
                    txn.data.len(),
                    agreed.zxid,
                    agreed.data.len()
                ))
            };
        }
        if position > self.sequence.len() {
            return Err(format!(
                "server {server} applied transaction #{position} before #{}",
                self.sequence.len()
            ));
        }
        if let Some(previous) = self.sequence.last() {
            if txn.zxid <= previous.zxid {
                return Err(format!(
                    "primary order: zxid {} applied after zxid {}",
                    txn.zxid, previous.zxid
                ));
            }
        }
        self.sequence.push(txn.clone());
        Ok(Some(position))
    }

    pub fn sequence(&self) -> &[Txn] {
        &self.sequence
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{Epoch, Zxid};

    fn txn(counter: u32, data: &[u8]) -> Txn {
        Txn::new(Zxid::new(Epoch(1), counter), data.to_vec())
    }

    #[test]
    fn divergent_state_machines_are_caught() {
        let mut checker = Agreement::default();
        assert_eq!(checker.observe(ServerId(1), 0, &txn(1, b"a")), Ok(Some(0)));
        assert_eq!(checker.observe(ServerId(2), 0, &txn(1, b"a")), Ok(None));
        assert!(checker.observe(ServerId(3), 0, &txn(1, b"b")).is_err());
    }

    #[test]
    fn zxids_going_backwards_are_caught() {
        let mut checker = Agreement::default();
        checker.observe(ServerId(1), 0, &txn(2, b"a")).unwrap();
        assert!(checker.observe(ServerId(1), 1, &txn(1, b"b")).is_err());
        assert!(
            checker.observe(ServerId(1), 5, &txn(9, b"c")).is_err(),
            "a hole"
        );
    }
}
