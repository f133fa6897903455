//! The snapshot encoder: turns a [`SnapshotView`] into snapshot bytes on a thread of its
//! own and hands them to the LogActor as a [`Snapshot`].
//!
//! Encoding a million znodes takes hundreds of milliseconds. Done on the TreeActor's
//! thread, it stalled every request for that long each time a snapshot was due; Apache's
//! snapshots, too, run while writes continue. The TreeActor now only freezes the tree
//! (`DataTree::snapshot_view`, microseconds: the znodes are shared copy-on-write) and
//! passes the view here.
//!
//! One thread per snapshot, started on demand: snapshots are rare (thousands of writes
//! apart), so a spawn costs nothing that matters and no idle thread waits in between. One
//! encode at a time: a snapshot due while the previous one is still being encoded is
//! refused, as Apache's "Too busy to snap, skipping"; the log keeps every transaction, so
//! a skipped snapshot only lengthens the next recovery.

use super::log::Snapshot;
use actix::Recipient;
use std::thread::JoinHandle;
use std::time::Instant;
use zk_tree::SnapshotView;

/// The encoder thread's name (shown by `top -H` and in panic messages).
const THREAD_NAME: &str = "zk-snapshot-encode";

/// Why a snapshot was not started.
#[derive(Debug, thiserror::Error)]
pub enum EncodeRefused {
    #[error("the previous snapshot is still being encoded")]
    Busy,
    #[error("cannot start the snapshot encoder thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Starts snapshot encodes, one at a time, and sends their bytes to `log`.
pub struct SnapshotEncoder {
    log: Recipient<Snapshot>,
    /// The thread of the last encode, finished or not.
    running: Option<JoinHandle<()>>,
}

impl SnapshotEncoder {
    /// An idle encoder whose snapshots go to `log`.
    pub fn new(log: Recipient<Snapshot>) -> Self {
        SnapshotEncoder { log, running: None }
    }

    /// Whether an encode is still running.
    pub fn is_busy(&self) -> bool {
        self.running
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// Encodes `view` on a new thread, which sends `Snapshot { bytes, zxid }` with the
    /// view's last applied zxid to the log when done.
    pub fn start(&mut self, view: SnapshotView) -> Result<(), EncodeRefused> {
        if self.is_busy() {
            return Err(EncodeRefused::Busy);
        }
        self.join_finished();
        let log = self.log.clone();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || encode(view, &log))
            .map_err(EncodeRefused::Spawn)?;
        self.running = Some(thread);
        Ok(())
    }

    /// Joins the previous encode's thread (finished: checked by the caller), so that a
    /// panic in it is reported rather than lost.
    fn join_finished(&mut self) {
        if let Some(thread) = self.running.take() {
            if thread.join().is_err() {
                tracing::error!("the snapshot encoder panicked; that snapshot was not written");
            }
        }
    }
}

/// The encoder thread's work.
fn encode(view: SnapshotView, log: &Recipient<Snapshot>) {
    let zxid = view.last_applied_zxid();
    let started = Instant::now();
    let bytes = view.to_snapshot_bytes();
    tracing::info!(
        %zxid,
        bytes = bytes.len(),
        encode_ms = started.elapsed().as_millis() as u64,
        "snapshot encoded"
    );
    // Dropped here, not on the TreeActor's thread: the view may be the last owner of the
    // arena chunks the tree copied meanwhile, and freeing them takes time too.
    drop(view);
    log.do_send(Snapshot { bytes, zxid });
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::prelude::*;
    use tokio::sync::mpsc;
    use zk_tree::{DataTree, TreeConfig};

    /// Forwards every snapshot it receives to the test.
    struct Collector(mpsc::UnboundedSender<Snapshot>);

    impl Actor for Collector {
        type Context = Context<Self>;
    }

    impl Handler<Snapshot> for Collector {
        type Result = ();

        fn handle(&mut self, snapshot: Snapshot, _: &mut Self::Context) {
            let _ = self.0.send(snapshot);
        }
    }

    fn collector() -> (Recipient<Snapshot>, mpsc::UnboundedReceiver<Snapshot>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Collector(sender).start().recipient(), receiver)
    }

    #[actix::test]
    async fn the_log_receives_the_views_bytes_and_zxid() {
        let (log, mut received) = collector();
        let tree = DataTree::new(TreeConfig::default());
        let mut encoder = SnapshotEncoder::new(log);
        encoder
            .start(tree.snapshot_view())
            .expect("an idle encoder starts");
        let snapshot = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
            .await
            .expect("the snapshot arrives in time")
            .expect("the collector is alive");
        assert_eq!(snapshot.zxid, tree.last_applied_zxid());
        assert_eq!(snapshot.bytes, tree.to_snapshot_bytes());
    }

    #[actix::test]
    async fn a_snapshot_due_while_one_is_encoding_is_refused() {
        let (log, _received) = collector();
        let mut encoder = SnapshotEncoder::new(log);
        // Stands in for a long encode: a thread that runs until the test lets it end.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        encoder.running = Some(std::thread::spawn(move || {
            let _ = wait.recv();
        }));
        let view = DataTree::new(TreeConfig::default()).snapshot_view();
        assert!(encoder.is_busy());
        assert!(matches!(
            encoder.start(view.clone()),
            Err(EncodeRefused::Busy)
        ));

        drop(release);
        let stand_in = encoder.running.take().expect("still recorded");
        stand_in.join().expect("the stand-in ends cleanly");
        assert!(!encoder.is_busy());
        encoder.start(view).expect("an idle encoder starts");
    }
}
