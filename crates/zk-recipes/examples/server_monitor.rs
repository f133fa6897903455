//! Servers going online and offline under `/servers`, and a client that prints the live
//! list whenever it changes.
//!
//! Each server registers an ephemeral sequential node `/servers/server<seq>` holding its
//! host name; the node lives as long as the server's session, so a server that stops (or
//! crashes and lets its session expire) drops out of the list by itself.
//!
//! `cargo run -p zk-recipes --example server_monitor -- 127.0.0.1:2181`

mod common;

use common::{bounded, connect, server_address, AnyResult, STEP_LIMIT};
use std::sync::Arc;
use tokio::sync::oneshot;
use zk_recipes::recipes::server_set::{register_server, ServerSetMonitor};

const SERVERS_PATH: &str = "/servers";

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();

    // The client side: follows the children of /servers.
    let watcher = connect(&address).await?;
    watcher.ensure_path(SERVERS_PATH).await?;
    let monitor = Arc::new(ServerSetMonitor::start(&watcher, SERVERS_PATH).await?);
    println!("client: live servers at start: {:?}", monitor.servers());

    // Print every change the monitor publishes until told to stop. Changes that come
    // faster than the printer may be seen together: the monitor holds the latest list.
    let (stop_printer, printer_stopped) = oneshot::channel::<()>();
    let printer = tokio::spawn({
        let monitor = monitor.clone();
        async move {
            let mut last = monitor.servers();
            tokio::pin!(printer_stopped);
            loop {
                tokio::select! {
                    _ = &mut printer_stopped => break,
                    changed = monitor.wait_for(|servers| servers != last.as_slice()) => {
                        match changed {
                            Ok(servers) => {
                                println!("client: live servers changed: {servers:?}");
                                last = servers;
                            }
                            Err(error) => {
                                println!("client: monitor ended: {error}");
                                break;
                            }
                        }
                    }
                }
            }
        }
    });

    // Three servers come online, each with its own session.
    let hosts = ["hadoop102", "hadoop103", "hadoop104"];
    let mut servers = Vec::new();
    for host in hosts {
        let session = connect(&address).await?;
        let registration = register_server(&session, SERVERS_PATH, host).await?;
        let node = bounded(
            "registration",
            STEP_LIMIT,
            registration.await_joined(STEP_LIMIT),
        )
        .await??;
        println!("{host}: online as {}", node.unwrap_or_default());
        // Wait until the client has seen it, so each step shows up on its own.
        bounded(
            "the client to see it",
            STEP_LIMIT,
            monitor.wait_for(|s| s.iter().any(|h| h == host)),
        )
        .await??;
        servers.push((host, session, registration));
    }

    // hadoop103 shuts down cleanly: it deletes its node.
    let (host, session, registration) = servers.remove(1);
    registration.leave().await;
    session.close().await;
    println!("{host}: offline (left)");
    bounded(
        "the client to see it",
        STEP_LIMIT,
        monitor.wait_for(|s| !s.iter().any(|h| h == host)),
    )
    .await??;

    // hadoop102's process ends: closing its session removes the ephemeral node, as the
    // server would after a crash once the session timed out.
    let (host, session, registration) = servers.remove(0);
    session.close().await;
    drop(registration);
    println!("{host}: offline (session closed)");
    bounded(
        "the client to see it",
        STEP_LIMIT,
        monitor.wait_for(|s| !s.iter().any(|h| h == host)),
    )
    .await??;

    // The last one leaves too.
    for (host, session, registration) in servers {
        registration.leave().await;
        session.close().await;
        println!("{host}: offline (left)");
    }
    let last = bounded(
        "an empty list",
        STEP_LIMIT,
        monitor.wait_for(|s| s.is_empty()),
    )
    .await??;
    println!("client: final list: {last:?}");

    let _ = stop_printer.send(());
    bounded("the printer", STEP_LIMIT, printer).await??;
    watcher.close().await;
    Ok(())
}
