//! TreeActor: owns the data tree through the request pipeline. It prepares writes, passes
//! them through the commit step, applies them, runs reads, and hands every outcome, in
//! order, to the WatchActor.

use super::watch::{Deliver, WatchActor};
use crate::pipeline::{Pipeline, ReadRequest, RequestOrigin, WriteOrigin};
use crate::stats::ServerStats;
use std::sync::atomic::Ordering::Relaxed;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;
use zk_proto::{ErrorCode, OpCode, SessionId, Zxid};
use zk_tree::{AuthContext, WriteRequest};

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
    Write { request: WriteRequest, multi_op_codes: Vec<OpCode> },
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

/// Owns the pipeline (and through it the tree).
pub struct TreeActor {
    pipeline: Pipeline,
    final_stage: Addr<WatchActor>,
    container_check_interval: Duration,
    /// Server writes waiting for their commit.
    server_waiters: HashMap<Zxid, oneshot::Sender<Result<Zxid, ErrorCode>>>,
    stats: Arc<ServerStats>,
}

impl TreeActor {
    pub fn new(
        pipeline: Pipeline,
        final_stage: Addr<WatchActor>,
        container_check_interval: Duration,
        stats: Arc<ServerStats>,
    ) -> Self {
        stats.last_applied_zxid.store(pipeline.tree().last_applied_zxid().0, Relaxed);
        TreeActor { pipeline, final_stage, container_check_interval, server_waiters: HashMap::new(), stats }
    }

    /// The commit step. Standalone without a log, a prepared write is committed at once;
    /// the transaction log (and later ZAB) replace this with an asynchronous acknowledgement
    /// that calls [`TreeActor::committed`].
    fn commit(&mut self, through: Zxid) {
        self.committed(through);
    }

    /// Applies everything up to `through` and passes the outcomes on.
    fn committed(&mut self, through: Zxid) {
        let mut outputs = Vec::new();
        self.pipeline.on_committed(through, &mut outputs);
        self.stats.last_applied_zxid.store(self.pipeline.tree().last_applied_zxid().0, Relaxed);
        self.answer_server_writes(through);
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
    }

    fn answer_server_writes(&mut self, through: Zxid) {
        if self.server_waiters.is_empty() {
            return;
        }
        let done: Vec<Zxid> = self.server_waiters.keys().copied().filter(|&zxid| zxid <= through).collect();
        for zxid in done {
            if let Some(waiter) = self.server_waiters.remove(&zxid) {
                let _ = waiter.send(Ok(zxid));
            }
        }
    }

    fn reap_containers(&mut self) {
        let now = wall_clock_ms();
        let candidates = self.pipeline.tree().reap_candidates(now);
        if candidates.is_empty() {
            return;
        }
        tracing::debug!(count = candidates.len(), "reaping containers and expired TTL nodes");
        let auth = AuthContext { session_id: SessionId(0), ids: Vec::new() };
        let mut last = None;
        for path in candidates {
            let request = WriteRequest::DeleteContainer { path };
            last = Some(self.pipeline.submit_write(WriteOrigin::Server, &auth, now, &request, Vec::new()).zxid);
        }
        if let Some(through) = last {
            self.commit(through);
        }
    }
}

impl Actor for TreeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.container_check_interval, |actor, _| actor.reap_containers());
    }
}

impl Handler<SubmitRequests> for TreeActor {
    type Result = ();

    fn handle(&mut self, batch: SubmitRequests, _: &mut Self::Context) {
        let now = wall_clock_ms();
        let mut outputs = Vec::new();
        let mut last_write = None;
        for request in batch.requests {
            match request.operation {
                Operation::Read(read) => {
                    self.pipeline.submit_read(request.origin, batch.auth.clone(), read, &mut outputs)
                }
                Operation::Write { request: write, multi_op_codes } => {
                    let origin = WriteOrigin::Client(request.origin);
                    let txn = self.pipeline.submit_write(origin, &batch.auth, now, &write, multi_op_codes);
                    last_write = Some(txn.zxid);
                }
            }
        }
        // Reads that ran at once go out before the writes of this batch are applied: every
        // one of them came before those writes or belongs to a session without pending
        // writes.
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
        if let Some(through) = last_write {
            self.commit(through);
        }
    }
}

impl Handler<ServerWrite> for TreeActor {
    type Result = ResponseFuture<Result<Zxid, ErrorCode>>;

    fn handle(&mut self, write: ServerWrite, _: &mut Self::Context) -> Self::Result {
        let auth = AuthContext { session_id: write.session, ids: Vec::new() };
        let time_ms = wall_clock_ms();
        let zxid = self.pipeline.submit_write(WriteOrigin::Server, &auth, time_ms, &write.request, Vec::new()).zxid;
        let (sender, receiver) = oneshot::channel();
        self.server_waiters.insert(zxid, sender);
        self.commit(zxid);
        Box::pin(async move { receiver.await.unwrap_or(Err(ErrorCode::SystemError)) })
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
