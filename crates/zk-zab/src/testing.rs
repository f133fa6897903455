//! Helpers for the unit tests: small ensembles and peers driven step by step.

use crate::commands::Command;
use crate::config::Config;
use crate::messages::Message;
use crate::peer::{PersistedState, QuorumPeer};
use crate::quorum::Ensemble;
use crate::vote::{ElectionEpoch, Notification, PeerState, Vote};
use zk_proto::{Epoch, ServerId, Zxid};

pub(crate) fn id(raw: u64) -> ServerId {
    ServerId(raw)
}

pub(crate) fn zxid(epoch: u32, counter: u32) -> Zxid {
    Zxid::new(Epoch(epoch), counter)
}

/// Voters `1..=voters`, then `observers` more ids as observers.
pub(crate) fn config(my_id: u64, voters: u64, observers: u64) -> Config {
    let ensemble = Ensemble::new(
        (1..=voters).map(ServerId),
        (voters + 1..=voters + observers).map(ServerId),
    )
    .expect("valid ensemble");
    Config::new(ServerId(my_id), ensemble)
}

pub(crate) fn start(config: Config, restored: PersistedState) -> (QuorumPeer, Vec<Command>) {
    QuorumPeer::start(config, restored).expect("valid start")
}

pub(crate) fn send(to: u64, message: Message) -> Command {
    Command::Send {
        to: id(to),
        message,
    }
}

pub(crate) fn notification(
    leader: u64,
    zxid: Zxid,
    epoch: u32,
    round: u64,
    state: PeerState,
) -> Message {
    Message::Notification(Notification {
        vote: Vote {
            leader: id(leader),
            zxid,
            peer_epoch: Epoch(epoch),
        },
        round: ElectionEpoch(round),
        state,
    })
}

/// Every command except election notifications (for tests about the other phases).
pub(crate) fn without_notifications(commands: Vec<Command>) -> Vec<Command> {
    commands
        .into_iter()
        .filter(|command| {
            !matches!(
                command,
                Command::Send {
                    message: Message::Notification(_),
                    ..
                }
            )
        })
        .collect()
}
