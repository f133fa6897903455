//! Two candidates for leadership: one leads, and when it is done (it releases) the other
//! takes over.
//!
//! Curator's `LeaderSelector` layout: each candidate queues on a fair lock at the election
//! path; the lock holder is the leader and runs its leadership task; leadership passes on
//! when that task returns, or is cancelled if the leader's connection is suspended.
//!
//! `cargo run -p zk-recipes --example leader_selector -- 127.0.0.1:2181`

mod common;

use common::{bounded, connect, server_address, AnyResult, STEP_LIMIT};
use std::time::Duration;
use tokio::sync::mpsc;
use zk_recipes::recipes::leader::LeaderSelector;

const ELECTION_PATH: &str = "/examples/leader";
/// How long each leader keeps leadership: its "term" of work.
const TERM: Duration = Duration::from_millis(500);

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();
    let (terms_in, mut terms) = mpsc::channel::<String>(4);

    let mut candidates = Vec::new();
    for id in ["candidate-A", "candidate-B"] {
        // Each candidate is its own "process", with its own session.
        let session = connect(&address).await?;
        let terms_in = terms_in.clone();
        let leader_id = id.to_owned();
        // No auto-requeue: each candidate leads once, so the example ends.
        let selector = LeaderSelector::start(&session, ELECTION_PATH, id, false, move |_client| {
            let id = leader_id.clone();
            let terms_in = terms_in.clone();
            async move {
                println!("{id}: I am the leader");
                tokio::time::sleep(TERM).await;
                println!("{id}: done, giving up leadership");
                let _ = terms_in.send(id).await;
            }
        })?;
        candidates.push((session, selector));
    }
    drop(terms_in);

    // Wait (bounded) until both have been elected, one after the other.
    let mut order = Vec::new();
    for _ in 0..2 {
        let leader = bounded("a leadership term", STEP_LIMIT, terms.recv())
            .await?
            .ok_or("the candidates stopped early")?;
        order.push(leader);
    }
    println!("leadership order: {order:?}");

    for (session, selector) in candidates {
        selector.close().await;
        session.close().await;
    }
    let cleanup = connect(&address).await?;
    cleanup.delete_all(ELECTION_PATH).await?;
    cleanup.close().await;
    Ok(())
}
