//! Leader latch: Curator's `LeaderLatch`, with its layout. Each participant creates a
//! protected ephemeral sequential node `<path>/_c_<uuid>-latch-<sequence>` holding its id;
//! the first in sequence order is the leader; every other participant watches only the node
//! just before its own.
//!
//! Leadership is given up when the connection is suspended or lost (Curator's default
//! error policy): a leader that cannot reach the ensemble cannot know whether its session is
//! still alive. After reconnecting the latch checks again, and after a session expiry it
//! joins again with a new node.

use super::Participant;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::recipes::lock::internals::sort_children;
use crate::recipes::node_guard::delete_quietly;
use crate::recipes::protected::create_protected;
use crate::rng::SeededRng;
use crate::state::{ConnectionState, StateStream};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zk_proto::CreateMode;

/// Curator's latch node name.
pub const LATCH_NAME: &str = "latch-";

/// Pause before trying again after a failed ZooKeeper call.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A participant in a leader election that holds leadership until it closes.
#[derive(Debug)]
pub struct LeaderLatch {
    client: Client,
    latch_path: String,
    id: String,
    leadership: watch::Receiver<bool>,
    our_path: Arc<StdMutex<Option<String>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LeaderLatch {
    /// Joins the election at `path` as `id` (any text; other participants read it).
    pub fn start(client: &Client, path: &str, id: &str) -> Result<LeaderLatch> {
        path::validate(path, false)?;
        let (leadership_in, leadership) = watch::channel(false);
        let (stop, stopped) = oneshot::channel();
        let our_path = Arc::new(StdMutex::new(None));
        let task = LatchTask {
            client: client.clone(),
            latch_path: path.to_owned(),
            id: id.to_owned(),
            leadership: leadership_in,
            our_path: our_path.clone(),
            states: client.state_stream(),
            rng: client.id_rng(),
        };
        let handle = tokio::spawn(task.run(stopped));
        Ok(LeaderLatch {
            client: client.clone(),
            latch_path: path.to_owned(),
            id: id.to_owned(),
            leadership,
            our_path,
            stop: Some(stop),
            task: Some(handle),
        })
    }

    /// Whether this participant leads now.
    pub fn has_leadership(&self) -> bool {
        *self.leadership.borrow()
    }

    /// Leadership changes as a `watch` receiver: `changed().await` then read it (the
    /// `isLeader`/`notLeader` callbacks of Curator).
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leadership.clone()
    }

    /// Waits until this participant leads, at most `timeout`; `Ok(false)` on timeout.
    pub async fn await_leadership(&self, timeout: Duration) -> Result<bool> {
        let mut leadership = self.leadership.clone();
        let led = tokio::time::timeout(timeout, async {
            leadership.wait_for(|leads| *leads).await.map(|_| ())
        })
        .await;
        match led {
            Ok(Ok(())) => Ok(true),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Ok(false),
        }
    }

    /// This participant's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This participant's node, once created.
    pub fn our_path(&self) -> Option<String> {
        self.our_path.lock().ok().and_then(|path| path.clone())
    }

    /// Every participant in election order (the first leads), with the ids they wrote.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        super::participants(&self.client, &self.latch_path, &[LATCH_NAME]).await
    }

    /// Leaves the election: deletes this participant's node and gives up leadership.
    pub async fn close(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LeaderLatch {
    fn drop(&mut self) {
        // The task sees the stop signal (or its sender dropped) and deletes the node.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What interrupted a wait of the latch task.
enum Wake {
    Stop,
    Changed,
    State(Option<ConnectionState>),
}

struct LatchTask {
    client: Client,
    latch_path: String,
    id: String,
    leadership: watch::Sender<bool>,
    our_path: Arc<StdMutex<Option<String>>>,
    states: StateStream,
    rng: SeededRng,
}

impl LatchTask {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        loop {
            let wake = tokio::select! {
                _ = &mut stopped => Wake::Stop,
                wake = self.step() => wake,
            };
            match wake {
                Wake::Stop => break,
                Wake::Changed => {}
                Wake::State(None) => break,
                Wake::State(Some(state)) => {
                    if !self.on_state(state, &mut stopped).await {
                        break;
                    }
                }
            }
        }
        self.set_leadership(false);
        if let Some(path) = self.take_our_path() {
            delete_quietly(&self.client, &path).await;
        }
    }

    /// One round: make sure our node exists, then lead or watch our predecessor until
    /// something changes.
    async fn step(&mut self) -> Wake {
        match self.check().await {
            Ok(wake) => wake,
            Err(error) => {
                tracing::debug!(%error, "leader latch check failed; retrying");
                tokio::select! {
                    state = self.states.next() => Wake::State(state),
                    () = tokio::time::sleep(RETRY_PAUSE) => Wake::Changed,
                }
            }
        }
    }

    async fn check(&mut self) -> Result<Wake> {
        let our_path = match self.current_path() {
            Some(path) => path,
            None => {
                let created = create_protected(
                    &self.client,
                    &self.latch_path,
                    LATCH_NAME,
                    self.id.as_bytes(),
                    CreateMode::EphemeralSequential,
                    &mut self.rng,
                )
                .await?;
                if let Ok(mut slot) = self.our_path.lock() {
                    *slot = Some(created.clone());
                }
                created
            }
        };
        let mut children = self.client.get_children(&self.latch_path).await?;
        sort_children(&mut children, &[LATCH_NAME]);
        let our_name = path::node_name(&our_path);
        let watch = match children.iter().position(|child| child == our_name) {
            None => {
                // Our node is gone (expired session, or deleted by hand): join again.
                self.take_our_path();
                self.set_leadership(false);
                return Ok(Wake::Changed);
            }
            Some(0) => {
                self.set_leadership(true);
                // Lead until our own node goes (or the connection state changes).
                match self.client.exists_watch(&our_path).await? {
                    (Some(_), watch) => watch,
                    (None, _) => return Ok(Wake::Changed),
                }
            }
            Some(index) => {
                self.set_leadership(false);
                let previous = path::join(&self.latch_path, &children[index - 1]);
                match self.client.get_data_watch(&previous).await {
                    Ok((_, _, watch)) => watch,
                    Err(error) if error.is_no_node() => return Ok(Wake::Changed),
                    Err(error) => return Err(error),
                }
            }
        };
        Ok(tokio::select! {
            fired = watch => match fired {
                Err(Error::Closed) => Wake::State(None),
                _ => Wake::Changed,
            },
            state = self.states.next() => Wake::State(state),
        })
    }

    /// Reacts to a connection state; false when the latch must stop.
    async fn on_state(
        &mut self,
        state: ConnectionState,
        stopped: &mut oneshot::Receiver<()>,
    ) -> bool {
        match state {
            ConnectionState::Suspended | ConnectionState::Lost => {
                self.set_leadership(false);
                // Wait for the connection to come back before checking again.
                loop {
                    tokio::select! {
                        _ = &mut *stopped => return false,
                        next = self.states.next() => match next {
                            None | Some(ConnectionState::Closed) => return false,
                            Some(ConnectionState::Expired) => {
                                self.take_our_path();
                            }
                            Some(ConnectionState::Connected | ConnectionState::Reconnected) => return true,
                            Some(_) => {}
                        }
                    }
                }
            }
            ConnectionState::Expired => {
                self.set_leadership(false);
                self.take_our_path();
                true
            }
            ConnectionState::Closed => false,
            ConnectionState::Connecting
            | ConnectionState::Connected
            | ConnectionState::Reconnected => true,
        }
    }

    fn current_path(&self) -> Option<String> {
        self.our_path.lock().ok().and_then(|path| path.clone())
    }

    fn take_our_path(&self) -> Option<String> {
        self.our_path.lock().ok().and_then(|mut path| path.take())
    }

    fn set_leadership(&self, leads: bool) {
        self.leadership.send_if_modified(|current| {
            let changed = *current != leads;
            if changed {
                tracing::info!(path = %self.latch_path, id = %self.id, leads, "leadership");
            }
            *current = leads;
            changed
        });
    }
}
