//! Canal-style active/standby: every instance of a destination tries to create the
//! ephemeral `running` node holding its address; the one that succeeds is active, the
//! others stand by watching the node. When the active stops, its session ends, the node
//! goes, and a standby takes over (after a short delay, so a brief network hiccup of the
//! active does not make the role flap).
//!
//! `cargo run -p zk-recipes --example canal_running_monitor -- 127.0.0.1:2181`

mod common;

use common::{bounded, connect, server_address, AnyResult, STEP_LIMIT};
use std::time::{Duration, Instant};
use zk_recipes::recipes::running::RunningMonitor;

/// Canal's layout: `/otter/canal/destinations/<destination>/running`.
const DESTINATION: &str = "/otter/canal/destinations/example";
const RUNNING_PATH: &str = "/otter/canal/destinations/example/running";
/// How long a standby waits after the node vanished before taking over.
const TAKEOVER_DELAY: Duration = Duration::from_secs(1);

fn running_data(address: &str) -> Vec<u8> {
    format!(r#"{{"active":true,"address":"{address}","cid":1}}"#).into_bytes()
}

fn show(data: &Option<Vec<u8>>) -> String {
    data.as_deref()
        .map(|data| String::from_utf8_lossy(data).into_owned())
        .unwrap_or_else(|| "nobody".to_owned())
}

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();

    // Instance 1 starts first and becomes active.
    let first_session = connect(&address).await?;
    let first = RunningMonitor::start(
        &first_session,
        RUNNING_PATH,
        &running_data("10.0.0.1:11111"),
        TAKEOVER_DELAY,
    )?;
    bounded(
        "instance 1 to be active",
        STEP_LIMIT,
        first.changes().wait_for(|s| s.active),
    )
    .await??;
    println!("instance 1: active");

    // Instance 2 starts and stands by, seeing who is active.
    let second_session = connect(&address).await?;
    let second = RunningMonitor::start(
        &second_session,
        RUNNING_PATH,
        &running_data("10.0.0.2:11111"),
        TAKEOVER_DELAY,
    )?;
    let mut second_view = second.changes();
    let view = bounded(
        "instance 2 to see the active one",
        STEP_LIMIT,
        second_view.wait_for(|s| s.active_data.is_some()),
    )
    .await??
    .clone();
    println!(
        "instance 2: standby (active is {})",
        show(&view.active_data)
    );

    // Instance 1 stops: its process ends, its session is closed, the node goes.
    let stopped_at = Instant::now();
    first_session.close().await;
    drop(first);
    println!("instance 1: stopped");

    let view = bounded(
        "instance 2 to take over",
        STEP_LIMIT,
        second_view.wait_for(|s| s.active),
    )
    .await??
    .clone();
    println!(
        "instance 2: active after {:.1?} (running node holds {})",
        stopped_at.elapsed(),
        show(&view.active_data)
    );

    // Graceful stop: release deletes the running node.
    second.release().await;
    second_session.delete_all(DESTINATION).await?;
    second_session.close().await;
    Ok(())
}
