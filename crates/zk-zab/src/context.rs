//! The state a role core borrows while it handles one input.

use crate::commands::{Command, DurableWrite, WriteId};
use crate::config::Config;
use crate::durability::Durability;
use crate::log::Log;
use crate::messages::Message;
use crate::txn::Txn;
use zk_proto::{ServerId, Zxid};

/// Shared parts of a peer, lent to the election, leader or learner core for one call.
pub(crate) struct Context<'a> {
    pub(crate) config: &'a Config,
    pub(crate) now_tick: u64,
    pub(crate) log: &'a mut Log,
    pub(crate) durability: &'a mut Durability,
    pub(crate) outbox: &'a mut Vec<Command>,
}

impl Context<'_> {
    pub(crate) fn my_id(&self) -> ServerId {
        self.config.my_id
    }

    pub(crate) fn send(&mut self, to: ServerId, message: Message) {
        self.outbox.push(Command::Send { to, message });
    }

    pub(crate) fn persist(&mut self, write: DurableWrite) -> WriteId {
        self.durability.issue(write, self.outbox)
    }

    /// Appends `txns` to the log with one durable write.
    pub(crate) fn append(&mut self, txns: Vec<Txn>) {
        if txns.is_empty() {
            return;
        }
        let write = self.persist(DurableWrite::AppendTxns { txns: txns.clone() });
        for txn in txns {
            self.log.append(txn, write);
        }
    }

    /// Commits up to `zxid`, delivers the newly committed transactions and returns them.
    pub(crate) fn commit_through(&mut self, zxid: Zxid) -> Vec<Txn> {
        let newly = self.log.commit_through(zxid);
        self.outbox.extend(
            newly
                .iter()
                .map(|txn| Command::Deliver { txn: txn.clone() }),
        );
        newly
    }

    /// The last zxid of the log that is durable.
    pub(crate) fn durable_zxid(&self) -> Option<Zxid> {
        self.log.durable_zxid(self.durability.confirmed())
    }

    pub(crate) fn is_durable(&self, write: WriteId) -> bool {
        self.durability.is_durable(write)
    }
}

/// What a role core wants the peer to do after an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Keep the current role.
    Continue,
    /// Give up the current role and look for a leader again.
    Abandon(&'static str),
}
