//! Composition: builds the actors, binds the client port, runs until a signal.

use crate::actors::connection::Peers;
use crate::actors::listener::accept_loop;
use crate::actors::session::SessionActor;
use crate::actors::tree::TreeActor;
use crate::actors::watch::WatchActor;
use crate::config::ServerConfig;
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::stats::ServerStats;
use actix::{Actor, Arbiter};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use zk_proto::ServerId;
use zk_tree::{DataTree, TreeConfig};

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// The id standalone servers put in the high byte of session ids, as the reference does.
const STANDALONE_SERVER_ID: ServerId = ServerId(1);

/// Writes prepared but not yet committed before the server stops accepting more.
const MAX_IN_FLIGHT_WRITES: usize = 100_000;

/// Runs a standalone server until SIGINT or SIGTERM.
pub async fn run(config: ServerConfig) -> Result<(), ServerError> {
    for dir in [&config.data_dir, &config.data_log_dir] {
        std::fs::create_dir_all(dir).map_err(|source| ServerError::DataDir {
            path: dir.clone(),
            source,
        })?;
    }
    let config = Arc::new(config);
    let stats = Arc::new(ServerStats::default());
    let mut tree = DataTree::new(TreeConfig {
        extended_types_enabled: config.extended_types_enabled,
        super_digest: config.super_digest.clone(),
    });
    // A per-process seed keeps clients from choosing names that collide in the child index.
    tree.set_index_seed(random_seed());
    let restored_sessions: Vec<_> = tree.sessions().collect();
    let pipeline = Pipeline::new(
        tree,
        PipelineLimits {
            max_in_flight_writes: MAX_IN_FLIGHT_WRITES,
        },
    );

    // The tree and the final stage share a thread of their own; sockets, decoding and
    // sessions stay on this one. On two cores that splits the work roughly in half, and
    // messages between the tree and the final stage never cross threads.
    let core = Arbiter::new();
    let final_stage = WatchActor::start_in_arbiter(&core.handle(), {
        let stats = stats.clone();
        move |_| WatchActor::new(stats)
    });
    let container_check_interval = Duration::from_millis(config.container_check_interval_ms);
    let tree = TreeActor::start_in_arbiter(&core.handle(), {
        let (final_stage, stats) = (final_stage.clone(), stats.clone());
        move |_| TreeActor::new(pipeline, final_stage, container_check_interval, stats)
    });
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
    let accepting = actix::spawn(accept_loop(listener, peers));

    wait_for_shutdown_signal().await?;
    tracing::info!("shutting down");
    accepting.abort();
    core.stop();
    Ok(())
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
