//! Clients: they submit requests to whichever server they reach, retry until some server
//! delivers the request, and count it acknowledged then.

use std::collections::BTreeMap;
use zk_proto::Zxid;
use zk_zab::Txn;

/// How many requests may wait at once (every queue has a named limit).
pub const PENDING_REQUESTS_MAX: usize = 32;
/// A request not delivered this many ticks after a leader accepted it is sent again.
pub const RETRY_AFTER_TICKS: u64 = 25;

#[derive(Debug, Default)]
pub struct Clients {
    next_request: u64,
    /// Request id → the tick of its next attempt.
    pending: BTreeMap<u64, u64>,
    acknowledged: BTreeMap<u64, Zxid>,
    pub submitted: u64,
}

impl Clients {
    pub fn new_request(&mut self, now_tick: u64) {
        if self.pending.len() < PENDING_REQUESTS_MAX {
            self.next_request += 1;
            self.pending.insert(self.next_request, now_tick);
        }
    }

    /// Requests whose next attempt is due.
    pub fn due(&self, now_tick: u64) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|(_, next)| **next <= now_tick)
            .map(|(request, _)| *request)
            .collect()
    }

    /// A server accepted the request (retry much later) or refused it (retry next tick).
    pub fn attempted(&mut self, request: u64, now_tick: u64, accepted: bool) {
        if let Some(next) = self.pending.get_mut(&request) {
            self.submitted += u64::from(accepted);
            *next = now_tick + if accepted { RETRY_AFTER_TICKS } else { 1 };
        }
    }

    /// Some server delivered `txn`: its request, if still pending, is acknowledged.
    pub fn delivered(&mut self, txn: &Txn) {
        if let Some(request) = request_of(&txn.data) {
            if self.pending.remove(&request).is_some() {
                self.acknowledged.insert(request, txn.zxid);
            }
        }
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    pub fn acknowledged(&self) -> &BTreeMap<u64, Zxid> {
        &self.acknowledged
    }
}

pub fn payload(request: u64) -> Vec<u8> {
    request.to_le_bytes().to_vec()
}

pub fn request_of(data: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(data.try_into().ok()?))
}
