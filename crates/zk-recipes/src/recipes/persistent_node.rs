//! A node that stays there as long as its owner wants it: Curator's `PersistentNode` (and
//! `PersistentEphemeralNode`). It is created at start, re-created whenever it disappears —
//! deleted by someone, or gone with an expired session — and deleted on close. With an
//! ephemeral mode this keeps a registration alive across session expiry.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::recipes::node_guard::delete_quietly;
use crate::recipes::protected::create_protected;
use crate::rng::SeededRng;
use crate::state::ConnectionState;
use crate::state::StateStream;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zk_proto::CreateMode;

/// Pause before trying again after a failed call.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A node kept in existence until closed.
#[derive(Debug)]
pub struct PersistentNode {
    client: Client,
    actual_path: watch::Receiver<Option<String>>,
    data: Arc<StdMutex<Vec<u8>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// How to create the node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The path (for sequential modes, the prefix the server appends to).
    pub path: String,
    /// The mode; ephemeral modes make a registration that ends with the owner.
    pub mode: CreateMode,
    /// Whether to create with a protected (`_c_<uuid>-`) name, so a lost reply leaves no
    /// ghost; recommended for sequential modes.
    pub protected: bool,
}

impl PersistentNode {
    /// Starts keeping `spec`'s node with `data`.
    pub fn start(client: &Client, spec: NodeSpec, data: Vec<u8>) -> Result<PersistentNode> {
        path::validate(&spec.path, spec.mode.is_sequential())?;
        let (path_in, actual_path) = watch::channel(None);
        let (stop, stopped) = oneshot::channel();
        let data = Arc::new(StdMutex::new(data));
        let task = NodeTask {
            client: client.clone(),
            spec,
            data: data.clone(),
            actual_path: path_in,
            states: client.state_stream(),
            rng: client.id_rng(),
        };
        let handle = tokio::spawn(task.run(stopped));
        Ok(PersistentNode {
            client: client.clone(),
            actual_path,
            data,
            stop: Some(stop),
            task: Some(handle),
        })
    }

    /// The node's path now, with its sequence number; `None` while it does not exist.
    pub fn actual_path(&self) -> Option<String> {
        self.actual_path.borrow().clone()
    }

    /// Waits until the node exists, at most `timeout`; its path, or `None` on timeout.
    pub async fn await_created(&self, timeout: Duration) -> Result<Option<String>> {
        let mut path = self.actual_path.clone();
        let created = tokio::time::timeout(timeout, async {
            path.wait_for(Option::is_some)
                .await
                .map(|path| path.clone())
        })
        .await;
        match created {
            Ok(Ok(path)) => Ok(path),
            Ok(Err(_)) => Err(Error::Closed),
            Err(_) => Ok(None),
        }
    }

    /// Changes the node's data (now, and for every re-creation).
    pub async fn set_data(&self, data: &[u8]) -> Result<()> {
        if let Ok(mut current) = self.data.lock() {
            *current = data.to_vec();
        }
        match self.actual_path() {
            Some(path) => match self.client.set_data(&path, data, None).await {
                Ok(_) => Ok(()),
                // It will be re-created with the new data.
                Err(error) if error.is_no_node() => Ok(()),
                Err(error) => Err(error),
            },
            None => Ok(()),
        }
    }

    /// Stops and deletes the node.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for PersistentNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct NodeTask {
    client: Client,
    spec: NodeSpec,
    data: Arc<StdMutex<Vec<u8>>>,
    actual_path: watch::Sender<Option<String>>,
    states: StateStream,
    rng: SeededRng,
}

/// What ended a wait.
enum Wake {
    Stop,
    Again,
}

impl NodeTask {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        loop {
            let wake = tokio::select! {
                _ = &mut stopped => Wake::Stop,
                wake = self.keep() => wake,
            };
            if let Wake::Stop = wake {
                break;
            }
        }
        let path = self.actual_path.send_replace(None);
        if let Some(path) = path {
            delete_quietly(&self.client, &path).await;
        }
    }

    /// Creates the node if needed, then waits for it to go (or for the session to change).
    async fn keep(&mut self) -> Wake {
        let current = self.actual_path.borrow().clone();
        let path = match current {
            Some(path) => path,
            None => match self.create().await {
                Ok(Some(path)) => {
                    self.actual_path.send_replace(Some(path.clone()));
                    path
                }
                Ok(None) => return Wake::Again,
                Err(Error::Closed) => return Wake::Stop,
                Err(error) => {
                    tracing::debug!(%error, path = %self.spec.path, "persistent node not created yet");
                    return self.pause().await;
                }
            },
        };
        let watch = match self.client.exists_watch(&path).await {
            Ok((Some(_), watch)) => watch,
            Ok((None, _)) => {
                self.actual_path.send_replace(None);
                return Wake::Again;
            }
            Err(Error::Closed) => return Wake::Stop,
            Err(_) => return self.pause().await,
        };
        tokio::select! {
            fired = watch => match fired {
                Err(Error::Closed) => Wake::Stop,
                // Deleted, or the session expired: check (and re-create) again.
                _ => {
                    if self.client.exists(&path).await.ok().flatten().is_none() {
                        self.actual_path.send_replace(None);
                    }
                    Wake::Again
                }
            },
            state = self.states.next() => match state {
                None | Some(ConnectionState::Closed) => Wake::Stop,
                Some(ConnectionState::Expired) => {
                    self.actual_path.send_replace(None);
                    Wake::Again
                }
                Some(_) => Wake::Again,
            },
        }
    }

    /// Creates the node; `Ok(None)` when a non-sequential node of another session is in the
    /// way (after waiting for it to change).
    async fn create(&mut self) -> Result<Option<String>> {
        let data = self.data.lock().map(|d| d.clone()).unwrap_or_default();
        let created = if self.spec.protected {
            let parent = path::parent(&self.spec.path).unwrap_or("/");
            let name = path::node_name(&self.spec.path);
            create_protected(
                &self.client,
                parent,
                name,
                &data,
                self.spec.mode,
                &mut self.rng,
            )
            .await
        } else {
            match self
                .client
                .create(&self.spec.path, &data, self.spec.mode)
                .await
            {
                Err(error) if error.is_no_node() => {
                    self.client.ensure_parent(&self.spec.path).await?;
                    self.client
                        .create(&self.spec.path, &data, self.spec.mode)
                        .await
                }
                other => other,
            }
        };
        match created {
            Ok(path) => Ok(Some(path)),
            Err(error) if error.is_node_exists() => {
                // Ours (a create whose reply was lost, or from before a reconnection)?
                let (stat, watch) = self.client.exists_watch(&self.spec.path).await?;
                match stat {
                    Some(stat)
                        if !self.spec.mode.is_ephemeral()
                            || stat.ephemeral_owner == self.client.session().session_id.0 =>
                    {
                        self.client.set_data(&self.spec.path, &data, None).await?;
                        Ok(Some(self.spec.path.clone()))
                    }
                    Some(_) => {
                        // Another session's node: wait for it to change, then try again.
                        let _ = watch.await;
                        Ok(None)
                    }
                    None => Ok(None),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn pause(&mut self) -> Wake {
        tokio::select! {
            () = tokio::time::sleep(RETRY_PAUSE) => Wake::Again,
            state = self.states.next() => match state {
                None | Some(ConnectionState::Closed) => Wake::Stop,
                _ => Wake::Again,
            },
        }
    }
}
