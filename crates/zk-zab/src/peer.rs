//! [`QuorumPeer`]: one server's ZAB state, the only type a host drives.
//!
//! It owns the log view, the durable epochs and the current role (looking, leading,
//! learning), routes each input to the role's core, and switches roles when an election
//! decides or a role gives up.

use crate::commands::{Command, WriteId};
use crate::config::Config;
use crate::context::{Context, Step};
use crate::durability::Durability;
use crate::election::{Decision, Election};
use crate::error::ZabError;
use crate::leader::Leader;
use crate::learner::Learner;
use crate::log::Log;
use crate::messages::Message;
use crate::txn::Txn;
use crate::vote::{ElectionEpoch, Notification, PeerState, Vote};
use tracing::info;
use zk_proto::{Epoch, ServerId, Zxid};

/// What the host restored from disk when the server starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersistedState {
    /// The `acceptedEpoch` file.
    pub accepted_epoch: Epoch,
    /// The `currentEpoch` file.
    pub current_epoch: Epoch,
    /// The last zxid of the newest snapshot; the host's state machine starts there.
    pub snapshot_zxid: Zxid,
    /// The logged transactions, in zxid order (those at or below the snapshot are skipped).
    pub log: Vec<Txn>,
}

/// The role a peer plays now.
#[derive(Debug)]
enum Role {
    Looking(Election),
    Leading(Leader),
    Learning(Learner),
}

/// One server of a ZAB ensemble, as a deterministic state machine.
///
/// Every input method returns the [`Command`]s to execute, in order. Nothing happens between
/// calls: time passes only through [`QuorumPeer::tick`].
#[derive(Debug)]
pub struct QuorumPeer {
    config: Config,
    now_tick: u64,
    log: Log,
    durability: Durability,
    election_round: ElectionEpoch,
    /// The vote this server decided on, told to looking peers while it leads or learns.
    decided: Option<Notification>,
    role: Role,
    outbox: Vec<Command>,
}

impl QuorumPeer {
    /// Starts a server from its configuration and restored state; it begins by looking for a
    /// leader. Returns the first commands (the first round of election notifications).
    pub fn start(
        config: Config,
        restored: PersistedState,
    ) -> Result<(Self, Vec<Command>), ZabError> {
        config.validate()?;
        if restored.current_epoch > restored.accepted_epoch {
            return Err(ZabError::InvalidRestoredState {
                reason: "the current epoch is above the accepted epoch".into(),
            });
        }
        let mut log = Log::restored(
            restored.snapshot_zxid,
            restored.log,
            config.committed_log_max,
        )?;
        let mut durability = Durability::restored(restored.accepted_epoch, restored.current_epoch);
        let mut outbox = vec![Command::BecomeLooking];
        let initial = initial_vote(&config, &log, &durability);
        let mut ctx = Context {
            config: &config,
            now_tick: 0,
            log: &mut log,
            durability: &mut durability,
            outbox: &mut outbox,
        };
        let election = Election::start(&mut ctx, ElectionEpoch(0), initial);
        info!(my_id = %config.my_id, "started, looking for a leader");
        let peer = QuorumPeer {
            election_round: election.round(),
            role: Role::Looking(election),
            config,
            now_tick: 0,
            log,
            durability,
            decided: None,
            outbox: Vec::new(),
        };
        Ok((peer, outbox))
    }

    /// Advances logical time by one tick.
    pub fn tick(&mut self) -> Vec<Command> {
        self.now_tick += 1;
        let (role, mut ctx) = self.split();
        let outcome = match role {
            Role::Looking(election) => Outcome::from_decision(election.tick(&mut ctx)),
            Role::Leading(leader) => Outcome::Step(leader.tick(&mut ctx)),
            Role::Learning(learner) => Outcome::Step(learner.tick(&mut ctx)),
        };
        self.apply(outcome);
        self.finish()
    }

    /// Handles a message from peer `from`. An error is fatal: stop this peer.
    pub fn step(&mut self, from: ServerId, message: Message) -> Result<Vec<Command>, ZabError> {
        let outcome = match message {
            Message::Notification(notification) => self.on_notification(from, notification),
            message => {
                let (role, mut ctx) = self.split();
                match role {
                    Role::Looking(_) => Outcome::Step(Step::Continue),
                    Role::Leading(leader) => {
                        Outcome::Step(leader.on_message(&mut ctx, from, message)?)
                    }
                    Role::Learning(learner) => {
                        Outcome::Step(learner.on_message(&mut ctx, from, message)?)
                    }
                }
            }
        };
        self.apply(outcome);
        Ok(self.finish())
    }

    /// Proposes a transaction with payload `data`; only an established leader accepts.
    /// Returns its zxid and the commands that log and broadcast it.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<(Zxid, Vec<Command>), ZabError> {
        let (role, mut ctx) = self.split();
        let Role::Leading(leader) = role else {
            return Err(ZabError::NotLeader);
        };
        let zxid = leader.propose(&mut ctx, data)?;
        Ok((zxid, self.finish()))
    }

    /// The host made every write up to `through` durable.
    pub fn on_persisted(&mut self, through: WriteId) -> Result<Vec<Command>, ZabError> {
        self.durability.confirm(through)?;
        let (role, mut ctx) = self.split();
        let step = match role {
            Role::Looking(_) => Step::Continue,
            Role::Leading(leader) => leader.on_durable(&mut ctx),
            Role::Learning(learner) => learner.on_durable(&mut ctx),
        };
        self.apply(Outcome::Step(step));
        Ok(self.finish())
    }

    /// The host's snapshot asked for by [`Command::TakeSnapshot`], covering everything up to
    /// `snapshot_zxid` (at most the last delivered zxid).
    pub fn on_snapshot(
        &mut self,
        learner: ServerId,
        snapshot_zxid: Zxid,
        snapshot: Vec<u8>,
    ) -> Result<Vec<Command>, ZabError> {
        let (role, mut ctx) = self.split();
        if let Role::Leading(leader) = role {
            leader.on_snapshot(&mut ctx, learner, snapshot_zxid, snapshot)?;
        }
        Ok(self.finish())
    }

    /// The host's connection to `peer` broke. A serving learner whose leader connection
    /// broke gives up on that leader at once, as ZooKeeper's follower does when its socket
    /// to the leader fails; otherwise it would keep serving reads and accepting writes it
    /// cannot forward until `syncLimit` passes. Before it serves, retries and `initLimit`
    /// decide, as before. Going back to looking is always safe.
    pub fn on_connection_lost(&mut self, peer: ServerId) -> Vec<Command> {
        let lost_leader = matches!(
            &self.role,
            Role::Learning(learner) if learner.leader() == peer && learner.is_serving()
        );
        if lost_leader {
            self.go_looking("the connection to the leader broke");
        }
        self.finish()
    }

    /// This server's id.
    pub fn my_id(&self) -> ServerId {
        self.config.my_id
    }

    /// The role this server plays now.
    pub fn state(&self) -> PeerState {
        match &self.role {
            Role::Looking(_) => PeerState::Looking,
            Role::Leading(_) => PeerState::Leading,
            Role::Learning(_) if self.config.is_voter() => PeerState::Following,
            Role::Learning(_) => PeerState::Observing,
        }
    }

    /// The leader this server leads for or follows, if any.
    pub fn leader(&self) -> Option<ServerId> {
        match &self.role {
            Role::Looking(_) => None,
            Role::Leading(_) => Some(self.config.my_id),
            Role::Learning(learner) => Some(learner.leader()),
        }
    }

    /// Whether the epoch is established here, so the server may serve clients.
    pub fn is_serving(&self) -> bool {
        match &self.role {
            Role::Looking(_) => false,
            Role::Leading(leader) => leader.is_established(),
            Role::Learning(learner) => learner.is_serving(),
        }
    }

    /// The current election round (ZooKeeper's `logicalclock`), for monitoring.
    pub fn election_round(&self) -> ElectionEpoch {
        match &self.role {
            Role::Looking(election) => election.round(),
            _ => self.election_round,
        }
    }

    /// The last logged zxid.
    pub fn last_zxid(&self) -> Zxid {
        self.log.last_zxid()
    }

    /// The last committed (delivered) zxid.
    pub fn committed_zxid(&self) -> Zxid {
        self.log.committed()
    }

    /// The durable accepted epoch.
    pub fn accepted_epoch(&self) -> Epoch {
        self.durability.accepted_epoch()
    }

    /// The durable current epoch.
    pub fn current_epoch(&self) -> Epoch {
        self.durability.current_epoch()
    }

    fn on_notification(&mut self, from: ServerId, notification: Notification) -> Outcome {
        let from_voter = self.config.ensemble.is_voter(from);
        let decided = self.decided;
        let (role, mut ctx) = self.split();
        let Role::Looking(election) = role else {
            // Tell a looking peer (or any observer) whom we follow, so it can join us.
            if notification.state == PeerState::Looking || !from_voter {
                if let Some(decided) = decided {
                    ctx.send(from, Message::Notification(decided));
                }
            }
            return Outcome::Step(Step::Continue);
        };
        if !from_voter {
            election.reply_to(&mut ctx, from);
            return Outcome::Step(Step::Continue);
        }
        if !ctx.config.ensemble.is_voter(notification.vote.leader) {
            return Outcome::Step(Step::Continue);
        }
        if notification.state == PeerState::Looking && notification.round < election.round() {
            election.reply_to(&mut ctx, from);
        }
        Outcome::from_decision(election.on_notification(&mut ctx, from, notification))
    }

    fn apply(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Step(Step::Continue) => {}
            Outcome::Step(Step::Abandon(reason)) => self.go_looking(reason),
            Outcome::Decided(decision) => self.adopt(decision),
        }
    }

    fn go_looking(&mut self, reason: &'static str) {
        info!(my_id = %self.config.my_id, reason, "looking for a leader");
        self.outbox.push(Command::BecomeLooking);
        self.decided = None;
        let initial = initial_vote(&self.config, &self.log, &self.durability);
        let round = self.election_round;
        let (_, mut ctx) = self.split();
        let election = Election::start(&mut ctx, round, initial);
        self.election_round = election.round();
        self.role = Role::Looking(election);
    }

    fn adopt(&mut self, decision: Decision) {
        info!(my_id = %self.config.my_id, leader = %decision.vote.leader, state = ?decision.state, "election decided");
        self.election_round = decision.round;
        self.decided = Some(Notification {
            vote: decision.vote,
            round: decision.round,
            state: decision.state,
        });
        let leader_id = decision.vote.leader;
        self.outbox.push(match decision.state {
            PeerState::Leading => Command::BecomeLeader,
            PeerState::Observing => Command::BecomeObserver { leader: leader_id },
            _ => Command::BecomeFollower { leader: leader_id },
        });
        let (_, mut ctx) = self.split();
        self.role = if decision.state == PeerState::Leading {
            Role::Leading(Leader::start(&mut ctx))
        } else {
            Role::Learning(Learner::start(&mut ctx, leader_id))
        };
    }

    fn split(&mut self) -> (&mut Role, Context<'_>) {
        let ctx = Context {
            config: &self.config,
            now_tick: self.now_tick,
            log: &mut self.log,
            durability: &mut self.durability,
            outbox: &mut self.outbox,
        };
        (&mut self.role, ctx)
    }

    /// Ends an input: refreshes the vote told to looking peers, hands over the commands.
    fn finish(&mut self) -> Vec<Command> {
        self.announce_established_epoch();
        std::mem::take(&mut self.outbox)
    }

    /// Once the epoch is established, the vote this server tells looking peers carries the
    /// new epoch. Otherwise a learner that joined across a leader's re-election reports the
    /// epoch of the old election while its leader reports the new one, and a restarted
    /// server never sees a quorum agree on the leader (ZooKeeper's ZOOKEEPER-1732; the
    /// simulation found the same stall here).
    fn announce_established_epoch(&mut self) {
        let epoch = match &self.role {
            Role::Looking(_) => None,
            Role::Leading(leader) => leader.established_epoch(),
            Role::Learning(learner) => learner.established_epoch(),
        };
        if let (Some(epoch), Some(decided)) = (epoch, self.decided.as_mut()) {
            decided.vote.peer_epoch = epoch;
        }
    }
}

/// What an input led to.
enum Outcome {
    Step(Step),
    Decided(Decision),
}

impl Outcome {
    fn from_decision(decision: Option<Decision>) -> Self {
        decision.map_or(Outcome::Step(Step::Continue), Outcome::Decided)
    }
}

/// A voter's own vote: itself, with its last logged zxid and current epoch. Observers have
/// none.
fn initial_vote(config: &Config, log: &Log, durability: &Durability) -> Option<Vote> {
    config.is_voter().then(|| Vote {
        leader: config.my_id,
        zxid: log.last_zxid(),
        peer_epoch: durability.current_epoch(),
    })
}
