//! Gap-free streams of a node's data or children: the current value first, then every
//! change, never missing one between a watch firing and its re-registration.
//!
//! Where the server has persistent watches (3.6+), the stream adds one before its first
//! read, so every change after that read produces an event, and re-reads on each event
//! (events that queued up meanwhile are folded into one read). Otherwise it re-reads with a
//! one-shot watch, which the server sets atomically with the read. Either way each read is
//! compared with the last value emitted (by zxids), so a value is emitted once, and the last
//! value emitted is always the node's latest state once changes stop: intermediate values
//! of rapid updates may be skipped (ZooKeeper's notifications carry no data), the final one
//! never is. After a reconnection it reads again; after a session expiry it subscribes
//! again in the new session.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::state::ConnectionState;
use crate::watch::{Watch, WatchStream};
use futures_core::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zk_proto::{AddWatchMode, ErrorCode, Stat};

/// Pause before retrying after a failed read or subscription.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A node's data and stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeData {
    /// The data (empty for null).
    pub data: Vec<u8>,
    /// The stat at the time of the read.
    pub stat: Stat,
}

/// A node's children (names) and stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeChildren {
    /// The child names, as the server lists them.
    pub children: Vec<String>,
    /// The parent's stat at the time of the read.
    pub stat: Stat,
}

/// How a stream keeps watching between reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// A persistent watch where the server has them (3.6+), else one-shot watches.
    #[default]
    PersistentWhereSupported,
    /// One-shot watches only (the only way on servers before 3.6).
    OneShot,
}

/// What a stream reads: data or children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Data,
    Children,
}

/// One read's result, and what identifies its version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Snapshot {
    Data(Option<NodeData>),
    Children(Option<NodeChildren>),
}

impl Snapshot {
    /// Zxids that change with every change this stream reports.
    fn version(&self) -> Option<(i64, i64)> {
        match self {
            Snapshot::Data(node) => node.as_ref().map(|n| (n.stat.czxid, n.stat.mzxid)),
            Snapshot::Children(node) => node.as_ref().map(|n| (n.stat.czxid, n.stat.pzxid)),
        }
    }
}

/// The values of a node's data: `None` while the node does not exist.
#[derive(Debug)]
pub struct DataStream {
    inner: Inner,
}

/// The values of a node's children: `None` while the node does not exist.
#[derive(Debug)]
pub struct ChildrenStream {
    inner: Inner,
}

#[derive(Debug)]
struct Inner {
    values: mpsc::Receiver<Result<Snapshot>>,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DataStream {
    /// The next value; `Some(Err(_))` once if the client closes, then `None`.
    pub async fn next(&mut self) -> Option<Result<Option<NodeData>>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for DataStream {
    type Item = Result<Option<NodeData>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.values.poll_recv(cx).map(|item| {
            item.map(|result| {
                result.and_then(|snapshot| match snapshot {
                    Snapshot::Data(node) => Ok(node),
                    Snapshot::Children(_) => Err(Error::IllegalState("children in a data stream")),
                })
            })
        })
    }
}

impl ChildrenStream {
    /// The next value; `Some(Err(_))` once if the client closes, then `None`.
    pub async fn next(&mut self) -> Option<Result<Option<NodeChildren>>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for ChildrenStream {
    type Item = Result<Option<NodeChildren>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.values.poll_recv(cx).map(|item| {
            item.map(|result| {
                result.and_then(|snapshot| match snapshot {
                    Snapshot::Children(node) => Ok(node),
                    Snapshot::Data(_) => Err(Error::IllegalState("data in a children stream")),
                })
            })
        })
    }
}

impl Client {
    /// A gap-free stream of `path`'s data (see the module documentation).
    pub fn watch_data(&self, path: &str) -> Result<DataStream> {
        self.watch_data_with(path, Strategy::default())
    }

    /// [`Client::watch_data`] with an explicit [`Strategy`].
    pub fn watch_data_with(&self, path: &str, strategy: Strategy) -> Result<DataStream> {
        Ok(DataStream {
            inner: self.spawn_stream(path, Target::Data, strategy)?,
        })
    }

    /// A gap-free stream of `path`'s children (see the module documentation).
    pub fn watch_children(&self, path: &str) -> Result<ChildrenStream> {
        self.watch_children_with(path, Strategy::default())
    }

    /// [`Client::watch_children`] with an explicit [`Strategy`].
    pub fn watch_children_with(&self, path: &str, strategy: Strategy) -> Result<ChildrenStream> {
        Ok(ChildrenStream {
            inner: self.spawn_stream(path, Target::Children, strategy)?,
        })
    }

    fn spawn_stream(&self, path: &str, target: Target, strategy: Strategy) -> Result<Inner> {
        crate::path::validate(path, false)?;
        let (sender, values) = mpsc::channel(self.config().watch_event_queue_limit);
        let task = StreamTask {
            client: self.clone(),
            path: path.to_owned(),
            target,
            values: sender,
            last: None,
            persistent_supported: strategy == Strategy::PersistentWhereSupported,
        };
        Ok(Inner {
            values,
            task: tokio::spawn(task.run()),
        })
    }
}

/// Why a subscription ended.
enum End {
    /// The consumer dropped the stream, or the client closed.
    Stop,
    /// Subscribe again (new session, overflow, failed call).
    Resubscribe,
}

struct StreamTask {
    client: Client,
    path: String,
    target: Target,
    values: mpsc::Sender<Result<Snapshot>>,
    /// The last value emitted.
    last: Option<Snapshot>,
    /// Cleared when the strategy or the server rules persistent watches out.
    persistent_supported: bool,
}

impl StreamTask {
    async fn run(mut self) {
        loop {
            let end = if self.persistent_supported {
                match self
                    .client
                    .add_watch(&self.path, AddWatchMode::Persistent)
                    .await
                {
                    Ok(events) => self.follow_persistent(events).await,
                    Err(Error::Keeper(ErrorCode::Unimplemented)) => {
                        tracing::debug!(
                            "no persistent watches on this server; using one-shot watches"
                        );
                        self.persistent_supported = false;
                        continue;
                    }
                    Err(error) => self.after_error(error).await,
                }
            } else {
                self.follow_one_shot().await
            };
            if let End::Stop = end {
                return;
            }
        }
    }

    /// Reads and emits on every event of a persistent watch added before the first read.
    async fn follow_persistent(&mut self, mut events: WatchStream) -> End {
        let mut states = self.client.state_stream();
        loop {
            let snapshot = match self.read().await {
                Ok(snapshot) => snapshot,
                Err(error) => return self.after_error(error).await,
            };
            if !self.emit(snapshot).await {
                return End::Stop;
            }
            tokio::select! {
                event = events.next() => match event {
                    Some(Ok(_)) => {
                        // Fold what queued meanwhile into the one read that follows.
                        while events.try_next().is_some() {}
                    }
                    Some(Err(Error::Closed)) => return self.stop_with(Error::Closed).await,
                    // Expired, overflowed or removed: subscribe again.
                    Some(Err(_)) | None => return End::Resubscribe,
                },
                state = states.next() => match state {
                    None | Some(ConnectionState::Closed) => return self.stop_with(Error::Closed).await,
                    // Read again after a reconnection; an expiry ends the watch stream.
                    Some(_) => {}
                },
                () = self.values.closed() => return End::Stop,
            }
        }
    }

    /// Reads with a one-shot watch each time (servers without persistent watches).
    async fn follow_one_shot(&mut self) -> End {
        loop {
            let (snapshot, watch) = match self.read_with_watch().await {
                Ok(read) => read,
                Err(error) => return self.after_error(error).await,
            };
            if !self.emit(snapshot).await {
                return End::Stop;
            }
            tokio::select! {
                fired = watch => {
                    if let Err(Error::Closed) = fired {
                        return self.stop_with(Error::Closed).await;
                    }
                }
                () = self.values.closed() => return End::Stop,
            }
        }
    }

    async fn read(&self) -> Result<Snapshot> {
        match self.target {
            Target::Data => match self.client.get_data(&self.path).await {
                Ok((data, stat)) => Ok(Snapshot::Data(Some(NodeData { data, stat }))),
                Err(error) if error.is_no_node() => Ok(Snapshot::Data(None)),
                Err(error) => Err(error),
            },
            Target::Children => match self.client.get_children2(&self.path).await {
                Ok((children, stat)) => {
                    Ok(Snapshot::Children(Some(NodeChildren { children, stat })))
                }
                Err(error) if error.is_no_node() => Ok(Snapshot::Children(None)),
                Err(error) => Err(error),
            },
        }
    }

    async fn read_with_watch(&self) -> Result<(Snapshot, Watch)> {
        let read = match self.target {
            Target::Data => self
                .client
                .get_data_watch(&self.path)
                .await
                .map(|(data, stat, watch)| (Snapshot::Data(Some(NodeData { data, stat })), watch)),
            Target::Children => {
                self.client
                    .get_children_watch(&self.path)
                    .await
                    .map(|(children, stat, watch)| {
                        (
                            Snapshot::Children(Some(NodeChildren { children, stat })),
                            watch,
                        )
                    })
            }
        };
        match read {
            Err(error) if error.is_no_node() => {
                // Watch for the node's creation; if it appeared meanwhile, read it again.
                let (stat, watch) = self.client.exists_watch(&self.path).await?;
                if stat.is_some() {
                    return Box::pin(self.read_with_watch()).await;
                }
                let missing = match self.target {
                    Target::Data => Snapshot::Data(None),
                    Target::Children => Snapshot::Children(None),
                };
                Ok((missing, watch))
            }
            other => other,
        }
    }

    /// Emits `snapshot` unless it is the value emitted last; false once the consumer is gone.
    async fn emit(&mut self, snapshot: Snapshot) -> bool {
        let unchanged = self
            .last
            .as_ref()
            .is_some_and(|last| last.version() == snapshot.version());
        if unchanged {
            return true;
        }
        self.last = Some(snapshot.clone());
        self.values.send(Ok(snapshot)).await.is_ok()
    }

    async fn stop_with(&mut self, error: Error) -> End {
        let _ = self.values.send(Err(error)).await;
        End::Stop
    }

    /// After a failed call: stop if the client is closed, otherwise wait a little (or for
    /// the connection) and subscribe again.
    async fn after_error(&mut self, error: Error) -> End {
        if error == Error::Closed || self.client.state() == ConnectionState::Closed {
            return self.stop_with(Error::Closed).await;
        }
        tracing::debug!(%error, path = %self.path, "watch stream retrying");
        tokio::select! {
            () = tokio::time::sleep(RETRY_PAUSE) => End::Resubscribe,
            () = self.values.closed() => End::Stop,
        }
    }
}
