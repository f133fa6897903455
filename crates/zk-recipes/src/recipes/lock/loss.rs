//! Telling a lock holder that its hold is in doubt or gone. A lock is an ephemeral node: it
//! lasts as long as the session, so a holder must stop relying on it as soon as the
//! connection drops (the server may expire the session, and hand the lock to the next
//! waiter, before this client can hear about it), and knows it is gone when the session is
//! lost or expired or the node is deleted. Curator tells holders through connection state
//! listeners; here one future reports the first of these.

use crate::client::Client;
use crate::state::ConnectionState;
use zk_proto::EventType;

/// Why a holder can no longer count on its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockLoss {
    /// The handle holds no lock.
    NotHeld,
    /// The connection dropped: the session, and the lock, may still be alive, or may expire
    /// at any moment. Stop touching what the lock protects until the connection is back
    /// (then ask again: a hold that survived reports nothing new).
    Suspended,
    /// No server was reachable for a whole session timeout: the session, and the lock, are
    /// presumed gone.
    SessionLost,
    /// The server said the session expired: the lock node went with it.
    SessionExpired,
    /// The lock node was deleted (with an expired session, or by someone else).
    NodeDeleted,
    /// The client was closed.
    ClientClosed,
}

impl LockLoss {
    /// Whether the lock is certainly gone (everything but [`LockLoss::Suspended`]).
    pub fn is_certain(self) -> bool {
        self != LockLoss::Suspended
    }
}

/// The loss a connection state means, if any.
fn loss_in_state(state: ConnectionState) -> Option<LockLoss> {
    match state {
        ConnectionState::Suspended => Some(LockLoss::Suspended),
        ConnectionState::Lost => Some(LockLoss::SessionLost),
        ConnectionState::Expired => Some(LockLoss::SessionExpired),
        ConnectionState::Closed => Some(LockLoss::ClientClosed),
        ConnectionState::Connecting | ConnectionState::Connected | ConnectionState::Reconnected => {
            None
        }
    }
}

/// Resolves with the first sign that `node` (a lock node of `client`'s session) no longer
/// guarantees the lock: a connection state that puts it in doubt, or its deletion.
pub(crate) async fn hold_lost(client: &Client, node: &str) -> LockLoss {
    let mut states = client.state_watch();
    loop {
        let state = *states.borrow_and_update();
        if let Some(loss) = loss_in_state(state) {
            return loss;
        }
        // Connected: watch the node; any change of state meanwhile is looked at first.
        let looked = tokio::select! {
            changed = states.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return LockLoss::ClientClosed,
            },
            looked = client.exists_watch(node) => looked,
        };
        match looked {
            Ok((None, _)) => return LockLoss::NodeDeleted,
            Ok((Some(_), watch)) => {
                tokio::select! {
                    fired = watch => {
                        if matches!(fired, Ok(event) if event.event_type == EventType::NodeDeleted) {
                            return LockLoss::NodeDeleted;
                        }
                        // A data change, or the session ended (the state tells which).
                    }
                    changed = states.changed() => {
                        if changed.is_err() {
                            return LockLoss::ClientClosed;
                        }
                    }
                }
            }
            // The read failed without a change of state seen yet: wait for one rather than
            // asking again at once.
            Err(_) => {
                if states.changed().await.is_err() {
                    return LockLoss::ClientClosed;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_suspension_leaves_the_hold_in_doubt() {
        assert_eq!(
            loss_in_state(ConnectionState::Suspended),
            Some(LockLoss::Suspended)
        );
        assert!(!LockLoss::Suspended.is_certain());
        for state in [
            ConnectionState::Lost,
            ConnectionState::Expired,
            ConnectionState::Closed,
        ] {
            assert!(loss_in_state(state).is_some_and(LockLoss::is_certain));
        }
        for state in [ConnectionState::Connected, ConnectionState::Reconnected] {
            assert_eq!(loss_in_state(state), None);
        }
    }
}
