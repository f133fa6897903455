//! Leader selector: Curator's `LeaderSelector`, with its layout (a [`Mutex`] at the path,
//! nodes `_c_<uuid>-lock-<sequence>` holding the participant's id). The leader runs the
//! caller's leadership future; leadership ends when the future completes, and is cancelled
//! (the future dropped) when the connection is suspended or lost, as Curator's
//! `LeaderSelectorListenerAdapter` does. With auto-requeue the selector then queues again;
//! otherwise it waits for [`LeaderSelector::requeue`].

use super::Participant;
use crate::client::Client;
use crate::error::Result;
use crate::recipes::lock::mutex::LOCK_NAME;
use crate::recipes::lock::Mutex;
use crate::state::{ConnectionState, StateStream};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;

/// Pause before queueing again after a failed attempt.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// A participant that runs a leadership task whenever it is elected.
#[derive(Debug)]
pub struct LeaderSelector {
    client: Client,
    path: String,
    leading: watch::Receiver<bool>,
    requeue: Arc<Notify>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LeaderSelector {
    /// Joins the election at `path` as `id`. Each time this participant is elected it runs
    /// `take_leadership(client)`; when that returns (or is cancelled by a suspended
    /// connection) leadership passes on, and with `auto_requeue` this participant queues
    /// again.
    pub fn start<F, Fut>(
        client: &Client,
        path: &str,
        id: &str,
        auto_requeue: bool,
        take_leadership: F,
    ) -> Result<LeaderSelector>
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mutex = Mutex::new(client, path)?.with_node_data(id.as_bytes().to_vec());
        let (leading_in, leading) = watch::channel(false);
        let (stop, stopped) = oneshot::channel();
        let requeue = Arc::new(Notify::new());
        let task = SelectorTask {
            client: client.clone(),
            mutex,
            leading: leading_in,
            states: client.state_stream(),
            requeue: requeue.clone(),
            auto_requeue,
        };
        let handle = tokio::spawn(task.run(stopped, take_leadership));
        Ok(LeaderSelector {
            client: client.clone(),
            path: path.to_owned(),
            leading,
            requeue,
            stop: Some(stop),
            task: Some(handle),
        })
    }

    /// Whether the leadership task is running now.
    pub fn has_leadership(&self) -> bool {
        *self.leading.borrow()
    }

    /// Leadership changes as a `watch` receiver.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }

    /// Queues again after leadership ended (without auto-requeue).
    pub fn requeue(&self) {
        self.requeue.notify_one();
    }

    /// Every participant in election order, with their ids.
    pub async fn participants(&self) -> Result<Vec<Participant>> {
        super::participants(&self.client, &self.path, &[LOCK_NAME]).await
    }

    /// Leaves the election: cancels a running leadership task and deletes this
    /// participant's node.
    pub async fn close(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for LeaderSelector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct SelectorTask {
    client: Client,
    mutex: Mutex,
    leading: watch::Sender<bool>,
    states: StateStream,
    requeue: Arc<Notify>,
    auto_requeue: bool,
}

impl SelectorTask {
    async fn run<F, Fut>(mut self, mut stopped: oneshot::Receiver<()>, take_leadership: F)
    where
        F: Fn(Client) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        loop {
            let acquired = tokio::select! {
                _ = &mut stopped => break,
                acquired = self.mutex.acquire() => acquired,
            };
            if let Err(error) = acquired {
                tracing::debug!(%error, "leader selector could not queue; retrying");
                tokio::select! {
                    _ = &mut stopped => break,
                    () = tokio::time::sleep(RETRY_PAUSE) => continue,
                }
            }
            self.leading.send_replace(true);
            let stop_now = tokio::select! {
                () = take_leadership(self.client.clone()) => false,
                () = wait_for_trouble(&mut self.states) => {
                    tracing::info!("leadership cancelled: connection suspended or lost");
                    false
                }
                _ = &mut stopped => true,
            };
            self.leading.send_replace(false);
            if let Err(error) = self.mutex.release().await {
                tracing::debug!(%error, "leader selector release failed");
            }
            if stop_now {
                return;
            }
            if !self.auto_requeue {
                tokio::select! {
                    _ = &mut stopped => break,
                    () = self.requeue.notified() => {}
                }
            }
        }
        if self.mutex.is_held() {
            let _ = self.mutex.release().await;
        }
        self.leading.send_replace(false);
    }
}

/// Resolves when the connection is suspended, lost, expired or closed.
async fn wait_for_trouble(states: &mut StateStream) {
    loop {
        match states.next().await {
            None
            | Some(
                ConnectionState::Suspended
                | ConnectionState::Lost
                | ConnectionState::Expired
                | ConnectionState::Closed,
            ) => return,
            Some(_) => {}
        }
    }
}
