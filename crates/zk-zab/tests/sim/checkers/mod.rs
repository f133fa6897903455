//! The safety checkers, one file per invariant. The cluster reports every delivery, state
//! replacement and establishment; the first violation fails the run.

mod agreement;
mod durability;
mod integrity;
pub mod kv_history;
pub mod linearizability;
mod single_leader;

use agreement::Agreement;
use integrity::Integrity;
use single_leader::SingleLeader;
use zk_proto::{Epoch, ServerId};
use zk_zab::Txn;

/// All safety checkers, fed the same events.
#[derive(Debug, Default)]
pub struct Checkers {
    single_leader: SingleLeader,
    agreement: Agreement,
    integrity: Integrity,
    violations: Vec<String>,
}

impl Checkers {
    /// `leader` established `epoch`; `history` is its state machine right after, which is
    /// the epoch's whole initial history.
    pub fn established(&mut self, leader: ServerId, epoch: Epoch, history: &[Txn]) {
        let result = self
            .single_leader
            .established(leader, epoch)
            .and_then(|()| {
                durability::initial_history_keeps_every_delivery(
                    epoch,
                    history,
                    self.agreement.sequence(),
                )
            });
        self.record(result);
        self.integrity.established(epoch, history.len());
    }

    /// `server` delivered `txn` as the `position`-th transaction of its state machine.
    pub fn delivered(&mut self, server: ServerId, position: usize, txn: &Txn) {
        let result = self.observe(server, position, txn);
        self.record(result);
    }

    /// `server`'s state machine was replaced (restart from its snapshot, or SNAP).
    pub fn state_replaced(&mut self, server: ServerId, txns: &[Txn]) {
        for (position, txn) in txns.iter().enumerate() {
            let result = self.observe(server, position, txn);
            self.record(result);
        }
    }

    /// Every transaction delivered anywhere, in the one order all servers agree on.
    pub fn delivered_sequence(&self) -> &[Txn] {
        self.agreement.sequence()
    }

    pub fn first_violation(&self) -> Option<&String> {
        self.violations.first()
    }

    /// Records a violation found outside the checkers (a fatal error from a core).
    pub fn report(&mut self, violation: String) {
        self.violations.push(violation);
    }

    fn observe(&mut self, server: ServerId, position: usize, txn: &Txn) -> Result<(), String> {
        if let Some(index) = self.agreement.observe(server, position, txn)? {
            self.integrity.appended(index, txn)?;
        }
        Ok(())
    }

    fn record(&mut self, result: Result<(), String>) {
        if let Err(violation) = result {
            self.violations.push(violation);
        }
    }
}
