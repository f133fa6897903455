//! Composition: recovers the data from disk, builds the actors, binds the client port, and
//! runs until a signal (or a fatal storage error).

use crate::actors::broadcast::{BroadcastActor, BroadcastParts};
use crate::actors::connection::Peers;
use crate::actors::election::ElectionActor;
use crate::actors::listener::accept_loop;
use crate::actors::log::{LogActor, LogRecipients, Persisted};
use crate::actors::session::SessionActor;
use crate::actors::tree::{ConnectEnsemble, TakeSnapshot, TreeActor, TreeActorParts};
use crate::actors::watch::WatchActor;
use crate::config::ServerConfig;
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::quorum::payload::TxnPayload;
use crate::quorum::status::{Mode, SharedQuorumStatus};
use crate::quorum::timing::{self, QuorumConfigError};
use crate::stats::ServerStats;
use crate::storage::{self, epochs, StorageConfig, StorageError};
use actix::{Actor, Addr, AsyncContext, Context};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use zk_proto::ServerId;
use zk_tree::TreeConfig;
use zk_zab::{PersistedState, QuorumPeer};

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot recover the data: {0}")]
    Storage(#[from] StorageError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("the transaction log or the ensemble state failed; see the log above")]
    StorageFailed,
    #[error("invalid ensemble configuration: {0}")]
    QuorumConfig(#[from] QuorumConfigError),
    #[error("cannot listen on peer address {address}: {source}")]
    PeerBind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot start the ensemble member: {0}")]
    Ensemble(String),
}

/// The id standalone servers put in the high byte of session ids, as the reference does.
const STANDALONE_SERVER_ID: ServerId = ServerId(1);

/// Writes prepared but not yet committed before the server stops accepting more.
const MAX_IN_FLIGHT_WRITES: usize = 100_000;

/// The storage settings of a server configuration.
pub fn storage_config(config: &ServerConfig) -> StorageConfig {
    StorageConfig {
        data_log_dir: config.data_log_dir.clone(),
        snap_count: config.snap_count,
        snap_size_limit_bytes: config.snap_size_limit_bytes,
        snapshot_seed: random_seed(),
        preallocation_bytes: config.preallocation_bytes,
        force_sync: config.force_sync,
        snap_retain_count: config.snap_retain_count,
        purge_interval_hours: config.purge_interval_hours,
        ..StorageConfig::new(&config.data_dir)
    }
}

/// Runs the server until SIGINT or SIGTERM: standalone, or as a member of the ensemble
/// that the `server.N` lines describe.
pub async fn run(config: ServerConfig) -> Result<(), ServerError> {
    for dir in [&config.data_dir, &config.data_log_dir] {
        std::fs::create_dir_all(dir).map_err(|source| ServerError::DataDir {
            path: dir.clone(),
            source,
        })?;
    }
    let (storage_config, warnings) = storage_config(&config).normalize()?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    // Like Apache with standaloneEnabled: one server line (or none) is a standalone server.
    if config.peers.len() > 1 {
        run_ensemble_member(config, storage_config).await
    } else {
        run_standalone(config, storage_config).await
    }
}

fn tree_config(config: &ServerConfig) -> TreeConfig {
    TreeConfig {
        extended_types_enabled: config.extended_types_enabled,
        super_digest: config.super_digest.clone(),
        // One random seed per process: clients cannot choose names that collide in the
        // child index (see `TreeConfig::index_seed`).
        index_seed: *PROCESS_INDEX_SEED,
    }
}

async fn run_standalone(
    config: ServerConfig,
    storage_config: StorageConfig,
) -> Result<(), ServerError> {
    let started = std::time::Instant::now();
    let recovered = storage::recover(&storage_config, tree_config(&config))?;
    let tree = recovered.tree;
    tracing::info!(
        zxid = %tree.last_applied_zxid(),
        znodes = tree.node_count(),
        replayed = recovered.replayed_txns,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "data recovered"
    );
    let restored_sessions: Vec<_> = tree.sessions().collect();
    let snapshot_after_replay = recovered.replayed_txns > 0;

    let config = Arc::new(config);
    let core = start_core(&config, tree, recovered.log, &storage_config, None)?;
    if snapshot_after_replay {
        core.tree.do_send(TakeSnapshot);
    }
    let sessions = SessionActor::new(
        STANDALONE_SERVER_ID,
        config.clone(),
        core.tree.clone(),
        restored_sessions,
        core.stats.clone(),
    )
    .start();
    serve_clients(
        config,
        core,
        sessions,
        Arc::new(SharedQuorumStatus::default()),
    )
    .await
}

async fn run_ensemble_member(
    config: ServerConfig,
    storage_config: StorageConfig,
) -> Result<(), ServerError> {
    let my_id = timing::read_my_id(&config)?;
    let (tick_period, zab_config) = timing::zab_config(&config, my_id)?;
    let started = std::time::Instant::now();
    let quorum_recovered = storage::recover_for_quorum(&storage_config, tree_config(&config))?;
    let recovered = quorum_recovered.recovered;
    let tree = recovered.tree;
    let persisted = PersistedState {
        accepted_epoch: epochs::read(&config.data_dir, epochs::ACCEPTED_EPOCH_FILE)?,
        current_epoch: epochs::read(&config.data_dir, epochs::CURRENT_EPOCH_FILE)?,
        snapshot_zxid: tree.last_applied_zxid(),
        log: quorum_recovered
            .log_after_snapshot
            .into_iter()
            .map(|txn| {
                let zxid = txn.zxid;
                TxnPayload { origin: None, txn }
                    .encode()
                    .map(|data| zk_zab::Txn::new(zxid, data))
                    .map_err(|error| {
                        ServerError::Ensemble(format!("cannot encode txn {zxid}: {error}"))
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    tracing::info!(
        %my_id,
        snapshot_zxid = %persisted.snapshot_zxid,
        logged_after_snapshot = persisted.log.len(),
        accepted_epoch = persisted.accepted_epoch.0,
        current_epoch = persisted.current_epoch.0,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ensemble member recovered"
    );
    let voters = zab_config.ensemble.voters().clone();
    let (peer, initial_commands) = QuorumPeer::start(zab_config, persisted)
        .map_err(|error| ServerError::Ensemble(error.to_string()))?;

    let me = config
        .peers
        .iter()
        .find(|peer| peer.id == my_id)
        .cloned()
        .ok_or(ServerError::Ensemble(format!("no server.{my_id} line")))?;
    let quorum_listener = bind(&me.host, me.quorum_port).await?;
    let election_listener = bind(&me.host, me.election_port).await?;
    let others = config.peers.iter().filter(|peer| peer.id != my_id);
    let quorum_addresses = others
        .clone()
        .map(|peer| (peer.id, format!("{}:{}", peer.host, peer.quorum_port)))
        .collect();
    let election_addresses = others
        .map(|peer| (peer.id, format!("{}:{}", peer.host, peer.election_port)))
        .collect();

    let config = Arc::new(config);
    let status = Arc::new(SharedQuorumStatus::default());
    status.update(|status| {
        status.mode = Mode::Looking;
        status.my_id = Some(my_id);
        status.voters = voters.len();
    });
    let broadcast_context = Context::<BroadcastActor>::new();
    let broadcast_address = broadcast_context.address();
    let core = start_core(
        &config,
        tree,
        recovered.log,
        &storage_config,
        Some(broadcast_address.clone().recipient()),
    )?;
    let sessions = SessionActor::new(
        my_id,
        config.clone(),
        core.tree.clone(),
        Vec::new(),
        core.stats.clone(),
    )
    .in_ensemble(broadcast_address.clone().recipient())
    .start();
    core.tree.do_send(ConnectEnsemble {
        broadcast: broadcast_address.clone(),
        sessions_applied: sessions.clone().recipient(),
        session_role: sessions.clone().recipient(),
    });
    let election = ElectionActor::new(
        my_id,
        election_addresses,
        broadcast_address,
        election_listener,
    )
    .start();
    broadcast_context.run(BroadcastActor::new(
        BroadcastParts {
            peer,
            initial_commands,
            tick_period,
            quorum_addresses,
            listener: quorum_listener,
            data_dir: config.data_dir.clone(),
            tree: core.tree.clone(),
            log: core.log.clone(),
            sessions: sessions.clone(),
            status: status.clone(),
            fatal: core.fatal.clone(),
            voters: voters.into_iter().collect(),
        },
        election,
    ));
    serve_clients(config, core, sessions, status).await
}

async fn bind(host: &str, port: u16) -> Result<TcpListener, ServerError> {
    let address = format!("{host}:{port}");
    TcpListener::bind(&address)
        .await
        .map_err(|source| ServerError::PeerBind { address, source })
}

/// The actors every server has: the tree (with its pipeline), the final stage and the log.
struct Core {
    tree: Addr<TreeActor>,
    final_stage: Addr<WatchActor>,
    log: Addr<LogActor>,
    stats: Arc<ServerStats>,
    fatal: Arc<Notify>,
}

fn start_core(
    config: &ServerConfig,
    tree: zk_tree::DataTree,
    log: storage::TxnLog,
    storage_config: &StorageConfig,
    persisted: Option<actix::Recipient<Persisted>>,
) -> Result<Core, ServerError> {
    let stats = Arc::new(ServerStats::default());
    let fatal = Arc::new(Notify::new());
    let pipeline = Pipeline::new(
        tree,
        PipelineLimits {
            max_in_flight_writes: MAX_IN_FLIGHT_WRITES,
        },
    );
    // Every actor, the client connections included, shares this thread; only file I/O has
    // threads of its own (log sync, segment preallocation, snapshots). A request then
    // crosses no thread unless it waits for an fsync, and a lone write not even then (the
    // LogActor syncs small batches itself while the disk is quick). Measured on two cores
    // against sockets on a second arbiter: lone writes 3.7k -> 4.4-5.0k/s at 96-107 instead
    // of 138 us of server CPU, 8x100 writes 245-264k -> 276-310k/s, 8x100 reads 1.47-1.89M
    // -> 1.37-1.47M/s at less CPU per read; ensembles unchanged.
    let final_stage = WatchActor::new(stats.clone()).start();
    let tree_context = Context::<TreeActor>::new();
    let log = LogActor::start(
        log,
        LogRecipients {
            durable: tree_context.address().recipient(),
            persisted,
            snapshot_due: tree_context.address().recipient(),
            failed: tree_context.address().recipient(),
        },
        storage_config,
    )?;
    let tree = tree_context.run(TreeActor::new(TreeActorParts {
        pipeline,
        final_stage: final_stage.clone(),
        log: log.clone(),
        container_check_interval: Duration::from_millis(config.container_check_interval_ms),
        stats: stats.clone(),
        fatal: fatal.clone(),
        tree_config: tree_config(config),
    }));
    Ok(Core {
        tree,
        final_stage,
        log,
        stats,
        fatal,
    })
}

/// Binds the client port, serves clients, and waits for a signal or a fatal failure.
async fn serve_clients(
    config: Arc<ServerConfig>,
    core: Core,
    sessions: Addr<SessionActor>,
    quorum: Arc<SharedQuorumStatus>,
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(config.client_address)
        .await
        .map_err(|source| ServerError::Bind {
            address: config.client_address,
            source,
        })?;
    let address = listener.local_addr().unwrap_or(config.client_address);
    tracing::info!(%address, data_dir = %config.data_dir.display(), "serving clients");
    let peers = Peers {
        tree: core.tree,
        sessions,
        final_stage: core.final_stage,
        stats: core.stats,
        config,
        quorum,
    };
    actix::spawn(accept_loop(listener, peers));

    let outcome = tokio::select! {
        signal = wait_for_shutdown_signal() => signal,
        _ = core.fatal.notified() => Err(ServerError::StorageFailed),
    };
    tracing::info!("shutting down");
    outcome
}

/// The child index's seed for every tree this process builds or restores.
static PROCESS_INDEX_SEED: std::sync::LazyLock<u64> = std::sync::LazyLock::new(random_seed);

/// A random 64-bit value from the standard library's per-process hashing keys.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

async fn wait_for_shutdown_signal() -> Result<(), ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    Ok(())
}
