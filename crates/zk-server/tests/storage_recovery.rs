//! Recovery property: whatever the txns, the batching and the snapshot points, a
//! restart recovers exactly the tree as of the last sync (unsynced txns were never
//! acknowledged and may be lost; synced ones never are).

mod storage_support;

use proptest::prelude::*;
use storage_support::{config, request, session, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::{self, files, snapshot, StorageConfig, TxnLog};
use zk_tree::TreeConfig;

/// What the test does after each txn.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Only append (the txn waits in the log's buffer).
    Append,
    /// Append and fsync (group commit of everything appended since the last sync).
    Sync,
    /// Sync, roll the log, and write a snapshot of the tree as of some earlier sync (the
    /// tree is applied behind the log, as in the server).
    Snapshot { lag: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Append),
        3 => Just(Step::Sync),
        1 => (0usize..4).prop_map(|lag| Step::Snapshot { lag }),
    ]
}

/// A request (kind, path index, data length, session index; see `storage_support`) and
/// what follows it.
type Op = ((u8, usize, usize, u8), Step);

fn op() -> impl Strategy<Value = Op> {
    ((any::<u8>(), 0usize..16, 0usize..64, any::<u8>()), step())
}

/// A tree state at a sync point: its zxid, canonical bytes and digest.
struct SyncPoint {
    zxid: Zxid,
    bytes: Vec<u8>,
    digest: u64,
}

fn run(config: &StorageConfig, ops: &[Op]) -> Result<(), TestCaseError> {
    let recovered = storage::recover(config, TreeConfig::default()).unwrap();
    let mut log: TxnLog = recovered.log;
    let mut source = TxnSource::new(recovered.tree);
    let mut sync_points = vec![SyncPoint {
        zxid: source.last_zxid(),
        bytes: source.tree.to_snapshot_bytes(),
        digest: source.tree.digest(),
    }];
    let snapshot_dir = files::version_dir(&config.data_dir);
    for &((kind, path, data_len, session_index), step) in ops {
        let txn = source.next(session(session_index), &request(kind, path, data_len));
        log.append(&[txn]).unwrap();
        if matches!(step, Step::Append) {
            continue;
        }
        let synced = log.sync().unwrap();
        prop_assert_eq!(synced.through, source.last_zxid());
        sync_points.push(SyncPoint {
            zxid: source.last_zxid(),
            bytes: source.tree.to_snapshot_bytes(),
            digest: source.tree.digest(),
        });
        if let Step::Snapshot { lag } = step {
            log.roll().unwrap();
            let point = &sync_points[sync_points.len().saturating_sub(1 + lag)];
            snapshot::write(&snapshot_dir, point.zxid, &point.bytes).unwrap();
        }
    }
    // A crash: whatever was appended since the last sync is lost with the process.
    drop(log);
    let expected = sync_points.last().expect("the start is a sync point");
    let recovered = storage::recover(config, TreeConfig::default()).unwrap();
    prop_assert_eq!(recovered.tree.last_applied_zxid(), expected.zxid);
    prop_assert_eq!(recovered.tree.digest(), expected.digest);
    prop_assert_eq!(recovered.tree.to_snapshot_bytes(), expected.bytes.clone());
    prop_assert_eq!(recovered.failed_replays, 0);
    recovered.tree.check_invariants();
    Ok(())
}

proptest! {
    // Each case writes real files; a few dozen cases cover the step mixes well.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn recovery_restores_the_tree_as_of_the_last_sync(
        ops in proptest::collection::vec(op(), 1..150),
        restart_midway in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig {
            // No real crash happens here (the page cache holds every write), so skipping
            // the fsyncs changes nothing but the run time.
            force_sync: false,
            ..config(dir.path())
        };
        if restart_midway {
            let (first, second) = ops.split_at(ops.len() / 2);
            run(&config, first)?;
            run(&config, second)?;
        } else {
            run(&config, &ops)?;
        }
    }
}

#[test]
fn recovery_after_restarts_keeps_appending_in_new_segments() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut expected = Vec::new();
    for round in 0..3 {
        let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
        assert_eq!(
            recovered.tree.digest(),
            expected.last().copied().unwrap_or(recovered.tree.digest())
        );
        let mut log = recovered.log;
        let mut source = TxnSource::new(recovered.tree);
        let txns = storage_support::generate(&mut source, 20 + round);
        log.append(&txns).unwrap();
        log.sync().unwrap();
        expected.push(source.tree.digest());
    }
    let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
    assert_eq!(recovered.tree.digest(), *expected.last().unwrap());
    assert_eq!(
        storage_support::segments(dir.path()).len(),
        3,
        "one segment per run"
    );
}
