//! What a caller holds for a watch: [`Watch`], a future that resolves once, and
//! [`WatchStream`], the events of a persistent watch. The session task holds the other ends
//! (`OneShotSender`, `PersistentSender`).

use super::registry::PersistentWatcher;
use super::WatchedEvent;
use crate::error::Error;
use crate::session::Command;
use futures_core::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};
use zk_proto::AddWatchMode;

/// The session task's end of a one-shot watch.
pub(crate) type OneShotSender = oneshot::Sender<Result<WatchedEvent, Error>>;

/// A one-shot watch: resolves with the event that fired it, or with
/// `SessionExpired`/[`Error::Closed`] if the session ends first. A watch survives
/// reconnections (the client re-registers it), and dropping it just ignores the event.
#[derive(Debug)]
pub struct Watch {
    receiver: oneshot::Receiver<Result<WatchedEvent, Error>>,
}

impl Watch {
    pub(crate) fn new() -> (OneShotSender, Watch) {
        let (sender, receiver) = oneshot::channel();
        (sender, Watch { receiver })
    }
}

impl Future for Watch {
    type Output = Result<WatchedEvent, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.receiver).poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) => Poll::Ready(Err(Error::Closed)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Why a persistent watch ended, set by the session task before it drops its sender.
type EndReason = Arc<Mutex<Option<Error>>>;

/// The session task's end of a persistent watch.
#[derive(Debug, Clone)]
pub(crate) struct PersistentSender {
    id: u64,
    /// How and where it was registered (a recursive watcher fires for descendants too, so the
    /// event's path does not say where to remove it).
    pub(crate) mode: AddWatchMode,
    pub(crate) server_path: String,
    events: mpsc::Sender<WatchedEvent>,
    end_reason: EndReason,
}

impl PersistentWatcher for PersistentSender {
    fn id(&self) -> u64 {
        self.id
    }
}

/// What delivering an event to a persistent watcher came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Queued for the consumer.
    Delivered,
    /// The consumer dropped its stream.
    Gone,
    /// The consumer is more than the queue limit behind: the watch must be dropped.
    Overflowed,
}

impl PersistentSender {
    /// Queues `event` without waiting: the session task never blocks on a consumer.
    pub(crate) fn deliver(&self, event: WatchedEvent) -> Delivery {
        match self.events.try_send(event) {
            Ok(()) => Delivery::Delivered,
            Err(mpsc::error::TrySendError::Closed(_)) => Delivery::Gone,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.end(Error::WatchOverflow);
                Delivery::Overflowed
            }
        }
    }

    /// Records why the stream ends; the stream reports it once its queue is drained.
    pub(crate) fn end(&self, reason: Error) {
        if let Ok(mut slot) = self.end_reason.lock() {
            slot.get_or_insert(reason);
        }
    }
}

/// The stream's way back to the session task, to remove its watcher when dropped.
#[derive(Debug)]
pub(crate) struct Unsubscribe {
    pub(crate) commands: mpsc::WeakSender<Command>,
    pub(crate) mode: AddWatchMode,
    pub(crate) server_path: String,
    pub(crate) id: u64,
}

/// The events of a persistent watch (`addWatch`), in the order the server sent them. It
/// survives reconnections; it ends with `Err(SessionExpired)` when the session expires, with
/// [`Error::WatchOverflow`] if the consumer fell too far behind, with [`Error::Closed`]
/// when the client closes, and without an error after `removeWatches` removed it (the last
/// event is then `PersistentWatchRemoved`). Dropping it removes the watcher (and the server's watch, when no
/// other watcher of this client is on the path).
#[derive(Debug)]
pub struct WatchStream {
    events: mpsc::Receiver<WatchedEvent>,
    end_reason: EndReason,
    finished: bool,
    unsubscribe: Option<Unsubscribe>,
}

impl WatchStream {
    pub(crate) fn new(
        id: u64,
        mode: AddWatchMode,
        server_path: String,
        queue_limit: usize,
    ) -> (PersistentSender, WatchStream) {
        let (events, receiver) = mpsc::channel(queue_limit);
        let end_reason = EndReason::default();
        let sender = PersistentSender {
            id,
            mode,
            server_path,
            events,
            end_reason: end_reason.clone(),
        };
        let stream = WatchStream {
            events: receiver,
            end_reason,
            finished: false,
            unsubscribe: None,
        };
        (sender, stream)
    }

    pub(crate) fn set_unsubscribe(&mut self, unsubscribe: Unsubscribe) {
        self.unsubscribe = Some(unsubscribe);
    }

    /// An event that is already queued, without waiting (`None` if there is none now, or
    /// the stream has ended: [`WatchStream::next`] reports the end).
    pub fn try_next(&mut self) -> Option<WatchedEvent> {
        if self.finished {
            return None;
        }
        self.events.try_recv().ok()
    }

    /// The next event; `Some(Err(_))` once when the watch ends, then `None`.
    pub async fn next(&mut self) -> Option<Result<WatchedEvent, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for WatchStream {
    type Item = Result<WatchedEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match this.events.poll_recv(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(event))),
            Poll::Ready(None) => {
                this.finished = true;
                // No reason recorded: the watch was removed on request, a clean end.
                let reason = this.end_reason.lock().ok().and_then(|mut slot| slot.take());
                Poll::Ready(reason.map(Err))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        let Some(unsubscribe) = self.unsubscribe.take() else {
            return;
        };
        if let Some(commands) = unsubscribe.commands.upgrade() {
            // Best effort: if the queue is full the watcher stays registered, and its events
            // go nowhere (delivery finds the stream gone and drops it then).
            let _ = commands.try_send(Command::Unwatch {
                mode: unsubscribe.mode,
                server_path: unsubscribe.server_path,
                id: unsubscribe.id,
            });
        }
    }
}
