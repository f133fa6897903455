//! A simulated disk: writes become durable only when an fsync completes, and a crash loses
//! whatever was not yet durable.

use std::collections::VecDeque;
use zk_proto::{Epoch, Zxid};
use zk_zab::{DurableWrite, PersistedState, Txn, WriteId};

/// What survives a crash.
#[derive(Debug, Clone, Default)]
pub struct DurableState {
    pub accepted_epoch: Epoch,
    pub current_epoch: Epoch,
    pub log: Vec<Txn>,
    /// The newest snapshot: its zxid and the state machine it holds (in the simulation the
    /// state machine is simply the list of delivered transactions).
    pub snapshot: (Zxid, Vec<Txn>),
}

impl DurableState {
    pub fn apply(&mut self, write: DurableWrite) {
        match write {
            DurableWrite::AcceptedEpoch { epoch } => {
                assert!(
                    epoch >= self.accepted_epoch,
                    "the accepted epoch went back on disk"
                );
                self.accepted_epoch = epoch;
            }
            DurableWrite::CurrentEpoch { epoch } => {
                assert!(
                    epoch >= self.current_epoch,
                    "the current epoch went back on disk"
                );
                self.current_epoch = epoch;
            }
            DurableWrite::AppendTxns { txns } => self.log.extend(txns),
            DurableWrite::TruncateLog { after } => self.log.retain(|txn| txn.zxid <= after),
            DurableWrite::InstallSnapshot {
                snapshot_zxid,
                snapshot,
            } => {
                self.snapshot = (snapshot_zxid, decode_snapshot(&snapshot));
                self.log.clear();
            }
        }
    }

    pub fn restore(&self) -> PersistedState {
        PersistedState {
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            snapshot_zxid: self.snapshot.0,
            log: self.log.clone(),
        }
    }
}

/// A disk with a write queue and group commit. A `lying` disk confirms writes at once but
/// makes them durable only later, like a drive that acknowledges fsync from a volatile
/// cache: the test double that proves the checkers notice lost acknowledged writes.
#[derive(Debug, Default)]
pub struct Disk {
    pub durable: DurableState,
    pending: VecDeque<(WriteId, DurableWrite)>,
    /// An fsync in progress: when it completes and the last write it covers.
    syncing: Option<(u64, WriteId)>,
    pub lying: bool,
}

impl Disk {
    /// Queues a write. Returns the id to confirm at once when the disk lies.
    pub fn write(&mut self, id: WriteId, write: DurableWrite) -> Option<WriteId> {
        self.pending.push_back((id, write));
        self.lying.then_some(id)
    }

    /// Starts an fsync of everything pending when none is running (group commit).
    pub fn start_fsync(&mut self, now: u64, duration_steps: u64) {
        if self.syncing.is_none() {
            if let Some((last, _)) = self.pending.back() {
                self.syncing = Some((now + duration_steps, *last));
            }
        }
    }

    /// Completes the running fsync if it is due; returns the last write it made durable
    /// (to confirm, unless the disk lies and confirmed already).
    pub fn complete_fsync(&mut self, now: u64) -> Option<WriteId> {
        let (due, last) = self.syncing?;
        if due > now {
            return None;
        }
        self.sync_through(last);
        (!self.lying).then_some(last)
    }

    /// Makes every queued write up to `through` durable at once, ending any running fsync
    /// (the scripted scenarios use it for a fine-grained fsync). Returns the last write made
    /// durable.
    pub fn sync_through(&mut self, through: WriteId) -> Option<WriteId> {
        let mut last = None;
        while self.pending.front().is_some_and(|(id, _)| *id <= through) {
            let (id, write) = self.pending.pop_front().expect("front checked");
            self.durable.apply(write);
            last = Some(id);
        }
        self.syncing = None;
        last
    }

    /// Writes queued and not durable yet, in issue order.
    pub fn pending_writes(&self) -> impl Iterator<Item = &DurableWrite> {
        self.pending.iter().map(|(_, write)| write)
    }

    /// Power goes out: everything not durable is gone.
    pub fn crash(&mut self) {
        self.pending.clear();
        self.syncing = None;
    }
}

pub fn encode_snapshot(txns: &[Txn]) -> Vec<u8> {
    postcard::to_allocvec(txns).expect("a Vec<Txn> always serializes")
}

pub fn decode_snapshot(bytes: &[u8]) -> Vec<Txn> {
    postcard::from_bytes(bytes).expect("snapshots are produced by encode_snapshot")
}
