//! Active/standby with a `running` node, as Canal's `ServerRunningMonitor` does: every
//! instance tries to create the ephemeral node holding its own data; the one that succeeds
//! is active, the others stand by watching the node. When the node disappears, the instance
//! that was active last takes over at once (its own connection blipped), and any other
//! waits `takeover_delay` first, so a brief network hiccup of the active does not make the
//! role flap between instances.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::path;
use crate::state::{ConnectionState, StateStream};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use zk_proto::CreateMode;

/// Pause before trying again after a failed call.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Who is active, as this instance sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningState {
    /// Whether this instance is the active one.
    pub active: bool,
    /// The data the active instance wrote (`None` while nobody is).
    pub active_data: Option<Vec<u8>>,
}

/// One instance taking part in active/standby on a `running` node.
#[derive(Debug)]
pub struct RunningMonitor {
    state: watch::Receiver<RunningState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningMonitor {
    /// Starts competing for `running_path` with `data` (this instance's address, say).
    pub fn start(
        client: &Client,
        running_path: &str,
        data: &[u8],
        takeover_delay: Duration,
    ) -> Result<RunningMonitor> {
        path::validate(running_path, false)?;
        let (state_in, state) = watch::channel(RunningState {
            active: false,
            active_data: None,
        });
        let (stop, stopped) = oneshot::channel();
        let task = RunningTask {
            client: client.clone(),
            path: running_path.to_owned(),
            data: data.to_vec(),
            takeover_delay,
            state: state_in,
            states: client.state_stream(),
            was_active: false,
        };
        let handle = tokio::spawn(task.run(stopped));
        Ok(RunningMonitor {
            state,
            stop: Some(stop),
            task: Some(handle),
        })
    }

    /// Whether this instance is active now.
    pub fn is_active(&self) -> bool {
        self.state.borrow().active
    }

    /// The current view (who is active).
    pub fn state(&self) -> RunningState {
        self.state.borrow().clone()
    }

    /// Every change of the view.
    pub fn changes(&self) -> watch::Receiver<RunningState> {
        self.state.clone()
    }

    /// Stops taking part; if active, releases the node so a standby takes over.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningMonitor {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct RunningTask {
    client: Client,
    path: String,
    data: Vec<u8>,
    takeover_delay: Duration,
    state: watch::Sender<RunningState>,
    states: StateStream,
    /// Whether this instance held the node last (decides the takeover delay).
    was_active: bool,
}

impl RunningTask {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut delay_first = false;
        loop {
            let step = tokio::select! {
                _ = &mut stopped => None,
                next = self.round(delay_first) => Some(next),
            };
            match step {
                None | Some(Err(Error::Closed)) => break,
                Some(Ok(delay)) => delay_first = delay,
                Some(Err(error)) => {
                    tracing::debug!(%error, path = %self.path, "running monitor retrying");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    delay_first = false;
                }
            }
        }
        let was_active = self.state.borrow().active;
        if was_active {
            // Release: delete the node only if it is still ours.
            if let Ok((_, stat)) = self.client.get_data(&self.path).await {
                if stat.ephemeral_owner == self.client.session().session_id.0 {
                    let _ = self.client.delete(&self.path, Some(stat.version)).await;
                }
            }
        }
        self.publish(false, None);
    }

    /// Tries to become active, then watches the node until it goes; returns whether the
    /// next attempt must wait the takeover delay.
    async fn round(&mut self, delay_first: bool) -> Result<bool> {
        if delay_first {
            tokio::time::sleep(self.takeover_delay).await;
        }
        match self
            .client
            .create(&self.path, &self.data, CreateMode::Ephemeral)
            .await
        {
            Ok(_) => {}
            Err(error) if error.is_node_exists() => {}
            Err(error) if error.is_no_node() => {
                self.client.ensure_parent(&self.path).await?;
                return Ok(false);
            }
            Err(error) => return Err(error),
        }
        let (data, stat, watch) = match self.client.get_data_watch(&self.path).await {
            Ok(read) => read,
            // Gone again already: compete at once.
            Err(error) if error.is_no_node() => return Ok(false),
            Err(error) => return Err(error),
        };
        let mine = stat.ephemeral_owner == self.client.session().session_id.0;
        self.was_active = mine;
        self.publish(mine, Some(data));
        tokio::pin!(watch);
        // Set once the connection was interrupted while watching; a Connected report that
        // is not the end of an interruption (such as the stream's first, current state)
        // must not make a standby skip its takeover delay.
        let mut interrupted = false;
        loop {
            tokio::select! {
                state = self.states.next() => match state {
                    None | Some(ConnectionState::Closed) => return Err(Error::Closed),
                    // Not knowing whether our session lives, we cannot claim to be active.
                    Some(ConnectionState::Suspended | ConnectionState::Lost | ConnectionState::Expired) => {
                        interrupted = true;
                        let active_data = self.state.borrow().active_data.clone();
                        self.publish(false, active_data);
                    }
                    Some(ConnectionState::Connected | ConnectionState::Reconnected) if interrupted => {
                        // Look again (our node may have gone with an expired session).
                        return Ok(false);
                    }
                    Some(ConnectionState::Connected | ConnectionState::Reconnected | ConnectionState::Connecting) => {}
                },
                fired = &mut watch => {
                    return match fired {
                        Err(Error::Closed) => Err(Error::Closed),
                        Ok(event) if event.event_type == zk_proto::EventType::NodeDeleted => {
                            self.publish(false, None);
                            // The last active instance takes over at once; others wait.
                            Ok(!self.was_active)
                        }
                        _ => Ok(false),
                    };
                }
            }
        }
    }

    fn publish(&self, active: bool, active_data: Option<Vec<u8>>) {
        let view = RunningState {
            active,
            active_data,
        };
        self.state.send_if_modified(|current| {
            let changed = *current != view;
            if changed && current.active != view.active {
                tracing::info!(path = %self.path, active, "running state");
            }
            *current = view;
            changed
        });
    }
}
