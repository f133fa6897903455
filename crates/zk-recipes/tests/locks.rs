//! Locks and leader election against our server: mutual exclusion under contention,
//! protected mode after a lost create reply, semaphores, read-write lock, multi-lock,
//! leader latch and selector.

mod common;

use common::proxy::FaultProxy;
use common::server::Server;
use common::{bounded, connect, eventually, wait_state};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zk_proto::OpCode;
use zk_recipes::recipes::leader::{LeaderLatch, LeaderSelector};
use zk_recipes::recipes::lock::{MultiLock, Mutex, ReadWriteLock, Semaphore, SemaphoreMutex, Side};
use zk_recipes::recipes::protected::is_protected;
use zk_recipes::{ConnectionState, CreateMode, Error, ErrorCode};

/// Several clients (separate sessions) take a mutex in turns; an in-process counter checks
/// that no two ever hold it at once, and the holder is always the first node in line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_excludes_under_contention() {
    const CLIENTS: usize = 5;
    const ROUNDS: usize = 4;
    let server = Server::start();
    let holders = Arc::new(AtomicUsize::new(0));
    let acquisitions = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let client = connect(&server.address()).await;
        let holders = holders.clone();
        let acquisitions = acquisitions.clone();
        tasks.push(tokio::spawn(async move {
            let mut mutex = Mutex::new(&client, "/locks/contended").unwrap();
            for _ in 0..ROUNDS {
                mutex.acquire().await.unwrap();
                assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                let participants = mutex.participants().await.unwrap();
                let ours = mutex
                    .node_path()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned();
                assert_eq!(participants[0], ours, "the holder is first in line");
                assert!(is_protected(&ours), "{ours}");
                tokio::time::sleep(Duration::from_millis(5)).await;
                holders.fetch_sub(1, Ordering::SeqCst);
                acquisitions.fetch_add(1, Ordering::SeqCst);
                mutex.release().await.unwrap();
            }
            client.close().await;
        }));
    }
    for task in tasks {
        bounded("contending clients", task).await.unwrap();
    }
    assert_eq!(acquisitions.load(Ordering::SeqCst), CLIENTS * ROUNDS);
    let observer = connect(&server.address()).await;
    let left = observer
        .get_children("/locks/contended")
        .await
        .unwrap_or_default();
    assert!(left.is_empty(), "no lock node left behind: {left:?}");
}

#[tokio::test]
async fn mutex_is_reentrant_per_handle_and_times_out() {
    let server = Server::start();
    let a = connect(&server.address()).await;
    let b = connect(&server.address()).await;
    let mut first = Mutex::new(&a, "/locks/reentrant").unwrap();
    let mut second = Mutex::new(&b, "/locks/reentrant").unwrap();
    first.acquire().await.unwrap();
    first.acquire().await.unwrap();
    assert!(!second
        .try_acquire(Duration::from_millis(200))
        .await
        .unwrap());
    assert_eq!(
        second.participants().await.unwrap().len(),
        1,
        "a timed-out waiter removes its node"
    );
    first.release().await.unwrap();
    assert!(first.is_held(), "one hold left");
    assert!(!second
        .try_acquire(Duration::from_millis(100))
        .await
        .unwrap());
    first.release().await.unwrap();
    assert!(second.try_acquire(Duration::from_secs(5)).await.unwrap());
    assert_eq!(
        first.release().await,
        Err(Error::IllegalState(
            "release of a mutex this handle does not hold"
        ))
    );
}

/// An acquire abandoned while it waits (its future dropped, as by a `select!` or a
/// timeout) removes its queued node, so it cannot block the waiters behind it.
#[tokio::test]
async fn an_abandoned_acquire_leaves_no_node() {
    let server = Server::start();
    let a = connect(&server.address()).await;
    let b = connect(&server.address()).await;
    let mut holder = Mutex::new(&a, "/locks/abandoned").unwrap();
    holder.acquire().await.unwrap();
    let mut waiter = Mutex::new(&b, "/locks/abandoned").unwrap();
    let abandoned = tokio::time::timeout(Duration::from_millis(300), waiter.acquire()).await;
    assert!(abandoned.is_err(), "still waiting when dropped");
    eventually("the abandoned node to go", || async {
        (holder.participants().await.ok()?.len() == 1).then_some(())
    })
    .await;
    holder.release().await.unwrap();
    assert!(waiter.try_acquire(Duration::from_secs(5)).await.unwrap());
}

/// The reply to the lock node's create is lost (the server created it): a plain create,
/// retried, leaves a ghost node; the protected create finds its own node instead, so the
/// lock is acquired with exactly one node and nothing is left after release.
#[tokio::test]
async fn protected_create_leaves_no_ghost_after_a_lost_reply() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.port()).await;
    let client = connect(&proxy.address()).await;
    let observer = connect(&server.address()).await;
    observer.ensure_path("/ghosts/plain").await.unwrap();
    observer.ensure_path("/ghosts/lock").await.unwrap();

    // Unprotected, the naive way: the retry creates a second node.
    proxy.lose_reply_to(OpCode::Create);
    let lost = client
        .create("/ghosts/plain/n-", b"", CreateMode::EphemeralSequential)
        .await;
    assert_eq!(lost, Err(Error::Keeper(ErrorCode::ConnectionLoss)));
    assert!(proxy.reply_was_lost());
    client
        .create("/ghosts/plain/n-", b"", CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(
        observer.get_children("/ghosts/plain").await.unwrap().len(),
        2,
        "the lost create left a ghost"
    );

    // Protected (the mutex's create): no ghost.
    proxy.lose_reply_to(OpCode::Create);
    let mut mutex = Mutex::new(&client, "/ghosts/lock").unwrap();
    bounded("acquire after a lost reply", mutex.acquire())
        .await
        .unwrap();
    assert!(proxy.reply_was_lost(), "the fault was injected");
    assert_eq!(
        observer.get_children("/ghosts/lock").await.unwrap().len(),
        1,
        "exactly one lock node"
    );
    mutex.release().await.unwrap();
    assert!(observer
        .get_children("/ghosts/lock")
        .await
        .unwrap_or_default()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_grants_at_most_max_leases() {
    let server = Server::start();
    let in_use = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = connect(&server.address()).await;
        let in_use = in_use.clone();
        let peak = peak.clone();
        tasks.push(tokio::spawn(async move {
            let mut semaphore = Semaphore::new(&client, "/semaphores/two", 2).unwrap();
            for _ in 0..3 {
                let lease = semaphore.acquire().await.unwrap();
                let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                assert!(now <= 2, "{now} leases at once");
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                in_use.fetch_sub(1, Ordering::SeqCst);
                lease.release().await;
            }
        }));
    }
    for task in tasks {
        bounded("semaphore users", task).await.unwrap();
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "both leases were used at once"
    );

    let client = connect(&server.address()).await;
    let mut semaphore = Semaphore::new(&client, "/semaphores/two", 2).unwrap();
    let held = semaphore
        .try_acquire_many(2, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert!(semaphore
        .try_acquire(Duration::from_millis(200))
        .await
        .unwrap()
        .is_none());
    for lease in held {
        lease.release().await;
    }

    let mut mutex = SemaphoreMutex::new(&client, "/semaphores/mutex").unwrap();
    mutex.acquire().await.unwrap();
    assert!(matches!(mutex.acquire().await, Err(Error::IllegalState(_))));
    mutex.release().await.unwrap();
}

#[tokio::test]
async fn read_write_lock_shares_reads_and_excludes_writes() {
    let server = Server::start();
    let clients = [
        connect(&server.address()).await,
        connect(&server.address()).await,
        connect(&server.address()).await,
    ];
    let mut reader_one = ReadWriteLock::new(&clients[0], "/rw").unwrap();
    let mut reader_two = ReadWriteLock::new(&clients[1], "/rw").unwrap();
    let mut writer = ReadWriteLock::new(&clients[2], "/rw").unwrap();
    reader_one.acquire(Side::Read).await.unwrap();
    assert!(reader_two
        .try_acquire(Side::Read, Duration::from_secs(5))
        .await
        .unwrap());
    assert!(!writer
        .try_acquire(Side::Write, Duration::from_millis(200))
        .await
        .unwrap());
    reader_one.release(Side::Read).await.unwrap();
    reader_two.release(Side::Read).await.unwrap();
    assert!(writer
        .try_acquire(Side::Write, Duration::from_secs(5))
        .await
        .unwrap());
    assert!(!reader_one
        .try_acquire(Side::Read, Duration::from_millis(200))
        .await
        .unwrap());
    // The writer may also read (downgrade).
    assert!(writer
        .try_acquire(Side::Read, Duration::from_secs(5))
        .await
        .unwrap());
    writer.release(Side::Write).await.unwrap();
    writer.release(Side::Read).await.unwrap();
    assert!(reader_one
        .try_acquire(Side::Read, Duration::from_secs(5))
        .await
        .unwrap());
}

#[tokio::test]
async fn multi_lock_holds_all_or_none() {
    let server = Server::start();
    let a = connect(&server.address()).await;
    let b = connect(&server.address()).await;
    let mut blocker = Mutex::new(&a, "/multi/two").unwrap();
    blocker.acquire().await.unwrap();
    let mut both = MultiLock::new(&b, &["/multi/one", "/multi/two"]).unwrap();
    assert!(!both.try_acquire(Duration::from_millis(300)).await.unwrap());
    assert!(
        b.get_children("/multi/one")
            .await
            .unwrap_or_default()
            .is_empty(),
        "the first lock was given back"
    );
    blocker.release().await.unwrap();
    assert!(both.try_acquire(Duration::from_secs(5)).await.unwrap());
    assert!(both.is_held());
    both.release().await.unwrap();
}

#[tokio::test]
async fn leader_latch_elects_one_and_hands_over() {
    let server = Server::start();
    let mut latches = Vec::new();
    for id in ["a", "b", "c"] {
        let client = connect(&server.address()).await;
        latches.push(LeaderLatch::start(&client, "/election/latch", id).unwrap());
        // Join in order, so that "a" leads.
        let latch = latches.last().unwrap();
        eventually("the latch node", || async { latch.our_path() }).await;
    }
    assert!(latches[0]
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let participants = latches[1].participants().await.unwrap();
    let ids: Vec<&str> = participants.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(participants[0].is_leader);
    assert!(!latches[1].has_leadership() && !latches[2].has_leadership());

    let first = latches.remove(0);
    first.close().await;
    assert!(latches[0]
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    assert!(!latches[1].has_leadership());
}

/// A leader whose connection is suspended gives up leadership, and takes it back after
/// reconnecting (it is the only participant).
#[tokio::test]
async fn leader_latch_gives_up_leadership_while_suspended() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.port()).await;
    let client = connect(&proxy.address()).await;
    let latch = LeaderLatch::start(&client, "/election/suspend", "only").unwrap();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let mut leadership = latch.leadership();
    proxy.partition();
    wait_state(&client, ConnectionState::Suspended).await;
    bounded("leadership lost", leadership.wait_for(|leads| !*leads))
        .await
        .unwrap();
    proxy.heal();
    assert!(latch
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
}

/// Two selectors with auto-requeue take turns; never both at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_selector_takes_turns_and_requeues() {
    let server = Server::start();
    let leading = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut selectors = Vec::new();
    for index in 0..2 {
        let client = connect(&server.address()).await;
        let leading = leading.clone();
        let terms = terms.clone();
        selectors.push(
            LeaderSelector::start(
                &client,
                "/election/selector",
                &format!("s{index}"),
                true,
                move |_client| {
                    let leading = leading.clone();
                    let terms = terms.clone();
                    async move {
                        assert_eq!(leading.fetch_add(1, Ordering::SeqCst), 0, "two leaders");
                        tokio::time::sleep(Duration::from_millis(30)).await;
                        leading.fetch_sub(1, Ordering::SeqCst);
                        terms[index].fetch_add(1, Ordering::SeqCst);
                    }
                },
            )
            .unwrap(),
        );
    }
    eventually("both selectors to lead three times", || async {
        (terms[0].load(Ordering::SeqCst) >= 3 && terms[1].load(Ordering::SeqCst) >= 3).then_some(())
    })
    .await;
    for selector in selectors {
        selector.close().await;
    }
}

/// A leader's task is cancelled when its connection is suspended (Curator's
/// `CancelLeadershipException`), and the selector leads again after reconnecting.
#[tokio::test]
async fn leader_selector_cancels_leadership_on_suspension() {
    let server = Server::start();
    let proxy = FaultProxy::start(server.port()).await;
    let client = connect(&proxy.address()).await;
    let started = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    struct CountOnDrop(Arc<AtomicUsize>);
    impl Drop for CountOnDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let selector = LeaderSelector::start(&client, "/election/cancel", "only", true, {
        let started = started.clone();
        let cancelled = cancelled.clone();
        move |_client| {
            let started = started.clone();
            let guard = CountOnDrop(cancelled.clone());
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                // Leads until cancelled.
                std::future::pending::<()>().await;
                drop(guard);
            }
        }
    })
    .unwrap();
    eventually("leadership", || async {
        (started.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    assert!(selector.has_leadership());
    proxy.partition();
    eventually("leadership cancelled", || async {
        (cancelled.load(Ordering::SeqCst) == 1).then_some(())
    })
    .await;
    assert!(!selector.has_leadership());
    proxy.heal();
    eventually("leadership again", || async {
        (started.load(Ordering::SeqCst) == 2).then_some(())
    })
    .await;
    selector.close().await;
}
