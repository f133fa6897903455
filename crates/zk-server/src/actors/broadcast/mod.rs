//! BroadcastActor: owns this server's ZAB core (`zk_zab::QuorumPeer`) and the quorum port.
//! It ticks the core, feeds it peer messages, proposals and storage confirmations, and
//! executes the commands it returns, in order: messages go out on the leader–learner
//! connections (or to the ElectionActor), durable writes to the LogActor, committed
//! transactions and role changes to the TreeActor.
//!
//! Connections follow ZAB's host contract: one ordered connection per leader–learner pair
//! and role period. Each side renews its "era" whenever its role changes and closes every
//! connection; a pair of eras gets at most one connection, so nothing sent after a break is
//! ever delivered on a later connection of the same pair.

mod durable;
mod era;
mod links;

use super::election::{ElectionActor, SendNotification};
use super::log::{LogActor, PersistQuorum, Persisted};
use super::session::{SessionActivity, SessionActor, TouchSessions};
use super::tree::{
    DeliverTxns, Delivered, ForwardedRequest, ForwardedSync, InstallTree, SetTreeRole,
    SnapshotForLearner, SyncDone, TreeActor, TreeRole,
};
use crate::quorum::frame::{self, PeerFrame};
use crate::quorum::link::{self, Link, LinkError, LinkFrame, Remote};
use crate::quorum::payload::{ForwardOrigin, TxnPayload};
use crate::quorum::status::{Mode, SharedQuorumStatus};
use actix::prelude::*;
use era::EraGate;
use links::{Accepted, LeaderLink};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use zk_proto::{ServerId, Zxid};
use zk_zab::{Command, DurableWrite, QuorumPeer, WriteId, ZabError};

/// A ZAB message from a peer (the election channel's notifications).
#[derive(Message)]
#[rtype(result = "()")]
pub struct PeerMessage {
    pub from: ServerId,
    pub message: zk_zab::Message,
}

/// Leader: prepared transactions to broadcast, each with the learner request it answers.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Propose {
    pub entries: Vec<(zk_tree::Txn, Option<ForwardOrigin>)>,
}

/// Learner: frames for the leader (forwarded writes and syncs).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ToLeader {
    pub frames: Vec<PeerFrame>,
}

/// Leader: learner `learner`'s sync `id` may be answered.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SyncReady {
    pub learner: ServerId,
    pub id: u64,
}

#[derive(Message)]
#[rtype(result = "()")]
struct SnapshotTaken {
    learner: ServerId,
    zxid: Zxid,
    bytes: Vec<u8>,
}

/// Everything a BroadcastActor is built from.
pub struct BroadcastParts {
    pub peer: QuorumPeer,
    pub initial_commands: Vec<Command>,
    pub tick_period: Duration,
    /// `host:quorumPort` of every other member.
    pub quorum_addresses: HashMap<ServerId, String>,
    pub listener: TcpListener,
    pub data_dir: PathBuf,
    pub tree: Addr<TreeActor>,
    pub log: Addr<LogActor>,
    pub sessions: Addr<SessionActor>,
    pub status: Arc<SharedQuorumStatus>,
    pub fatal: Arc<Notify>,
    pub voters: HashSet<ServerId>,
}

pub struct BroadcastActor {
    voters: HashSet<ServerId>,
    peer: QuorumPeer,
    my_id: ServerId,
    initial_commands: Vec<Command>,
    tick_period: Duration,
    quorum_addresses: HashMap<ServerId, String>,
    listener: Option<TcpListener>,
    data_dir: PathBuf,
    election: Addr<ElectionActor>,
    tree: Addr<TreeActor>,
    log: Addr<LogActor>,
    sessions: Addr<SessionActor>,
    status: Arc<SharedQuorumStatus>,
    fatal: Arc<Notify>,
    /// This server's era and the pairs of eras that had their connection.
    gate: EraGate,
    /// The leader this server learns from, when it is a learner.
    leader: Option<ServerId>,
    leader_link: LeaderLink,
    learner_links: HashMap<ServerId, Link>,
    next_link: u64,
    /// Committed transactions for the TreeActor, sent together at the end of a step.
    deliveries: Vec<Delivered>,
    /// Leader: the tree txns of its own proposals, by zxid, until they are logged; the
    /// log takes them from here instead of decoding the payload again.
    own_unlogged: HashMap<Zxid, zk_tree::Txn>,
    /// Leader: zxids of its own proposals not yet delivered, in order: the tree has them
    /// prepared, so their delivery needs no decoding either.
    own_undelivered: VecDeque<Zxid>,
    /// Leader: learners' syncs received and not yet answered (mntr's zk_pending_syncs).
    pending_syncs: usize,
    /// Leader: sizes of the proposals' payloads (mntr's last/min/max proposal size).
    proposal_sizes: ProposalSizes,
    failed: bool,
}

impl BroadcastActor {
    pub fn new(parts: BroadcastParts, election: Addr<ElectionActor>) -> Self {
        BroadcastActor {
            voters: parts.voters,
            my_id: parts.peer.my_id(),
            peer: parts.peer,
            initial_commands: parts.initial_commands,
            tick_period: parts.tick_period,
            quorum_addresses: parts.quorum_addresses,
            listener: Some(parts.listener),
            data_dir: parts.data_dir,
            election,
            tree: parts.tree,
            log: parts.log,
            sessions: parts.sessions,
            status: parts.status,
            fatal: parts.fatal,
            gate: EraGate::new(crate::server::random_seed()),
            leader: None,
            leader_link: LeaderLink::None,
            learner_links: HashMap::new(),
            next_link: 1,
            deliveries: Vec::new(),
            own_unlogged: HashMap::new(),
            own_undelivered: VecDeque::new(),
            pending_syncs: 0,
            proposal_sizes: ProposalSizes::default(),
            failed: false,
        }
    }

    fn hello(&self) -> PeerFrame {
        PeerFrame::Hello {
            from: self.my_id,
            era: self.gate.era(),
        }
    }

    /// Executes the commands of one core call, in order.
    fn execute(&mut self, commands: Vec<Command>, ctx: &mut Context<Self>) {
        let mut last_encoded: Option<(zk_zab::Message, Vec<u8>)> = None;
        for command in commands {
            match command {
                Command::Send { to, message } if message.is_election() => {
                    self.election.do_send(SendNotification { to, message });
                }
                Command::Send { to, message } => {
                    if Some(to) == self.leader {
                        let frame = PeerFrame::Zab(zk_zab::Envelope::new(message));
                        self.send_to_leader(frame, ctx);
                    } else if let Some(link) = self.learner_links.get(&to) {
                        // A proposal or commit goes to every learner: encode it once.
                        let bytes = match &last_encoded {
                            Some((sent, bytes)) if *sent == message => bytes.clone(),
                            _ => {
                                let frame = PeerFrame::Zab(zk_zab::Envelope::new(message.clone()));
                                match frame::encode(&frame) {
                                    Ok(bytes) => {
                                        last_encoded = Some((message, bytes.clone()));
                                        bytes
                                    }
                                    Err(error) => {
                                        tracing::error!(%error, "cannot encode a peer frame");
                                        continue;
                                    }
                                }
                            }
                        };
                        link.send_encoded(bytes);
                    }
                }
                Command::Persist { id, write } => self.persist(id, write),
                Command::Deliver { txn } if self.own_undelivered.front() == Some(&txn.zxid) => {
                    self.own_undelivered.pop_front();
                    self.deliveries.push(Delivered::Prepared(txn.zxid));
                }
                Command::Deliver { txn } => match TxnPayload::decode(txn.zxid, &txn.data) {
                    Ok(payload) => {
                        let forwarded = payload
                            .origin
                            .filter(|origin| origin.server == self.my_id)
                            .map(|origin| origin.id);
                        self.deliveries.push(Delivered::Txn(payload.txn, forwarded));
                    }
                    Err(reason) => {
                        self.fail(&format!("undecodable committed transaction: {reason}"))
                    }
                },
                Command::TakeSnapshot { learner } => {
                    tracing::info!(%learner, "a learner is too far behind for DIFF; sending a snapshot");
                    self.flush_deliveries();
                    let taken = actix::fut::wrap_future(self.tree.send(SnapshotForLearner));
                    ctx.spawn(
                        taken.map(move |result, _: &mut Self, ctx: &mut Context<Self>| {
                            if let Ok((zxid, bytes)) = result {
                                ctx.notify(SnapshotTaken {
                                    learner,
                                    zxid,
                                    bytes,
                                });
                            }
                        }),
                    );
                }
                Command::BecomeLooking => self.change_role(None, Mode::Looking),
                Command::BecomeFollower { leader } => {
                    self.change_role(Some(leader), Mode::Follower)
                }
                Command::BecomeObserver { leader } => {
                    self.change_role(Some(leader), Mode::Observer)
                }
                Command::BecomeLeader => self.change_role(None, Mode::Leader),
                Command::Established { leader, epoch } => {
                    self.flush_deliveries();
                    let role = if leader == self.my_id {
                        TreeRole::Leader { epoch }
                    } else {
                        TreeRole::Learner
                    };
                    tracing::info!(%leader, epoch = epoch.0, "epoch established; serving clients");
                    self.tree.do_send(SetTreeRole { role });
                }
            }
        }
        self.flush_deliveries();
        self.publish_status();
    }

    fn flush_deliveries(&mut self) {
        if !self.deliveries.is_empty() {
            let txns = std::mem::take(&mut self.deliveries);
            self.tree.do_send(DeliverTxns { txns });
        }
    }

    fn persist(&mut self, id: WriteId, write: DurableWrite) {
        if let DurableWrite::InstallSnapshot {
            snapshot_zxid,
            snapshot,
        } = &write
        {
            // The tree is replaced before the deliveries that follow (host contract 2).
            self.flush_deliveries();
            self.tree.do_send(InstallTree {
                zxid: *snapshot_zxid,
                bytes: snapshot.clone(),
            });
        }
        match durable::log_write(write, &self.data_dir, &mut self.own_unlogged) {
            Ok(write) => self.log.do_send(PersistQuorum { id: id.0, write }),
            Err(reason) => self.fail(&reason),
        }
    }

    /// A new role: a new era, every connection closed, clients refused until the new
    /// epoch is established.
    fn change_role(&mut self, leader: Option<ServerId>, mode: Mode) {
        self.flush_deliveries();
        self.gate.renew(crate::server::random_seed());
        self.leader = leader;
        self.leader_link = LeaderLink::None;
        self.learner_links.clear();
        self.own_unlogged.clear();
        self.own_undelivered.clear();
        self.pending_syncs = 0;
        tracing::info!(mode = mode.name(), leader = ?leader, "quorum role");
        self.tree.do_send(SetTreeRole {
            role: TreeRole::NotServing,
        });
        self.status.update(|status| status.mode = mode);
    }

    fn on_zab_message(
        &mut self,
        from: ServerId,
        message: zk_zab::Message,
        ctx: &mut Context<Self>,
    ) {
        match self.peer.step(from, message) {
            Ok(commands) => self.execute(commands, ctx),
            Err(error) => self.on_core_error(error),
        }
    }

    fn on_core_error(&mut self, error: ZabError) {
        if error.is_fatal() {
            self.fail(&error.to_string());
        } else {
            tracing::warn!(%error, "ZAB refused an input");
        }
    }

    /// A broken promise of the host or the core: this server must stop.
    fn fail(&mut self, reason: &str) {
        if !self.failed {
            self.failed = true;
            tracing::error!(reason, "stopping: the ensemble state cannot be trusted");
            self.fatal.notify_one();
        }
    }

    fn publish_status(&self) {
        let serving = self.peer.is_serving();
        let leader = self.peer.leader();
        let learners = self.learner_links.len();
        let followers = self
            .learner_links
            .keys()
            .filter(|id| self.is_voter(**id))
            .count();
        let round = self.peer.election_round().0;
        let pending_syncs = self.pending_syncs;
        let sizes = self.proposal_sizes;
        self.status.update(|status| {
            status.pending_syncs = pending_syncs;
            status.last_proposal_size = sizes.last;
            status.min_proposal_size = sizes.min;
            status.max_proposal_size = sizes.max;
            status.serving = serving;
            status.leader = leader;
            status.learners = learners;
            status.synced_followers = followers;
            status.synced_observers = learners - followers;
            status.election_round = round;
        });
    }

    fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }
}

/// The sizes of a leader's proposals, for mntr.
#[derive(Debug, Clone, Copy, Default)]
struct ProposalSizes {
    last: usize,
    min: Option<usize>,
    max: usize,
}

impl ProposalSizes {
    fn record(&mut self, size: usize) {
        self.last = size;
        self.max = self.max.max(size);
        self.min = Some(self.min.map_or(size, |min| min.min(size)));
    }
}

impl Actor for BroadcastActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(listener) = self.listener.take() {
            let me = ctx.address();
            link::spawn_accept_loop(listener, "quorum", move |stream| {
                me.do_send(Accepted { stream })
            });
        }
        ctx.run_interval(self.tick_period, |actor, ctx| {
            let commands = actor.peer.tick();
            actor.execute(commands, ctx);
        });
        let commands = std::mem::take(&mut self.initial_commands);
        self.execute(commands, ctx);
    }
}

impl Handler<PeerMessage> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, message: PeerMessage, ctx: &mut Self::Context) {
        self.on_zab_message(message.from, message.message, ctx);
    }
}

impl Handler<Propose> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, propose: Propose, ctx: &mut Self::Context) {
        for (txn, origin) in propose.entries {
            let zxid = txn.zxid;
            let data = match TxnPayload::encode_parts(origin, &txn) {
                Ok(data) => data,
                Err(error) => return self.fail(&format!("cannot encode txn {zxid}: {error}")),
            };
            self.own_unlogged.insert(zxid, txn);
            self.own_undelivered.push_back(zxid);
            let size = data.len();
            match self.peer.propose(data) {
                Ok((proposed, commands)) => {
                    if proposed != zxid {
                        return self.fail(&format!(
                            "the tree prepared {zxid} but ZAB proposed it as {proposed}"
                        ));
                    }
                    self.proposal_sizes.record(size);
                    self.execute(commands, ctx);
                }
                // The epoch is ending; the role change that follows resets the tree.
                Err(error) => {
                    tracing::warn!(%zxid, %error, "proposal refused");
                    self.own_unlogged.remove(&zxid);
                    self.own_undelivered.pop_back();
                    return;
                }
            }
        }
    }
}

impl Handler<ToLeader> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, message: ToLeader, ctx: &mut Self::Context) {
        for frame in message.frames {
            self.send_to_leader(frame, ctx);
        }
    }
}

impl Handler<SessionActivity> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, activity: SessionActivity, ctx: &mut Self::Context) {
        if self.peer.is_serving() {
            let frame = PeerFrame::TouchSessions {
                sessions: activity.sessions,
            };
            self.send_to_leader(frame, ctx);
        }
    }
}

impl Handler<SyncReady> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, ready: SyncReady, _: &mut Self::Context) {
        self.pending_syncs = self.pending_syncs.saturating_sub(1);
        self.publish_status();
        if let Some(link) = self.learner_links.get(&ready.learner) {
            link.send(&PeerFrame::SyncDone { id: ready.id });
        }
    }
}

impl Handler<Persisted> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, persisted: Persisted, ctx: &mut Self::Context) {
        match self.peer.on_persisted(WriteId(persisted.through)) {
            Ok(commands) => self.execute(commands, ctx),
            Err(error) => self.on_core_error(error),
        }
    }
}

impl Handler<SnapshotTaken> for BroadcastActor {
    type Result = ();

    fn handle(&mut self, taken: SnapshotTaken, ctx: &mut Self::Context) {
        match self
            .peer
            .on_snapshot(taken.learner, taken.zxid, taken.bytes)
        {
            Ok(commands) => self.execute(commands, ctx),
            Err(error) => self.on_core_error(error),
        }
    }
}
