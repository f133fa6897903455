//! The [`Client`] handle: cheap to clone, shared by tasks and recipes. Every clone talks to
//! the same session task; the session closes when [`Client::close`] is called or the last
//! clone is dropped.
//!
//! - [`ops`]: the wire protocol's operations as methods.
//! - [`op`]: builders for the operations of a `multi`.
//! - [`paths`]: helpers built on the operations (`ensure_path`, `delete_all`).

pub mod op;
pub mod ops;
pub mod paths;

use crate::config::ClientConfig;
use crate::connect_string::ConnectString;
use crate::error::{Error, Result};
use crate::host_list::HostList;
use crate::path::Chroot;
use crate::rng::SeededRng;
use crate::session::task::SessionTask;
use crate::session::{Command, Reply, SessionInfo, SessionSnapshot, Submission, WatchIntent};
use crate::state::{ConnectionState, StatePublisher, StateStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};
use zk_proto::{ErrorCode, RequestBody, ResponseBody};

/// An asynchronous ZooKeeper client. Clone it freely: clones share one session.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    info: Arc<SessionInfo>,
    states: StatePublisher,
    chroot: Chroot,
    config: Arc<ClientConfig>,
    rng: Mutex<SeededRng>,
    next_watch_id: AtomicU64,
}

impl Client {
    /// Starts a client and waits for its first session (at most
    /// `config.initial_connect_timeout`; then `ConnectionLoss`, and the client is closed).
    pub async fn connect(config: ClientConfig) -> Result<Client> {
        let client = Client::start(config)?;
        let wait = client.inner.config.initial_connect_timeout;
        let mut states = client.state_watch();
        let connected = tokio::time::timeout(wait, async {
            states
                .wait_for(|state| state.is_connected() || *state == ConnectionState::Closed)
                .await
                .map(|state| *state)
        })
        .await;
        match connected {
            Ok(Ok(state)) if state.is_connected() => Ok(client),
            _ => {
                client.close().await;
                Err(Error::Keeper(ErrorCode::ConnectionLoss))
            }
        }
    }

    /// Starts a client without waiting: requests made before the session is established
    /// wait for it.
    pub fn start(config: ClientConfig) -> Result<Client> {
        config.validate()?;
        let connect_string = ConnectString::parse(&config.connect_string)?;
        let mut rng = match config.seed {
            Some(seed) => SeededRng::new(seed),
            None => SeededRng::from_entropy(),
        };
        let hosts = HostList::new(connect_string.hosts, &mut rng);
        let config = Arc::new(config);
        let (commands, command_receiver) = mpsc::channel(config.max_outstanding_requests);
        let info = Arc::new(SessionInfo::default());
        let states = StatePublisher::new(config.state_event_queue_limit);
        let task = SessionTask::new(
            config.clone(),
            hosts,
            connect_string.chroot.clone(),
            command_receiver,
            info.clone(),
            states.clone(),
        );
        // One span per client: every event of its session task carries the session id.
        let span = tracing::info_span!("zk_session", session_id = tracing::field::Empty);
        tokio::spawn(tracing::Instrument::instrument(task.run(), span));
        Ok(Client {
            inner: Arc::new(Inner {
                commands,
                info,
                states,
                chroot: connect_string.chroot,
                config,
                rng: Mutex::new(rng),
                next_watch_id: AtomicU64::new(1),
            }),
        })
    }

    /// Closes the session (the server deletes its ephemeral nodes at once) and waits for the
    /// server's confirmation, at most `close_timeout`. Every clone is closed.
    pub async fn close(&self) {
        let (done, confirmed) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Close { done })
            .await
            .is_ok()
        {
            let _ = confirmed.await;
        }
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.inner.states.current()
    }

    /// Every state change from now on.
    pub fn state_stream(&self) -> StateStream {
        self.inner.states.subscribe()
    }

    /// The current state as a `tokio::sync::watch` receiver (`wait_for` a state).
    pub fn state_watch(&self) -> watch::Receiver<ConnectionState> {
        self.inner.states.watch()
    }

    /// The session's id, password, negotiated timeout and last zxid seen.
    pub fn session(&self) -> SessionSnapshot {
        self.inner.info.snapshot()
    }

    /// The configuration the client runs with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The chroot of the connect string (empty prefix for none).
    pub fn chroot(&self) -> &Chroot {
        &self.inner.chroot
    }

    /// A generator seeded from the client's generator: replayable when the client is seeded.
    pub fn fork_rng(&self) -> SeededRng {
        let seed = self
            .inner
            .rng
            .lock()
            .map(|mut rng| rng.next_u64())
            .unwrap_or_else(|_| crate::rng::entropy_seed());
        SeededRng::new(seed)
    }

    /// A generator for ids that must be unique across processes (protected-mode ids, queue
    /// receipts, barrier members). It is always seeded from the OS, never from
    /// `config.seed`: two processes configured with the same seed must still not make the
    /// same ids, or one would take the other's node for its own.
    pub fn id_rng(&self) -> SeededRng {
        SeededRng::from_entropy()
    }

    /// Waits until the client is connected (`Connected` or `Reconnected`), at most `timeout`.
    pub async fn wait_connected(&self, timeout: std::time::Duration) -> Result<()> {
        let mut states = self.state_watch();
        let reached = tokio::time::timeout(timeout, async {
            states
                .wait_for(|state| state.is_connected() || *state == ConnectionState::Closed)
                .await
                .map(|state| *state)
        })
        .await;
        match reached {
            Ok(Ok(state)) if state.is_connected() => Ok(()),
            Ok(_) => Err(Error::Closed),
            Err(_) => Err(Error::Timeout),
        }
    }

    // ----- plumbing shared by the operations -----

    /// Sends a request and waits for its reply, whatever its result code.
    pub(crate) async fn call(
        &self,
        body: RequestBody,
        watch: Option<WatchIntent>,
    ) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Submit(Submission { body, watch, reply }))
            .await
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)?
    }

    /// Sends a request; a non-zero result code is an error.
    pub(crate) async fn call_ok(
        &self,
        body: RequestBody,
        watch: Option<WatchIntent>,
    ) -> Result<ResponseBody> {
        let reply = self.call(body, watch).await?;
        if reply.err != 0 {
            return Err(Error::from_wire_code(reply.err));
        }
        Ok(reply.body)
    }

    pub(crate) async fn send_command(&self, command: Command) -> Result<()> {
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| Error::Closed)
    }

    pub(crate) fn weak_commands(&self) -> mpsc::WeakSender<Command> {
        self.inner.commands.downgrade()
    }

    pub(crate) fn next_watch_id(&self) -> u64 {
        self.inner.next_watch_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The server path for a caller's path, after validating it.
    pub(crate) fn server_path(&self, path: &str, sequential: bool) -> Result<String> {
        crate::path::validate(path, sequential)?;
        Ok(self.inner.chroot.to_server(path))
    }

    pub(crate) fn client_path(&self, server_path: &str) -> String {
        self.inner.chroot.to_client(server_path)
    }
}

/// A reply body that is not the one the request's opcode calls for: the server broke the
/// protocol.
pub(crate) fn unexpected(body: &ResponseBody) -> Error {
    tracing::warn!(kind = ?body.kind(), "unexpected reply body");
    Error::Keeper(ErrorCode::MarshallingError)
}
