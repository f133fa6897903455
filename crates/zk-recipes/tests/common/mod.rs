//! Shared test support: our server and the reference server as child processes on free
//! loopback ports (one of each shared per test binary), a root path per test on them and
//! the macro that runs a test body against both, a fault-injecting TCP proxy, and bounded
//! waits.
#![allow(dead_code)]

pub mod proxy;
pub mod server;
pub mod target;

use std::future::Future;
use std::time::Duration;
use zk_recipes::{Client, ClientConfig};

/// The session timeout most tests ask for (the test servers allow 400 ms to 10 s).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(4);

/// The session timeout of tests that expire sessions: short to keep them fast, long enough
/// (pings every 400 ms, a connection declared dead after 800 ms of silence) that a loaded
/// machine does not drop connections by itself.
pub const SHORT_SESSION_TIMEOUT: Duration = Duration::from_millis(1200);

/// A connected client for `connect_string` with [`SHORT_SESSION_TIMEOUT`].
pub async fn connect_short(connect_string: &str) -> Client {
    let mut short = config(connect_string);
    short.session_timeout = SHORT_SESSION_TIMEOUT;
    Client::connect(short)
        .await
        .unwrap_or_else(|error| panic!("connecting to {connect_string}: {error}"))
}

/// Waits until the server has expired `session`'s ephemeral node at `marker` (created by
/// the test before cutting the session off), as seen by `observer`.
pub async fn wait_expired_on_server(observer: &Client, marker: &str) {
    eventually("the server to expire the session", || async {
        observer.exists(marker).await.ok()?.is_none().then_some(())
    })
    .await;
}

/// Every wait in these tests is bounded by this unless a test says otherwise.
pub const WAIT: Duration = Duration::from_secs(15);

/// A client config for `connect_string` with a fixed seed and the default session timeout.
pub fn config(connect_string: &str) -> ClientConfig {
    let mut config = ClientConfig::new(connect_string);
    config.session_timeout = SESSION_TIMEOUT;
    config.initial_connect_timeout = Duration::from_secs(10);
    config.seed = Some(42);
    config
}

/// A connected client for `connect_string`.
pub async fn connect(connect_string: &str) -> Client {
    Client::connect(config(connect_string))
        .await
        .unwrap_or_else(|error| panic!("connecting to {connect_string}: {error}"))
}

/// Runs `future` with the default bound; a timeout fails the test naming `what`.
pub async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    bounded_for(WAIT, what, future).await
}

/// Runs `future` for at most `limit`; a timeout fails the test naming `what`.
pub async fn bounded_for<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {limit:?} waiting for {what}"),
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    bounded(what, async {
        loop {
            if let Some(value) = check().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Waits for the client's state to become `wanted`.
pub async fn wait_state(client: &Client, wanted: zk_recipes::ConnectionState) {
    let mut states = client.state_watch();
    bounded(
        &format!("state {wanted:?}"),
        states.wait_for(|s| *s == wanted),
    )
    .await
    .expect("client task alive");
}
