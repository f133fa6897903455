//! Several tasks take a fair distributed mutex in turn and print the order.
//!
//! Each waiter creates an ephemeral sequential node under the lock path (Curator's
//! `InterProcessMutex` layout) and watches only its predecessor: when that node goes, the
//! next in line takes the lock. No herd wakes up on a release, and the lock is granted in
//! the order the nodes were created (first come, first served).
//!
//! `cargo run -p zk-recipes --example fair_lock -- 127.0.0.1:2181`

mod common;

use common::{bounded, connect, server_address, AnyResult, STEP_LIMIT};
use std::time::Duration;
use tokio::sync::mpsc;
use zk_recipes::recipes::lock::Mutex;

const LOCK_PATH: &str = "/examples/fair_lock";
const WORKERS: usize = 4;
/// How long each worker keeps the lock: its "critical section".
const HOLD: Duration = Duration::from_millis(100);

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();
    let client = connect(&address).await?;

    // main holds the lock first, so the workers queue up behind it in a known order.
    let mut gate = Mutex::new(&client, LOCK_PATH)?;
    if !gate.try_acquire(STEP_LIMIT).await? {
        return Err("main could not take the lock (is another run still holding it?)".into());
    }
    println!(
        "main: holds the lock as {}",
        gate.node_path().unwrap_or("?")
    );

    let (order_in, mut order) = mpsc::channel(WORKERS);
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        // Each worker is its own "process": its own session and handle.
        let session = connect(&address).await?;
        let order_in = order_in.clone();
        workers.push(tokio::spawn(async move {
            let mut lock = Mutex::new(&session, LOCK_PATH)?;
            // Bounded: a worker gives up rather than waiting forever.
            if !lock.try_acquire(STEP_LIMIT * 2).await? {
                return Err(format!("worker {worker} timed out").into());
            }
            println!(
                "worker {worker}: acquired as {}",
                lock.node_path().unwrap_or("?")
            );
            let _ = order_in.send(worker).await;
            tokio::time::sleep(HOLD).await;
            lock.release().await?;
            println!("worker {worker}: released");
            session.close().await;
            AnyResult::Ok(())
        }));
        // Wait until this worker's node is queued before starting the next one, so the
        // queue order is the start order (polling, bounded).
        bounded("the worker to queue", STEP_LIMIT, async {
            while gate.participants().await.map(|p| p.len()).unwrap_or(0) < worker + 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await?;
    }
    drop(order_in);
    println!("main: queue is {:?}", gate.participants().await?);

    gate.release().await?;
    println!("main: released; the workers go in queue order");

    let mut seen = Vec::new();
    while let Some(worker) = bounded("the next worker", STEP_LIMIT, order.recv()).await? {
        seen.push(worker);
    }
    for worker in workers {
        bounded("a worker to finish", STEP_LIMIT, worker).await???;
    }
    println!("main: lock order {seen:?}");

    client.delete_all(LOCK_PATH).await?;
    client.close().await;
    Ok(())
}
