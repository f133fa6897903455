//! Leader scripts: each input and the exact commands it produces.

use crate::commands::{Command, DurableWrite, WriteId};
use crate::messages::{HistorySummary, Message, NewLeader, SyncMode};
use crate::peer::{PersistedState, QuorumPeer};
use crate::quorum::LearnerType;
use crate::testing::{config, id, notification, send, start, without_notifications, zxid};
use crate::txn::Txn;
use crate::vote::PeerState::{Leading, Looking};
use crate::ZabError;
use zk_proto::{Epoch, Zxid};

fn persist(write: u64, durable: DurableWrite) -> Command {
    Command::Persist {
        id: WriteId(write),
        write: durable,
    }
}

fn empty_history() -> HistorySummary {
    HistorySummary {
        committed_zxid: Zxid::ZERO,
        epoch_ends: vec![],
        last_zxid: Zxid::ZERO,
    }
}

fn follower_info(accepted_epoch: u32) -> Message {
    Message::FollowerInfo {
        accepted_epoch: Epoch(accepted_epoch),
        last_zxid: Zxid::ZERO,
        learner_type: LearnerType::Participant,
    }
}

fn ack_epoch(current_epoch: u32, history: HistorySummary) -> Message {
    Message::AckEpoch {
        current_epoch: Epoch(current_epoch),
        history,
        accepted: true,
    }
}

/// Server 3 of three, elected by server 2's vote, with `restored` state.
fn elected_3(restored: PersistedState) -> QuorumPeer {
    let (mut peer, _) = start(config(3, 3, 0), restored);
    let last = peer.last_zxid();
    let epoch = peer.current_epoch().0;
    peer.step(id(2), notification(3, last, epoch, 1, Looking))
        .unwrap();
    let commands = without_notifications(peer.tick());
    assert_eq!(commands[0], Command::BecomeLeader);
    peer
}

/// Server 3 established in epoch 1 with follower 2; writes 1 and 2 used.
fn established_3() -> QuorumPeer {
    let mut peer = elected_3(PersistedState::default());
    assert_eq!(
        peer.step(id(2), follower_info(0)).unwrap(),
        vec![persist(1, DurableWrite::AcceptedEpoch { epoch: Epoch(1) })]
    );
    let leader_info = Message::LeaderInfo {
        new_epoch: Epoch(1),
    };
    assert_eq!(
        peer.on_persisted(WriteId(1)).unwrap(),
        vec![send(2, leader_info)]
    );
    let diff = Message::NewLeader(NewLeader {
        epoch: Epoch(1),
        sync: SyncMode::Diff,
        txns: vec![],
        committed_zxid: Zxid::ZERO,
    });
    assert_eq!(
        peer.step(id(2), ack_epoch(0, empty_history())).unwrap(),
        vec![
            persist(2, DurableWrite::CurrentEpoch { epoch: Epoch(1) }),
            send(2, diff)
        ]
    );
    let acked = Message::AckNewLeader {
        epoch: Epoch(1),
        last_zxid: Zxid::ZERO,
    };
    assert_eq!(
        peer.step(id(2), acked).unwrap(),
        vec![],
        "the leader's own epoch is not durable yet"
    );
    let up_to_date = Message::UpToDate {
        epoch: Epoch(1),
        committed_zxid: Zxid::ZERO,
    };
    assert_eq!(
        peer.on_persisted(WriteId(2)).unwrap(),
        vec![
            Command::Established {
                leader: id(3),
                epoch: Epoch(1)
            },
            send(2, up_to_date)
        ]
    );
    assert!(peer.is_serving());
    peer
}

#[test]
fn a_proposal_commits_once_a_quorum_including_the_leader_holds_it() {
    let mut peer = established_3();
    let txn = Txn::new(zxid(1, 1), b"a".to_vec());
    let (zxid_assigned, commands) = peer.propose(b"a".to_vec()).unwrap();
    assert_eq!(zxid_assigned, zxid(1, 1));
    assert_eq!(
        commands,
        vec![
            persist(
                3,
                DurableWrite::AppendTxns {
                    txns: vec![txn.clone()]
                }
            ),
            send(2, Message::Proposal { txn: txn.clone() }),
        ]
    );
    let ack = Message::Ack {
        epoch: Epoch(1),
        zxid: zxid(1, 1),
    };
    assert_eq!(
        peer.step(id(2), ack).unwrap(),
        vec![],
        "the leader has not logged it yet"
    );
    assert_eq!(
        peer.on_persisted(WriteId(3)).unwrap(),
        vec![
            Command::Deliver { txn },
            send(2, Message::Commit { zxid: zxid(1, 1) })
        ]
    );
}

#[test]
fn the_leader_alone_is_not_a_quorum_of_three() {
    let mut peer = established_3();
    peer.propose(b"a".to_vec()).unwrap();
    assert_eq!(peer.on_persisted(WriteId(3)).unwrap(), vec![]);
    assert_eq!(peer.committed_zxid(), Zxid::ZERO);
}

#[test]
fn proposals_are_refused_unless_established_and_within_the_outstanding_limit() {
    let mut peer = elected_3(PersistedState::default());
    assert_eq!(peer.propose(vec![]).unwrap_err(), ZabError::NotLeader);
    let mut peer = established_3();
    for _ in 0..1000 {
        peer.propose(vec![]).unwrap();
    }
    assert!(matches!(
        peer.propose(vec![]),
        Err(ZabError::TooManyOutstandingProposals { limit: 1000, .. })
    ));
}

#[test]
fn a_single_server_ensemble_leads_itself() {
    let (mut peer, commands) = start(config(1, 1, 0), PersistedState::default());
    assert_eq!(commands, vec![Command::BecomeLooking]);
    assert_eq!(
        peer.tick(),
        vec![
            Command::BecomeLeader,
            persist(1, DurableWrite::AcceptedEpoch { epoch: Epoch(1) })
        ]
    );
    assert_eq!(
        peer.on_persisted(WriteId(1)).unwrap(),
        vec![persist(2, DurableWrite::CurrentEpoch { epoch: Epoch(1) })]
    );
    assert_eq!(
        peer.on_persisted(WriteId(2)).unwrap(),
        vec![Command::Established {
            leader: id(1),
            epoch: Epoch(1)
        }]
    );
    let (_, commands) = peer.propose(b"x".to_vec()).unwrap();
    assert_eq!(commands.len(), 1);
    let txn = Txn::new(zxid(1, 1), b"x".to_vec());
    assert_eq!(
        peer.on_persisted(WriteId(3)).unwrap(),
        vec![Command::Deliver { txn }]
    );
}

#[test]
fn the_new_epoch_is_above_every_accepted_epoch_of_the_quorum() {
    let mut peer = elected_3(PersistedState {
        accepted_epoch: Epoch(2),
        current_epoch: Epoch(2),
        ..PersistedState::default()
    });
    assert_eq!(
        peer.step(id(1), follower_info(6)).unwrap(),
        vec![persist(1, DurableWrite::AcceptedEpoch { epoch: Epoch(7) })]
    );
}

#[test]
fn a_learner_with_a_more_recent_history_makes_the_leader_step_down() {
    let mut peer = elected_3(PersistedState::default());
    peer.step(id(2), follower_info(0)).unwrap();
    peer.on_persisted(WriteId(1)).unwrap();
    let ahead = HistorySummary {
        committed_zxid: Zxid::ZERO,
        epoch_ends: vec![zxid(1, 4)],
        last_zxid: zxid(1, 4),
    };
    let commands = peer.step(id(2), ack_epoch(0, ahead)).unwrap();
    assert_eq!(commands[0], Command::BecomeLooking);
}

#[test]
fn a_learner_that_accepted_a_later_epoch_makes_the_leader_step_down() {
    let mut peer = established_3();
    let commands = peer.step(id(1), follower_info(5)).unwrap();
    assert_eq!(commands[0], Command::BecomeLooking);
}

#[test]
fn the_leader_steps_down_when_the_quorum_goes_silent() {
    let mut peer = established_3();
    let ping = Message::Ping {
        epoch: Epoch(1),
        committed_zxid: Zxid::ZERO,
    };
    assert_eq!(peer.tick(), vec![send(2, ping)]);
    for _ in 0..4 {
        peer.tick();
        assert_eq!(peer.state(), Leading);
    }
    assert_eq!(peer.tick()[0], Command::BecomeLooking);
}

#[test]
fn discovery_gives_up_after_init_limit() {
    let mut peer = elected_3(PersistedState::default());
    for _ in 0..9 {
        peer.tick();
        assert_eq!(peer.state(), Leading);
    }
    assert_eq!(peer.tick()[0], Command::BecomeLooking);
}

#[test]
fn a_learner_behind_the_in_memory_log_gets_the_hosts_snapshot() {
    let restored = PersistedState {
        accepted_epoch: Epoch(1),
        current_epoch: Epoch(1),
        snapshot_zxid: zxid(1, 5),
        log: vec![],
    };
    let mut peer = elected_3(restored);
    peer.step(id(2), follower_info(1)).unwrap();
    peer.on_persisted(WriteId(1)).unwrap();
    let commands = peer.step(id(2), ack_epoch(0, empty_history())).unwrap();
    assert_eq!(
        commands,
        vec![
            persist(2, DurableWrite::CurrentEpoch { epoch: Epoch(2) }),
            Command::TakeSnapshot { learner: id(2) }
        ]
    );
    let snap = Message::NewLeader(NewLeader {
        epoch: Epoch(2),
        sync: SyncMode::Snap {
            snapshot_zxid: zxid(1, 5),
            snapshot: b"state".to_vec(),
        },
        txns: vec![],
        committed_zxid: zxid(1, 5),
    });
    assert_eq!(
        peer.on_snapshot(id(2), zxid(1, 5), b"state".to_vec())
            .unwrap(),
        vec![send(2, snap)]
    );
    let ahead = peer.on_snapshot(id(2), zxid(1, 6), vec![]).unwrap_err();
    assert!(
        ahead.is_fatal(),
        "a snapshot ahead of delivery breaks the host contract"
    );
}
