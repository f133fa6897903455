//! Composition: builds the actors, binds the client port, runs until a signal.

use crate::actors::connection::Peers;
use crate::actors::listener::accept_loop;
use crate::actors::session::SessionActor;
use crate::actors::tree::TreeActor;
use crate::actors::watch::WatchActor;
use crate::config::ServerConfig;
use crate::pipeline::{Pipeline, PipelineLimits};
use crate::stats::ServerStats;
use actix::Actor;
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
    DataDir { path: std::path::PathBuf, source: std::io::Error },
    #[error("cannot listen on {address}: {source}")]
    Bind { address: std::net::SocketAddr, source: std::io::Error },
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
        std::fs::create_dir_all(dir).map_err(|source| ServerError::DataDir { path: dir.clone(), source })?;
    }
    let config = Arc::new(config);
    let stats = Arc::new(ServerStats::default());
    let tree = DataTree::new(TreeConfig {
        extended_types_enabled: config.extended_types_enabled,
        super_digest: config.super_digest.clone(),
    });
    let restored_sessions: Vec<_> = tree.sessions().collect();
    let pipeline = Pipeline::new(tree, PipelineLimits { max_in_flight_writes: MAX_IN_FLIGHT_WRITES });

    let final_stage = WatchActor::new(stats.clone()).start();
    let container_check_interval = Duration::from_millis(config.container_check_interval_ms);
    let tree = TreeActor::new(pipeline, final_stage.clone(), container_check_interval, stats.clone()).start();
    let sessions =
        SessionActor::new(STANDALONE_SERVER_ID, config.clone(), tree.clone(), restored_sessions, stats.clone()).start();

    let listener = TcpListener::bind(config.client_address)
        .await
        .map_err(|source| ServerError::Bind { address: config.client_address, source })?;
    let address = listener.local_addr().unwrap_or(config.client_address);
    tracing::info!(%address, data_dir = %config.data_dir.display(), "serving clients (standalone)");
    let peers = Peers { tree, sessions, final_stage, stats, config };
    let accepting = actix::spawn(accept_loop(listener, peers));

    wait_for_shutdown_signal().await?;
    tracing::info!("shutting down");
    accepting.abort();
    Ok(())
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
