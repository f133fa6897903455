//! Gap-free watch streams, caches and the other recipes, each test against our server and
//! against Apache ZooKeeper 3.8 (`name::ours`, `name::reference`).

mod common;

use common::proxy::FaultProxy;
use common::target::TestRoot;
use common::{bounded, connect, wait_state};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zk_proto::OpCode;
use zk_recipes::recipes::barrier::{Barrier, DoubleBarrier};
use zk_recipes::recipes::cache::{NodeCache, TreeCache, TreeEvent};
use zk_recipes::recipes::discovery::{url_encode, Choice, Role, ServiceRegistry};
use zk_recipes::recipes::partitioner::{PartitionState, SetPartitioner};
use zk_recipes::recipes::queue::DistributedQueue;
use zk_recipes::recipes::running::RunningMonitor;
use zk_recipes::recipes::server_set::{register_server, ServerSetMonitor};
use zk_recipes::recipes::shared::{DistributedAtomicLong, SharedCount};
use zk_recipes::recipes::timed_lease::TimedLease;
use zk_recipes::watch_stream::Strategy;
use zk_recipes::{ConnectionState, CreateMode};

/// Waits for the data stream to reach `wanted`, checking on the way that versions only
/// go up; returns how many values it saw.
async fn follow_to_value(
    stream: &mut zk_recipes::watch_stream::DataStream,
    wanted: &[u8],
    last_version: &mut i32,
) -> usize {
    let mut seen = 0;
    bounded("the stream to reach the final value", async {
        loop {
            let value = stream.next().await.expect("stream open").expect("no error");
            let node = value.expect("node exists");
            assert!(
                node.stat.version > *last_version,
                "versions go up: {} after {}",
                node.stat.version,
                last_version
            );
            *last_version = node.stat.version;
            seen += 1;
            if node.data == wanted {
                return;
            }
        }
    })
    .await;
    seen
}

/// Rapid updates from another client: the stream starts with the current value, every
/// value it emits is newer than the one before, and it always ends at the final value; with
/// a persistent watch and with one-shot watches.
async fn data_stream_is_gap_free_under_rapid_updates(root: TestRoot) {
    for (strategy, path) in [
        (Strategy::PersistentWhereSupported, "/gapless-persistent"),
        (Strategy::OneShot, "/gapless-one-shot"),
    ] {
        gap_free_under_rapid_updates(&root, strategy, path).await;
    }
}
on_both_servers!(data_stream_is_gap_free_under_rapid_updates);

async fn gap_free_under_rapid_updates(root: &TestRoot, strategy: Strategy, path: &str) {
    let client = connect(&root.address()).await;
    let writer = connect(&root.address()).await;
    writer
        .create(path, b"start", CreateMode::Persistent)
        .await
        .unwrap();

    let mut stream = client.watch_data_with(path, strategy).unwrap();
    let first = bounded("first value", stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.data, b"start");
    let mut last_version = first.stat.version;

    const UPDATES: i32 = 300;
    let written = path.to_owned();
    let writes = tokio::spawn(async move {
        for i in 1..=UPDATES {
            writer
                .set_data(&written, format!("{i}").as_bytes(), None)
                .await
                .unwrap();
        }
        writer
    });
    let seen = follow_to_value(
        &mut stream,
        UPDATES.to_string().as_bytes(),
        &mut last_version,
    )
    .await;
    assert!(seen >= 1);
    assert_eq!(last_version, UPDATES);
    let writer = writes.await.unwrap();

    // Deletion and re-creation are values too.
    writer.delete(path, None).await.unwrap();
    assert_eq!(
        bounded("deleted", stream.next()).await.unwrap().unwrap(),
        None
    );
    writer
        .create(path, b"again", CreateMode::Persistent)
        .await
        .unwrap();
    let again = bounded("re-created", stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(again.data, b"again");
}

/// Updates made while the stream's client is cut off, and after its session expired, are
/// still caught up with: the stream re-reads on reconnection and re-subscribes in the new
/// session.
async fn data_stream_survives_reconnection_and_expiry(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let client = common::connect_short(&root.through(&proxy)).await;
    let writer = connect(&root.address()).await;
    writer
        .create("/survivor", b"0", CreateMode::Persistent)
        .await
        .unwrap();
    client
        .create("/survivor-marker", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut stream = client.watch_data("/survivor").unwrap();
    let mut last_version = -1;
    follow_to_value(&mut stream, b"0", &mut last_version).await;

    proxy.partition();
    wait_state(&client, ConnectionState::Suspended).await;
    writer.set_data("/survivor", b"1", None).await.unwrap();
    proxy.heal();
    follow_to_value(&mut stream, b"1", &mut last_version).await;

    proxy.partition();
    wait_state(&client, ConnectionState::Lost).await;
    writer.set_data("/survivor", b"2", None).await.unwrap();
    common::wait_expired_on_server(&writer, "/survivor-marker").await;
    proxy.heal();
    wait_state(&client, ConnectionState::Connected).await;
    follow_to_value(&mut stream, b"2", &mut last_version).await;
    writer.set_data("/survivor", b"3", None).await.unwrap();
    follow_to_value(&mut stream, b"3", &mut last_version).await;
}
on_both_servers!(data_stream_survives_reconnection_and_expiry);

async fn children_stream_ends_at_the_full_list(root: TestRoot) {
    let client = connect(&root.address()).await;
    let writer = connect(&root.address()).await;
    let mut stream = client.watch_children("/kids").unwrap();
    assert_eq!(
        bounded("missing parent", stream.next())
            .await
            .unwrap()
            .unwrap(),
        None
    );
    writer
        .create("/kids", b"", CreateMode::Persistent)
        .await
        .unwrap();
    for i in 0..50 {
        writer
            .create(&format!("/kids/k{i:02}"), b"", CreateMode::Persistent)
            .await
            .unwrap();
    }
    bounded("all 50 children", async {
        loop {
            let value = stream.next().await.unwrap().unwrap();
            if value.is_some_and(|node| node.children.len() == 50) {
                return;
            }
        }
    })
    .await;
}
on_both_servers!(children_stream_ends_at_the_full_list);

async fn node_and_tree_caches_follow_changes(root: TestRoot) {
    let client = connect(&root.address()).await;
    let writer = connect(&root.address()).await;

    let node = NodeCache::start(&client, "/cached").await.unwrap();
    assert_eq!(node.current(), None);
    writer
        .create("/cached", b"v1", CreateMode::Persistent)
        .await
        .unwrap();
    let mut changes = node.changes();
    bounded(
        "node cache v1",
        changes.wait_for(|n| n.as_ref().is_some_and(|n| n.data == b"v1")),
    )
    .await
    .unwrap();

    writer.ensure_path("/tree/a").await.unwrap();
    writer
        .create("/tree/a/deep", b"x", CreateMode::Persistent)
        .await
        .unwrap();
    let tree = TreeCache::start(&client, "/tree", 1, 64).await.unwrap();
    assert_eq!(tree.children("/tree"), ["a"]);
    assert!(tree.get("/tree/a/deep").is_none(), "below the depth limit");
    let mut events = tree.events();
    writer
        .create("/tree/b", b"b0", CreateMode::Persistent)
        .await
        .unwrap();
    writer.set_data("/tree/b", b"b1", None).await.unwrap();
    writer.delete_all("/tree/a").await.unwrap();
    // The creation's read may already see the new data, so the update may or may not be
    // an event of its own: wait for the two that must come.
    let mut seen = Vec::new();
    while !(seen.contains(&"+/tree/b".to_owned()) && seen.contains(&"-/tree/a".to_owned())) {
        let event = bounded("tree events", events.recv()).await.unwrap();
        seen.push(match event {
            TreeEvent::Added(path, _) => format!("+{path}"),
            TreeEvent::Updated(path, node) => {
                format!("~{path}={}", String::from_utf8_lossy(&node.data))
            }
            TreeEvent::Removed(path) => format!("-{path}"),
        });
    }
    assert!(
        seen.iter().all(|event| !event.contains("deep")),
        "below the depth limit: {seen:?}"
    );
    common::eventually("the tree cache to converge", || async {
        (tree.children("/tree") == ["b"] && tree.get("/tree/b").is_some_and(|n| n.data == b"b1"))
            .then_some(())
    })
    .await;
}
on_both_servers!(node_and_tree_caches_follow_changes);

/// Servers register under /servers; a client holds the live list. A server that closes
/// goes off the list; a server whose session expires comes back on it by itself.
async fn server_set_monitor_tracks_servers_across_expiry(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let monitor_client = connect(&root.address()).await;
    let monitor = ServerSetMonitor::start(&monitor_client, "/servers")
        .await
        .unwrap();
    assert!(monitor.servers().is_empty());

    let steady = connect(&root.address()).await;
    let leaving = connect(&root.address()).await;
    let flaky = common::connect_short(&root.through(&proxy)).await;
    let _steady = register_server(&steady, "/servers", "host-a")
        .await
        .unwrap();
    let _leaving = register_server(&leaving, "/servers", "host-b")
        .await
        .unwrap();
    let _flaky = register_server(&flaky, "/servers", "host-c").await.unwrap();
    let all = bounded("three servers", monitor.wait_for(|hosts| hosts.len() == 3))
        .await
        .unwrap();
    assert_eq!(all, ["host-a", "host-b", "host-c"]);

    leaving.close().await;
    bounded(
        "host-b gone",
        monitor.wait_for(|hosts| hosts == ["host-a", "host-c"]),
    )
    .await
    .unwrap();

    proxy.partition();
    bounded(
        "host-c expired",
        monitor.wait_for(|hosts| hosts == ["host-a"]),
    )
    .await
    .unwrap();
    proxy.heal();
    let back = bounded(
        "host-c re-registered",
        monitor.wait_for(|hosts| hosts.len() == 2),
    )
    .await
    .unwrap();
    assert_eq!(back, ["host-a", "host-c"]);
}
on_both_servers!(server_set_monitor_tracks_servers_across_expiry);

async fn dubbo_registry_layout_and_provider_choice(root: TestRoot) {
    let provider_client = connect(&root.address()).await;
    let consumer_client = connect(&root.address()).await;
    let registry = ServiceRegistry::new(&provider_client, "/dubbo").unwrap();
    let service = "com.foo.BarService";
    let urls = [
        "dubbo://10.0.0.1:20880/com.foo.BarService?version=1.0&methods=a,b",
        "dubbo://10.0.0.2:20880/com.foo.BarService?version=1.0&methods=a,b",
    ];
    let mut registrations = Vec::new();
    for url in urls {
        let registration = registry
            .register(service, Role::Provider, url)
            .await
            .unwrap();
        registration
            .await_joined(Duration::from_secs(10))
            .await
            .unwrap();
        registrations.push(registration);
    }
    let nodes = consumer_client
        .get_children("/dubbo/com.foo.BarService/providers")
        .await
        .unwrap();
    assert!(nodes.contains(&url_encode(urls[0])), "{nodes:?}");
    assert!(nodes[0].starts_with("dubbo%3A%2F%2F10.0.0."));

    let consumers = ServiceRegistry::new(&consumer_client, "/dubbo").unwrap();
    let me = consumers
        .register(
            service,
            Role::Consumer,
            "consumer://10.0.0.9/com.foo.BarService",
        )
        .await
        .unwrap();
    me.await_joined(Duration::from_secs(10)).await.unwrap();
    let providers = consumers.subscribe(service).await.unwrap();
    assert_eq!(providers.urls(), urls);
    let picks: Vec<String> = (0..4)
        .map(|_| providers.choose(Choice::RoundRobin).unwrap())
        .collect();
    assert_eq!(picks, [urls[0], urls[1], urls[0], urls[1]]);
    let random = providers.choose(Choice::Random).unwrap();
    assert!(urls.contains(&random.as_str()));

    registrations.remove(0).leave().await;
    bounded(
        "one provider left",
        providers.wait_for(|list| list == [urls[1]]),
    )
    .await
    .unwrap();
    assert_eq!(
        providers.choose(Choice::RoundRobin).as_deref(),
        Some(urls[1])
    );
}
on_both_servers!(dubbo_registry_layout_and_provider_choice);

/// Canal-style active/standby: one instance is active; a brief connection blip of the
/// active does not hand over; when the active's session expires the standby takes over
/// after the delay; a released active hands over too.
async fn running_monitor_fails_over_without_flapping(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let first_client = common::connect_short(&root.through(&proxy)).await;
    let second_client = connect(&root.address()).await;
    let delay = Duration::from_millis(300);
    let running = "/otter/canal/destinations/example/running";

    let first = RunningMonitor::start(&first_client, running, b"10.0.0.1:11111", delay).unwrap();
    bounded("first active", first.changes().wait_for(|s| s.active))
        .await
        .unwrap();
    let second = RunningMonitor::start(&second_client, running, b"10.0.0.2:11111", delay).unwrap();
    let view = bounded(
        "second sees the active",
        second.changes().wait_for(|s| s.active_data.is_some()),
    )
    .await
    .unwrap()
    .clone();
    assert!(!view.active);
    assert_eq!(view.active_data.as_deref(), Some(&b"10.0.0.1:11111"[..]));

    // A blip: the connection drops and comes back within the session timeout.
    proxy.drop_connections();
    wait_state(&first_client, ConnectionState::Reconnected).await;
    bounded("first active again", first.changes().wait_for(|s| s.active))
        .await
        .unwrap();
    assert!(!second.is_active());

    // The first's session expires: its node goes, the second takes over after the delay.
    proxy.partition();
    let took_over = std::time::Instant::now();
    bounded("second takes over", second.changes().wait_for(|s| s.active))
        .await
        .unwrap();
    assert!(took_over.elapsed() >= delay);
    proxy.heal();
    wait_state(&first_client, ConnectionState::Connected).await;
    let view = bounded(
        "first sees the second active",
        first
            .changes()
            .wait_for(|s| s.active_data.as_deref() == Some(&b"10.0.0.2:11111"[..])),
    )
    .await
    .unwrap()
    .clone();
    assert!(!view.active);

    // The active releases: the other takes over.
    second.release().await;
    bounded(
        "first active after release",
        first.changes().wait_for(|s| s.active),
    )
    .await
    .unwrap();
}
on_both_servers!(running_monitor_fails_over_without_flapping);

async fn shared_count_and_atomic_long(root: TestRoot) {
    let a = connect(&root.address()).await;
    let b = connect(&root.address()).await;
    let count_a = SharedCount::start(&a, "/shared/count", 10).await.unwrap();
    let count_b = SharedCount::start(&b, "/shared/count", 99).await.unwrap();
    let seen = count_b.get().await.unwrap();
    assert_eq!(seen.value, 10, "the seed applies once");
    let stale = count_a.get().await.unwrap();
    assert!(count_b.try_set(11, seen).await.unwrap());
    assert!(!count_a.try_set(12, stale).await.unwrap(), "stale version");
    assert_eq!(
        count_a
            .wait_for(|value| value == 11, Duration::from_secs(10))
            .await
            .unwrap(),
        11
    );

    let mut tasks = Vec::new();
    for client in [a.clone(), b.clone(), connect(&root.address()).await] {
        tasks.push(tokio::spawn(async move {
            let counter = DistributedAtomicLong::new(&client, "/shared/long").unwrap();
            for _ in 0..20 {
                assert!(counter.increment().await.unwrap().succeeded);
            }
        }));
    }
    for task in tasks {
        bounded("incrementers", task).await.unwrap();
    }
    let counter = DistributedAtomicLong::new(&a, "/shared/long").unwrap();
    assert_eq!(counter.get().await.unwrap(), 60);
    let failed = counter.compare_and_set(1, 5).await.unwrap();
    assert!(!failed.succeeded);
    let swapped = counter.compare_and_set(60, 5).await.unwrap();
    assert_eq!(
        (swapped.succeeded, swapped.pre_value, swapped.post_value),
        (true, 60, 5)
    );
}
on_both_servers!(
    shared_count_and_atomic_long,
    flavor = "multi_thread",
    worker_threads = 2
);

async fn barriers_hold_and_release_together(root: TestRoot) {
    let client = connect(&root.address()).await;
    let barrier = Barrier::new(&client, "/barriers/simple").unwrap();
    barrier.set().await.unwrap();
    assert!(!barrier
        .wait(Some(Duration::from_millis(200)))
        .await
        .unwrap());
    let waiter = tokio::spawn({
        let barrier = barrier.clone();
        async move { barrier.wait(None).await }
    });
    barrier.remove().await.unwrap();
    assert!(bounded("barrier released", waiter).await.unwrap().unwrap());

    const MEMBERS: usize = 3;
    let entered = Arc::new(AtomicUsize::new(0));
    let left = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..MEMBERS {
        let client = connect(&root.address()).await;
        let entered = entered.clone();
        let left = left.clone();
        tasks.push(tokio::spawn(async move {
            let barrier = DoubleBarrier::new(&client, "/barriers/double", MEMBERS).unwrap();
            entered.fetch_add(1, Ordering::SeqCst);
            assert!(barrier.enter(Some(Duration::from_secs(10))).await.unwrap());
            assert_eq!(entered.load(Ordering::SeqCst), MEMBERS, "entered together");
            left.fetch_add(1, Ordering::SeqCst);
            assert!(barrier.leave(Some(Duration::from_secs(10))).await.unwrap());
            assert_eq!(left.load(Ordering::SeqCst), MEMBERS, "left together");
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for task in tasks {
        bounded("double barrier members", task).await.unwrap();
    }
}
on_both_servers!(
    barriers_hold_and_release_together,
    flavor = "multi_thread",
    worker_threads = 2
);

async fn queue_consumes_each_item_exactly_once_in_order(root: TestRoot) {
    let producer = connect(&root.address()).await;
    let mut queue = DistributedQueue::new(&producer, "/queue/jobs").unwrap();
    for i in 0..30 {
        queue.put(format!("job-{i:02}").as_bytes()).await.unwrap();
    }
    let taken = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut consumers = Vec::new();
    for _ in 0..3 {
        let client = connect(&root.address()).await;
        let taken = taken.clone();
        consumers.push(tokio::spawn(async move {
            let mut queue = DistributedQueue::new(&client, "/queue/jobs").unwrap();
            let mut mine = Vec::new();
            while let Some(item) = queue.try_take().await.unwrap() {
                mine.push(String::from_utf8(item).unwrap());
            }
            // Each consumer sees its own items in FIFO order.
            let mut sorted = mine.clone();
            sorted.sort();
            assert_eq!(mine, sorted);
            taken.lock().unwrap().extend(mine);
        }));
    }
    for consumer in consumers {
        bounded("consumers", consumer).await.unwrap();
    }
    let mut all = taken.lock().unwrap().clone();
    all.sort();
    let expected: Vec<String> = (0..30).map(|i| format!("job-{i:02}")).collect();
    assert_eq!(all, expected, "every item once, none twice");

    for (data, priority) in [("low", 5), ("high", -1), ("mid-1", 0), ("mid-2", 0)] {
        queue
            .put_with_priority(data.as_bytes(), priority)
            .await
            .unwrap();
    }
    let mut order = Vec::new();
    while let Some(item) = queue.take(Duration::from_millis(100)).await.unwrap() {
        order.push(String::from_utf8(item).unwrap());
    }
    assert_eq!(order, ["high", "mid-1", "mid-2", "low"]);

    let waiting = tokio::spawn(async move {
        let result = queue.take(Duration::from_secs(10)).await;
        (queue, result)
    });
    let mut other = DistributedQueue::new(&producer, "/queue/jobs").unwrap();
    other.put(b"late").await.unwrap();
    let (_queue, late) = bounded("a blocking take", waiting).await.unwrap();
    assert_eq!(late.unwrap().as_deref(), Some(&b"late"[..]));
}
on_both_servers!(
    queue_consumes_each_item_exactly_once_in_order,
    flavor = "multi_thread",
    worker_threads = 2
);

/// The reply to a take's multi is lost: the receipt shows the take went through, so the
/// item is neither lost nor taken again.
async fn queue_take_survives_a_lost_reply(root: TestRoot) {
    let proxy = FaultProxy::start(root.port()).await;
    let consumer = connect(&root.through(&proxy)).await;
    let producer = connect(&root.address()).await;
    let mut queue = DistributedQueue::new(&producer, "/queue/lossy").unwrap();
    queue.put(b"only").await.unwrap();
    let mut consuming = DistributedQueue::new(&consumer, "/queue/lossy").unwrap();
    proxy.lose_reply_to(OpCode::Multi);
    let item = bounded("take", consuming.try_take()).await.unwrap();
    assert!(proxy.reply_was_lost());
    assert_eq!(item.as_deref(), Some(&b"only"[..]));
    assert_eq!(queue.try_take().await.unwrap(), None, "not taken twice");
}
on_both_servers!(queue_take_survives_a_lost_reply);

/// Members divide the items without overlap, and divide them again when one joins or
/// leaves.
async fn set_partitioner_divides_items_without_overlap(root: TestRoot) {
    let items = ["a", "b", "c", "d", "e", "f"];
    let settle = Duration::from_millis(100);
    let mut members = Vec::new();
    for id in ["one", "two"] {
        let client = connect(&root.address()).await;
        members.push(
            SetPartitioner::start(&client, "/partition", id, &items, settle)
                .await
                .unwrap(),
        );
    }

    async fn settled(members: &[SetPartitioner], expected_members: usize) -> Vec<Vec<String>> {
        common::eventually("every member to hold its share", || async {
            let shares: Vec<Vec<String>> = members
                .iter()
                .filter_map(|member| match member.state() {
                    PartitionState::Acquired(items) => Some(items),
                    _ => None,
                })
                .collect();
            let mut all: Vec<String> = shares.iter().flatten().cloned().collect();
            all.sort();
            (shares.len() == expected_members && all == ["a", "b", "c", "d", "e", "f"])
                .then_some(shares)
        })
        .await
    }

    let shares = settled(&members, 2).await;
    assert_eq!(shares.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3]);

    let client = connect(&root.address()).await;
    members.push(
        SetPartitioner::start(&client, "/partition", "three", &items, settle)
            .await
            .unwrap(),
    );
    let shares = settled(&members, 3).await;
    assert!(shares.iter().all(|share| share.len() == 2), "{shares:?}");

    members.remove(0).finish().await;
    let shares = settled(&members, 2).await;
    assert_eq!(shares.iter().map(Vec::len).sum::<usize>(), 6);
}
on_both_servers!(
    set_partitioner_divides_items_without_overlap,
    flavor = "multi_thread",
    worker_threads = 2
);

async fn timed_leases_expire_and_renew(root: TestRoot) {
    let client = connect(&root.address()).await;
    let lease = TimedLease::new(&client, "/leases/single", 1).unwrap();
    let second = Duration::from_millis(1000);
    assert!(lease.try_obtain_at("a", second, 0).await.unwrap());
    assert!(
        !lease.try_obtain_at("b", second, 500).await.unwrap(),
        "a holds it"
    );
    assert!(
        lease.try_obtain_at("a", second, 600).await.unwrap(),
        "a renews"
    );
    assert!(
        !lease.try_obtain_at("b", second, 1500).await.unwrap(),
        "renewed to 1600"
    );
    assert!(
        lease.try_obtain_at("b", second, 1700).await.unwrap(),
        "expired"
    );
    assert_eq!(lease.holders().await.unwrap()[0].holder, "b");

    let pair = TimedLease::new(&client, "/leases/pair", 2).unwrap();
    assert!(pair.try_obtain_at("a", second, 0).await.unwrap());
    assert!(pair.try_obtain_at("b", second, 0).await.unwrap());
    assert!(!pair.try_obtain_at("c", second, 10).await.unwrap());
    assert!(pair.try_obtain_at("c", second, 1001).await.unwrap());
    assert!(pair.try_obtain(&"d".repeat(3), second).await.is_ok());
}
on_both_servers!(timed_leases_expire_and_renew);
