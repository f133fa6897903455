//! Shared by the examples: the server address, connecting, and bounded waits.
//!
//! Each example includes this file with `mod common;`; not every example uses every item.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;
use zk_recipes::{Client, ClientConfig};

/// What `main` and the spawned tasks return: any error, printed by `main` on exit.
pub type AnyResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The longest any single step of an example may wait: the examples never hang.
pub const STEP_LIMIT: Duration = Duration::from_secs(5);

/// The server to talk to: the first command-line argument, or a local default.
pub fn server_address() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:2181".to_owned())
}

/// Opens one session. Every "process" of a scenario gets its own, because ephemeral
/// nodes (registrations, lock nodes, the `running` node) belong to a session.
pub async fn connect(address: &str) -> AnyResult<Client> {
    let mut config = ClientConfig::new(address);
    // Fail within a few seconds when no server listens, instead of the 15 s default.
    config.initial_connect_timeout = Duration::from_secs(5);
    // Short sessions: if an example is killed, its ephemeral nodes go away soon after.
    config.session_timeout = Duration::from_secs(6);
    Ok(Client::connect(config).await?)
}

/// Runs `future` for at most `limit`; a timeout becomes an error naming `what`.
pub async fn bounded<T>(
    what: &str,
    limit: Duration,
    future: impl Future<Output = T>,
) -> AnyResult<T> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| format!("timed out after {limit:?} waiting for {what}").into())
}
