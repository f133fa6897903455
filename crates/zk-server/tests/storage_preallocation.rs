//! Segments made from spares prepared in the background: a roll uses the spare, a spare
//! left by a crash is removed at start without changing what is recovered, and a crash
//! between a spare's rename and its first record recovers like any empty last segment.

mod storage_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use storage_support::{config, generate, log_dir, segments, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::recovery::TailRepair;
use zk_server::storage::spare::{SpareSegment, SPARE_FILE_NAME};
use zk_server::storage::txn_log::NewSegments;
use zk_server::storage::{self, TxnLog};
use zk_tree::TreeConfig;

/// A log of synced batches, written with a preallocator, and the tree digest after each.
struct Written {
    dir: tempfile::TempDir,
    digests: BTreeMap<Zxid, u64>,
    source: TxnSource,
}

impl Written {
    /// Writes `batches` synced batches, rolling after each but the last; returns the log
    /// still open.
    fn new(batches: &[usize]) -> (Written, TxnLog) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        log.preallocate_in_background().unwrap();
        let mut written = Written {
            dir,
            digests: BTreeMap::new(),
            source: TxnSource::default(),
        };
        for (index, &size) in batches.iter().enumerate() {
            if index > 0 {
                log.roll().unwrap();
            }
            written.append(&mut log, size);
        }
        (written, log)
    }

    fn append(&mut self, log: &mut TxnLog, count: usize) {
        let txns = generate(&mut self.source, count);
        log.append(&txns).unwrap();
        log.sync().unwrap();
        self.digests
            .insert(self.source.last_zxid(), self.source.tree.digest());
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn spare_path(&self) -> PathBuf {
        log_dir(self.path()).join(SPARE_FILE_NAME)
    }

    fn assert_recovers_through(&self, zxid: i64) -> storage::Recovered {
        let recovered = storage::recover(&config(self.path()), TreeConfig::default()).unwrap();
        assert_eq!(recovered.tree.last_applied_zxid(), Zxid(zxid));
        assert_eq!(recovered.tree.digest(), self.digests[&Zxid(zxid)]);
        recovered
    }
}

fn segment_zxids(dir: &Path) -> Vec<Zxid> {
    segments(dir).iter().map(|file| file.zxid).collect()
}

/// The log recovered, written to again, and recovered again: the new txns are there.
fn assert_appends_after_recovery(written: &mut Written, recovered: storage::Recovered) {
    let mut log = recovered.log;
    log.preallocate_in_background().unwrap();
    written.source = TxnSource::new(recovered.tree);
    written.append(&mut log, 3);
    assert_eq!(
        log.new_segments(),
        NewSegments {
            from_spares: 1,
            created_in_place: 0
        }
    );
    drop(log);
    let through = written.source.last_zxid();
    written.assert_recovers_through(through.0);
}

#[test]
fn a_roll_uses_the_prepared_spare() {
    let (written, log) = Written::new(&[5, 7, 1]);
    assert_eq!(
        log.new_segments(),
        NewSegments {
            from_spares: 3,
            created_in_place: 0
        },
        "every segment, the first too, was a spare"
    );
    assert_eq!(
        segment_zxids(written.path()),
        vec![Zxid(1), Zxid(6), Zxid(13)]
    );
    drop(log);
    assert!(
        !written.spare_path().exists(),
        "closing removes the unused spare"
    );
    written.assert_recovers_through(13);
}

#[test]
fn a_spare_left_by_a_crash_is_removed_at_start_and_changes_nothing() {
    let (mut written, log) = Written::new(&[10, 4]);
    drop(log);
    // What a crash leaves: a complete spare, or one cut short while it was being filled.
    for leftover in [None, Some(b"\0\0\0partial".as_slice())] {
        let spare = SpareSegment::prepare(&log_dir(written.path()), 16 * 1024).unwrap();
        drop(spare);
        if let Some(bytes) = leftover {
            std::fs::write(written.spare_path(), bytes).unwrap();
        }
        let recovered = written.assert_recovers_through(14);
        assert_eq!(recovered.repaired_tail, None);
        assert!(!written.spare_path().exists());
        assert_eq!(segment_zxids(written.path()), vec![Zxid(1), Zxid(11)]);
    }
    let recovered = written.assert_recovers_through(14);
    assert_appends_after_recovery(&mut written, recovered);
}

#[test]
fn a_crash_after_the_spares_rename_before_its_first_record_recovers() {
    let (mut written, log) = Written::new(&[10]);
    drop(log);
    // The rename done, the directory fsynced, no record written: a crash here leaves
    // log.b holding a header and zeros (and, often, the next spare beside it).
    let dir = log_dir(written.path());
    let segment = SpareSegment::prepare(&dir, 16 * 1024)
        .unwrap()
        .activate(Zxid(11))
        .unwrap();
    let renamed = segment.path().to_owned();
    drop(segment);
    drop(SpareSegment::prepare(&dir, 16 * 1024).unwrap());

    let recovered = written.assert_recovers_through(10);
    assert!(
        matches!(&recovered.repaired_tail, Some(TailRepair::Removed { path, .. }) if *path == renamed),
        "{:?}",
        recovered.repaired_tail
    );
    assert!(!renamed.exists() && !written.spare_path().exists());
    // The name is free again: the next segment, from a new spare, takes it.
    assert_appends_after_recovery(&mut written, recovered);
    assert_eq!(segment_zxids(written.path()), vec![Zxid(1), Zxid(11)]);
}

#[test]
fn a_crash_before_the_renamed_spares_header_reached_the_disk_recovers() {
    let (mut written, log) = Written::new(&[10]);
    drop(log);
    // The rename is durable but the header page is not: the segment is all zeros.
    let segment = SpareSegment::prepare(&log_dir(written.path()), 16 * 1024)
        .unwrap()
        .activate(Zxid(11))
        .unwrap();
    let renamed = segment.path().to_owned();
    drop(segment);
    let zeros = vec![0u8; std::fs::metadata(&renamed).unwrap().len() as usize];
    std::fs::write(&renamed, zeros).unwrap();

    let recovered = written.assert_recovers_through(10);
    assert!(matches!(
        &recovered.repaired_tail,
        Some(TailRepair::Removed { path, .. }) if *path == renamed
    ));
    assert_appends_after_recovery(&mut written, recovered);
}
