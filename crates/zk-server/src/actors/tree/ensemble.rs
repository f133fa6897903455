//! The TreeActor's part in an ensemble: following the server's role, forwarding a
//! learner's writes and syncs to the leader, preparing the learners' writes on the leader,
//! applying what ZAB delivers, and the snapshots SNAP needs.

use super::*;

/// Makes the TreeActor an ensemble member (sent once, at start, before any client).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnectEnsemble {
    pub broadcast: Addr<BroadcastActor>,
    pub sessions_applied: Recipient<SessionApplied>,
    pub session_role: Recipient<SetSessionRole>,
}

/// The server's role changed (see [`TreeRole`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetTreeRole {
    pub role: TreeRole,
}

/// One committed transaction.
#[derive(Debug)]
pub enum Delivered {
    /// A write this leader prepared: the pipeline holds it already.
    Prepared(Zxid),
    /// Any other transaction, with the id this server forwarded it under if it answers
    /// one of this server's requests.
    Txn(Txn, Option<u64>),
}

/// Committed transactions, in zxid order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DeliverTxns {
    pub txns: Vec<Delivered>,
}

/// Replace the tree with the leader's snapshot (SNAP).
#[derive(Message)]
#[rtype(result = "()")]
pub struct InstallTree {
    pub zxid: Zxid,
    pub bytes: Vec<u8>,
}

/// The tree as it stands (its last applied zxid and its snapshot bytes), for a learner
/// that needs SNAP.
#[derive(Message)]
#[rtype(result = "(Zxid, Vec<u8>)")]
pub struct SnapshotForLearner;

/// Leader: a learner's forwarded write.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForwardedRequest {
    pub from: ServerId,
    pub write: ForwardedWrite,
}

/// Leader: a learner's forwarded sync.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForwardedSync {
    pub from: ServerId,
    pub id: u64,
}

/// Learner: the leader has sent everything it committed before sync `id`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SyncDone {
    pub id: u64,
}

impl TreeActor {
    /// Learner: reads run here, writes and syncs go to the leader.
    pub(super) fn forward_batch(&mut self, batch: SubmitRequests) {
        let mut outputs = Vec::new();
        let mut frames = Vec::new();
        for request in batch.requests {
            match request.operation {
                Operation::Read(ReadRequest::Sync { path }) => {
                    let id = self.pipeline.forward_sync(request.origin, path);
                    frames.push(PeerFrame::ForwardSync { id });
                }
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
                    let id = self.pipeline.forward_write(origin, multi_op_codes);
                    frames.push(PeerFrame::Forward(ForwardedWrite {
                        id,
                        auth: (*batch.auth).clone(),
                        request: write,
                    }));
                }
            }
        }
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
        if let Some(ensemble) = &self.ensemble {
            if !frames.is_empty() {
                ensemble.broadcast.do_send(ToLeader { frames });
            }
        }
    }

    /// Learner: a session write of this server goes to the leader; answered on delivery.
    pub(super) fn forward_server_write(
        &mut self,
        auth: AuthContext,
        request: WriteRequest,
    ) -> oneshot::Receiver<Result<Zxid, ErrorCode>> {
        let (sender, receiver) = oneshot::channel();
        let id = self.pipeline.forward_write(WriteOrigin::Server, Vec::new());
        if let Some(ensemble) = self.ensemble.as_mut() {
            ensemble.forwarded_waiters.insert(id, sender);
            let frame = PeerFrame::Forward(ForwardedWrite { id, auth, request });
            ensemble.broadcast.do_send(ToLeader {
                frames: vec![frame],
            });
        }
        receiver
    }

    fn deliver(&mut self, txns: Vec<Delivered>) {
        let mut outputs = Vec::new();
        for delivered in txns {
            let (txn, forwarded) = match delivered {
                Delivered::Prepared(zxid) => {
                    self.deliver_prepared(zxid, &mut outputs);
                    continue;
                }
                Delivered::Txn(txn, forwarded) => (txn, forwarded),
            };
            let session_event = session_event(&txn);
            let delivered = self.pipeline.on_delivered(&txn, forwarded, &mut outputs);
            if let (Some(event), Some(ensemble)) = (session_event, &self.ensemble) {
                ensemble.sessions_applied.do_send(event);
            }
            if let DeliveredOrigin::ForwardedServerWrite(id) = delivered {
                if let Some(waiter) = self
                    .ensemble
                    .as_mut()
                    .and_then(|ensemble| ensemble.forwarded_waiters.remove(&id))
                {
                    let _ = waiter.send(Ok(txn.zxid));
                }
            }
            self.answer_server_writes(txn.zxid);
        }
        self.stats
            .last_applied_zxid
            .store(self.pipeline.tree().last_applied_zxid().0, Relaxed);
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
        self.release_syncs();
    }

    /// Leader: its own prepared write `zxid` is committed.
    fn deliver_prepared(&mut self, zxid: Zxid, outputs: &mut Vec<crate::pipeline::Output>) {
        let event = self.pipeline.prepared(zxid).and_then(session_event);
        if let (Some(event), Some(ensemble)) = (event, &self.ensemble) {
            ensemble.sessions_applied.do_send(event);
        }
        self.pipeline.on_committed(zxid, outputs);
        self.answer_server_writes(zxid);
    }

    /// Leader: answers the learners' syncs whose preceding writes are all applied.
    fn release_syncs(&mut self) {
        let applied = self.pipeline.tree().last_applied_zxid();
        let Some(ensemble) = self.ensemble.as_mut() else {
            return;
        };
        let broadcast = ensemble.broadcast.clone();
        ensemble.pending_syncs.retain(|&(learner, id, zxid)| {
            let done = zxid <= applied;
            if done {
                broadcast.do_send(SyncReady { learner, id });
            }
            !done
        });
    }

    fn set_role(&mut self, role: TreeRole) {
        tracing::info!(?role, zxid = %self.pipeline.tree().last_applied_zxid(), "tree role");
        self.pipeline.abandon_uncommitted();
        self.unpersisted.clear();
        for (_, waiter) in self.server_waiters.drain() {
            let _ = waiter.send(Err(ErrorCode::ConnectionLoss));
        }
        if let Some(ensemble) = self.ensemble.as_mut() {
            ensemble.unproposed.clear();
            ensemble.pending_syncs.clear();
            for (_, waiter) in ensemble.forwarded_waiters.drain() {
                let _ = waiter.send(Err(ErrorCode::ConnectionLoss));
            }
        }
        if let TreeRole::Leader { epoch } = role {
            self.pipeline.start_epoch(epoch);
        }
        self.role = role;
        let session_role = match role {
            TreeRole::Standalone => SessionRole::Standalone,
            TreeRole::NotServing => SessionRole::NotServing,
            TreeRole::Leader { .. } => SessionRole::Leader,
            TreeRole::Learner => SessionRole::Learner,
        };
        let sessions = self.pipeline.tree().sessions().collect();
        if let Some(ensemble) = &self.ensemble {
            ensemble.session_role.do_send(SetSessionRole {
                role: session_role,
                sessions,
            });
        }
    }
}

/// What the SessionActor must hear of a transaction: a session created or closed.
fn session_event(txn: &Txn) -> Option<SessionApplied> {
    match &txn.body {
        TxnBody::CreateSession { timeout_ms } => Some(SessionApplied::Created {
            session: txn.session_id,
            timeout_ms: *timeout_ms,
        }),
        TxnBody::CloseSession { .. } => Some(SessionApplied::Closed {
            session: txn.session_id,
        }),
        _ => None,
    }
}

impl Handler<ConnectEnsemble> for TreeActor {
    type Result = ();

    fn handle(&mut self, connect: ConnectEnsemble, _: &mut Self::Context) {
        self.ensemble = Some(EnsembleParts {
            broadcast: connect.broadcast,
            sessions_applied: connect.sessions_applied,
            session_role: connect.session_role,
            unproposed: Vec::new(),
            forwarded_waiters: HashMap::new(),
            pending_syncs: Vec::new(),
        });
        self.set_role(TreeRole::NotServing);
    }
}

impl Handler<SetTreeRole> for TreeActor {
    type Result = ();

    fn handle(&mut self, change: SetTreeRole, _: &mut Self::Context) {
        self.set_role(change.role);
    }
}

impl Handler<DeliverTxns> for TreeActor {
    type Result = ();

    fn handle(&mut self, delivered: DeliverTxns, _: &mut Self::Context) {
        self.deliver(delivered.txns);
    }
}

impl Handler<InstallTree> for TreeActor {
    type Result = ();

    fn handle(&mut self, install: InstallTree, _: &mut Self::Context) {
        match DataTree::from_snapshot_bytes(&install.bytes, self.tree_config.clone()) {
            Ok(tree) => {
                tracing::info!(zxid = %install.zxid, znodes = tree.node_count(), "installed the leader's snapshot");
                self.pipeline.replace_tree(tree);
                self.stats
                    .last_applied_zxid
                    .store(self.pipeline.tree().last_applied_zxid().0, Relaxed);
            }
            Err(error) => {
                tracing::error!(zxid = %install.zxid, %error, "the leader's snapshot does not decode; stopping");
                self.fatal.notify_one();
            }
        }
    }
}

impl Handler<SnapshotForLearner> for TreeActor {
    type Result = MessageResult<SnapshotForLearner>;

    fn handle(&mut self, _: SnapshotForLearner, _: &mut Self::Context) -> Self::Result {
        let tree = self.pipeline.tree();
        MessageResult((tree.last_applied_zxid(), tree.to_snapshot_bytes()))
    }
}

impl Handler<ForwardedRequest> for TreeActor {
    type Result = ();

    fn handle(&mut self, forwarded: ForwardedRequest, _: &mut Self::Context) {
        if !matches!(self.role, TreeRole::Leader { .. }) {
            tracing::debug!(from = %forwarded.from, "dropping a forwarded write: not leading");
            return;
        }
        let origin = ForwardOrigin {
            server: forwarded.from,
            id: forwarded.write.id,
        };
        self.prepare_for(
            WriteOrigin::Server,
            Some(origin),
            &forwarded.write.auth,
            wall_clock_ms(),
            &forwarded.write.request,
            Vec::new(),
        );
        self.commit();
    }
}

impl Handler<ForwardedSync> for TreeActor {
    type Result = ();

    fn handle(&mut self, sync: ForwardedSync, _: &mut Self::Context) {
        if !matches!(self.role, TreeRole::Leader { .. }) {
            return;
        }
        let waiting_for = self.pipeline.last_prepared();
        if let Some(ensemble) = self.ensemble.as_mut() {
            ensemble
                .pending_syncs
                .push((sync.from, sync.id, waiting_for));
        }
        self.release_syncs();
    }
}

impl Handler<SyncDone> for TreeActor {
    type Result = ();

    fn handle(&mut self, done: SyncDone, _: &mut Self::Context) {
        let mut outputs = Vec::new();
        self.pipeline.on_sync_done(done.id, &mut outputs);
        if !outputs.is_empty() {
            self.final_stage.do_send(Deliver { outputs });
        }
    }
}
