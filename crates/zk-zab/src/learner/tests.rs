//! Learner scripts: each input and the exact commands it produces.

use crate::commands::{Command, DurableWrite, WriteId};
use crate::error::ZabError;
use crate::messages::{HistorySummary, Message, NewLeader, SyncMode};
use crate::peer::{PersistedState, QuorumPeer};
use crate::quorum::LearnerType;
use crate::testing::{config, id, notification, send, start, zxid};
use crate::txn::Txn;
use crate::vote::PeerState::{Following, Leading, Looking};
use zk_proto::{Epoch, Zxid};

fn txn(epoch: u32, counter: u32) -> Txn {
    Txn::new(zxid(epoch, counter), vec![epoch as u8, counter as u8])
}

fn persist(write: u64, durable: DurableWrite) -> Command {
    Command::Persist {
        id: WriteId(write),
        write: durable,
    }
}

fn new_leader(epoch: u32, sync: SyncMode, txns: Vec<Txn>, committed_zxid: Zxid) -> Message {
    Message::NewLeader(NewLeader {
        epoch: Epoch(epoch),
        sync,
        txns,
        committed_zxid,
    })
}

/// Server 2 of three, restored from `restored`, following server 3.
fn following_3(restored: PersistedState) -> QuorumPeer {
    let (mut peer, _) = start(config(2, 3, 0), restored);
    peer.step(id(1), notification(3, Zxid::ZERO, 0, 5, Following))
        .unwrap();
    let commands = peer
        .step(id(3), notification(3, Zxid::ZERO, 0, 5, Leading))
        .unwrap();
    assert_eq!(commands[0], Command::BecomeFollower { leader: id(3) });
    peer
}

/// Server 2 following 3 in epoch 1, up to date, with an empty log; writes 1 and 2 used.
fn follower_in_broadcast() -> QuorumPeer {
    let mut peer = following_3(PersistedState::default());
    let leader_info = Message::LeaderInfo {
        new_epoch: Epoch(1),
    };
    assert_eq!(
        peer.step(id(3), leader_info).unwrap(),
        vec![persist(1, DurableWrite::AcceptedEpoch { epoch: Epoch(1) })]
    );
    let ack_epoch = Message::AckEpoch {
        current_epoch: Epoch(0),
        history: HistorySummary {
            committed_zxid: Zxid::ZERO,
            epoch_ends: vec![],
            last_zxid: Zxid::ZERO,
        },
        accepted: true,
    };
    assert_eq!(
        peer.on_persisted(WriteId(1)).unwrap(),
        vec![send(3, ack_epoch)]
    );
    let diff = new_leader(1, SyncMode::Diff, vec![], Zxid::ZERO);
    assert_eq!(
        peer.step(id(3), diff).unwrap(),
        vec![persist(2, DurableWrite::CurrentEpoch { epoch: Epoch(1) })]
    );
    let ack = Message::AckNewLeader {
        epoch: Epoch(1),
        last_zxid: Zxid::ZERO,
    };
    assert_eq!(peer.on_persisted(WriteId(2)).unwrap(), vec![send(3, ack)]);
    let up_to_date = Message::UpToDate {
        epoch: Epoch(1),
        committed_zxid: Zxid::ZERO,
    };
    assert_eq!(
        peer.step(id(3), up_to_date).unwrap(),
        vec![Command::Established {
            leader: id(3),
            epoch: Epoch(1)
        }]
    );
    assert!(peer.is_serving());
    peer
}

#[test]
fn a_follower_persists_a_proposal_then_acks_it_then_delivers_it_on_commit() {
    let mut peer = follower_in_broadcast();
    let proposal = Message::Proposal { txn: txn(1, 1) };
    assert_eq!(
        peer.step(id(3), proposal).unwrap(),
        vec![persist(
            3,
            DurableWrite::AppendTxns {
                txns: vec![txn(1, 1)]
            }
        )]
    );
    let ack = Message::Ack {
        epoch: Epoch(1),
        zxid: zxid(1, 1),
    };
    assert_eq!(peer.on_persisted(WriteId(3)).unwrap(), vec![send(3, ack)]);
    let commit = Message::Commit { zxid: zxid(1, 1) };
    assert_eq!(
        peer.step(id(3), commit).unwrap(),
        vec![Command::Deliver { txn: txn(1, 1) }]
    );
    assert_eq!(peer.committed_zxid(), zxid(1, 1));
}

#[test]
fn pings_are_answered_with_the_durable_zxid_and_deliver_commits() {
    let mut peer = follower_in_broadcast();
    peer.step(id(3), Message::Proposal { txn: txn(1, 1) })
        .unwrap();
    let ping = Message::Ping {
        epoch: Epoch(1),
        committed_zxid: zxid(1, 1),
    };
    let ack = Message::Ack {
        epoch: Epoch(1),
        zxid: Zxid::ZERO,
    };
    assert_eq!(
        peer.step(id(3), ping).unwrap(),
        vec![Command::Deliver { txn: txn(1, 1) }, send(3, ack)],
        "not durable yet: the ACK repeats the old zxid"
    );
}

#[test]
fn a_gap_in_the_proposal_stream_sends_the_follower_back_to_looking() {
    let mut peer = follower_in_broadcast();
    let commands = peer
        .step(id(3), Message::Proposal { txn: txn(1, 2) })
        .unwrap();
    assert_eq!(commands[0], Command::BecomeLooking);
    assert_eq!(peer.state(), Looking);
}

#[test]
fn a_duplicate_proposal_is_ignored() {
    let mut peer = follower_in_broadcast();
    peer.step(id(3), Message::Proposal { txn: txn(1, 1) })
        .unwrap();
    assert_eq!(
        peer.step(id(3), Message::Proposal { txn: txn(1, 1) })
            .unwrap(),
        vec![]
    );
}

#[test]
fn a_silent_leader_is_abandoned_after_sync_limit() {
    let mut peer = follower_in_broadcast();
    for _ in 0..5 {
        assert_eq!(peer.state(), Following);
        peer.tick();
    }
    assert_eq!(peer.tick()[0], Command::BecomeLooking);
}

#[test]
fn trunc_drops_uncommitted_transactions_and_delivers_the_committed_prefix() {
    let restored = PersistedState {
        accepted_epoch: Epoch(1),
        current_epoch: Epoch(1),
        snapshot_zxid: Zxid::ZERO,
        log: vec![txn(1, 1), txn(1, 2), txn(1, 3)],
    };
    let mut peer = following_3(restored);
    peer.step(
        id(3),
        Message::LeaderInfo {
            new_epoch: Epoch(2),
        },
    )
    .unwrap();
    let commands = peer.on_persisted(WriteId(1)).unwrap();
    let Command::Send {
        message: Message::AckEpoch { history, .. },
        ..
    } = &commands[0]
    else {
        panic!("expected ACKEPOCH, got {commands:?}");
    };
    assert_eq!(history.epoch_ends, vec![zxid(1, 3)]);
    let trunc = new_leader(
        2,
        SyncMode::Trunc { after: zxid(1, 1) },
        vec![txn(2, 1)],
        zxid(1, 1),
    );
    assert_eq!(
        peer.step(id(3), trunc).unwrap(),
        vec![
            persist(2, DurableWrite::TruncateLog { after: zxid(1, 1) }),
            persist(
                3,
                DurableWrite::AppendTxns {
                    txns: vec![txn(2, 1)]
                }
            ),
            persist(4, DurableWrite::CurrentEpoch { epoch: Epoch(2) }),
            Command::Deliver { txn: txn(1, 1) },
        ]
    );
    assert_eq!(peer.last_zxid(), zxid(2, 1));
}

#[test]
fn a_trunc_below_the_committed_zxid_is_a_fatal_invariant_violation() {
    let restored = PersistedState {
        accepted_epoch: Epoch(1),
        current_epoch: Epoch(1),
        snapshot_zxid: zxid(1, 2),
        log: vec![txn(1, 3)],
    };
    let mut peer = following_3(restored);
    peer.step(
        id(3),
        Message::LeaderInfo {
            new_epoch: Epoch(2),
        },
    )
    .unwrap();
    peer.on_persisted(WriteId(1)).unwrap();
    let trunc = new_leader(2, SyncMode::Trunc { after: zxid(1, 1) }, vec![], Zxid::ZERO);
    let error = peer.step(id(3), trunc).unwrap_err();
    assert!(matches!(error, ZabError::InvariantViolated { .. }));
    assert!(error.is_fatal());
}

#[test]
fn snap_replaces_the_log_before_appending() {
    let mut peer = following_3(PersistedState::default());
    peer.step(
        id(3),
        Message::LeaderInfo {
            new_epoch: Epoch(3),
        },
    )
    .unwrap();
    peer.on_persisted(WriteId(1)).unwrap();
    let sync = SyncMode::Snap {
        snapshot_zxid: zxid(2, 7),
        snapshot: b"state".to_vec(),
    };
    let snap = new_leader(3, sync, vec![txn(2, 8)], zxid(2, 7));
    assert_eq!(
        peer.step(id(3), snap).unwrap(),
        vec![
            persist(
                2,
                DurableWrite::InstallSnapshot {
                    snapshot_zxid: zxid(2, 7),
                    snapshot: b"state".to_vec()
                }
            ),
            persist(
                3,
                DurableWrite::AppendTxns {
                    txns: vec![txn(2, 8)]
                }
            ),
            persist(4, DurableWrite::CurrentEpoch { epoch: Epoch(3) }),
        ]
    );
    assert_eq!(peer.committed_zxid(), zxid(2, 7));
}

#[test]
fn an_epoch_promised_before_is_acknowledged_without_a_new_promise() {
    let restored = PersistedState {
        accepted_epoch: Epoch(4),
        ..PersistedState::default()
    };
    let mut peer = following_3(restored);
    let commands = peer
        .step(
            id(3),
            Message::LeaderInfo {
                new_epoch: Epoch(4),
            },
        )
        .unwrap();
    assert!(matches!(
        &commands[..],
        [Command::Send {
            message: Message::AckEpoch {
                accepted: false,
                ..
            },
            ..
        }]
    ));
    let older = peer
        .step(
            id(3),
            Message::LeaderInfo {
                new_epoch: Epoch(3),
            },
        )
        .unwrap();
    assert_eq!(
        older,
        vec![],
        "only the first LEADERINFO of a connection counts"
    );
}

#[test]
fn a_leader_with_an_older_epoch_is_refused() {
    let restored = PersistedState {
        accepted_epoch: Epoch(4),
        ..PersistedState::default()
    };
    let mut peer = following_3(restored);
    let commands = peer
        .step(
            id(3),
            Message::LeaderInfo {
                new_epoch: Epoch(3),
            },
        )
        .unwrap();
    assert_eq!(commands[0], Command::BecomeLooking);
}

#[test]
fn followerinfo_is_repeated_until_the_leader_answers() {
    let mut peer = following_3(PersistedState::default());
    let info = Message::FollowerInfo {
        accepted_epoch: Epoch(0),
        last_zxid: Zxid::ZERO,
        learner_type: LearnerType::Participant,
    };
    assert_eq!(peer.tick(), vec![send(3, info)]);
    peer.step(
        id(3),
        Message::LeaderInfo {
            new_epoch: Epoch(1),
        },
    )
    .unwrap();
    assert_eq!(peer.tick(), vec![]);
}

#[test]
fn a_followerinfo_from_the_supposed_leader_does_not_keep_the_learner_waiting() {
    // Two servers can each believe the other leads; neither may keep the other alive.
    let mut peer = following_3(PersistedState::default());
    for _ in 0..10 {
        peer.step(id(3), follower_info_message()).unwrap();
        peer.tick();
    }
    assert_eq!(peer.tick()[0], Command::BecomeLooking);
}

fn follower_info_message() -> Message {
    Message::FollowerInfo {
        accepted_epoch: Epoch(0),
        last_zxid: Zxid::ZERO,
        learner_type: LearnerType::Participant,
    }
}

#[test]
fn once_up_to_date_the_vote_told_to_looking_servers_carries_the_new_epoch() {
    // Otherwise learners that joined at different times report different epochs for the
    // same leader, and a restarted server never sees a quorum agree (ZOOKEEPER-1732).
    let mut peer = follower_in_broadcast();
    let looking = notification(1, Zxid::ZERO, 0, 9, Looking);
    assert_eq!(
        peer.step(id(1), looking).unwrap(),
        vec![send(1, notification(3, Zxid::ZERO, 1, 5, Following))]
    );
}

#[test]
fn a_serving_learner_gives_up_on_its_leader_when_the_connection_breaks() {
    let mut peer = follower_in_broadcast();
    assert!(peer.is_serving());
    assert!(
        peer.on_connection_lost(id(1)).is_empty(),
        "another peer's connection is none of the learner's business"
    );
    let commands = peer.on_connection_lost(id(3));
    assert_eq!(commands.first(), Some(&Command::BecomeLooking));
    assert_eq!(peer.state(), Looking);
}

#[test]
fn a_learner_still_joining_keeps_retrying_when_the_connection_breaks() {
    let mut peer = following_3(PersistedState::default());
    assert!(peer.on_connection_lost(id(3)).is_empty());
    assert_eq!(peer.state(), Following);
}
