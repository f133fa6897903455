//! Every peer message survives postcard, the encoding the transport will use, inside its
//! versioned envelope.

use zk_proto::{Epoch, ServerId, Zxid};
use zk_zab::{
    ElectionEpoch, Envelope, HistorySummary, LearnerType, Message, NewLeader, Notification,
    PeerState, SyncMode, Txn, Vote, ZabError, PROTOCOL_VERSION,
};

fn every_message() -> Vec<Message> {
    let zxid = Zxid::new(Epoch(3), 7);
    let txn = Txn::new(zxid, b"create /a".to_vec());
    let history = HistorySummary {
        committed_zxid: Zxid::new(Epoch(2), 9),
        epoch_ends: vec![Zxid::new(Epoch(2), 11), zxid],
        last_zxid: zxid,
    };
    let sync_modes = [
        SyncMode::Diff,
        SyncMode::Trunc { after: zxid },
        SyncMode::Snap {
            snapshot_zxid: zxid,
            snapshot: vec![1, 2, 3],
        },
    ];
    let mut messages = election_and_discovery(zxid, history);
    messages.extend(broadcast(zxid, &txn));
    messages.extend(sync_modes.into_iter().map(|sync| {
        Message::NewLeader(NewLeader {
            epoch: Epoch(4),
            sync,
            txns: vec![txn.clone()],
            committed_zxid: zxid,
        })
    }));
    messages
}

fn election_and_discovery(zxid: Zxid, history: HistorySummary) -> Vec<Message> {
    vec![
        Message::Notification(Notification {
            vote: Vote {
                leader: ServerId(2),
                zxid,
                peer_epoch: Epoch(3),
            },
            round: ElectionEpoch(41),
            state: PeerState::Following,
        }),
        Message::FollowerInfo {
            accepted_epoch: Epoch(3),
            last_zxid: zxid,
            learner_type: LearnerType::Observer,
        },
        Message::LeaderInfo {
            new_epoch: Epoch(4),
        },
        Message::AckEpoch {
            current_epoch: Epoch(3),
            history,
            accepted: false,
        },
    ]
}

fn broadcast(zxid: Zxid, txn: &Txn) -> Vec<Message> {
    vec![
        Message::AckNewLeader {
            epoch: Epoch(4),
            last_zxid: zxid,
        },
        Message::UpToDate {
            epoch: Epoch(4),
            committed_zxid: zxid,
        },
        Message::Proposal { txn: txn.clone() },
        Message::Ack {
            epoch: Epoch(4),
            zxid,
        },
        Message::Commit { zxid },
        Message::Inform { txn: txn.clone() },
        Message::Ping {
            epoch: Epoch(4),
            committed_zxid: zxid,
        },
    ]
}

#[test]
fn every_message_round_trips_through_postcard() {
    for message in every_message() {
        let bytes = postcard::to_allocvec(&Envelope::new(message.clone())).unwrap();
        let decoded: Envelope = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(decoded.version, PROTOCOL_VERSION);
        assert_eq!(decoded.open(), Ok(message));
    }
}

#[test]
fn a_future_protocol_version_is_refused_after_decoding() {
    let mut envelope = Envelope::new(Message::Commit { zxid: Zxid::ZERO });
    envelope.version = PROTOCOL_VERSION + 1;
    let bytes = postcard::to_allocvec(&envelope).unwrap();
    let decoded: Envelope = postcard::from_bytes(&bytes).unwrap();
    assert!(matches!(
        decoded.open(),
        Err(ZabError::UnsupportedProtocolVersion { .. })
    ));
}
