//! TreeActor: owns the data tree through the request pipeline. It prepares writes, passes
//! them through the commit step (the LogActor makes them durable), applies them, runs
//! reads, and hands every outcome, in order, to the WatchActor.

use super::broadcast::{BroadcastActor, Propose, SyncReady, ToLeader};
use super::log::{Durable, LogActor, Persist, Snapshot, SnapshotDue, StorageFailed};
use super::session::{SessionApplied, SessionRole, SetSessionRole};
use super::watch::{Deliver, WatchActor};
use crate::pipeline::{DeliveredOrigin, Pipeline, ReadRequest, RequestOrigin, WriteOrigin};
use crate::quorum::frame::{ForwardedWrite, PeerFrame};
use crate::quorum::payload::ForwardOrigin;
use crate::stats::ServerStats;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{oneshot, Notify};
use zk_proto::{Epoch, ErrorCode, OpCode, ServerId, SessionId, Zxid};
use zk_tree::{AuthContext, DataTree, TreeConfig, Txn, TxnBody, WriteRequest};

/// One decoded client request.
#[derive(Debug)]
pub struct ClientRequest {
    pub origin: RequestOrigin,
    pub operation: Operation,
}

/// What a request asks the tree to do.
#[derive(Debug)]
pub enum Operation {
    Read(ReadRequest),
    /// For a multi, `multi_op_codes` lists each operation's opcode (empty otherwise).
    Write {
        request: WriteRequest,
        multi_op_codes: Vec<OpCode>,
    },
}

/// The requests one connection decoded from one read of its socket, in order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SubmitRequests {
    pub auth: Arc<AuthContext>,
    pub requests: Vec<ClientRequest>,
}

/// A write the server makes on its own behalf (session create/close, container reaping);
/// answered once the write is applied.
#[derive(Message)]
#[rtype(result = "Result<Zxid, ErrorCode>")]
pub struct ServerWrite {
    pub session: SessionId,
    pub request: WriteRequest,
}

/// A summary of the tree for the four-letter words.
#[derive(Debug, Clone, Default)]
pub struct TreeSummary {
    pub last_zxid: Zxid,
    pub node_count: usize,
    pub in_flight_writes: usize,
    pub ephemerals_by_session: Vec<(SessionId, Vec<String>)>,
    /// Bytes of paths and data, as the reference's approximateDataSize counts them.
    pub approximate_data_size: u64,
    pub digest: u64,
}

#[derive(Message)]
#[rtype(result = "TreeSummary")]
pub struct SummarizeTree;

mod ensemble;

pub use ensemble::{
    ConnectEnsemble, DeliverTxns, Delivered, ForwardedRequest, ForwardedSync, InstallTree,
    SetTreeRole, SnapshotForLearner, SyncDone,
};

/// What the tree does with requests, which follows the server's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRole {
    /// Alone: prepares writes; the log's fsync commits them.
    Standalone,
    /// An ensemble member with no established leader: serves nothing.
    NotServing,
    /// The leader of `epoch`: prepares every write (its clients' and its learners'); a
    /// quorum's acknowledgement commits them.
    Leader { epoch: Epoch },
    /// A follower or observer: forwards writes and syncs to the leader, applies what ZAB
    /// delivers, runs reads locally.
    Learner,
}

/// The ensemble parts of a TreeActor.
struct EnsembleParts {
    broadcast: Addr<BroadcastActor>,
    sessions_applied: Recipient<SessionApplied>,
    session_role: Recipient<SetSessionRole>,
    /// Leader: writes prepared and not yet proposed, with the learner request each answers.
    unproposed: Vec<(Txn, Option<ForwardOrigin>)>,
    /// Learner: server writes (session create/close) forwarded to the leader, by id.
    forwarded_waiters: HashMap<u64, oneshot::Sender<Result<Zxid, ErrorCode>>>,
    /// Leader: learners' syncs waiting for the commit of everything prepared before them.
    pending_syncs: Vec<(ServerId, u64, Zxid)>,
}

/// Owns the pipeline (and through it the tree).
pub struct TreeActor {
    pipeline: Pipeline,
    final_stage: Addr<WatchActor>,
    log: Addr<LogActor>,
    /// Prepared transactions not yet handed to the log, in zxid order.
    unpersisted: Vec<Txn>,
    container_check_interval: Duration,
    /// Server writes waiting for their commit.
    server_waiters: HashMap<Zxid, oneshot::Sender<Result<Zxid, ErrorCode>>>,
    stats: Arc<ServerStats>,
    /// Notified when the log fails: the server must stop, since nothing more can commit.
    fatal: Arc<Notify>,
    tree_config: TreeConfig,
    role: TreeRole,
    ensemble: Option<EnsembleParts>,
}

/// What a TreeActor is built from.
pub struct TreeActorParts {
    pub pipeline: Pipeline,
    pub final_stage: Addr<WatchActor>,
    pub log: Addr<LogActor>,
    pub container_check_interval: Duration,
    pub stats: Arc<ServerStats>,
    pub fatal: Arc<Notify>,
    /// To decode a snapshot received from a leader.
    pub tree_config: TreeConfig,
}

impl TreeActor {
    pub fn new(parts: TreeActorParts) -> Self {
        let TreeActorParts {
            pipeline,
            final_stage,
            log,
            container_check_interval,
            stats,
            fatal,
            tree_config,
        } = parts;
        stats
            .last_applied_zxid
            .store(pipeline.tree().last_applied_zxid().0, Relaxed);
        TreeActor {
            pipeline,
            final_stage,
            log,
            unpersisted: Vec::new(),
            container_check_interval,
            server_waiters: HashMap::new(),
            stats,
            fatal,
            tree_config,
            role: TreeRole::Standalone,
            ensemble: None,
        }
    }

    /// Whether requests can be served now.
    fn serving(&self) -> bool {
        self.role != TreeRole::NotServing
    }

    /// Prepares a write and keeps its transaction for the next hand-over to the log.
    fn prepare(
        &mut self,
        origin: WriteOrigin,
        auth: &AuthContext,
        time_ms: i64,
        request: &WriteRequest,
        multi_op_codes: Vec<OpCode>,
    ) -> Zxid {
        self.prepare_for(origin, None, auth, time_ms, request, multi_op_codes)
    }

    /// Prepares a write; `forwarded` names the learner request it answers, if any.
    fn prepare_for(
        &mut self,
        origin: WriteOrigin,
        forwarded: Option<ForwardOrigin>,
        auth: &AuthContext,
        time_ms: i64,
        request: &WriteRequest,
        multi_op_codes: Vec<OpCode>,
    ) -> Zxid {
        let txn = self
            .pipeline
            .submit_write(origin, auth, time_ms, request, multi_op_codes);
        let zxid = txn.zxid;
        match &mut self.ensemble {
            Some(ensemble) => ensemble.unproposed.push((txn.clone(), forwarded)),
            None => self.unpersisted.push(txn.clone()),
        }
        zxid
    }

    /// The commit step: hands the prepared transactions to the LogActor, which answers
    /// with [`Durable`] once they are fsynced (group commit batches whatever arrives
    /// meanwhile). ZAB will replace this step with a quorum of acknowledgements.
    fn commit(&mut self) {
        if !self.unpersisted.is_empty() {
            let txns = std::mem::take(&mut self.unpersisted);
            self.log.do_send(Persist { txns });
        }
        if let Some(ensemble) = &mut self.ensemble {
            if !ensemble.unproposed.is_empty() {
                let entries = std::mem::take(&mut ensemble.unproposed);
                ensemble.broadcast.do_send(Propose { entries });
            }
        }
    }

    /// Applies everything up to `through` and passes the outcomes on.
    fn committed(&mut self, through: Zxid) {
        let mut outputs = Vec::new();
        self.pipeline.on_committed(through, &mut outputs);
        self.stats
            .last_applied_zxid
            .store(self.pipeline.tree().last_applied_zxid().0, Relaxed);
        self.answer_server_writes(through);
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
    }

    /// Asks the log to write a snapshot of the tree as it is now (fuzzy: writes continue
    /// to be logged while the file is written). Only the freeze happens here, and it takes
    /// microseconds; the log's snapshot thread encodes the frozen view into the file (or
    /// skips it if it is still writing the previous one), while this actor goes on
    /// applying writes.
    fn take_snapshot(&mut self) {
        let started = Instant::now();
        let view = self.pipeline.tree().snapshot_view();
        let freeze_us = started.elapsed().as_micros() as u64;
        tracing::info!(zxid = %view.last_applied_zxid(), freeze_us, "taking a snapshot");
        self.log.do_send(Snapshot { view });
    }

    fn answer_server_writes(&mut self, through: Zxid) {
        if self.server_waiters.is_empty() {
            return;
        }
        let done: Vec<Zxid> = self
            .server_waiters
            .keys()
            .copied()
            .filter(|&zxid| zxid <= through)
            .collect();
        for zxid in done {
            if let Some(waiter) = self.server_waiters.remove(&zxid) {
                let _ = waiter.send(Ok(zxid));
            }
        }
    }

    fn reap_containers(&mut self) {
        if !matches!(self.role, TreeRole::Standalone | TreeRole::Leader { .. }) {
            return; // the leader reaps for the ensemble
        }
        let now = wall_clock_ms();
        let candidates = self.pipeline.tree().reap_candidates(now);
        if candidates.is_empty() {
            return;
        }
        tracing::debug!(
            count = candidates.len(),
            "reaping containers and expired TTL nodes"
        );
        let auth = AuthContext {
            session_id: SessionId(0),
            ids: Vec::new(),
        };
        for path in candidates {
            let request = WriteRequest::DeleteContainer { path };
            self.prepare(WriteOrigin::Server, &auth, now, &request, Vec::new());
        }
        self.commit();
    }
}

impl Actor for TreeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.container_check_interval, |actor, _| {
            actor.reap_containers()
        });
    }
}

impl Handler<SubmitRequests> for TreeActor {
    type Result = ();

    fn handle(&mut self, batch: SubmitRequests, _: &mut Self::Context) {
        if !self.serving() {
            // The connections are being closed; their clients retry elsewhere.
            return;
        }
        if self.role == TreeRole::Learner {
            return self.forward_batch(batch);
        }
        let now = wall_clock_ms();
        let mut outputs = Vec::new();
        for request in batch.requests {
            match request.operation {
                Operation::Read(read) => self.pipeline.submit_read(
                    request.origin,
                    batch.auth.clone(),
                    read,
                    &mut outputs,
                ),
                Operation::Write {
                    request: write,
                    multi_op_codes,
                } => {
                    let origin = WriteOrigin::Client(request.origin);
                    self.prepare(origin, &batch.auth, now, &write, multi_op_codes);
                }
            }
        }
        // Reads that ran at once go out now; the writes of this batch reply once durable.
        // Per-session order holds: a read behind a write of its session waits in the
        // pipeline.
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
        self.commit();
    }
}

impl Handler<ServerWrite> for TreeActor {
    type Result = ResponseFuture<Result<Zxid, ErrorCode>>;

    fn handle(&mut self, write: ServerWrite, _: &mut Self::Context) -> Self::Result {
        let auth = AuthContext {
            session_id: write.session,
            ids: Vec::new(),
        };
        if !self.serving() {
            return Box::pin(async { Err(ErrorCode::ConnectionLoss) });
        }
        if self.role == TreeRole::Learner {
            let receiver = self.forward_server_write(auth, write.request);
            return Box::pin(
                async move { receiver.await.unwrap_or(Err(ErrorCode::ConnectionLoss)) },
            );
        }
        let zxid = self.prepare(
            WriteOrigin::Server,
            &auth,
            wall_clock_ms(),
            &write.request,
            Vec::new(),
        );
        let (sender, receiver) = oneshot::channel();
        self.server_waiters.insert(zxid, sender);
        self.commit();
        Box::pin(async move { receiver.await.unwrap_or(Err(ErrorCode::SystemError)) })
    }
}

impl Handler<Durable> for TreeActor {
    type Result = ();

    fn handle(&mut self, durable: Durable, _: &mut Self::Context) {
        self.committed(durable.through);
    }
}

impl Handler<SnapshotDue> for TreeActor {
    type Result = ();

    fn handle(&mut self, _: SnapshotDue, _: &mut Self::Context) {
        self.take_snapshot();
    }
}

/// Asks for a snapshot now (at start, after replaying a log).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TakeSnapshot;

impl Handler<TakeSnapshot> for TreeActor {
    type Result = ();

    fn handle(&mut self, _: TakeSnapshot, _: &mut Self::Context) {
        self.take_snapshot();
    }
}

impl Handler<StorageFailed> for TreeActor {
    type Result = ();

    fn handle(&mut self, failed: StorageFailed, _: &mut Self::Context) {
        tracing::error!(error = %failed.error, "the transaction log failed; stopping the server");
        self.fatal.notify_one();
    }
}

impl Handler<SummarizeTree> for TreeActor {
    type Result = MessageResult<SummarizeTree>;

    fn handle(&mut self, _: SummarizeTree, _: &mut Self::Context) -> Self::Result {
        let tree = self.pipeline.tree();
        let ephemerals_by_session = tree
            .sessions()
            .map(|(session, _)| (session, tree.get_ephemerals(session, "/")))
            .filter(|(_, paths)| !paths.is_empty())
            .collect();
        MessageResult(TreeSummary {
            last_zxid: tree.last_applied_zxid(),
            node_count: tree.node_count(),
            in_flight_writes: self.pipeline.in_flight_writes(),
            ephemerals_by_session,
            approximate_data_size: tree.approximate_data_size(),
            digest: tree.digest(),
        })
    }
}

/// Milliseconds since the Unix epoch: znode ctime/mtime and TTL expiry use wall-clock time,
/// as on the reference server.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}
