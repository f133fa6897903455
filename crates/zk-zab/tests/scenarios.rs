//! Scripted scenarios: a few servers wired by hand, every message delivered (or dropped) by
//! the script, so that one exact interleaving is tested. The simulation explores many
//! interleavings at random; these pin the ones that matter most.

use std::collections::{BTreeMap, VecDeque};
use zk_proto::{Epoch, ServerId, Zxid};
use zk_zab::{
    Command, Config, DurableWrite, ElectionEpoch, Ensemble, Message, Notification, PeerState,
    PersistedState, QuorumPeer, Txn, Vote, WriteId,
};

/// Servers with instant disks (writes are confirmed when the script says so) and queues of
/// messages per direction.
struct Script {
    peers: BTreeMap<u64, QuorumPeer>,
    logs: BTreeMap<u64, Vec<Txn>>,
    last_write: BTreeMap<u64, WriteId>,
    queues: BTreeMap<(u64, u64), VecDeque<Message>>,
    established: Vec<(u64, Epoch)>,
    delivered: BTreeMap<u64, Vec<Zxid>>,
}

impl Script {
    fn new(voters: u64) -> Self {
        let mut script = Script {
            peers: BTreeMap::new(),
            logs: BTreeMap::new(),
            last_write: BTreeMap::new(),
            queues: BTreeMap::new(),
            established: Vec::new(),
            delivered: BTreeMap::new(),
        };
        for id in 1..=voters {
            script.start(id, voters, PersistedState::default());
        }
        script
    }

    fn start(&mut self, id: u64, voters: u64, restored: PersistedState) {
        let ensemble = Ensemble::new((1..=voters).map(ServerId), []).unwrap();
        let (peer, commands) =
            QuorumPeer::start(Config::new(ServerId(id), ensemble), restored).unwrap();
        self.peers.insert(id, peer);
        self.queues.retain(|(from, to), _| *from != id && *to != id);
        self.run(id, commands);
    }

    /// Power loss without losing anything: every write was confirmed.
    fn restart(&mut self, id: u64, voters: u64) {
        let peer = &self.peers[&id];
        let restored = PersistedState {
            accepted_epoch: peer.accepted_epoch(),
            current_epoch: peer.current_epoch(),
            snapshot_zxid: Zxid::ZERO,
            log: self.logs[&id].clone(),
        };
        self.delivered.remove(&id);
        self.start(id, voters, restored);
    }

    fn run(&mut self, id: u64, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Send { to, message } => {
                    self.queues
                        .entry((id, to.0))
                        .or_default()
                        .push_back(message);
                }
                Command::Persist {
                    id: write,
                    write: change,
                } => {
                    self.last_write.insert(id, write);
                    let log = self.logs.entry(id).or_default();
                    match change {
                        DurableWrite::AppendTxns { txns } => log.extend(txns),
                        DurableWrite::TruncateLog { after } => log.retain(|txn| txn.zxid <= after),
                        _ => {}
                    }
                }
                Command::Deliver { txn } => self.delivered.entry(id).or_default().push(txn.zxid),
                Command::Established { leader, epoch } if leader.0 == id => {
                    self.established.push((id, epoch))
                }
                _ => {}
            }
        }
    }

    /// Delivers every queued message from `from` to `to`, in order.
    fn deliver(&mut self, from: u64, to: u64) {
        while let Some(message) = self
            .queues
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
        {
            let commands = self
                .peers
                .get_mut(&to)
                .unwrap()
                .step(ServerId(from), message)
                .unwrap();
            self.run(to, commands);
        }
    }

    fn drop_queued(&mut self, from: u64, to: u64) {
        self.queues.remove(&(from, to));
    }

    /// The disk of `id` catches up with every write issued so far.
    fn sync_disk(&mut self, id: u64) {
        if let Some(write) = self.last_write.get(&id).copied() {
            let commands = self
                .peers
                .get_mut(&id)
                .unwrap()
                .on_persisted(write)
                .unwrap();
            self.run(id, commands);
        }
    }

    fn tick(&mut self, id: u64, ticks: u64) {
        for _ in 0..ticks {
            let commands = self.peers.get_mut(&id).unwrap().tick();
            self.run(id, commands);
        }
    }

    /// The notification `candidate` would send in `round` as a looking server.
    fn candidate_vote(&self, candidate: u64, round: ElectionEpoch, state: PeerState) -> Message {
        let peer = &self.peers[&candidate];
        Message::Notification(Notification {
            vote: Vote {
                leader: ServerId(candidate),
                zxid: peer.last_zxid(),
                peer_epoch: peer.current_epoch(),
            },
            round,
            state,
        })
    }

    fn notify(&mut self, to: u64, from: u64, notification: Message) {
        let commands = self
            .peers
            .get_mut(&to)
            .unwrap()
            .step(ServerId(from), notification)
            .unwrap();
        self.run(to, commands);
    }

    /// `candidate` and `voter`, both looking, elect `candidate` (a quorum of three). The
    /// candidate's vote must be the better one, as fast leader election requires.
    fn elect(&mut self, candidate: u64, voter: u64) {
        let round = self.peers[&voter]
            .election_round()
            .max(self.peers[&candidate].election_round());
        let vote = self.candidate_vote(candidate, round, PeerState::Looking);
        self.notify(voter, candidate, vote.clone());
        self.notify(candidate, voter, vote);
        self.tick(candidate, 1);
        self.tick(voter, 1);
        assert_eq!(self.peers[&candidate].state(), PeerState::Leading);
        assert_eq!(self.peers[&voter].leader(), Some(ServerId(candidate)));
        self.drop_election_traffic();
    }

    /// Looking server `learner` joins `leader`: the leader says it leads and `witness` says
    /// it follows it. Election is not what keeps ZAB safe, so the script may tell a learner
    /// to follow anyone, even a leader the real ensemble would not pick.
    fn join(&mut self, learner: u64, leader: u64, witness: u64) {
        let round = self.peers[&leader].election_round();
        let following = self.candidate_vote(leader, round, PeerState::Following);
        self.notify(learner, witness, following);
        self.notify(
            learner,
            leader,
            self.candidate_vote(leader, round, PeerState::Leading),
        );
        assert_eq!(self.peers[&learner].leader(), Some(ServerId(leader)));
        self.drop_election_traffic();
    }

    fn drop_election_traffic(&mut self) {
        for queue in self.queues.values_mut() {
            queue.retain(|message| !message.is_election());
        }
    }

    /// Runs discovery and synchronisation between `leader` and `learner` to the end.
    fn handshake(&mut self, leader: u64, learner: u64) {
        for _ in 0..4 {
            self.deliver(learner, leader);
            self.sync_disk(leader);
            self.deliver(leader, learner);
            self.sync_disk(learner);
        }
    }
}

#[test]
fn a_server_never_promises_one_epoch_to_two_leaders() {
    let mut script = Script::new(3);
    // 1 follows 3 first; 3 picks epoch 1, but its LEADERINFO to 1 is lost.
    script.elect(3, 1);
    script.deliver(1, 3);
    script.sync_disk(3);
    script.drop_queued(3, 1);
    // 1 gives up on 3 and follows 2, which picks epoch 1 too. 1 promises it to 2 and 2 ends
    // discovery, but its NEWLEADER to 1 is lost.
    script.tick(1, 11);
    script.drop_election_traffic();
    script.elect(2, 1);
    script.deliver(1, 2);
    script.sync_disk(2);
    script.deliver(2, 1);
    script.sync_disk(1);
    script.deliver(1, 2);
    script.drop_queued(2, 1);
    // 1 goes back to 3, still collecting promises for epoch 1. 1 answers without promising
    // epoch 1 a second time, so 3 never ends discovery.
    script.tick(1, 11);
    script.drop_election_traffic();
    script.join(1, 3, 2);
    script.handshake(3, 1);
    assert_eq!(script.established, vec![], "3 has no quorum of promises");
    // 1 returns to 2, which synchronises it and establishes epoch 1: the only leader of it.
    script.tick(1, 11);
    script.drop_election_traffic();
    script.join(1, 2, 3);
    script.handshake(2, 1);
    assert_eq!(script.established, vec![(2, Epoch(1))]);
}

#[test]
fn a_proposal_only_the_dead_leader_logged_is_truncated_and_never_delivered() {
    let mut script = Script::new(3);
    script.elect(3, 2);
    script.handshake(3, 2);
    assert_eq!(script.established, vec![(3, Epoch(1))]);
    // A proposal reaches nobody but the leader's own log.
    let (orphan, commands) = script
        .peers
        .get_mut(&3)
        .unwrap()
        .propose(b"orphan".to_vec())
        .unwrap();
    script.run(3, commands);
    script.sync_disk(3);
    script.drop_queued(3, 2);
    // 2 and 1 move on to epoch 2 and commit a transaction of their own.
    script.tick(2, 6);
    script.drop_election_traffic();
    script.elect(2, 1);
    script.handshake(2, 1);
    let (kept, commands) = script
        .peers
        .get_mut(&2)
        .unwrap()
        .propose(b"kept".to_vec())
        .unwrap();
    script.run(2, commands);
    script.sync_disk(2);
    script.deliver(2, 1);
    script.sync_disk(1);
    script.deliver(1, 2);
    assert_eq!(script.delivered[&2].last(), Some(&kept));
    // The old leader restarts with the orphan in its log and rejoins: TRUNC.
    script.restart(3, 3);
    assert_eq!(script.peers[&3].last_zxid(), orphan);
    script.join(3, 2, 1);
    script.handshake(2, 3);
    script.tick(2, 1);
    script.deliver(2, 3);
    assert!(script.peers[&3].is_serving());
    assert_eq!(script.delivered[&3].last(), Some(&kept));
    assert!(
        !script.delivered[&3].contains(&orphan),
        "the orphan is never delivered"
    );
    assert!(
        !script.logs[&3].iter().any(|txn| txn.zxid == orphan),
        "and gone from the log"
    );
}
