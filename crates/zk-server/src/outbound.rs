//! The write side of a client connection: a task that owns the socket's write half and
//! writes whatever the final stage queues, with a byte limit for clients that stop reading.

use crate::stats::ConnectionStats;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

enum Outbound {
    Bytes(Vec<u8>),
    /// Write what is queued, then close the socket.
    Close,
}

/// A cheap handle for queueing bytes to one connection.
#[derive(Clone)]
pub struct OutboundSink {
    sender: mpsc::UnboundedSender<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    limit_bytes: usize,
    closed: Arc<AtomicBool>,
    /// Wakes the writer task out of a write that a non-reading client keeps blocked.
    abort: Arc<Notify>,
    /// Signalled once when the writer task has ended and the socket's write side is shut.
    finished: Arc<Notify>,
    pub stats: Arc<ConnectionStats>,
}

/// Why bytes were not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The connection is closed or closing.
    Closed,
    /// The client is not reading: the queue would pass its limit. The connection is closed.
    Overflow,
}

impl OutboundSink {
    /// Starts the writer task for `writer`; the task ends when the sink is closed or a write
    /// fails.
    pub fn spawn<W>(writer: W, limit_bytes: usize, stats: Arc<ConnectionStats>) -> OutboundSink
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let abort = Arc::new(Notify::new());
        let finished = Arc::new(Notify::new());
        tokio::spawn(write_loop(
            writer,
            receiver,
            queued_bytes.clone(),
            closed.clone(),
            abort.clone(),
            finished.clone(),
        ));
        OutboundSink {
            sender,
            queued_bytes,
            limit_bytes,
            closed,
            abort,
            finished,
            stats,
        }
    }

    /// Queues bytes to write.
    pub fn send(&self, bytes: Vec<u8>) -> Result<(), SendError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(SendError::Closed);
        }
        let queued = self.queued_bytes.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        if queued > self.limit_bytes {
            tracing::warn!(
                queued,
                limit = self.limit_bytes,
                "client is not reading its replies; closing the connection"
            );
            self.close_now();
            return Err(SendError::Overflow);
        }
        self.sender
            .send(Outbound::Bytes(bytes))
            .map_err(|_| SendError::Closed)
    }

    /// Writes what is queued, then closes the connection.
    pub fn close_after_flush(&self) {
        if !self.closed.swap(true, Ordering::Relaxed) {
            let _ = self.sender.send(Outbound::Close);
        }
    }

    /// Closes without writing what is queued, even if a write is blocked.
    pub fn close_now(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.abort.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Resolves when the writer task has ended (the connection should then go away).
    pub fn finished(&self) -> impl std::future::Future<Output = ()> + 'static {
        let finished = self.finished.clone();
        async move { finished.notified().await }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut receiver: mpsc::UnboundedReceiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    abort: Arc<Notify>,
    finished: Arc<Notify>,
) {
    tokio::select! {
        _ = write_queued(&mut writer, &mut receiver, &queued_bytes) => {}
        _ = abort.notified() => {}
    }
    closed.store(true, Ordering::Relaxed);
    let _ = writer.shutdown().await;
    // notify_one stores a permit, so a waiter that subscribes late still wakes.
    finished.notify_one();
}

async fn write_queued<W: AsyncWrite + Unpin>(
    writer: &mut W,
    receiver: &mut mpsc::UnboundedReceiver<Outbound>,
    queued_bytes: &AtomicUsize,
) {
    let mut batch = Vec::new();
    while let Some(first) = receiver.recv().await {
        // Coalesce everything already queued into one write.
        let mut close = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Outbound::Bytes(bytes) if batch.is_empty() => batch = bytes,
                Outbound::Bytes(bytes) => batch.extend_from_slice(&bytes),
                Outbound::Close => {
                    close = true;
                    break;
                }
            }
            next = receiver.try_recv().ok();
        }
        if !batch.is_empty() {
            let written = batch.len();
            if let Err(error) = writer.write_all(&batch).await {
                tracing::debug!(%error, "write to client failed");
                break;
            }
            queued_bytes.fetch_sub(written, Ordering::Relaxed);
            batch.clear();
        }
        if close {
            break;
        }
    }
}
