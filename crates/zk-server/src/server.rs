//! Composition: recovers the data from disk, builds the actors, binds the client port, and
//! runs until a signal (or a fatal storage error).

use crate::actors::connection::Peers;
use crate::actors::listener::accept_loop;
use crate::actors::log::{LogActor, LogRecipients};
use crate::actors::session::SessionActor;
use crate::actors::tree::{TakeSnapshot, TreeActor, TreeActorParts};
use crate::actors::watch::WatchActor;
use crate::config::ServerConfig;
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::stats::ServerStats;
use crate::storage::{self, StorageConfig, StorageError};
use actix::{Actor, Arbiter, AsyncContext, Context};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use zk_proto::ServerId;
use zk_tree::TreeConfig;

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
    #[error("the transaction log failed; see the log above")]
    StorageFailed,
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

/// Runs a standalone server until SIGINT or SIGTERM.
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
    let tree_config = TreeConfig {
        extended_types_enabled: config.extended_types_enabled,
        super_digest: config.super_digest.clone(),
    };
    let started = std::time::Instant::now();
    let recovered = storage::recover(&storage_config, tree_config)?;
    let mut tree = recovered.tree;
    tracing::info!(
        zxid = %tree.last_applied_zxid(),
        znodes = tree.node_count(),
        replayed = recovered.replayed_txns,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "data recovered"
    );
    // A per-process seed keeps clients from choosing names that collide in the child index.
    tree.set_index_seed(random_seed());
    let restored_sessions: Vec<_> = tree.sessions().collect();
    let snapshot_after_replay = recovered.replayed_txns > 0;

    let config = Arc::new(config);
    let stats = Arc::new(ServerStats::default());
    let fatal = Arc::new(Notify::new());
    let pipeline = Pipeline::new(
        tree,
        PipelineLimits {
            max_in_flight_writes: MAX_IN_FLIGHT_WRITES,
        },
    );

    // The tree, the final stage and the log share this thread; sockets and decoding run on
    // a second one. On two cores that splits the work roughly in half, and the messages of
    // the write path (tree → log → tree → final stage) never cross threads.
    let final_stage = WatchActor::new(stats.clone()).start();
    let tree_context = Context::<TreeActor>::new();
    let log = LogActor::start(
        recovered.log,
        LogRecipients {
            durable: tree_context.address().recipient(),
            snapshot_due: tree_context.address().recipient(),
            failed: tree_context.address().recipient(),
        },
        &storage_config,
    )?;
    let tree = tree_context.run(TreeActor::new(TreeActorParts {
        pipeline,
        final_stage: final_stage.clone(),
        log,
        container_check_interval: Duration::from_millis(config.container_check_interval_ms),
        stats: stats.clone(),
        fatal: fatal.clone(),
    }));
    if snapshot_after_replay {
        tree.do_send(TakeSnapshot);
    }
    let sessions = SessionActor::new(
        STANDALONE_SERVER_ID,
        config.clone(),
        tree.clone(),
        restored_sessions,
        stats.clone(),
    )
    .start();

    let listener = TcpListener::bind(config.client_address)
        .await
        .map_err(|source| ServerError::Bind {
            address: config.client_address,
            source,
        })?;
    let address = listener.local_addr().unwrap_or(config.client_address);
    tracing::info!(%address, data_dir = %config.data_dir.display(), "serving clients (standalone)");
    let peers = Peers {
        tree,
        sessions,
        final_stage,
        stats,
        config,
    };
    let network = Arbiter::new();
    let listener = std::sync::Mutex::new(Some(listener));
    network.spawn_fn(move || {
        if let Some(listener) = listener.lock().ok().and_then(|mut slot| slot.take()) {
            actix::spawn(accept_loop(listener, peers));
        }
    });

    let outcome = tokio::select! {
        signal = wait_for_shutdown_signal() => signal,
        _ = fatal.notified() => Err(ServerError::StorageFailed),
    };
    tracing::info!("shutting down");
    network.stop();
    outcome
}

/// A random 64-bit value from the standard library's per-process hashing keys.
fn random_seed() -> u64 {
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
