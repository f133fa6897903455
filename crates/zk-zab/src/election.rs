//! Fast leader election (ZooKeeper's `FastLeaderElection`), for one looking server.
//!
//! Each looking server proposes the best vote it has heard of in its round and tells every
//! voter whenever its proposal changes. When a quorum of the round's votes matches its
//! proposal, it waits `finalize_wait_ticks` for a better vote and then decides. A server that
//! arrives while the others already follow a leader learns that leader from their replies
//! (the out-of-election tally). Election only picks a candidate; discovery makes it safe.

use crate::context::Context;
use crate::messages::Message;
use crate::vote::{ElectionEpoch, Notification, PeerState, Vote};
use std::collections::BTreeMap;
use zk_proto::ServerId;

/// The outcome of an election for this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The elected leader's vote.
    pub(crate) vote: Vote,
    /// The round in which it was elected.
    pub(crate) round: ElectionEpoch,
    /// What this server becomes: leading, following or observing.
    pub(crate) state: PeerState,
}

/// The state of a looking server.
#[derive(Debug)]
pub(crate) struct Election {
    round: ElectionEpoch,
    /// This server's own vote; `None` for an observer, which can never lead.
    initial: Option<Vote>,
    proposal: Option<Vote>,
    /// Votes of this round (ZooKeeper's `recvset`).
    received: BTreeMap<ServerId, Notification>,
    /// Votes of servers that already follow or lead, whatever their round.
    out_of_election: BTreeMap<ServerId, Notification>,
    finalize_at_tick: Option<u64>,
    next_resend_tick: u64,
    resend_interval_ticks: u64,
}

impl Election {
    /// Starts the round after `previous_round` and tells every voter.
    pub(crate) fn start(
        ctx: &mut Context,
        previous_round: ElectionEpoch,
        initial: Option<Vote>,
    ) -> Self {
        let mut election = Election {
            round: previous_round.next(),
            initial,
            proposal: initial,
            received: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            finalize_at_tick: None,
            next_resend_tick: ctx.now_tick + 1,
            resend_interval_ticks: 1,
        };
        election.record_own_vote(ctx);
        election.broadcast(ctx);
        // A lone voter is its own quorum; it decides once the finalize wait is over.
        election.arm_finalize_on_quorum(ctx);
        election
    }

    /// The current round.
    pub(crate) fn round(&self) -> ElectionEpoch {
        self.round
    }

    /// Handles a notification from voter `from` about a voter candidate.
    pub(crate) fn on_notification(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        notification: Notification,
    ) -> Option<Decision> {
        match notification.state {
            PeerState::Looking => self.on_looking_vote(ctx, from, notification),
            PeerState::Following | PeerState::Leading => {
                self.on_established_vote(ctx, from, notification)
            }
            PeerState::Observing => None,
        }
    }

    /// Re-sends notifications when the backoff interval passed, and decides once the finalize
    /// wait is over.
    pub(crate) fn tick(&mut self, ctx: &mut Context) -> Option<Decision> {
        if ctx.now_tick >= self.next_resend_tick {
            self.broadcast(ctx);
            let max = u64::from(ctx.config.notification_interval_max_ticks);
            self.resend_interval_ticks = (self.resend_interval_ticks * 2).min(max);
            self.next_resend_tick = ctx.now_tick + self.resend_interval_ticks;
        }
        let finalize_at = self.finalize_at_tick?;
        if ctx.now_tick < finalize_at {
            return None;
        }
        self.finalize_at_tick = None;
        let proposal = self.proposal?;
        self.has_quorum(ctx, &self.received, &self.own_notification(proposal))
            .then(|| self.decide(ctx, proposal, self.round))
    }

    /// Sends this server's current proposal to `to` (a reply to a peer behind or outside the
    /// election).
    pub(crate) fn reply_to(&self, ctx: &mut Context, to: ServerId) {
        if let Some(notification) = self.outgoing() {
            ctx.send(to, Message::Notification(notification));
        }
    }

    fn on_looking_vote(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        theirs: Notification,
    ) -> Option<Decision> {
        if theirs.round > self.round {
            self.round = theirs.round;
            self.received.clear();
            self.finalize_at_tick = None;
            self.proposal = best(self.initial, theirs.vote);
            self.record_own_vote(ctx);
            self.broadcast(ctx);
        } else if theirs.round < self.round {
            return None;
        } else if self.proposal.map_or(true, |ours| theirs.vote > ours) {
            self.proposal = Some(theirs.vote);
            self.finalize_at_tick = None;
            self.record_own_vote(ctx);
            self.broadcast(ctx);
        }
        self.received.insert(from, theirs);
        self.start_finalizing_on_quorum(ctx)
    }

    fn start_finalizing_on_quorum(&mut self, ctx: &mut Context) -> Option<Decision> {
        let armed = self.arm_finalize_on_quorum(ctx);
        let proposal = self.proposal?;
        (armed && ctx.config.finalize_wait_ticks == 0).then(|| {
            self.finalize_at_tick = None;
            self.decide(ctx, proposal, self.round)
        })
    }

    /// Starts the finalize wait when the proposal just reached a quorum; says whether it did.
    fn arm_finalize_on_quorum(&mut self, ctx: &Context) -> bool {
        let Some(proposal) = self.proposal else {
            return false;
        };
        let target = self.own_notification(proposal);
        if self.finalize_at_tick.is_some() || !self.has_quorum(ctx, &self.received, &target) {
            return false;
        }
        self.finalize_at_tick = Some(ctx.now_tick + u64::from(ctx.config.finalize_wait_ticks));
        true
    }

    fn on_established_vote(
        &mut self,
        ctx: &mut Context,
        from: ServerId,
        theirs: Notification,
    ) -> Option<Decision> {
        let leader = theirs.vote.leader;
        if theirs.round == self.round {
            self.received.insert(from, theirs);
            if self.has_quorum(ctx, &self.received, &theirs)
                && self.leader_confirmed(ctx, &self.received, leader, theirs.round)
            {
                return Some(self.decide(ctx, theirs.vote, theirs.round));
            }
        }
        self.out_of_election.insert(from, theirs);
        if self.has_quorum(ctx, &self.out_of_election, &theirs)
            && self.leader_confirmed(ctx, &self.out_of_election, leader, theirs.round)
        {
            self.round = theirs.round;
            return Some(self.decide(ctx, theirs.vote, theirs.round));
        }
        None
    }

    /// ZooKeeper's `checkLeader`: follow someone else only if it says itself that it leads;
    /// lead only if the votes are from our own round.
    fn leader_confirmed(
        &self,
        ctx: &Context,
        votes: &BTreeMap<ServerId, Notification>,
        leader: ServerId,
        round: ElectionEpoch,
    ) -> bool {
        if leader == ctx.my_id() {
            self.round == round
        } else {
            votes
                .get(&leader)
                .is_some_and(|vote| vote.state == PeerState::Leading)
        }
    }

    fn has_quorum(
        &self,
        ctx: &Context,
        votes: &BTreeMap<ServerId, Notification>,
        target: &Notification,
    ) -> bool {
        let supporters = votes
            .iter()
            .filter(|(_, vote)| vote.supports(target))
            .map(|(id, _)| id);
        ctx.config.ensemble.is_quorum(supporters)
    }

    fn decide(&self, ctx: &Context, vote: Vote, round: ElectionEpoch) -> Decision {
        let state = if vote.leader == ctx.my_id() {
            PeerState::Leading
        } else if ctx.config.is_voter() {
            PeerState::Following
        } else {
            PeerState::Observing
        };
        Decision { vote, round, state }
    }

    fn own_notification(&self, vote: Vote) -> Notification {
        Notification {
            vote,
            round: self.round,
            state: PeerState::Looking,
        }
    }

    /// What this server tells others; an observer with no candidate yet names itself, which
    /// voters ignore because observers cannot lead.
    fn outgoing(&self) -> Option<Notification> {
        self.proposal
            .or(self.initial)
            .map(|vote| self.own_notification(vote))
    }

    /// A voter counts its own vote like everybody else's.
    fn record_own_vote(&mut self, ctx: &Context) {
        if let (true, Some(proposal)) = (ctx.config.is_voter(), self.proposal) {
            let own = self.own_notification(proposal);
            self.received.insert(ctx.my_id(), own);
        }
    }

    fn broadcast(&self, ctx: &mut Context) {
        let Some(notification) = self.outgoing().or_else(|| self.observer_probe(ctx)) else {
            return;
        };
        let my_id = ctx.my_id();
        let voters: Vec<ServerId> = ctx.config.ensemble.voters().iter().copied().collect();
        for voter in voters.into_iter().filter(|voter| *voter != my_id) {
            ctx.send(voter, Message::Notification(notification));
        }
    }

    /// An observer without a candidate still asks the voters, who answer with their votes.
    fn observer_probe(&self, ctx: &Context) -> Option<Notification> {
        let vote = Vote {
            leader: ctx.my_id(),
            zxid: ctx.log.last_zxid(),
            peer_epoch: ctx.durability.current_epoch(),
        };
        Some(self.own_notification(vote))
    }
}

/// The better of this server's own vote and a peer's.
fn best(initial: Option<Vote>, theirs: Vote) -> Option<Vote> {
    Some(initial.map_or(theirs, |ours| ours.max(theirs)))
}

#[cfg(test)]
mod tests {
    use crate::commands::Command;
    use crate::messages::Message;
    use crate::peer::PersistedState;
    use crate::quorum::LearnerType;
    use crate::testing::{config, id, notification, send, start, zxid};
    use crate::vote::PeerState::{Following, Leading, Looking};
    use zk_proto::{Epoch, Zxid};

    fn follower_info() -> Message {
        Message::FollowerInfo {
            accepted_epoch: Epoch(0),
            last_zxid: Zxid::ZERO,
            learner_type: LearnerType::Participant,
        }
    }

    #[test]
    fn a_starting_voter_votes_for_itself_and_tells_every_other_voter() {
        let (_, commands) = start(config(1, 3, 1), PersistedState::default());
        let own = notification(1, Zxid::ZERO, 0, 1, Looking);
        assert_eq!(
            commands,
            vec![Command::BecomeLooking, send(2, own.clone()), send(3, own)]
        );
    }

    #[test]
    fn a_better_vote_is_adopted_and_a_quorum_decides_after_the_finalize_wait() {
        let (mut peer, _) = start(config(1, 3, 0), PersistedState::default());
        let better = notification(3, zxid(1, 5), 1, 1, Looking);
        let commands = peer.step(id(3), better.clone()).unwrap();
        assert_eq!(
            commands,
            vec![send(2, better.clone()), send(3, better.clone())]
        );
        assert_eq!(peer.state(), Looking, "the finalize wait is not over");
        let commands = peer.tick();
        assert_eq!(
            commands,
            vec![
                send(2, better.clone()),
                send(3, better),
                Command::BecomeFollower { leader: id(3) },
                send(3, follower_info()),
            ]
        );
        assert_eq!(peer.state(), Following);
        assert_eq!(peer.leader(), Some(id(3)));
    }

    #[test]
    fn a_worse_vote_from_an_older_round_is_answered_not_adopted() {
        let (mut peer, _) = start(config(2, 3, 0), PersistedState::default());
        peer.step(id(3), notification(3, Zxid::ZERO, 0, 4, Looking))
            .unwrap();
        let commands = peer
            .step(id(1), notification(1, Zxid::ZERO, 0, 2, Looking))
            .unwrap();
        assert_eq!(
            commands,
            vec![send(1, notification(3, Zxid::ZERO, 0, 4, Looking))]
        );
    }

    #[test]
    fn a_late_joiner_follows_the_leader_its_peers_follow() {
        let (mut peer, _) = start(config(1, 3, 0), PersistedState::default());
        let following = notification(3, zxid(2, 9), 2, 7, Following);
        assert_eq!(peer.step(id(2), following).unwrap(), vec![]);
        let leading = notification(3, zxid(2, 9), 2, 7, Leading);
        assert_eq!(
            peer.step(id(3), leading).unwrap(),
            vec![
                Command::BecomeFollower { leader: id(3) },
                send(3, follower_info())
            ]
        );
        // Now it tells looking servers whom it follows.
        let looking = notification(2, Zxid::ZERO, 0, 1, Looking);
        assert_eq!(
            peer.step(id(2), looking).unwrap(),
            vec![send(2, notification(3, zxid(2, 9), 2, 7, Following))]
        );
    }

    #[test]
    fn followers_alone_do_not_make_a_leader_without_its_own_word() {
        let (mut peer, _) = start(config(1, 3, 0), PersistedState::default());
        peer.step(id(2), notification(3, zxid(2, 9), 2, 7, Following))
            .unwrap();
        peer.step(id(3), notification(3, zxid(2, 9), 2, 7, Following))
            .unwrap();
        assert_eq!(peer.state(), Looking, "3 does not say it leads");
    }

    #[test]
    fn an_observer_never_votes_but_learns_the_leader() {
        let (mut peer, commands) = start(config(4, 3, 1), PersistedState::default());
        let probe = notification(4, Zxid::ZERO, 0, 1, Looking);
        assert_eq!(
            commands,
            vec![
                Command::BecomeLooking,
                send(1, probe.clone()),
                send(2, probe.clone()),
                send(3, probe)
            ]
        );
        peer.step(id(1), notification(2, Zxid::ZERO, 0, 3, Following))
            .unwrap();
        let commands = peer
            .step(id(2), notification(2, Zxid::ZERO, 0, 3, Leading))
            .unwrap();
        assert_eq!(commands[0], Command::BecomeObserver { leader: id(2) });
        assert_eq!(peer.state(), crate::vote::PeerState::Observing);
    }
}
