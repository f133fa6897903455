//! Locks and leader election, each test against our server and against Apache ZooKeeper
//! 3.8 (`name::ours`, `name::reference`): mutual exclusion under contention, fairness,
//! a holder told of its session's loss,
//! protected mode after a lost create reply, semaphores, read-write lock, multi-lock,
//! leader latch and selector.

mod common;

use common::proxy::FaultProxy;
use common::target::TestRoot;
use common::{bounded, connect, eventually, wait_state};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zk_proto::OpCode;
use zk_recipes::recipes::leader::{LeaderLatch, LeaderSelector};
use zk_recipes::recipes::lock::{
    LockLoss, MultiLock, Mutex, ReadWriteLock, Semaphore, SemaphoreMutex, Side,
};
use zk_recipes::recipes::protected::is_protected;
use zk_recipes::{ConnectionState, CreateMode, Error, ErrorCode};

/// The last segment of a node path.
fn node_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Ten sessions take a mutex in turns. Inside the lock each increments a counter znode by a
/// plain read and an unconditional write (an overlap would lose an increment), and records
/// when it held the lock; no two holds may overlap, and the holder is always the first node
/// in line.
async fn mutex_excludes_ten_sessions(root: TestRoot) {
    const SESSIONS: usize = 10;
    const ROUNDS: usize = 3;
    let setup = connect(&root.address()).await;
    setup
        .create("/counter", b"0", CreateMode::Persistent)
        .await
        .unwrap();
    let holders = Arc::new(AtomicUsize::new(0));
    let holds = Arc::new(std::sync::Mutex::new(Vec::<(Instant, Instant)>::new()));
    let mut tasks = Vec::new();
    for _ in 0..SESSIONS {
        let client = connect(&root.address()).await;
        let holders = holders.clone();
        let holds = holds.clone();
        tasks.push(tokio::spawn(async move {
            let mut mutex = Mutex::new(&client, "/locks/contended").unwrap();
            for _ in 0..ROUNDS {
                mutex.acquire().await.unwrap();
                let entered = Instant::now();
                assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                let participants = mutex.participants().await.unwrap();
                let ours = node_name(mutex.node_path().unwrap());
                assert_eq!(participants[0], ours, "the holder is first in line");
                assert!(is_protected(&ours), "{ours}");
                let (value, _) = client.get_data("/counter").await.unwrap();
                let value: u64 = String::from_utf8(value).unwrap().parse().unwrap();
                // Give an intruder the chance to read the same value.
                tokio::time::sleep(Duration::from_millis(2)).await;
                client
                    .set_data("/counter", (value + 1).to_string().as_bytes(), None)
                    .await
                    .unwrap();
                holders.fetch_sub(1, Ordering::SeqCst);
                holds.lock().unwrap().push((entered, Instant::now()));
                mutex.release().await.unwrap();
            }
            client.close().await;
        }));
    }
    for task in tasks {
        bounded("contending sessions", task).await.unwrap();
    }
    let (counter, _) = setup.get_data("/counter").await.unwrap();
    let expected = (SESSIONS * ROUNDS).to_string();
    assert_eq!(
        String::from_utf8(counter).unwrap(),
        expected,
        "no lost increment"
    );
    let mut holds = holds.lock().unwrap().clone();
    assert_eq!(holds.len(), SESSIONS * ROUNDS);
    holds.sort();
    for pair in holds.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two holds overlap: {pair:?}");
    }
    let left = setup
        .get_children("/locks/contended")
        .await
        .unwrap_or_default();
    assert!(left.is_empty(), "no lock node left behind: {left:?}");
}
on_both_servers!(
    mutex_excludes_ten_sessions,
    flavor = "multi_thread",
    worker_threads = 2
);

/// Waiters get the mutex in the order they queued (each watches its predecessor only).
async fn mutex_is_fair(root: TestRoot) {
    const WAITERS: usize = 4;
    let holder_client = connect(&root.address()).await;
    let mut holder = Mutex::new(&holder_client, "/locks/fair").unwrap();
    holder.acquire().await.unwrap();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for index in 0..WAITERS {
        let client = connect(&root.address()).await;
        let order = order.clone();
        waiters.push(tokio::spawn(async move {
            let mut mutex = Mutex::new(&client, "/locks/fair").unwrap();
            mutex.acquire().await.unwrap();
            order.lock().unwrap().push(index);
            mutex.release().await.unwrap();
        }));
        // The next waiter queues only once this one's node is in line.
        eventually("the waiter in line", || async {
            (holder.participants().await.ok()?.len() == index + 2).then_some(())
        })
        .await;
    }
    holder.release().await.unwrap();
    for waiter in waiters {
        bounded("waiters", waiter).await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..WAITERS).collect::<Vec<_>>());
}
on_both_servers!(mutex_is_fair);

/// The holder's session is cut off: it is told at once that its hold is in doubt, before
/// the server expires the session and hands the lock to the waiter; once reconnected in a
/// new session it is told the node is gone, and its release is harmless.
async fn lock_holder_is_told_when_its_session_is_lost(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let holder_client = common::connect_short(&root.through(&proxy)).await;
    let waiter_client = connect(&root.address()).await;
    holder_client
        .create("/holder-marker", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut holder = Mutex::new(&holder_client, "/locks/session").unwrap();
    holder.acquire().await.unwrap();
    let mut waiter = Mutex::new(&waiter_client, "/locks/session").unwrap();
    let waiting = tokio::spawn(async move {
        waiter.acquire().await.unwrap();
        waiter
    });
    eventually("the waiter in line", || async {
        (holder.participants().await.ok()?.len() == 2).then_some(())
    })
    .await;

    proxy.partition();
    assert_eq!(
        bounded("the holder told", holder.lost()).await,
        LockLoss::Suspended
    );
    assert!(
        !waiting.is_finished(),
        "the holder is told before anyone else can hold the lock"
    );
    let mut waiter = bounded("the waiter to get the lock after expiry", waiting)
        .await
        .unwrap();
    common::wait_expired_on_server(&waiter_client, "/holder-marker").await;
    wait_state(&holder_client, ConnectionState::Lost).await;
    assert_eq!(holder.lost().await, LockLoss::SessionLost);

    proxy.heal();
    wait_state(&holder_client, ConnectionState::Connected).await;
    assert_eq!(
        bounded("the holder told again", holder.lost()).await,
        LockLoss::NodeDeleted
    );
    holder.release().await.unwrap();
    assert!(!holder.is_held());
    assert_eq!(waiter.participants().await.unwrap().len(), 1);
    waiter.release().await.unwrap();
}
on_both_servers!(lock_holder_is_told_when_its_session_is_lost);

async fn mutex_is_reentrant_per_handle_and_times_out(root: TestRoot) {
    let a = connect(&root.address()).await;
    let b = connect(&root.address()).await;
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
on_both_servers!(mutex_is_reentrant_per_handle_and_times_out);

/// An acquire abandoned while it waits (its future dropped, as by a `select!` or a
/// timeout) removes its queued node, so it cannot block the waiters behind it.
async fn an_abandoned_acquire_leaves_no_node(root: TestRoot) {
    let a = connect(&root.address()).await;
    let b = connect(&root.address()).await;
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
on_both_servers!(an_abandoned_acquire_leaves_no_node);

/// The reply to the lock node's create is lost (the server created it): a plain create,
/// retried, leaves a ghost node; the protected create finds its own node instead, so the
/// lock is acquired with exactly one node and nothing is left after release.
async fn protected_create_leaves_no_ghost_after_a_lost_reply(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let client = connect(&root.through(&proxy)).await;
    let observer = connect(&root.address()).await;
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
on_both_servers!(protected_create_leaves_no_ghost_after_a_lost_reply);

async fn semaphore_grants_at_most_max_leases(root: TestRoot) {
    let in_use = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let client = connect(&root.address()).await;
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

    let client = connect(&root.address()).await;
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
on_both_servers!(
    semaphore_grants_at_most_max_leases,
    flavor = "multi_thread",
    worker_threads = 2
);

async fn read_write_lock_shares_reads_and_excludes_writes(root: TestRoot) {
    let clients = [
        connect(&root.address()).await,
        connect(&root.address()).await,
        connect(&root.address()).await,
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
on_both_servers!(read_write_lock_shares_reads_and_excludes_writes);

async fn multi_lock_holds_all_or_none(root: TestRoot) {
    let a = connect(&root.address()).await;
    let b = connect(&root.address()).await;
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
on_both_servers!(multi_lock_holds_all_or_none);

async fn leader_latch_elects_one_and_hands_over(root: TestRoot) {
    let mut latches = Vec::new();
    for id in ["a", "b", "c"] {
        let client = connect(&root.address()).await;
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
on_both_servers!(leader_latch_elects_one_and_hands_over);

/// A leader whose connection is suspended gives up leadership, and takes it back after
/// reconnecting (it is the only participant).
async fn leader_latch_gives_up_leadership_while_suspended(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let client = connect(&root.through(&proxy)).await;
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
on_both_servers!(leader_latch_gives_up_leadership_while_suspended);

/// The leader's session expires: it gives up leadership as soon as its connection drops,
/// the next participant leads only once the server has expired the session (never two
/// leaders), and the old leader joins again behind the new one.
async fn leader_latch_hands_over_on_expiry(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let first_client = common::connect_short(&root.through(&proxy)).await;
    let second_client = connect(&root.address()).await;
    first_client
        .create("/first-marker", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let first = LeaderLatch::start(&first_client, "/election/expiry", "first").unwrap();
    assert!(first
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    let second = LeaderLatch::start(&second_client, "/election/expiry", "second").unwrap();
    eventually("the second participant", || async {
        (second.participants().await.ok()?.len() == 2).then_some(())
    })
    .await;
    assert!(!second.has_leadership());

    let mut first_leads = first.leadership();
    let mut second_leads = second.leadership();
    proxy.partition();
    bounded(
        "the first to give up leadership",
        first_leads.wait_for(|leads| !*leads),
    )
    .await
    .unwrap();
    bounded(
        "the second to lead after the expiry",
        second_leads.wait_for(|leads| *leads),
    )
    .await
    .unwrap();
    assert!(!first.has_leadership(), "one leader at a time");
    common::wait_expired_on_server(&second_client, "/first-marker").await;

    proxy.heal();
    let participants = eventually("the first to join again", || async {
        let participants = second.participants().await.ok()?;
        (participants.len() == 2).then_some(participants)
    })
    .await;
    let ids: Vec<&str> = participants.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["second", "first"]);
    assert!(!first.has_leadership());
    second.close().await;
    assert!(first
        .await_leadership(Duration::from_secs(10))
        .await
        .unwrap());
    first.close().await;
}
on_both_servers!(leader_latch_hands_over_on_expiry);

/// Two selectors with auto-requeue take turns; never both at once.
async fn leader_selector_takes_turns_and_requeues(root: TestRoot) {
    let leading = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let mut selectors = Vec::new();
    for index in 0..2 {
        let client = connect(&root.address()).await;
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
on_both_servers!(
    leader_selector_takes_turns_and_requeues,
    flavor = "multi_thread",
    worker_threads = 2
);

/// A leader's task is cancelled when its connection is suspended (Curator's
/// `CancelLeadershipException`), and the selector leads again after reconnecting.
async fn leader_selector_cancels_leadership_on_suspension(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let client = connect(&root.through(&proxy)).await;
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
on_both_servers!(leader_selector_cancels_leadership_on_suspension);
