//! The simulated host: executes the commands a peer returns, in order, and reports what
//! happened to the checkers.

use crate::sim::cluster::{Cluster, FNV_PRIME};
use crate::sim::disk::{decode_snapshot, encode_snapshot};
use std::collections::VecDeque;
use zk_proto::ServerId;
use zk_zab::{Command, DurableWrite, Message, SyncMode, Txn, WriteId, ZabError};

impl Cluster {
    /// Executes `commands` of server `origin`, and whatever the callbacks they trigger
    /// return, in order.
    pub(super) fn execute(&mut self, origin: ServerId, commands: Vec<Command>) {
        let mut queue: VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            self.record_trace(origin, &command);
            queue.extend(self.execute_one(origin, command));
        }
    }

    /// Executes the commands of a call that may fail; a failure is a violation.
    pub(super) fn execute_result(
        &mut self,
        origin: ServerId,
        result: Result<Vec<Command>, ZabError>,
    ) {
        match result {
            Ok(commands) => self.execute(origin, commands),
            Err(error) => self.checkers.report(format!(
                "server {origin} stopped with a fatal error: {error}"
            )),
        }
    }

    fn execute_one(&mut self, id: ServerId, command: Command) -> Vec<Command> {
        self.watch_command(id, &command);
        match command {
            Command::Send { to, message } => {
                self.send(id, to, message);
                Vec::new()
            }
            Command::Persist {
                id: write_id,
                write,
            } => self.persist(id, write_id, write),
            Command::Deliver { txn } => {
                self.deliver(id, txn);
                Vec::new()
            }
            Command::TakeSnapshot { learner } => self.take_snapshot(id, learner),
            Command::BecomeLooking
            | Command::BecomeFollower { .. }
            | Command::BecomeObserver { .. }
            | Command::BecomeLeader => {
                self.stats.elections += u64::from(command == Command::BecomeLooking);
                self.node_mut(id).session += 1;
                Vec::new()
            }
            Command::Established { leader, epoch } => {
                if leader == id {
                    self.stats.epochs_established += 1;
                    let history = self.nodes[&id].state.clone();
                    self.checkers.established(id, epoch, &history);
                }
                Vec::new()
            }
        }
    }

    fn send(&mut self, from: ServerId, to: ServerId, message: Message) {
        if let Message::NewLeader(new_leader) = &message {
            match new_leader.sync {
                SyncMode::Diff => self.stats.diffs += 1,
                SyncMode::Trunc { .. } => self.stats.truncs += 1,
                SyncMode::Snap { .. } => self.stats.snaps += 1,
            }
        }
        let from = self.nodes[&from].endpoint();
        let to = self.nodes[&to].endpoint();
        self.network.send(
            self.step,
            from,
            to,
            message,
            &self.profile,
            &mut self.network_rng,
        );
    }

    fn persist(&mut self, id: ServerId, write_id: WriteId, write: DurableWrite) -> Vec<Command> {
        if let DurableWrite::InstallSnapshot { snapshot, .. } = &write {
            let state = decode_snapshot(snapshot);
            self.checkers.state_replaced(id, &state);
            self.node_mut(id).replace_state(state);
        }
        let node = self.node_mut(id);
        match node.disk.write(write_id, write) {
            Some(confirm) => {
                let peer = node.peer.as_mut().expect("commands come from live peers");
                let result = peer.on_persisted(confirm);
                self.unwrap_or_report(id, result)
            }
            None => Vec::new(),
        }
    }

    fn deliver(&mut self, id: ServerId, txn: Txn) {
        let (position, answer) = self.node_mut(id).apply(txn.clone());
        self.clients.delivered(id, &txn, answer, self.step);
        self.checkers.delivered(id, position, &txn);
    }

    fn take_snapshot(&mut self, id: ServerId, learner: ServerId) -> Vec<Command> {
        let node = self.node_mut(id);
        let zxid = node.last_applied();
        let snapshot = encode_snapshot(&node.state);
        let peer = node.peer.as_mut().expect("commands come from live peers");
        let result = peer.on_snapshot(learner, zxid, snapshot);
        self.unwrap_or_report(id, result)
    }

    fn unwrap_or_report(
        &mut self,
        id: ServerId,
        result: Result<Vec<Command>, ZabError>,
    ) -> Vec<Command> {
        result.unwrap_or_else(|error| {
            self.checkers
                .report(format!("server {id} stopped with a fatal error: {error}"));
            Vec::new()
        })
    }

    pub(super) fn node_mut(&mut self, id: ServerId) -> &mut crate::sim::node::Node {
        self.nodes.get_mut(&id).expect("known server id")
    }

    fn record_trace(&mut self, id: ServerId, command: &Command) {
        if self.verbose {
            println!("step {} server {id}: {command:?}", self.step);
        }
        if let Some(digest) = self.trace.as_mut() {
            for byte in format!("{} {id} {command:?};", self.step).bytes() {
                *digest = (*digest ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
            }
        }
    }
}
