//! The request pipeline, as pure logic: prepare → commit → apply → reply.
//!
//! The TreeActor owns one [`Pipeline`]. Writes are prepared (and given their zxid) as soon
//! as they arrive, then wait for the commit step — immediate in standalone mode today, the
//! transaction log's fsync or a ZAB quorum later; the host reports the commit point with
//! [`Pipeline::on_committed`]. Reads run at once unless an earlier write of the same session
//! is still waiting, in which case they queue behind it: this is the one place where
//! per-session FIFO order and zxid order are enforced.
//!
//! Everything the pipeline decides comes out as [`Output`]s in the order clients must see
//! them; the WatchActor (the final stage) registers watches, fires notifications and routes
//! replies in exactly that order.

mod read;
mod session_queue;

pub use read::{ReadRequest, SetWatchesRequest, WatchCommand};

use crate::watch::{PersistentKind, WatcherId};
use session_queue::SessionQueues;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use zk_proto::data::ClientInfo;
use zk_proto::{Acl, Epoch, ErrorCode, EventType, OpCode, SessionId, Stat, Xid, Zxid};
use zk_tree::{AuthContext, DataTree, PendingChanges, Txn, TxnResult, WriteRequest};

/// Where a request came from, so its reply can find its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOrigin {
    pub connection: WatcherId,
    pub session: SessionId,
    pub xid: Xid,
    pub opcode: OpCode,
    /// When the request arrived, in the server's monotonic microseconds (for latency stats;
    /// the pipeline only carries it).
    pub received_at_us: u64,
}

/// A read's or write's answer, independent of its wire encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyPayload {
    /// No body (delete, setWatches, removeWatches, ...).
    Empty,
    /// An `ErrorResponse` body carrying 0, which is what addWatch answers.
    ErrorResponseOk,
    /// create: the created path; create2/createTTL/createContainer: path and stat.
    Created {
        path: String,
        stat: Option<Stat>,
    },
    /// exists, setData, setACL, check.
    Stat(Stat),
    Data {
        data: Option<Vec<u8>>,
        stat: Stat,
    },
    /// getChildren (no stat) and getChildren2 (with stat).
    Children {
        names: Vec<String>,
        stat: Option<Stat>,
    },
    Acl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    /// getAllChildrenNumber.
    Count(i32),
    /// getEphemerals.
    Paths(Vec<String>),
    /// sync: the path it was asked for.
    Synced {
        path: String,
    },
    /// whoAmI: the identities of the session.
    Identities(Vec<ClientInfo>),
    /// A delete inside a multi.
    Deleted,
    /// An operation of a failed multi that would have succeeded (an error result with 0).
    RolledBack,
    /// multi: one result per operation; one failure fails them all.
    Multi(Vec<Result<ReplyPayload, ErrorCode>>),
    /// multiRead: one result per read, each on its own.
    MultiRead(Vec<Result<ReplyPayload, ErrorCode>>),
}

/// A reply to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub origin: RequestOrigin,
    /// The last zxid applied to the tree when the reply was made (the reply header's zxid).
    pub zxid: Zxid,
    pub result: Result<ReplyPayload, ErrorCode>,
}

/// What the final stage must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A change of the tree that may fire watches.
    Trigger { event: EventType, path: String },
    /// A reply; `watch`, when set, is registered before the reply is sent.
    Reply {
        reply: Reply,
        watch: Option<WatchRegistration>,
    },
    /// A request that the watch registry itself must answer (checkWatches, removeWatches,
    /// addWatch, setWatches).
    Watch {
        origin: RequestOrigin,
        zxid: Zxid,
        command: WatchCommand,
    },
    /// A session's close was applied: its connection (if any) must be closed.
    SessionClosed { session: SessionId },
    /// An error reply, after which the connection is closed (its session lives on).
    RejectAndClose { reply: Reply },
}

/// A watch to register for the connection a reply goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchRegistration {
    Data { path: String },
    Children { path: String },
    Persistent { path: String, kind: PersistentKind },
}

/// Who is waiting for a prepared transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOrigin {
    /// A client request: its reply goes back to the connection.
    Client(RequestOrigin),
    /// The server itself (session expiry, container reaping): nobody to answer.
    Server,
}

#[derive(Debug)]
struct InFlightWrite {
    txn: Txn,
    origin: WriteOrigin,
    /// For a multi, the opcode of each operation: a create answers with a path, a create2
    /// with a path and a stat.
    multi_op_codes: Vec<OpCode>,
}

/// A request a learner sent to its leader, waiting for its transaction (or, for a sync,
/// for the leader's word that everything before it has been sent).
#[derive(Debug)]
enum Forwarded {
    Write {
        origin: WriteOrigin,
        multi_op_codes: Vec<OpCode>,
    },
    Sync {
        origin: RequestOrigin,
        path: String,
    },
}

/// What a delivered transaction answered (see [`Pipeline::on_delivered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveredOrigin {
    /// A server write (session create/close) this learner forwarded with this id: its
    /// waiter is the caller's to answer.
    ForwardedServerWrite(u64),
    /// Anything else: a write this server prepared (answered by the pipeline, or by the
    /// caller's waiters by zxid), a client's forwarded write, a transaction nobody here
    /// waits for.
    Other,
}

/// Limits of the pipeline; checked when the server starts.
#[derive(Debug, Clone, Copy)]
pub struct PipelineLimits {
    /// Prepared writes waiting for their commit before new writes are refused.
    pub max_in_flight_writes: usize,
}

/// Prepares writes, orders reads behind their session's writes, applies committed writes.
pub struct Pipeline {
    tree: DataTree,
    pending: PendingChanges,
    last_prepared: Zxid,
    in_flight: VecDeque<InFlightWrite>,
    sessions: SessionQueues,
    limits: PipelineLimits,
    /// A learner's requests at the leader, by the id they were forwarded with.
    forwarded: HashMap<u64, Forwarded>,
    next_forward_id: u64,
}

impl Pipeline {
    pub fn new(tree: DataTree, limits: PipelineLimits) -> Self {
        let last_prepared = tree.last_applied_zxid();
        Pipeline {
            tree,
            pending: PendingChanges::default(),
            last_prepared,
            in_flight: VecDeque::new(),
            sessions: SessionQueues::default(),
            limits,
            forwarded: HashMap::new(),
            next_forward_id: 1,
        }
    }

    /// A leader starts its epoch: its zxids continue at `epoch`'s first counter.
    pub fn start_epoch(&mut self, epoch: Epoch) {
        assert!(
            self.in_flight.is_empty(),
            "an epoch starts with no prepared write"
        );
        self.last_prepared = Zxid::new(epoch, 0).max(self.tree.last_applied_zxid());
    }

    /// The server left its role (a new election): every write prepared or forwarded and not
    /// yet applied is dropped, with the reads waiting behind them. Their clients are
    /// disconnected; a write that a quorum had logged may still come back committed, through
    /// the next leader, and is then applied like any other delivered transaction.
    pub fn abandon_uncommitted(&mut self) {
        self.in_flight.clear();
        self.pending = PendingChanges::default();
        self.sessions = SessionQueues::default();
        self.forwarded.clear();
        self.last_prepared = self.tree.last_applied_zxid();
    }

    /// Replaces the tree (a learner installing its leader's snapshot).
    pub fn replace_tree(&mut self, tree: DataTree) {
        self.abandon_uncommitted();
        self.tree = tree;
        self.last_prepared = self.tree.last_applied_zxid();
    }

    /// A learner's write goes to the leader: returns the id the leader's transaction will
    /// carry back. Later reads of the session wait for it, as for a local write.
    pub fn forward_write(&mut self, origin: WriteOrigin, multi_op_codes: Vec<OpCode>) -> u64 {
        if let WriteOrigin::Client(client) = origin {
            self.sessions.push_write(client.session);
        }
        self.add_forwarded(Forwarded::Write {
            origin,
            multi_op_codes,
        })
    }

    /// A learner's sync goes to the leader; it is answered by [`Pipeline::on_sync_done`].
    pub fn forward_sync(&mut self, origin: RequestOrigin, path: String) -> u64 {
        self.sessions.push_write(origin.session);
        self.add_forwarded(Forwarded::Sync { origin, path })
    }

    fn add_forwarded(&mut self, request: Forwarded) -> u64 {
        let id = self.next_forward_id;
        self.next_forward_id += 1;
        self.forwarded.insert(id, request);
        id
    }

    /// Requests forwarded and not yet answered.
    pub fn forwarded_requests(&self) -> usize {
        self.forwarded.len()
    }

    /// Applies a committed transaction from ZAB. A leader's own prepared write is applied
    /// from its queue; anything else (a learner's delivery, or history a new leader
    /// inherited) is applied as given, answering the forwarded request `forwarded` if this
    /// server sent it. Returns whether it answered a forwarded server write.
    pub fn on_delivered(
        &mut self,
        txn: &Txn,
        forwarded: Option<u64>,
        out: &mut Vec<Output>,
    ) -> DeliveredOrigin {
        if self
            .in_flight
            .front()
            .is_some_and(|write| write.txn.zxid == txn.zxid)
        {
            self.on_committed(txn.zxid, out);
            return DeliveredOrigin::Other;
        }
        let request = forwarded.and_then(|id| self.forwarded.remove(&id).map(|r| (id, r)));
        let (origin, multi_op_codes, answered) = match request {
            Some((
                id,
                Forwarded::Write {
                    origin,
                    multi_op_codes,
                },
            )) => {
                let answered = match origin {
                    WriteOrigin::Server => DeliveredOrigin::ForwardedServerWrite(id),
                    WriteOrigin::Client(_) => DeliveredOrigin::Other,
                };
                (origin, multi_op_codes, answered)
            }
            Some((id, sync @ Forwarded::Sync { .. })) => {
                // Ids are shared by writes and syncs, so this is a leader's mistake: keep
                // the sync for its own answer.
                tracing::error!(zxid = %txn.zxid, ?sync, "a transaction names a forwarded sync");
                self.forwarded.insert(id, sync);
                (WriteOrigin::Server, Vec::new(), DeliveredOrigin::Other)
            }
            None => (WriteOrigin::Server, Vec::new(), DeliveredOrigin::Other),
        };
        self.apply_and_reply(txn, origin, &multi_op_codes, out);
        answered
    }

    /// The leader has sent everything committed before the forwarded sync `id`, and this
    /// server applied it: the sync is answered.
    pub fn on_sync_done(&mut self, id: u64, out: &mut Vec<Output>) {
        match self.forwarded.remove(&id) {
            Some(Forwarded::Sync { origin, path }) => self.answer_sync(origin, path, out),
            Some(other) => {
                tracing::error!(id, ?other, "a sync answer matched a forwarded write");
                self.forwarded.insert(id, other);
            }
            None => tracing::debug!(id, "answer to a sync that was abandoned"),
        }
    }

    fn answer_sync(&mut self, origin: RequestOrigin, path: String, out: &mut Vec<Output>) {
        let reply = Reply {
            origin,
            zxid: self.tree.last_applied_zxid(),
            result: Ok(ReplyPayload::Synced { path }),
        };
        out.push(Output::Reply { reply, watch: None });
        self.release_reads(origin.session, out);
    }

    /// The tree, for four-letter words and snapshots.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The zxid of the last write prepared (or applied, if none is in flight).
    pub fn last_prepared(&self) -> Zxid {
        self.last_prepared
    }

    /// The prepared, uncommitted transaction `zxid`, if this pipeline prepared it.
    pub fn prepared(&self, zxid: Zxid) -> Option<&Txn> {
        // Commits come in order: almost always the oldest write in flight.
        if let Some(front) = self
            .in_flight
            .front()
            .filter(|write| write.txn.zxid == zxid)
        {
            return Some(&front.txn);
        }
        let index = self
            .in_flight
            .binary_search_by_key(&zxid, |write| write.txn.zxid)
            .ok()?;
        Some(&self.in_flight[index].txn)
    }

    /// Writes prepared but not yet committed.
    pub fn in_flight_writes(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether another write can be accepted now.
    pub fn has_write_capacity(&self) -> bool {
        self.in_flight.len() < self.limits.max_in_flight_writes
    }

    /// Prepares a write and gives it the next zxid. The returned transaction must go through
    /// the commit step; its effects come out of [`Pipeline::on_committed`].
    pub fn submit_write(
        &mut self,
        origin: WriteOrigin,
        auth: &AuthContext,
        time_ms: i64,
        request: &WriteRequest,
        multi_op_codes: Vec<OpCode>,
    ) -> &Txn {
        let zxid = self.last_prepared.next();
        let txn = self
            .tree
            .prepare(&mut self.pending, auth, zxid, time_ms, request);
        assert_eq!(txn.zxid, zxid, "prepare must keep the zxid it was given");
        self.last_prepared = zxid;
        if let WriteOrigin::Client(client) = origin {
            self.sessions.push_write(client.session);
        }
        self.in_flight.push_back(InFlightWrite {
            txn,
            origin,
            multi_op_codes,
        });
        &self.in_flight.back().expect("just pushed").txn
    }

    /// Runs a read now, or queues it behind its session's uncommitted writes.
    pub fn submit_read(
        &mut self,
        origin: RequestOrigin,
        auth: Arc<AuthContext>,
        request: ReadRequest,
        out: &mut Vec<Output>,
    ) {
        if self.sessions.has_pending_writes(origin.session) {
            self.sessions.push_read(origin, auth, request);
        } else {
            out.push(read::execute(&self.tree, origin, &auth, request));
        }
    }

    /// Applies every prepared write up to and including `through`, in zxid order, and
    /// emits their triggers and replies, releasing reads that waited for them.
    pub fn on_committed(&mut self, through: Zxid, out: &mut Vec<Output>) {
        while self
            .in_flight
            .front()
            .is_some_and(|write| write.txn.zxid <= through)
        {
            let write = self.in_flight.pop_front().expect("front exists");
            self.apply_and_reply(&write.txn, write.origin, &write.multi_op_codes, out);
        }
    }

    /// Applies one transaction (the next in zxid order), emits its triggers and, for a
    /// client's write, its reply, releasing the reads that waited for it.
    fn apply_and_reply(
        &mut self,
        txn: &Txn,
        origin: WriteOrigin,
        multi_op_codes: &[OpCode],
        out: &mut Vec<Output>,
    ) {
        let expected = self.tree.last_applied_zxid();
        assert!(
            txn.zxid > expected,
            "transactions must apply in zxid order ({} after {expected})",
            txn.zxid
        );
        let outcome = self.tree.apply(txn);
        self.pending.applied(txn.zxid);
        self.last_prepared = self.last_prepared.max(txn.zxid);
        out.extend(outcome.triggers.into_iter().map(|trigger| Output::Trigger {
            event: trigger.event,
            path: trigger.path,
        }));
        let closed_session =
            matches!(outcome.result, TxnResult::SessionClosed).then_some(txn.session_id);
        if let WriteOrigin::Client(origin) = origin {
            let result = write_reply(origin.opcode, outcome.result, multi_op_codes);
            let reply = Reply {
                origin,
                zxid: txn.zxid,
                result,
            };
            out.push(Output::Reply { reply, watch: None });
            self.release_reads(origin.session, out);
        }
        // After the reply, so a client that asked to close hears the answer first.
        if let Some(session) = closed_session {
            out.push(Output::SessionClosed { session });
        }
    }

    /// Runs the reads of `session` that were waiting for its oldest write, up to its next
    /// write.
    fn release_reads(&mut self, session: SessionId, out: &mut Vec<Output>) {
        for (origin, auth, request) in self.sessions.complete_write(session) {
            out.push(read::execute(&self.tree, origin, &auth, request));
        }
    }

    /// Forgets the queue of a session whose connection is gone; its in-flight writes still
    /// commit, but their replies are dropped by the final stage.
    pub fn forget_session_reads(&mut self, session: SessionId) {
        self.sessions.drop_reads(session);
    }
}

/// Turns the result of applying a transaction into the reply its opcode expects.
fn write_reply(
    opcode: OpCode,
    result: TxnResult,
    multi_op_codes: &[OpCode],
) -> Result<ReplyPayload, ErrorCode> {
    match result {
        TxnResult::Error(code) => Err(code),
        TxnResult::Multi(results) => Ok(ReplyPayload::Multi(
            results
                .into_iter()
                .enumerate()
                .map(|(index, result)| {
                    let op_code = multi_op_codes
                        .get(index)
                        .copied()
                        .unwrap_or(OpCode::Create2);
                    multi_op_reply(op_code, result)
                })
                .collect(),
        )),
        other => single_reply(opcode, other),
    }
}

fn multi_op_reply(op_code: OpCode, result: TxnResult) -> Result<ReplyPayload, ErrorCode> {
    match result {
        TxnResult::Created { path, stat } => {
            // Inside a multi the reference records create2 as a plain create, so only
            // container and TTL creates answer with a stat.
            let with_stat = matches!(op_code, OpCode::CreateContainer | OpCode::CreateTtl);
            Ok(ReplyPayload::Created {
                path,
                stat: with_stat.then_some(stat),
            })
        }
        TxnResult::Deleted => Ok(ReplyPayload::Deleted),
        TxnResult::Checked => Ok(ReplyPayload::Empty),
        TxnResult::RolledBack => Ok(ReplyPayload::RolledBack),
        TxnResult::DataSet { stat } | TxnResult::AclSet { stat } => Ok(ReplyPayload::Stat(stat)),
        TxnResult::Error(code) => Err(code),
        other => Err(unexpected_result(&other)),
    }
}

fn single_reply(opcode: OpCode, result: TxnResult) -> Result<ReplyPayload, ErrorCode> {
    Ok(match result {
        TxnResult::Created { path, stat } => {
            let stat = (opcode != OpCode::Create).then_some(stat);
            ReplyPayload::Created { path, stat }
        }
        TxnResult::Deleted | TxnResult::SessionClosed | TxnResult::SessionCreated => {
            ReplyPayload::Empty
        }
        TxnResult::DataSet { stat } | TxnResult::AclSet { stat } => ReplyPayload::Stat(stat),
        // A standalone check answers with a SetDataResponse whose stat is empty, as on the
        // reference server.
        TxnResult::Checked => ReplyPayload::Stat(Stat::default()),
        other => return Err(unexpected_result(&other)),
    })
}

fn unexpected_result(result: &TxnResult) -> ErrorCode {
    tracing::error!(?result, "transaction result does not match its request");
    ErrorCode::SystemError
}

#[cfg(test)]
mod tests;
