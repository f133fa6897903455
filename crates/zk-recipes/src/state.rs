//! Connection states as Curator names them, and the stream that reports every change.
//!
//! The life of a session: `Connected` once a session is established; `Suspended` when the
//! connection drops (the session may still be alive on the server, so ephemerals and
//! watches may survive); `Reconnected` when the same session is re-attached on some server;
//! `Lost` when no server could be reached for a whole session timeout (the session must be
//! presumed gone, as Curator 3+ does); `Expired` when a server says the session is gone
//! (its ephemerals are deleted and its watches dropped), after which the client
//! establishes a new session and reports `Connected` again; `Closed` after
//! [`crate::Client::close`].

use futures_core::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{broadcast, watch};

/// Where the client's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Not connected yet (before the first session).
    Connecting,
    /// A new session is established: the first one, or a fresh one after `Expired`.
    Connected,
    /// The connection dropped; the session may still be alive.
    Suspended,
    /// The same session was re-attached after `Suspended`.
    Reconnected,
    /// No server was reachable for a whole session timeout: the session is presumed gone.
    Lost,
    /// A server said the session expired: its ephemeral nodes and watches are gone.
    Expired,
    /// The client was closed.
    Closed,
}

impl ConnectionState {
    /// Whether requests can be answered in this state.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            ConnectionState::Connected | ConnectionState::Reconnected
        )
    }
}

/// The session task's side: the current state, and every change to subscribers.
#[derive(Debug, Clone)]
pub(crate) struct StatePublisher {
    current: Arc<watch::Sender<ConnectionState>>,
    changes: broadcast::Sender<ConnectionState>,
}

impl StatePublisher {
    pub(crate) fn new(queue_limit: usize) -> Self {
        let (current, _) = watch::channel(ConnectionState::Connecting);
        let (changes, _) = broadcast::channel(queue_limit);
        StatePublisher {
            current: Arc::new(current),
            changes,
        }
    }

    /// Records `state` and tells every subscriber, unless it is the state already.
    pub(crate) fn publish(&self, state: ConnectionState) {
        if *self.current.borrow() == state {
            return;
        }
        tracing::info!(?state, "connection state");
        self.current.send_replace(state);
        // No subscriber is fine: the state is still recorded.
        let _ = self.changes.send(state);
    }

    pub(crate) fn current(&self) -> ConnectionState {
        *self.current.borrow()
    }

    pub(crate) fn subscribe(&self) -> StateStream {
        StateStream {
            current: self.current.subscribe(),
            changes: tokio_stream_shim::BroadcastStream::new(self.changes.subscribe()),
        }
    }

    pub(crate) fn watch(&self) -> watch::Receiver<ConnectionState> {
        self.current.subscribe()
    }
}

/// Every state change from the moment of subscription, in order. A subscriber that falls
/// more than `state_event_queue_limit` changes behind skips the oldest ones; the last item
/// it sees is always the current state.
#[derive(Debug)]
pub struct StateStream {
    current: watch::Receiver<ConnectionState>,
    changes: tokio_stream_shim::BroadcastStream,
}

impl StateStream {
    /// The next change; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<ConnectionState> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The state now, without waiting.
    pub fn current(&self) -> ConnectionState {
        *self.current.borrow()
    }
}

impl Stream for StateStream {
    type Item = ConnectionState;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.changes.poll_recv(cx) {
                Poll::Ready(Some(Ok(state))) => return Poll::Ready(Some(state)),
                // The channel keeps the most recent changes, the last of which is the current
                // state: go on with those.
                Poll::Ready(Some(Err(skipped))) => {
                    tracing::debug!(skipped, "state stream lagged; skipping to recent changes");
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A pollable broadcast receiver (what `tokio-stream`'s `BroadcastStream` does), kept here to
/// avoid a dependency for twenty lines.
mod tokio_stream_shim {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::sync::broadcast::{self, error::RecvError};

    type RecvFuture = Pin<
        Box<
            dyn Future<
                    Output = (
                        Result<super::ConnectionState, RecvError>,
                        broadcast::Receiver<super::ConnectionState>,
                    ),
                > + Send,
        >,
    >;

    pub struct BroadcastStream {
        pending: RecvFuture,
    }

    impl std::fmt::Debug for BroadcastStream {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("BroadcastStream")
        }
    }

    async fn receive(
        mut receiver: broadcast::Receiver<super::ConnectionState>,
    ) -> (
        Result<super::ConnectionState, RecvError>,
        broadcast::Receiver<super::ConnectionState>,
    ) {
        let result = receiver.recv().await;
        (result, receiver)
    }

    impl BroadcastStream {
        pub fn new(receiver: broadcast::Receiver<super::ConnectionState>) -> Self {
            BroadcastStream {
                pending: Box::pin(receive(receiver)),
            }
        }

        /// `Some(Ok(state))`, `Some(Err(skipped))` after a lag, `None` when closed.
        pub fn poll_recv(
            &mut self,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<super::ConnectionState, u64>>> {
            let (result, receiver) = match self.pending.as_mut().poll(cx) {
                Poll::Ready(ready) => ready,
                Poll::Pending => return Poll::Pending,
            };
            let item = match result {
                Ok(state) => Some(Ok(state)),
                Err(RecvError::Lagged(skipped)) => Some(Err(skipped)),
                Err(RecvError::Closed) => None,
            };
            if item.is_some() {
                self.pending = Box::pin(receive(receiver));
            }
            Poll::Ready(item)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_see_every_change_in_order() {
        let publisher = StatePublisher::new(8);
        let mut stream = publisher.subscribe();
        publisher.publish(ConnectionState::Connected);
        publisher.publish(ConnectionState::Connected);
        publisher.publish(ConnectionState::Suspended);
        publisher.publish(ConnectionState::Reconnected);
        assert_eq!(stream.next().await, Some(ConnectionState::Connected));
        assert_eq!(stream.next().await, Some(ConnectionState::Suspended));
        assert_eq!(stream.next().await, Some(ConnectionState::Reconnected));
        assert_eq!(publisher.current(), ConnectionState::Reconnected);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_resumes_at_the_current_state() {
        let publisher = StatePublisher::new(1);
        let mut stream = publisher.subscribe();
        for state in [
            ConnectionState::Connected,
            ConnectionState::Suspended,
            ConnectionState::Lost,
            ConnectionState::Expired,
        ] {
            publisher.publish(state);
        }
        assert_eq!(stream.next().await, Some(ConnectionState::Expired));
    }
}
