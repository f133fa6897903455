//! Clients: a few sequential clients of the key-value store (`kv`), each with at most one
//! operation outstanding. A client submits its operation to whichever server it reaches; a
//! server that is not the leader refuses, and the client tries another one next tick. Once a
//! leader accepted it, the client waits for that server's answer, which the server gives when
//! it delivers the transaction. If that server crashes or changes role, or the answer takes
//! too long, the client submits the same operation again (same op id: the store answers a
//! repeat from memory instead of applying it twice). A client that waited too long gives up:
//! the operation stays unanswered in the history (it may have taken effect or not) and the
//! client moves on.
//!
//! Every invocation and answer is recorded, in simulated time, for the linearizability
//! checker. Separately, every operation some server delivered is "acknowledged": after
//! recovery it must be in every state machine.

use crate::sim::checkers::linearizability::Operation;
use crate::sim::kv::{self, Op, Output, Request};
use std::collections::BTreeMap;
use zk_proto::{ServerId, Zxid};
use zk_zab::Txn;

/// How many clients run at once.
pub const CLIENTS: u32 = 4;
/// An operation a leader accepted but did not answer this many ticks later is sent again.
pub const RETRY_AFTER_TICKS: u64 = 25;
/// A client gives up on an operation after this many ticks and moves on.
pub const GIVE_UP_AFTER_TICKS: u64 = 90;

#[derive(Debug)]
struct Pending {
    request: Request,
    invoked_tick: u64,
    next_attempt_tick: u64,
    /// The server that accepted the last attempt, in the session it accepted it in.
    server: Option<(ServerId, u64)>,
    /// Its entry in the history.
    entry: usize,
}

#[derive(Debug, Default)]
pub struct Clients {
    next_op_id: u64,
    pending: BTreeMap<u32, Pending>,
    history: Vec<Operation<Op, Output>>,
    acknowledged: BTreeMap<u64, Zxid>,
    /// The last version each client saw of each key, to aim its CAS.
    versions_seen: BTreeMap<(u32, u8), u32>,
    pub submitted: u64,
}

impl Clients {
    /// Clients with no operation outstanding.
    pub fn idle(&self) -> Vec<u32> {
        (0..CLIENTS)
            .filter(|client| !self.pending.contains_key(client))
            .collect()
    }

    /// The version `client` last saw of `key`.
    pub fn version_seen(&self, client: u32, key: u8) -> Option<u32> {
        self.versions_seen.get(&(client, key)).copied()
    }

    /// `client` invokes `op` at `step` (tick `tick`).
    pub fn invoke(&mut self, client: u32, op: Op, step: u64, tick: u64) {
        self.next_op_id += 1;
        let request = Request {
            client,
            op_id: self.next_op_id,
            op,
        };
        self.history.push(Operation {
            client,
            input: op,
            call: step,
            ret: None,
        });
        let pending = Pending {
            request,
            invoked_tick: tick,
            next_attempt_tick: tick,
            server: None,
            entry: self.history.len() - 1,
        };
        self.pending.insert(client, pending);
    }

    /// Requests to submit now: their next attempt is due, or the server that accepted them
    /// is gone (crashed or changed role: the client sees its connection drop). `session`
    /// gives a server's current session, `None` while it is down.
    pub fn due(&self, now_tick: u64, session: impl Fn(ServerId) -> Option<u64>) -> Vec<Request> {
        self.pending
            .values()
            .filter(|pending| {
                pending.next_attempt_tick <= now_tick
                    || pending
                        .server
                        .is_some_and(|(server, at)| session(server) != Some(at))
            })
            .map(|pending| pending.request)
            .collect()
    }

    /// A server accepted the request (`Some(server, session)`: wait for its answer) or
    /// refused it (try again next tick).
    pub fn attempted(&mut self, client: u32, now_tick: u64, accepted_by: Option<(ServerId, u64)>) {
        if let Some(pending) = self.pending.get_mut(&client) {
            self.submitted += u64::from(accepted_by.is_some());
            pending.server = accepted_by;
            pending.next_attempt_tick = now_tick
                + if accepted_by.is_some() {
                    RETRY_AFTER_TICKS
                } else {
                    1
                };
        }
    }

    /// `client`'s outstanding operation is answered at once, without going through ZAB
    /// (the local-reads test double).
    pub fn answered_locally(&mut self, client: u32, output: Output, step: u64) {
        if let Some(pending) = self.pending.remove(&client) {
            self.history[pending.entry].ret = Some((step, output));
        }
    }

    /// Clients give up on operations outstanding for too long.
    pub fn give_up(&mut self, now_tick: u64) {
        self.pending
            .retain(|_, pending| pending.invoked_tick + GIVE_UP_AFTER_TICKS > now_tick);
    }

    /// `server` delivered `txn` at `step`, answering `answer` (`None`: not a request, or a
    /// stale repeat). The operation is acknowledged; its client gets the answer if it was
    /// waiting for this server.
    pub fn delivered(
        &mut self,
        server: ServerId,
        txn: &Txn,
        answer: Option<(Request, Output)>,
        step: u64,
    ) {
        if let Some(request) = kv::decode(&txn.data) {
            self.acknowledged.entry(request.op_id).or_insert(txn.zxid);
        }
        let Some((request, output)) = answer else {
            return;
        };
        let waiting = self.pending.get(&request.client).is_some_and(|pending| {
            pending.request.op_id == request.op_id
                && pending.server.is_some_and(|(at, _)| at == server)
        });
        if !waiting {
            return;
        }
        let pending = self.pending.remove(&request.client).expect("checked");
        self.history[pending.entry].ret = Some((step, output));
        let version = match (request.op, output) {
            (_, Output::Written { version } | Output::Swapped { version }) => Some(version),
            (_, Output::Value(Some((_, version)))) => Some(version),
            _ => None,
        };
        if let (Some(key), Some(version)) = (kv::key_of(&request.op), version) {
            self.versions_seen.insert((request.client, key), version);
        }
    }

    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Every operation some server delivered, with the zxid it was first delivered at.
    pub fn acknowledged(&self) -> &BTreeMap<u64, Zxid> {
        &self.acknowledged
    }

    /// Every operation invoked, with its answer if the client got one.
    pub fn history(&self) -> &[Operation<Op, Output>] {
        &self.history
    }

    /// Operations answered, and operations left without an answer.
    pub fn answered_and_unanswered(&self) -> (u64, u64) {
        let answered = self.history.iter().filter(|op| op.ret.is_some()).count() as u64;
        (answered, self.history.len() as u64 - answered)
    }
}

/// The op id a transaction carries, if it is a client request.
pub fn request_of(data: &[u8]) -> Option<u64> {
    kv::decode(data).map(|request| request.op_id)
}
