//! Purging keeps what recovery needs: after a purge, recovery still restores the same
//! tree, even from the oldest snapshot kept.

mod storage_support;

use storage_support::{config, generate, segments, snapshots, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::{self, files, snapshot, StorageConfig, TxnLog};
use zk_tree::TreeConfig;

/// Writes `rounds` rounds the way the server does: a batch of txns, a roll (the snapshot
/// is due), more txns logged while the tree is serialized, then the snapshot of the tree
/// as it was at the roll. Returns the final tree's digest and zxid.
fn write_rounds(config: &StorageConfig, rounds: usize) -> (u64, Zxid) {
    let mut log = TxnLog::open(config, Zxid::ZERO).unwrap();
    let mut source = TxnSource::default();
    let snapshot_dir = files::version_dir(&config.data_dir);
    std::fs::create_dir_all(&snapshot_dir).unwrap();
    for _ in 0..rounds {
        log.append(&generate(&mut source, 10)).unwrap();
        log.sync().unwrap();
        log.roll().unwrap();
        let (zxid, bytes) = (source.last_zxid(), source.tree.to_snapshot_bytes());
        log.append(&generate(&mut source, 3)).unwrap();
        log.sync().unwrap();
        snapshot::write(&snapshot_dir, zxid, &bytes).unwrap();
    }
    (source.tree.digest(), source.last_zxid())
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_log_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let (digest, last_zxid) = write_rounds(&config, 8);
    assert_eq!(
        (snapshots(dir.path()).len(), segments(dir.path()).len()),
        (8, 9)
    );

    let report = storage::purge(&config).unwrap();
    let kept = snapshots(dir.path());
    assert_eq!(kept.len(), 3);
    assert_eq!(report.oldest_kept_snapshot, Some(kept[0].zxid));
    assert_eq!(report.removed.snapshots.len(), 5);
    // The segment holding the oldest kept snapshot's successor is the first one left.
    let left = segments(dir.path());
    assert!(left[0].zxid <= kept[0].zxid);
    assert!(left.len() >= 2 && left[1].zxid > kept[0].zxid);

    let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
    assert_eq!(
        (recovered.tree.digest(), recovered.tree.last_applied_zxid()),
        (digest, last_zxid)
    );

    // Even the oldest kept snapshot alone is enough.
    for newer in &kept[1..] {
        std::fs::remove_file(&newer.path).unwrap();
    }
    let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
    assert_eq!(recovered.snapshot.map(|file| file.zxid), Some(kept[0].zxid));
    assert_eq!(recovered.tree.digest(), digest);
}

#[test]
fn a_damaged_snapshot_does_not_count_as_one_kept() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let (digest, _) = write_rounds(&config, 5);
    let newest = snapshots(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&newest.path).unwrap();
    bytes[50] ^= 1;
    std::fs::write(&newest.path, bytes).unwrap();

    storage::purge(&config).unwrap();
    // Three valid snapshots are kept besides the damaged newest one.
    assert_eq!(snapshots(dir.path()).len(), 4);
    let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
    assert_eq!(recovered.tree.digest(), digest);
    assert_eq!(recovered.skipped_snapshots.len(), 1);
}

#[test]
fn purge_with_few_snapshots_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    write_rounds(&config, 2);
    let report = storage::purge(&config).unwrap();
    assert!(report.removed.snapshots.is_empty() && report.removed.segments.is_empty());
    assert_eq!(segments(dir.path()).len(), 3);
}

#[test]
fn separate_data_and_log_directories_are_purged_each_in_its_place() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let config = StorageConfig {
        data_log_dir: logs.path().to_owned(),
        ..config(data.path())
    };
    let (digest, _) = write_rounds(&config, 6);
    assert!(segments(data.path()).is_empty() && snapshots(logs.path()).is_empty());
    storage::purge(&config).unwrap();
    assert_eq!(snapshots(data.path()).len(), 3);
    assert!(segments(logs.path()).len() < 7);
    let recovered = storage::recover(&config, TreeConfig::default()).unwrap();
    assert_eq!(recovered.tree.digest(), digest);
}
