//! The write side of a client connection: bytes are written at once by whoever sends them
//! when the socket takes them all and nothing is queued before them; otherwise they queue
//! for a task that writes them as the socket drains, with a byte limit for clients that
//! stop reading.
//!
//! Writing at once saves waking the connection's thread for each reply: the final stage
//! runs on another thread, and on a virtual machine a wake-up costs more than the write.
//! The socket's write half sits behind a mutex, held only for each non-blocking write, so
//! the sender and the task never write at the same time; a sender writes only when
//! nothing is queued, so bytes go out in the order they were sent.

use crate::stats::ConnectionStats;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, Notify};

enum Outbound {
    Bytes(Vec<u8>),
    /// Write what is queued, then close the socket.
    Close,
}

/// The socket's write half, shared by the senders and the writer task.
type SharedWriter = Arc<Mutex<Pin<Box<dyn AsyncWrite + Send>>>>;

fn lock(writer: &SharedWriter) -> MutexGuard<'_, Pin<Box<dyn AsyncWrite + Send>>> {
    // A panic while writing leaves the writer as usable as any failed write does.
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A cheap handle for sending bytes to one connection.
#[derive(Clone)]
pub struct OutboundSink {
    sender: mpsc::UnboundedSender<Outbound>,
    writer: SharedWriter,
    /// Bytes handed to the writer task and not yet written: while any are, senders queue.
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
        W: AsyncWrite + Send + 'static,
    {
        let writer: SharedWriter = Arc::new(Mutex::new(Box::pin(writer)));
        let (sender, receiver) = mpsc::unbounded_channel();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let abort = Arc::new(Notify::new());
        let finished = Arc::new(Notify::new());
        tokio::spawn(write_loop(
            writer.clone(),
            receiver,
            queued_bytes.clone(),
            closed.clone(),
            abort.clone(),
            finished.clone(),
        ));
        OutboundSink {
            sender,
            writer,
            queued_bytes,
            limit_bytes,
            closed,
            abort,
            finished,
            stats,
        }
    }

    /// Writes bytes now if the socket takes them and nothing waits before them; queues
    /// them (or what the socket did not take) for the writer task otherwise.
    pub fn send(&self, mut bytes: Vec<u8>) -> Result<(), SendError> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(SendError::Closed);
        }
        // Held until the bytes are written or queued: a sender that finds nothing queued
        // writes before any later sender can queue.
        let mut writer = lock(&self.writer);
        if self.queued_bytes.load(Ordering::Acquire) == 0 {
            match write_without_waiting(writer.as_mut(), &bytes) {
                Ok(written) if written == bytes.len() => return Ok(()),
                Ok(written) => {
                    bytes.drain(..written);
                }
                Err(error) => {
                    tracing::debug!(%error, "write to client failed");
                    drop(writer);
                    self.close_now();
                    return Err(SendError::Closed);
                }
            }
        }
        let queued = self.queued_bytes.fetch_add(bytes.len(), Ordering::AcqRel) + bytes.len();
        if queued > self.limit_bytes {
            tracing::warn!(
                queued,
                limit = self.limit_bytes,
                "client is not reading its replies; closing the connection"
            );
            self.close_now();
            return Err(SendError::Overflow);
        }
        let queued = self.sender.send(Outbound::Bytes(bytes));
        drop(writer);
        queued.map_err(|_| SendError::Closed)
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

/// Writes as much of `bytes` as the writer takes without waiting; the count written.
fn write_without_waiting(
    mut writer: Pin<&mut (dyn AsyncWrite + Send)>,
    bytes: &[u8],
) -> io::Result<usize> {
    // Nothing waits on this context: when the socket is full the caller queues the rest,
    // and the writer task's own poll registers the wake-up it needs.
    let mut context = Context::from_waker(Waker::noop());
    let mut written = 0;
    while written < bytes.len() {
        match writer.as_mut().poll_write(&mut context, &bytes[written..]) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(count)) => written += count,
            Poll::Ready(Err(error)) => return Err(error),
            Poll::Pending => break,
        }
    }
    Ok(written)
}

/// Writes all of `bytes`, waiting for the socket to drain, holding the lock only for each
/// non-blocking write.
async fn write_all(writer: &SharedWriter, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let written = poll_fn(|context| lock(writer).as_mut().poll_write(context, bytes)).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

async fn write_loop(
    writer: SharedWriter,
    mut receiver: mpsc::UnboundedReceiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
    abort: Arc<Notify>,
    finished: Arc<Notify>,
) {
    tokio::select! {
        _ = write_queued(&writer, &mut receiver, &queued_bytes) => {}
        _ = abort.notified() => {}
    }
    closed.store(true, Ordering::Relaxed);
    let _ = poll_fn(|context| lock(&writer).as_mut().poll_shutdown(context)).await;
    // notify_one stores a permit, so a waiter that subscribes late still wakes.
    finished.notify_one();
}

async fn write_queued(
    writer: &SharedWriter,
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
            if let Err(error) = write_all(writer, &batch).await {
                tracing::debug!(%error, "write to client failed");
                break;
            }
            // Only now may senders write directly again: these bytes are out.
            queued_bytes.fetch_sub(written, Ordering::AcqRel);
            batch.clear();
        }
        if close {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn sink(writer: tokio::io::DuplexStream, limit_bytes: usize) -> OutboundSink {
        OutboundSink::spawn(writer, limit_bytes, Arc::new(ConnectionStats::default()))
    }

    async fn read_exactly(reader: &mut tokio::io::DuplexStream, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            reader.read_exact(&mut bytes),
        )
        .await
        .expect("the bytes arrive in time")
        .expect("read");
        bytes
    }

    #[tokio::test]
    async fn bytes_arrive_in_order_whether_written_at_once_or_queued() {
        // A pipe of 64 bytes: the first sends fill it and the rest queue for the task.
        let (writer, mut reader) = tokio::io::duplex(64);
        let sink = sink(writer, 1 << 20);
        let mut expected = Vec::new();
        for round in 0..50u8 {
            let chunk = vec![round; 1 + usize::from(round) % 40];
            expected.extend_from_slice(&chunk);
            sink.send(chunk).unwrap();
        }
        assert!(
            sink.queued_bytes.load(Ordering::Acquire) > 0,
            "some bytes queued"
        );
        assert_eq!(read_exactly(&mut reader, expected.len()).await, expected);
        // Once drained, a small send is written at once.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while sink.queued_bytes.load(Ordering::Acquire) > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the task drains the queue"
            );
            tokio::task::yield_now().await;
        }
        sink.send(b"now".to_vec()).unwrap();
        assert_eq!(sink.queued_bytes.load(Ordering::Acquire), 0);
        assert_eq!(read_exactly(&mut reader, 3).await, b"now");
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_is_closed_at_the_limit() {
        let (writer, _reader) = tokio::io::duplex(16);
        let sink = sink(writer, 100);
        sink.send(vec![1; 16]).unwrap(); // fills the pipe
        sink.send(vec![2; 100]).unwrap(); // queued, at the limit
        assert_eq!(sink.send(vec![3; 1]), Err(SendError::Overflow));
        assert_eq!(sink.send(vec![4; 1]), Err(SendError::Closed));
        tokio::time::timeout(std::time::Duration::from_secs(10), sink.finished())
            .await
            .expect("the writer task ends");
    }

    #[tokio::test]
    async fn close_after_flush_writes_what_is_queued_then_shuts_the_socket() {
        let (writer, mut reader) = tokio::io::duplex(8);
        let sink = sink(writer, 1 << 20);
        sink.send(b"0123456789abcdef".to_vec()).unwrap();
        sink.close_after_flush();
        let mut all = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            reader.read_to_end(&mut all),
        )
        .await
        .expect("the socket is shut in time")
        .unwrap();
        assert_eq!(all, b"0123456789abcdef");
    }
}
