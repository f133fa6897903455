//! A scripted bench for the crash-point scenarios: real `QuorumPeer`s, the simulation's
//! disks (writes durable only when the script syncs them; a crash loses the rest) and the
//! simulation's safety checkers, with every message delivered, held or dropped by the
//! script. One exact interleaving per scenario.

use crate::sim::checkers::Checkers;
use crate::sim::disk::{decode_snapshot, encode_snapshot, Disk};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use zk_proto::{ServerId, Zxid};
use zk_zab::{
    Command, Config, DurableWrite, Ensemble, Message, Notification, PeerState, QuorumPeer, Txn,
    Vote, WriteId, ZabError,
};

/// How the host makes writes durable. Only `Faithful` keeps the host contract; the other two
/// are the orders Apache ZooKeeper 3.8 used, kept to show that each scenario really reaches
/// the crash point behind its bug (with them, the checkers must report the loss).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// Writes become durable in issue order and are confirmed once durable.
    Faithful,
    /// The epoch files are written at once, the transaction log later (ZOOKEEPER-4643).
    EpochFilesFirst,
    /// Log writes are confirmed before they are durable: the ACK of NEWLEADER goes out while
    /// the log is still being written (ZOOKEEPER-4646, 3911, 3023, 4785). The epoch files are
    /// written at once, as ZooKeeper does.
    ConfirmsBeforeDurable,
}

pub struct Server {
    pub peer: Option<QuorumPeer>,
    pub disk: Disk,
    /// The state machine: every delivered transaction, in order.
    pub state: Vec<Txn>,
    /// Every command the core returned, in order, for assertions on ordering.
    pub commands: Vec<Command>,
}

pub struct Bench {
    voters: u64,
    host: Host,
    pub servers: BTreeMap<u64, Server>,
    /// Messages per direction, in order (a leader–learner connection, or datagrams).
    queues: BTreeMap<(u64, u64), VecDeque<Message>>,
    checkers: Checkers,
}

impl Bench {
    /// `voters` servers, all up with empty disks and looking.
    pub fn new(voters: u64, host: Host) -> Self {
        let mut bench = Bench {
            voters,
            host,
            servers: BTreeMap::new(),
            queues: BTreeMap::new(),
            checkers: Checkers::default(),
        };
        for id in 1..=voters {
            let mut disk = Disk::default();
            disk.lying = host == Host::ConfirmsBeforeDurable;
            let server = Server {
                peer: None,
                disk,
                state: Vec::new(),
                commands: Vec::new(),
            };
            bench.servers.insert(id, server);
            bench.start(id);
        }
        bench
    }

    /// The first safety violation the checkers found, if any.
    pub fn verdict(&self) -> Result<(), String> {
        match self.checkers.first_violation() {
            Some(violation) => Err(violation.clone()),
            None => Ok(()),
        }
    }

    /// (Re)starts server `id` from its disk.
    pub fn start(&mut self, id: u64) {
        let ensemble = Ensemble::new((1..=self.voters).map(ServerId), []).expect("valid");
        let server = self.servers.get_mut(&id).expect("known server");
        let (peer, commands) = QuorumPeer::start(
            Config::new(ServerId(id), ensemble),
            server.disk.durable.restore(),
        )
        .expect("the disk holds a consistent state");
        server.peer = Some(peer);
        server.state = server.disk.durable.snapshot.1.clone();
        let state = server.state.clone();
        self.checkers.state_replaced(ServerId(id), &state);
        self.run(id, commands);
    }

    /// Power loss at server `id`: the process, every write not yet durable and every message
    /// to or from it are gone.
    pub fn crash(&mut self, id: u64) {
        let server = self.server_mut(id);
        server.peer = None;
        server.disk.crash();
        self.queues.retain(|(from, to), _| *from != id && *to != id);
    }

    pub fn is_up(&self, id: u64) -> bool {
        self.servers[&id].peer.is_some()
    }

    pub fn peer(&self, id: u64) -> &QuorumPeer {
        self.servers[&id].peer.as_ref().expect("server is up")
    }

    /// The zxids server `id` delivered since it last started.
    pub fn delivered(&self, id: u64) -> Vec<Zxid> {
        self.servers[&id].state.iter().map(|txn| txn.zxid).collect()
    }

    /// Fails naming the first of `servers` that has not delivered `committed`.
    pub fn require_delivered(&self, servers: &[u64], committed: Zxid) -> Result<(), String> {
        match servers
            .iter()
            .find(|&&id| !self.delivered(id).contains(&committed))
        {
            Some(id) => Err(format!("server {id} lost committed {committed}")),
            None => Ok(()),
        }
    }

    /// The zxids in server `id`'s durable log.
    pub fn durable_log(&self, id: u64) -> Vec<Zxid> {
        let durable = &self.servers[&id].disk.durable;
        let snapshot = durable.snapshot.1.iter().map(|txn| txn.zxid);
        let log = durable.log.iter().map(|txn| txn.zxid);
        snapshot
            .chain(log)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The messages queued from `from` to `to`.
    pub fn queued(&self, from: u64, to: u64) -> Vec<Message> {
        self.queues
            .get(&(from, to))
            .map(|queue| queue.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Delivers every queued message from `from` to `to`, in order.
    pub fn deliver(&mut self, from: u64, to: u64) {
        while self.deliver_next(from, to) {}
    }

    /// Delivers the next queued message from `from` to `to`; false if there was none.
    pub fn deliver_next(&mut self, from: u64, to: u64) -> bool {
        let Some(message) = self
            .queues
            .get_mut(&(from, to))
            .and_then(VecDeque::pop_front)
        else {
            return false;
        };
        if let Some(peer) = self.server_mut(to).peer.as_mut() {
            let result = peer.step(ServerId(from), message);
            self.run_result(to, result);
        }
        true
    }

    /// Drops everything queued from `from` to `to` (a broken connection).
    pub fn drop_queued(&mut self, from: u64, to: u64) {
        self.queues.remove(&(from, to));
    }

    /// Puts `message` in front of everything queued from `from` to `to`: an arrival order
    /// no TCP connection produces, used to test a leader's defences.
    pub fn push_front(&mut self, from: u64, to: u64, message: Message) {
        self.queues
            .entry((from, to))
            .or_default()
            .push_front(message);
    }

    /// Server `id`'s disk makes every queued write durable, and the core is told.
    pub fn fsync(&mut self, id: u64) {
        self.fsync_through(id, WriteId(u64::MAX));
    }

    /// Server `id`'s disk makes the queued writes up to `through` durable.
    pub fn fsync_through(&mut self, id: u64, through: WriteId) {
        if !self.is_up(id) {
            return;
        }
        let server = self.server_mut(id);
        let Some(last) = server.disk.sync_through(through) else {
            return;
        };
        if server.disk.lying {
            return;
        }
        let result = server.peer.as_mut().expect("up").on_persisted(last);
        self.run_result(id, result);
    }

    /// The id of the last write of server `id` that `matches`.
    pub fn last_write(&self, id: u64, matches: impl Fn(&DurableWrite) -> bool) -> WriteId {
        self.servers[&id]
            .commands
            .iter()
            .rev()
            .find_map(|command| match command {
                Command::Persist { id, write } if matches(write) => Some(*id),
                _ => None,
            })
            .expect("such a write was issued")
    }

    pub fn tick(&mut self, id: u64, ticks: u64) {
        for _ in 0..ticks {
            if let Some(peer) = self.server_mut(id).peer.as_mut() {
                let commands = peer.tick();
                self.run(id, commands);
            }
        }
    }

    /// Leader `leader` proposes `data`; its own log write is queued, PROPOSALs too.
    pub fn propose(&mut self, leader: u64, data: &[u8]) -> Zxid {
        let peer = self.server_mut(leader).peer.as_mut().expect("up");
        let (zxid, commands) = peer.propose(data.to_vec()).expect("an established leader");
        self.run(leader, commands);
        zxid
    }

    /// `candidate` and `voters`, all looking, elect `candidate` (with them, a quorum): the
    /// script hands everyone the candidate's vote, which must be the best of theirs, as fast
    /// leader election requires.
    pub fn elect(&mut self, candidate: u64, voters: &[u64]) {
        let round = voters
            .iter()
            .map(|voter| self.peer(*voter).election_round())
            .max()
            .unwrap_or_default()
            .max(self.peer(candidate).election_round());
        let vote = self.candidate_vote(candidate, round, PeerState::Looking);
        for &voter in voters {
            self.notify(voter, candidate, vote.clone());
            self.notify(candidate, voter, vote.clone());
            for &other in voters {
                if other != voter {
                    self.notify(other, voter, vote.clone());
                }
            }
        }
        self.tick(candidate, 1);
        for &voter in voters {
            self.tick(voter, 1);
        }
        assert_eq!(self.peer(candidate).state(), PeerState::Leading);
        for &voter in voters {
            assert_eq!(self.peer(voter).leader(), Some(ServerId(candidate)));
        }
        self.drop_election_traffic();
    }

    /// Looking server `learner` joins `leader`, which `witness` follows.
    pub fn join(&mut self, learner: u64, leader: u64, witness: u64) {
        let round = self.peer(leader).election_round();
        let following = self.candidate_vote(leader, round, PeerState::Following);
        self.notify(learner, witness, following);
        let leading = self.candidate_vote(leader, round, PeerState::Leading);
        self.notify(learner, leader, leading);
        assert_eq!(self.peer(learner).leader(), Some(ServerId(leader)));
        self.drop_election_traffic();
    }

    /// Runs discovery and synchronisation between `leader` and `learner` to the end.
    pub fn handshake(&mut self, leader: u64, learner: u64) {
        self.handshake_all(leader, &[learner]);
    }

    /// Runs discovery and synchronisation between `leader` and `learners` to the end.
    pub fn handshake_all(&mut self, leader: u64, learners: &[u64]) {
        for _ in 0..4 {
            for &learner in learners {
                self.deliver(learner, leader);
                self.fsync(leader);
                self.deliver(leader, learner);
                self.fsync(learner);
            }
        }
    }

    /// Lets the servers `ids` (the others must be down) run freely, ticking, delivering
    /// everything and syncing their disks, until they all serve under one established
    /// leader. Returns it.
    pub fn settle(&mut self, ids: &[u64]) -> Result<u64, String> {
        for _ in 0..200 {
            for &id in ids {
                self.tick(id, 1);
            }
            for _ in 0..20 {
                for &from in ids {
                    for &to in ids {
                        self.deliver(from, to);
                    }
                }
                for &id in ids {
                    self.fsync(id);
                }
            }
            self.verdict()?;
            let leader = self.peer(ids[0]).leader();
            let agreed = ids.iter().all(|id| {
                let peer = self.peer(*id);
                peer.is_serving() && peer.leader() == leader
            });
            if let (true, Some(leader)) = (agreed, leader) {
                return Ok(leader.0);
            }
        }
        Err(format!("servers {ids:?} did not settle on a leader"))
    }

    fn candidate_vote(
        &self,
        candidate: u64,
        round: zk_zab::ElectionEpoch,
        state: PeerState,
    ) -> Message {
        let peer = self.peer(candidate);
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
        let peer = self.server_mut(to).peer.as_mut().expect("up");
        let result = peer.step(ServerId(from), notification);
        self.run_result(to, result);
    }

    pub fn drop_election_traffic(&mut self) {
        for queue in self.queues.values_mut() {
            queue.retain(|message| !message.is_election());
        }
    }

    fn server_mut(&mut self, id: u64) -> &mut Server {
        self.servers.get_mut(&id).expect("known server")
    }

    fn run_result(&mut self, id: u64, result: Result<Vec<Command>, ZabError>) {
        match result {
            Ok(commands) => self.run(id, commands),
            Err(error) => self
                .checkers
                .report(format!("server {id} stopped with a fatal error: {error}")),
        }
    }

    /// Executes `commands` of server `id` in order, and what their callbacks return.
    fn run(&mut self, id: u64, commands: Vec<Command>) {
        let mut queue: VecDeque<Command> = commands.into();
        while let Some(command) = queue.pop_front() {
            self.server_mut(id).commands.push(command.clone());
            match self.execute(id, command) {
                Ok(more) => queue.extend(more),
                Err(error) => self
                    .checkers
                    .report(format!("server {id} stopped with a fatal error: {error}")),
            }
        }
    }

    fn execute(&mut self, id: u64, command: Command) -> Result<Vec<Command>, ZabError> {
        match command {
            Command::Send { to, message } => {
                self.queues
                    .entry((id, to.0))
                    .or_default()
                    .push_back(message);
            }
            Command::Persist {
                id: write_id,
                write,
            } => return self.persist(id, write_id, write),
            Command::Deliver { txn } => {
                let server = self.server_mut(id);
                server.state.push(txn.clone());
                let position = server.state.len() - 1;
                self.checkers.delivered(ServerId(id), position, &txn);
            }
            Command::TakeSnapshot { learner } => {
                let server = self.server_mut(id);
                let zxid = server.state.last().map_or(Zxid::ZERO, |txn| txn.zxid);
                let snapshot = encode_snapshot(&server.state);
                let peer = server.peer.as_mut().expect("up");
                return peer.on_snapshot(learner, zxid, snapshot);
            }
            Command::BecomeLooking
            | Command::BecomeLeader
            | Command::BecomeFollower { .. }
            | Command::BecomeObserver { .. } => {
                // Every leader–learner connection of this server closes.
                for ((from, to), queue) in self.queues.iter_mut() {
                    if *from == id || *to == id {
                        queue.retain(Message::is_election);
                    }
                }
            }
            Command::Established { leader, epoch } => {
                if leader.0 == id {
                    let history = self.servers[&id].state.clone();
                    self.checkers.established(leader, epoch, &history);
                }
            }
        }
        Ok(Vec::new())
    }

    fn persist(
        &mut self,
        id: u64,
        write_id: WriteId,
        write: DurableWrite,
    ) -> Result<Vec<Command>, ZabError> {
        let host = self.host;
        let server = self.server_mut(id);
        if let DurableWrite::InstallSnapshot { snapshot, .. } = &write {
            server.state = decode_snapshot(snapshot);
            let state = server.state.clone();
            self.checkers.state_replaced(ServerId(id), &state);
        }
        let server = self.server_mut(id);
        let is_epoch = matches!(
            write,
            DurableWrite::AcceptedEpoch { .. } | DurableWrite::CurrentEpoch { .. }
        );
        if host != Host::Faithful && is_epoch {
            server.disk.durable.apply(write.clone());
        }
        match server.disk.write(write_id, write) {
            Some(confirm) => server.peer.as_mut().expect("up").on_persisted(confirm),
            None => Ok(Vec::new()),
        }
    }
}
