//! The LogActor in a running actix system: group commit across messages, the snapshot
//! trigger and roll, snapshot writing off the arbiter, segments prepared ahead of time,
//! failure reporting, autopurge.

mod storage_support;

use actix::prelude::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};
use storage_support::{config, generate, segments, snapshots, TxnSource};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use zk_proto::Zxid;
use zk_server::actors::log::{
    Durable, LogActor, LogRecipients, Persist, Purge, Snapshot, SnapshotDue, StorageFailed,
};
use zk_server::storage::spare::SPARE_FILE_NAME;
use zk_server::storage::{self, StorageConfig};
use zk_tree::TreeConfig;

/// Every wait of these tests ends by this deadline.
const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, PartialEq, Eq)]
enum Event {
    Durable(Zxid),
    SnapshotDue,
    Failed(String),
}

/// Stands in for the TreeActor: forwards every report to the test.
struct Probe {
    events: UnboundedSender<Event>,
}

impl Actor for Probe {
    type Context = Context<Self>;
}

impl Handler<Durable> for Probe {
    type Result = ();
    fn handle(&mut self, durable: Durable, _: &mut Self::Context) {
        let _ = self.events.send(Event::Durable(durable.through));
    }
}

impl Handler<SnapshotDue> for Probe {
    type Result = ();
    fn handle(&mut self, _: SnapshotDue, _: &mut Self::Context) {
        let _ = self.events.send(Event::SnapshotDue);
    }
}

impl Handler<StorageFailed> for Probe {
    type Result = ();
    fn handle(&mut self, failed: StorageFailed, _: &mut Self::Context) {
        let _ = self.events.send(Event::Failed(failed.error.to_string()));
    }
}

struct Harness {
    log: Addr<LogActor>,
    events: UnboundedReceiver<Event>,
    source: TxnSource,
}

impl Harness {
    fn start(config: &StorageConfig) -> Harness {
        let (config, _) = config.clone().normalize().unwrap();
        let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
        let (sender, events) = unbounded_channel();
        let probe = Probe { events: sender }.start();
        let recipients = LogRecipients {
            persisted: None,
            durable: probe.clone().recipient(),
            snapshot_due: probe.clone().recipient(),
            failed: probe.recipient(),
        };
        let log = LogActor::start(recovered.log, recipients, &config).unwrap();
        Harness {
            log,
            events,
            source: TxnSource::new(recovered.tree),
        }
    }

    async fn next_event(&mut self) -> Event {
        tokio::time::timeout(DEADLINE, self.events.recv())
            .await
            .expect("an event before the deadline")
            .expect("the probe is alive")
    }

    /// Events up to and including `Durable(through)`.
    async fn events_until_durable(&mut self, through: i64) -> Vec<Event> {
        let mut events = Vec::new();
        loop {
            let event = self.next_event().await;
            let done = event == Event::Durable(Zxid(through));
            events.push(event);
            if done {
                return events;
            }
        }
    }
}

/// Polls `condition` until it holds or the deadline passes (for effects of the snapshot
/// thread, which reports nothing outside the actor).
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn run<F: std::future::Future<Output = ()>>(test: F) {
    System::new().block_on(test);
}

#[test]
fn persists_waiting_in_the_mailbox_share_one_fsync() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = Harness::start(&config(dir.path()));
        let txns = generate(&mut harness.source, 100);
        // All 100 messages are in the mailbox before the actor runs: the batch starts
        // once they have all joined it. (Those arriving during an fsync share the next
        // one: see storage::group_commit.)
        for txn in txns {
            harness.log.do_send(Persist { txns: vec![txn] });
        }
        let events = harness.events_until_durable(100).await;
        assert_eq!(events, vec![Event::Durable(Zxid(100))]);
        let recovered = storage::recover(&config(dir.path()), TreeConfig::default());
        assert_eq!(
            recovered.unwrap().tree.digest(),
            harness.source.tree.digest()
        );
    });
}

#[test]
fn a_due_snapshot_rolls_the_log_and_is_written_off_the_arbiter() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig {
            snap_count: 4,
            ..config(dir.path())
        };
        let mut harness = Harness::start(&config);
        // snapCount 4: a snapshot is due after more than 2 or 3 txns.
        let txns = generate(&mut harness.source, 4);
        harness.log.do_send(Persist { txns });
        let events = harness.events_until_durable(4).await;
        assert_eq!(events, vec![Event::Durable(Zxid(4))]);
        assert_eq!(harness.next_event().await, Event::SnapshotDue);

        let view = harness.source.tree.snapshot_view();
        assert_eq!(view.last_applied_zxid(), Zxid(4));
        harness.log.do_send(Snapshot { view });
        harness.log.do_send(Persist {
            txns: generate(&mut harness.source, 1),
        });
        harness.events_until_durable(5).await;
        let names: Vec<Zxid> = segments(dir.path()).iter().map(|file| file.zxid).collect();
        assert_eq!(
            names,
            vec![Zxid(1), Zxid(5)],
            "the log rolled when the snapshot was due"
        );
        let path = dir.path().to_owned();
        eventually("the snapshot file", move || {
            snapshots(&path).iter().any(|file| file.zxid == Zxid(4))
        })
        .await;
        let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
        assert_eq!(recovered.snapshot.map(|file| file.zxid), Some(Zxid(4)));
        assert_eq!(recovered.tree.digest(), harness.source.tree.digest());
    });
}

#[test]
fn an_unrequested_snapshot_rolls_the_log_itself() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = Harness::start(&config(dir.path()));
        harness.log.do_send(Persist {
            txns: generate(&mut harness.source, 3),
        });
        harness.events_until_durable(3).await;
        let view = harness.source.tree.snapshot_view();
        assert_eq!(view.last_applied_zxid(), Zxid(3));
        harness.log.do_send(Snapshot { view });
        harness.log.do_send(Persist {
            txns: generate(&mut harness.source, 2),
        });
        harness.events_until_durable(5).await;
        let names: Vec<Zxid> = segments(dir.path()).iter().map(|file| file.zxid).collect();
        assert_eq!(names, vec![Zxid(1), Zxid(4)]);
    });
}

#[test]
fn each_new_segment_is_the_spare_prepared_before_it_was_needed() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = Harness::start(&config(dir.path()));
        let spare_path = storage::files::version_dir(dir.path()).join(SPARE_FILE_NAME);
        for (first, count) in [(1, 3), (4, 2)] {
            // The spare exists before any txn needs it; the new segment is that very file.
            let path = spare_path.clone();
            eventually("a spare segment", move || path.exists()).await;
            let spare_inode = std::fs::metadata(&spare_path).unwrap().ino();
            harness.log.do_send(Persist {
                txns: generate(&mut harness.source, count),
            });
            harness.events_until_durable(first + count as i64 - 1).await;
            let segment = segments(dir.path()).pop().expect("a segment");
            assert_eq!(segment.zxid, Zxid(first));
            assert_eq!(std::fs::metadata(&segment.path).unwrap().ino(), spare_inode);
            // An unrequested snapshot rolls the log: the next batch starts a segment.
            let view = harness.source.tree.snapshot_view();
            harness.log.do_send(Snapshot { view });
        }
    });
}

#[test]
fn a_log_failure_is_reported_once_and_nothing_more_becomes_durable() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        let mut harness = Harness::start(&config(dir.path()));
        let mut txns = generate(&mut harness.source, 3);
        txns.remove(1); // a gap: the log refuses it
        harness.log.do_send(Persist { txns });
        let Event::Failed(message) = harness.next_event().await else {
            panic!("expected a failure")
        };
        assert!(message.contains("not the next zxid"), "{message}");
        harness.log.do_send(Persist {
            txns: generate(&mut harness.source, 1),
        });
        // Once a later message is answered, the Persist before it was handled (mailboxes
        // are FIFO): it was dropped, nothing became durable, nothing was reported.
        harness.log.send(Purge).await.unwrap();
        assert_eq!(harness.events.try_recv().ok(), None);
    });
}

#[test]
fn autopurge_runs_at_start() {
    run(async {
        let dir = tempfile::tempdir().unwrap();
        write_snapshots(dir.path(), 5);
        assert_eq!(snapshots(dir.path()).len(), 5);
        let config = StorageConfig {
            purge_interval_hours: 24,
            ..config(dir.path())
        };
        let _harness = Harness::start(&config);
        let path = dir.path().to_owned();
        eventually("the purge", move || snapshots(&path).len() == 3).await;
    });
}

/// Writes `count` snapshots with a roll and some txns between each.
fn write_snapshots(dir: &Path, count: usize) {
    let config = config(dir);
    let mut log = storage::TxnLog::open(&config, Zxid::ZERO).unwrap();
    let mut source = TxnSource::default();
    for _ in 0..count {
        log.append(&generate(&mut source, 5)).unwrap();
        log.roll().unwrap();
        let snapshot_dir = storage::files::version_dir(dir);
        storage::snapshot::write(
            &snapshot_dir,
            source.last_zxid(),
            &source.tree.to_snapshot_bytes(),
        )
        .unwrap();
    }
}
