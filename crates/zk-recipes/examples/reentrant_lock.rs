//! A reentrant mutex: the holder acquires twice and must release twice before anyone
//! else gets in.
//!
//! Reentrancy is counted in the handle, not on the server: the second acquire creates no
//! second node, and only the last release deletes the one lock node.
//!
//! `cargo run -p zk-recipes --example reentrant_lock -- 127.0.0.1:2181`

mod common;

use common::{connect, server_address, AnyResult, STEP_LIMIT};
use std::time::Duration;
use zk_recipes::recipes::lock::Mutex;

const LOCK_PATH: &str = "/examples/reentrant_lock";
/// How long the other process tries while the lock is held: short, it is expected to fail.
const SHORT_TRY: Duration = Duration::from_millis(300);

#[tokio::main]
async fn main() -> AnyResult {
    let address = server_address();
    let holder_session = connect(&address).await?;
    let other_session = connect(&address).await?;
    let mut holder = Mutex::new(&holder_session, LOCK_PATH)?;
    let mut other = Mutex::new(&other_session, LOCK_PATH)?;

    if !holder.try_acquire(STEP_LIMIT).await? {
        return Err("could not take the lock (is another run still holding it?)".into());
    }
    println!(
        "holder: acquire #1 -> node {}",
        holder.node_path().unwrap_or("?")
    );
    if !holder.try_acquire(STEP_LIMIT).await? {
        return Err("reentrant acquire failed".into());
    }
    println!(
        "holder: acquire #2 -> node {} (same node)",
        holder.node_path().unwrap_or("?")
    );
    println!("lock nodes: {:?}", holder.participants().await?);

    holder.release().await?;
    println!("holder: release #1 -> still held: {}", holder.is_held());
    let got = other.try_acquire(SHORT_TRY).await?;
    println!("other:  try for {SHORT_TRY:?} -> acquired: {got}");

    holder.release().await?;
    println!("holder: release #2 -> still held: {}", holder.is_held());
    let got = other.try_acquire(STEP_LIMIT).await?;
    println!("other:  try for {STEP_LIMIT:?} -> acquired: {got}");
    if got {
        other.release().await?;
        println!("other:  released");
    }

    holder_session.delete_all(LOCK_PATH).await?;
    holder_session.close().await;
    other_session.close().await;
    Ok(())
}
