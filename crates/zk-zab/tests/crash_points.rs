//! One scripted scenario per crash point behind the data-loss bugs that TLA+ model checking
//! found in Apache ZooKeeper's ZAB (ZOOKEEPER-4643, 4646, 3911, 3023, 4785, 4685, 4394,
//! 4712). Each drives real peers by hand (`crash_points/bench.rs`) to the exact point of the
//! bug, crashes there with the loss of every write not yet durable, restarts, lets the
//! ensemble settle, and asks the simulation's checkers whether a committed transaction was
//! lost or a discarded one delivered.
//!
//! The ZooKeeper bugs all come from one ordering: on NEWLEADER, a follower must make the
//! synchronised history durable, then record the new epoch, then ACK. The first test checks
//! that order in the core's commands. Where a bug needs the host to break that order, the
//! scenario also runs with a host that writes the way ZooKeeper 3.8 did (`Host`), and must
//! then fail: proof that the scenario really reaches the crash point.

#[allow(dead_code)] // The scenarios use the simulation's disks and checkers, not its ensembles.
mod sim;

#[path = "crash_points/bench.rs"]
mod bench;

use bench::{Bench, Host};
use zk_proto::{Epoch, ServerId, Zxid};
use zk_zab::fault_injection::{inject, Mutation};
use zk_zab::{
    Command, Config, DurableWrite, ElectionEpoch, Ensemble, Message, NewLeader, Notification,
    PeerState, PersistedState, QuorumPeer, SyncMode, Txn, Vote, WriteId,
};

fn is_append(write: &DurableWrite) -> bool {
    matches!(write, DurableWrite::AppendTxns { .. })
}

fn is_current_epoch(write: &DurableWrite) -> bool {
    matches!(write, DurableWrite::CurrentEpoch { .. })
}

fn is_ack_new_leader(message: &Message) -> bool {
    matches!(message, Message::AckNewLeader { .. })
}

/// Leader 3 establishes epoch 1 with follower 2; server 1 is down.
fn epoch_one_led_by_3(host: Host) -> Bench {
    let mut bench = Bench::new(3, host);
    bench.crash(1);
    bench.elect(3, &[2]);
    bench.handshake(3, 2);
    assert!(bench.peer(3).is_serving() && bench.peer(2).is_serving());
    bench
}

/// Server 1 starts and joins leader 3 (established, followed by 2), up to the point where
/// NEWLEADER is queued for it.
fn one_joins_3_until_newleader(bench: &mut Bench) {
    bench.start(1);
    bench.join(1, 3, 2);
    bench.deliver(1, 3); // FOLLOWERINFO → LEADERINFO
    bench.deliver(3, 1); // the accepted epoch is written
    bench.fsync(1); // → ACKEPOCH
    bench.deliver(1, 3); // → NEWLEADER
}

// ---------------------------------------------------------------------------------------
// The order on NEWLEADER: history, then epoch, then ACK.
// ---------------------------------------------------------------------------------------

fn txn(epoch: u32, counter: u32) -> Txn {
    Txn::new(
        Zxid::new(Epoch(epoch), counter),
        vec![epoch as u8, counter as u8],
    )
}

/// Server 2 of three, restored from `restored`, following 3 and having promised epoch
/// `epoch`; write 1 (the accepted epoch) is confirmed.
fn follower_awaiting_newleader(restored: PersistedState, epoch: u32) -> QuorumPeer {
    let ensemble = Ensemble::new([ServerId(1), ServerId(2), ServerId(3)], []).unwrap();
    let (mut peer, _) = QuorumPeer::start(Config::new(ServerId(2), ensemble), restored).unwrap();
    let vote = |state| {
        Message::Notification(Notification {
            vote: Vote {
                leader: ServerId(3),
                zxid: Zxid::ZERO,
                peer_epoch: Epoch(0),
            },
            round: ElectionEpoch(5),
            state,
        })
    };
    peer.step(ServerId(1), vote(PeerState::Following)).unwrap();
    peer.step(ServerId(3), vote(PeerState::Leading)).unwrap();
    assert_eq!(peer.leader(), Some(ServerId(3)));
    let leader_info = Message::LeaderInfo {
        new_epoch: Epoch(epoch),
    };
    peer.step(ServerId(3), leader_info).unwrap();
    let commands = peer.on_persisted(WriteId(1)).unwrap();
    assert!(matches!(
        commands[..],
        [Command::Send {
            message: Message::AckEpoch { .. },
            ..
        }]
    ));
    peer
}

/// Applies `new_leader` and checks the order: every history write (TRUNC, SNAP, the
/// transactions) is issued before the current epoch; nothing is sent; confirming the history
/// alone sends nothing; confirming the epoch sends the ACK, and only it.
fn assert_history_then_epoch_then_ack(mut peer: QuorumPeer, new_leader: NewLeader) {
    let last_txn = new_leader.txns.last().map(|txn| txn.zxid);
    let commands = peer
        .step(ServerId(3), Message::NewLeader(new_leader))
        .unwrap();
    let writes: Vec<(WriteId, &DurableWrite)> = commands
        .iter()
        .filter_map(|command| match command {
            Command::Persist { id, write } => Some((*id, write)),
            _ => None,
        })
        .collect();
    let Some(((epoch_write, last), history)) = writes.split_last() else {
        panic!("NEWLEADER issued no write: {commands:?}");
    };
    assert!(
        is_current_epoch(last),
        "the epoch is written last: {commands:?}"
    );
    assert!(
        history.iter().all(|(_, write)| !is_current_epoch(write)),
        "one epoch write: {commands:?}"
    );
    assert!(
        !commands
            .iter()
            .any(|command| matches!(command, Command::Send { .. })),
        "no ACK before anything is durable: {commands:?}"
    );
    if let Some((last_history, _)) = history.last() {
        let commands = peer.on_persisted(*last_history).unwrap();
        assert!(
            !commands
                .iter()
                .any(|command| matches!(command, Command::Send { .. })),
            "the history alone is durable; the epoch is not: no ACK yet: {commands:?}"
        );
    }
    let commands = peer.on_persisted(*epoch_write).unwrap();
    let [Command::Send {
        to,
        message: Message::AckNewLeader { last_zxid, .. },
    }] = &commands[..]
    else {
        panic!("expected the ACK of NEWLEADER alone, got {commands:?}");
    };
    assert_eq!(*to, ServerId(3));
    if let Some(last_txn) = last_txn {
        assert_eq!(
            *last_zxid, last_txn,
            "the ACK covers the synchronised history"
        );
    }
}

#[test]
fn on_newleader_the_history_is_persisted_then_the_epoch_then_the_ack_is_sent() {
    // DIFF with transactions.
    let peer = follower_awaiting_newleader(PersistedState::default(), 1);
    assert_history_then_epoch_then_ack(
        peer,
        NewLeader {
            epoch: Epoch(1),
            sync: SyncMode::Diff,
            txns: vec![txn(0, 1), txn(0, 2)],
            committed_zxid: Zxid::ZERO,
        },
    );
    // TRUNC, then transactions.
    let restored = PersistedState {
        accepted_epoch: Epoch(1),
        current_epoch: Epoch(1),
        snapshot_zxid: Zxid::ZERO,
        log: vec![txn(1, 1), txn(1, 2), txn(1, 3)],
    };
    let peer = follower_awaiting_newleader(restored, 2);
    assert_history_then_epoch_then_ack(
        peer,
        NewLeader {
            epoch: Epoch(2),
            sync: SyncMode::Trunc {
                after: Zxid::new(Epoch(1), 1),
            },
            txns: vec![txn(2, 1)],
            committed_zxid: Zxid::new(Epoch(1), 1),
        },
    );
    // SNAP, then transactions.
    let peer = follower_awaiting_newleader(PersistedState::default(), 3);
    assert_history_then_epoch_then_ack(
        peer,
        NewLeader {
            epoch: Epoch(3),
            sync: SyncMode::Snap {
                snapshot_zxid: Zxid::new(Epoch(2), 7),
                snapshot: sim::disk::encode_snapshot(&[]),
            },
            txns: vec![txn(2, 8)],
            committed_zxid: Zxid::new(Epoch(2), 7),
        },
    );
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4643: the follower crashes after it updated currentEpoch but before the
// synchronised history was on disk. Restarted with the new epoch and the old history, it
// wins the next election (votes compare epochs first) and truncates a committed transaction
// from the others.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum DurableAtCrash {
    /// Nothing of NEWLEADER reached the disk.
    Nothing,
    /// The synchronised history did, the epoch did not.
    HistoryOnly,
}

fn zookeeper_4643(host: Host, durable: DurableAtCrash) -> Result<(), String> {
    // A is committed in epoch 1 by 3 and 2.
    let mut bench = epoch_one_led_by_3(host);
    let a = bench.propose(3, b"A");
    bench.fsync(3);
    bench.deliver(3, 2);
    bench.fsync(2);
    bench.deliver(2, 3);
    bench.deliver(3, 2);
    assert!(bench.delivered(3).contains(&a) && bench.delivered(2).contains(&a));
    // 3 dies. 2 leads epoch 2; 1 starts and joins it; NEWLEADER carries A (DIFF).
    bench.crash(3);
    bench.start(1);
    bench.tick(2, 6);
    bench.elect(2, &[1]);
    bench.deliver(1, 2);
    bench.fsync(2);
    bench.deliver(2, 1);
    bench.fsync(1);
    bench.deliver(1, 2);
    bench.fsync(2);
    bench.deliver(2, 1);
    let append = bench.last_write(1, is_append);
    let epoch = bench.last_write(1, is_current_epoch);
    assert!(append < epoch, "the history is issued before the epoch");
    // The crash point: the epoch write issued, the history not durable (or only it).
    if let DurableAtCrash::HistoryOnly = durable {
        bench.fsync_through(1, append);
    }
    let on_disk = &bench.servers[&1].disk.durable;
    if host == Host::Faithful {
        assert!(
            on_disk.current_epoch < Epoch(2) || on_disk.log.iter().any(|txn| txn.zxid == a),
            "a faithful host never has the new epoch on disk without the history"
        );
    }
    bench.crash(1);
    bench.crash(2);
    // 1 and 3 restart; 2 stays down. Whoever the election picks, A must survive.
    bench.start(1);
    bench.start(3);
    bench.drop_election_traffic();
    bench.settle(&[1, 3])?;
    bench.require_delivered(&[1, 3], a)?;
    bench.verdict()
}

#[test]
fn zookeeper_4643_crash_after_the_epoch_is_issued_before_the_history_is_durable() {
    for durable in [DurableAtCrash::Nothing, DurableAtCrash::HistoryOnly] {
        assert_eq!(
            zookeeper_4643(Host::Faithful, durable),
            Ok(()),
            "{durable:?}"
        );
    }
}

#[test]
fn zookeeper_4643_is_caught_with_zookeeper_3_8s_write_order() {
    assert_lost(zookeeper_4643(
        Host::EpochFilesFirst,
        DurableAtCrash::Nothing,
    ));
}

/// With ZooKeeper 3.8's write order the scenario must lose a committed transaction, and the
/// checkers (or the scenario's own final check) must say so.
fn assert_lost(outcome: Result<(), String>) {
    let violation = outcome.expect_err("ZooKeeper 3.8's write order loses a committed transaction");
    println!("caught: {violation}");
    assert!(
        violation.contains("missing from the initial history")
            || violation.contains("lost committed"),
        "{violation}"
    );
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4646: the follower ACKs NEWLEADER before the DIFF transactions are on disk, the
// leader establishes and commits them, the follower crashes and they are gone from it.
// ---------------------------------------------------------------------------------------

/// Leader 3 of epoch 1 logs B alone (its PROPOSAL to 2 is lost), loses 2, and leads epoch 2
/// with server 1, to which NEWLEADER carries B (DIFF). Returns the bench and B, with
/// NEWLEADER delivered to 1.
fn b_reaches_1_by_diff(host: Host) -> (Bench, Zxid) {
    let mut bench = epoch_one_led_by_3(host);
    let b = bench.propose(3, b"B");
    bench.fsync(3);
    bench.drop_queued(3, 2);
    bench.crash(2);
    bench.start(1);
    bench.tick(3, 6);
    assert_eq!(
        bench.peer(3).state(),
        PeerState::Looking,
        "3 lost its quorum"
    );
    bench.elect(3, &[1]);
    bench.deliver(1, 3);
    bench.fsync(3);
    bench.deliver(3, 1);
    bench.fsync(1);
    bench.deliver(1, 3);
    bench.fsync(3);
    let newleader = bench.queued(3, 1);
    assert!(
        matches!(&newleader[..], [Message::NewLeader(NewLeader { sync: SyncMode::Diff, txns, .. })] if txns.iter().any(|txn| txn.zxid == b)),
        "NEWLEADER carries B: {newleader:?}"
    );
    bench.deliver(3, 1);
    (bench, b)
}

/// B reaches 1 by DIFF, 1 ACKs NEWLEADER once B is durable, and the ACK reaches leader 3:
/// the epoch is established and B committed. UPTODATE is still on its way to 1.
fn b_committed_by_1s_ack(host: Host) -> (Bench, Zxid) {
    let (mut bench, b) = b_reaches_1_by_diff(host);
    ack_once_durable(&mut bench, host, b);
    bench.deliver(1, 3);
    assert!(
        bench.delivered(3).contains(&b),
        "established: B is committed"
    );
    (bench, b)
}

/// The ACK of NEWLEADER goes out only once B is on 1's disk (with a faithful host).
fn ack_once_durable(bench: &mut Bench, host: Host, b: Zxid) {
    if host == Host::Faithful {
        assert!(
            !bench.queued(1, 3).iter().any(is_ack_new_leader),
            "no ACK before the history is durable"
        );
        bench.fsync(1);
        assert!(bench.durable_log(1).contains(&b));
    }
    assert!(bench.queued(1, 3).iter().any(is_ack_new_leader));
}

/// The crash point reached: follower 1 and leader 3 crash together, 1 restarts with 2 (which
/// missed the synchronisation), and `committed` must survive on both.
fn crash_leader_and_1_then_restart_1_with_2(
    bench: &mut Bench,
    committed: Zxid,
) -> Result<(), String> {
    bench.crash(1);
    bench.crash(3);
    bench.start(1);
    bench.start(2);
    bench.settle(&[1, 2])?;
    bench.require_delivered(&[1, 2], committed)?;
    bench.verdict()
}

fn zookeeper_4646(host: Host) -> Result<(), String> {
    let (mut bench, b) = b_committed_by_1s_ack(host);
    bench.deliver(3, 1);
    assert!(bench.peer(1).is_serving());
    // The crash point: right after the ACK (and UPTODATE), with whatever is not durable.
    crash_leader_and_1_then_restart_1_with_2(&mut bench, b)
}

#[test]
fn zookeeper_4646_crash_after_the_newleader_ack() {
    assert_eq!(zookeeper_4646(Host::Faithful), Ok(()));
}

#[test]
fn zookeeper_4646_is_caught_when_the_ack_precedes_the_disk() {
    assert_lost(zookeeper_4646(Host::ConfirmsBeforeDurable));
}

/// The same crash point with the core itself broken (the `fault-injection` switch): the
/// learner ACKs NEWLEADER before its history is durable, on a faithful host.
#[test]
fn zookeeper_4646_catches_a_learner_that_acks_newleader_early() {
    inject(Some(Mutation::AckNewLeaderBeforeDurable));
    let outcome = std::panic::catch_unwind(|| {
        let (mut bench, b) = b_reaches_1_by_diff(Host::Faithful);
        assert!(
            bench.queued(1, 3).iter().any(is_ack_new_leader),
            "the early ACK"
        );
        bench.deliver(1, 3);
        bench.deliver(3, 1);
        bench.crash(1);
        bench.crash(3);
        bench.start(1);
        bench.start(2);
        let settled = bench.settle(&[1, 2]).map(|_| ());
        let lost = !bench.delivered(1).contains(&b);
        (settled.and(bench.verdict()), lost)
    });
    inject(None);
    let (verdict, lost) = outcome.expect("the scenario runs");
    assert!(lost, "B is gone");
    assert!(verdict.is_err(), "and the checkers say so");
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-3911: the DIFF-synchronised proposals are committed once a quorum ACKed
// NEWLEADER; the whole quorum then loses power, and the old leader never comes back.
// ---------------------------------------------------------------------------------------

fn zookeeper_3911(host: Host) -> Result<(), String> {
    // Five voters; epoch 1: leader 5 with 4 and 3 (1 and 2 down). B is logged by 5 alone.
    let mut bench = Bench::new(5, host);
    bench.crash(1);
    bench.crash(2);
    bench.elect(5, &[3, 4]);
    bench.handshake_all(5, &[3, 4]);
    assert!(bench.peer(5).is_serving());
    let b = bench.propose(5, b"B");
    bench.fsync(5);
    bench.drop_queued(5, 3);
    bench.drop_queued(5, 4);
    bench.crash(3);
    bench.crash(4);
    bench.tick(5, 6);
    // Epoch 2: 5 with 1 and 2, both synchronised by DIFF with B.
    bench.start(1);
    bench.start(2);
    bench.elect(5, &[1, 2]);
    for _ in 0..6 {
        for learner in [1, 2] {
            bench.deliver(learner, 5);
            bench.fsync(5);
            bench.deliver(5, learner);
            if host == Host::Faithful {
                bench.fsync(learner);
            }
        }
    }
    if !bench.delivered(5).contains(&b) {
        return Err("the leader did not establish epoch 2".into());
    }
    // Power loss everywhere; 5 never returns.
    for id in [1, 2, 5] {
        bench.crash(id);
    }
    for id in 1..=4 {
        bench.start(id);
    }
    bench.drop_election_traffic();
    bench.settle(&[1, 2, 3, 4])?;
    bench.require_delivered(&[1, 2, 3, 4], b)?;
    bench.verdict()
}

#[test]
fn zookeeper_3911_power_loss_of_the_quorum_after_diff_sync() {
    assert_eq!(zookeeper_3911(Host::Faithful), Ok(()));
}

#[test]
fn zookeeper_3911_is_caught_when_the_acks_precede_the_disk() {
    assert_lost(zookeeper_3911(Host::ConfirmsBeforeDurable));
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-3023: the DIFF transactions were logged only after UPTODATE; the follower
// crashes between its NEWLEADER ACK and UPTODATE.
// ---------------------------------------------------------------------------------------

fn zookeeper_3023(host: Host) -> Result<(), String> {
    let (mut bench, b) = b_committed_by_1s_ack(host);
    assert!(
        matches!(bench.queued(3, 1)[..], [Message::UpToDate { .. }]),
        "UPTODATE is on its way"
    );
    // The crash point: ACKed, UPTODATE not received.
    assert!(!bench.peer(1).is_serving());
    crash_leader_and_1_then_restart_1_with_2(&mut bench, b)
}

#[test]
fn zookeeper_3023_crash_between_the_newleader_ack_and_uptodate() {
    assert_eq!(zookeeper_3023(Host::Faithful), Ok(()));
}

#[test]
fn zookeeper_3023_is_caught_when_the_ack_precedes_the_disk() {
    assert_lost(zookeeper_3023(Host::ConfirmsBeforeDurable));
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4785: a proposal reaches a follower during DIFF sync; the follower is bounced
// before writing it, and the others go on without the old leader.
// ---------------------------------------------------------------------------------------

fn zookeeper_4785(host: Host) -> Result<(), String> {
    let mut bench = epoch_one_led_by_3(host);
    one_joins_3_until_newleader(&mut bench);
    // P is proposed while 1 synchronises; only 1 gets it (2's copy is lost).
    let p = bench.propose(3, b"P");
    bench.fsync(3);
    bench.drop_queued(3, 2);
    bench.deliver(3, 1); // NEWLEADER, then PROPOSAL P
    if host == Host::Faithful {
        // The synchronised history and the epoch are durable, P is not.
        let epoch = bench.last_write(1, is_current_epoch);
        bench.fsync_through(1, epoch);
        let acks = bench.queued(1, 3);
        assert!(
            matches!(acks[..], [Message::AckNewLeader { last_zxid, .. }] if last_zxid < p),
            "the ACK covers what is durable, not P: {acks:?}"
        );
    }
    bench.deliver(1, 3);
    // The crash point: 1 is bounced before P is on its disk.
    bench.crash(1);
    bench.crash(3);
    bench.start(1);
    bench.settle(&[1, 2])?;
    bench.start(3);
    bench.drop_election_traffic();
    bench.settle(&[1, 2, 3])?;
    let committed = bench.delivered(3).contains(&p);
    for id in [1, 2] {
        if bench.delivered(id).contains(&p) != committed {
            return Err(format!("servers 3 and {id} disagree about {p}"));
        }
    }
    bench.verdict()
}

#[test]
fn zookeeper_4785_crash_with_proposals_from_the_sync_not_durable() {
    assert_eq!(zookeeper_4785(Host::Faithful), Ok(()));
}

#[test]
fn zookeeper_4785_is_caught_when_the_ack_precedes_the_disk() {
    assert_lost(zookeeper_4785(Host::ConfirmsBeforeDurable));
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4685: a follower's PROPOSAL ACK reaches the leader before its NEWLEADER ACK,
// and the leader shut down.
// ---------------------------------------------------------------------------------------

#[test]
fn zookeeper_4685_a_proposal_ack_before_the_newleader_ack() {
    let mut bench = epoch_one_led_by_3(Host::Faithful);
    one_joins_3_until_newleader(&mut bench);
    let p = bench.propose(3, b"P");
    bench.fsync(3);
    bench.drop_queued(3, 2);
    bench.deliver(3, 1); // NEWLEADER, then PROPOSAL P: 1 logs P while synchronising
    bench.fsync(1);
    // The learner acknowledges NEWLEADER first, and that ACK covers P.
    let sent = bench.queued(1, 3);
    assert!(
        matches!(sent[..], [Message::AckNewLeader { last_zxid, .. }] if last_zxid == p),
        "one ACK of NEWLEADER covering P, nothing before it: {sent:?}"
    );
    // A PROPOSAL ACK ahead of it (no ordered connection delivers that; the leader must
    // still cope): it does not count, and the leader does not step down.
    let epoch = bench.peer(3).current_epoch();
    bench.push_front(1, 3, Message::Ack { epoch, zxid: p });
    bench.deliver_next(1, 3);
    assert!(
        !bench.delivered(3).contains(&p),
        "an ACK before NEWLEADER's does not count"
    );
    assert!(bench.peer(3).is_serving(), "and the leader keeps leading");
    bench.deliver(1, 3);
    assert!(
        bench.delivered(3).contains(&p),
        "the NEWLEADER ACK covers P: committed"
    );
    bench.deliver(3, 1);
    assert!(bench.peer(1).is_serving());
    assert!(bench.delivered(1).contains(&p));
    assert_eq!(bench.verdict(), Ok(()));
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4394: a COMMIT arrives between the follower's NEWLEADER ACK and UPTODATE
// (ZooKeeper threw a NullPointerException there); the follower then crashes before the
// committed proposal is on its disk.
// ---------------------------------------------------------------------------------------

#[test]
fn zookeeper_4394_a_commit_between_the_newleader_ack_and_uptodate() {
    let mut bench = epoch_one_led_by_3(Host::Faithful);
    one_joins_3_until_newleader(&mut bench);
    bench.deliver(3, 1);
    bench.fsync(1);
    assert!(bench.queued(1, 3).iter().any(is_ack_new_leader));
    // P is proposed and committed with 2 while 1's ACK is on its way.
    let p = bench.propose(3, b"P");
    bench.fsync(3);
    bench.deliver(3, 2);
    bench.fsync(2);
    bench.deliver(2, 3);
    assert!(bench.delivered(3).contains(&p));
    bench.deliver(1, 3); // the NEWLEADER ACK → UPTODATE
    let queued = bench.queued(3, 1);
    assert!(
        matches!(
            queued[..],
            [
                Message::Proposal { .. },
                Message::Commit { .. },
                Message::UpToDate { .. }
            ]
        ),
        "PROPOSAL, COMMIT, then UPTODATE: {queued:?}"
    );
    bench.deliver_next(3, 1);
    bench.deliver_next(3, 1);
    assert!(
        bench.delivered(1).contains(&p) && !bench.peer(1).is_serving(),
        "1 delivers the committed P before UPTODATE"
    );
    // The crash point: P is delivered at 1 but not on its disk.
    assert!(!bench.durable_log(1).contains(&p));
    bench.crash(1);
    bench.start(1);
    bench.drop_election_traffic();
    assert_eq!(bench.settle(&[1, 2, 3]), Ok(3));
    assert!(bench.delivered(1).contains(&p), "P comes back to 1 by DIFF");
    assert!(bench.durable_log(1).contains(&p));
    assert_eq!(bench.verdict(), Ok(()));
}

// ---------------------------------------------------------------------------------------
// ZOOKEEPER-4712: a follower shuts down (goes looking) while its log writer still runs;
// the old writes land while the server already synchronises with a new leader.
// ---------------------------------------------------------------------------------------

#[test]
fn zookeeper_4712_a_follower_shut_down_while_its_log_writer_still_runs() {
    let mut bench = epoch_one_led_by_3(Host::Faithful);
    bench.start(1);
    bench.join(1, 3, 2);
    bench.handshake(3, 1);
    assert!(bench.peer(1).is_serving());
    // P1 reaches only 2, whose disk is slow: the write stays queued. Then 3 dies.
    let p1 = bench.propose(3, b"P1");
    bench.deliver(3, 2);
    bench.drop_queued(3, 1);
    let stale = bench.last_write(2, is_append);
    bench.crash(3);
    // 1 and the restarted 3 move on to epoch 2 and commit Q.
    bench.tick(1, 6);
    bench.start(3);
    bench.elect(3, &[1]);
    bench.handshake(3, 1);
    let q = bench.propose(3, b"Q");
    bench.fsync(3);
    bench.deliver(3, 1);
    bench.fsync(1);
    bench.deliver(1, 3);
    assert!(bench.delivered(3).contains(&q));
    // 2 gives up on the old leader with P1's write still queued: the writer runs on.
    bench.tick(2, 6);
    assert_eq!(bench.peer(2).state(), PeerState::Looking);
    assert!(bench.servers[&2]
        .disk
        .pending_writes()
        .any(|write| matches!(write, DurableWrite::AppendTxns { txns } if txns[0].zxid == p1)));
    // 2 joins epoch 2. The stale write lands after the new promise is issued; then TRUNC
    // arrives and 2 crashes with P1 on disk and the truncation not.
    bench.join(2, 3, 1);
    bench.deliver(2, 3);
    bench.deliver(3, 2);
    bench.fsync_through(2, stale);
    assert!(
        bench.durable_log(2).contains(&p1),
        "the old writer finished"
    );
    bench.fsync(2);
    bench.deliver(2, 3);
    bench.deliver(3, 2);
    let truncate = bench.last_write(2, |write| matches!(write, DurableWrite::TruncateLog { .. }));
    assert!(truncate > stale);
    bench.crash(2);
    bench.start(2);
    bench.drop_election_traffic();
    assert_eq!(bench.settle(&[1, 2, 3]), Ok(3));
    for id in 1..=3 {
        assert!(!bench.delivered(id).contains(&p1), "P1 was never committed");
        assert!(bench.delivered(id).contains(&q));
        assert!(
            !bench.durable_log(id).contains(&p1),
            "and is gone from every log"
        );
    }
    assert_eq!(bench.verdict(), Ok(()));
}
