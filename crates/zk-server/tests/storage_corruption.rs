//! Damaged files at start: what recovery repairs (torn tails, a damaged newest snapshot)
//! and what it refuses (damage before the tail, gaps, foreign files), and that a refusal
//! names the file and offset and leaves the files untouched.

mod storage_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use storage_support::{config, generate, segments, snapshots, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::recovery::TailRepair;
use zk_server::storage::segment::{self, SegmentWriter};
use zk_server::storage::{self, files, record, snapshot, StorageError, TxnLog};
use zk_tree::TreeConfig;

/// A log written by the test: the digest of the tree after each zxid.
struct Written {
    dir: tempfile::TempDir,
    digests: BTreeMap<Zxid, u64>,
}

impl Written {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn recover(&self) -> Result<storage::Recovered, StorageError> {
        storage::recover(&config(self.path()), TreeConfig::default())
    }

    fn assert_recovers_through(&self, zxid: i64) -> storage::Recovered {
        let recovered = self.recover().unwrap();
        assert_eq!(recovered.tree.last_applied_zxid(), Zxid(zxid));
        assert_eq!(recovered.tree.digest(), self.digests[&Zxid(zxid)]);
        recovered
    }
}

/// Writes `batches` synced batches of txns; rolls the log after the batches listed in
/// `roll_after`, and writes a snapshot of the tree at the end of those listed in
/// `snapshot_after`.
fn write_log(batches: &[usize], roll_after: &[usize], snapshot_after: &[usize]) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let mut log = TxnLog::open(&config, Zxid::ZERO).unwrap();
    let mut source = TxnSource::default();
    let mut digests = BTreeMap::from([(Zxid::ZERO, source.tree.digest())]);
    for (index, &size) in batches.iter().enumerate() {
        for _ in 0..size {
            let txn = generate(&mut source, 1).remove(0);
            digests.insert(txn.zxid, source.tree.digest());
            log.append(&[txn]).unwrap();
        }
        log.sync().unwrap();
        if snapshot_after.contains(&index) {
            let dir = files::version_dir(dir.path());
            snapshot::write(&dir, source.last_zxid(), &source.tree.to_snapshot_bytes()).unwrap();
        }
        if roll_after.contains(&index) {
            log.roll().unwrap();
        }
    }
    Written { dir, digests }
}

/// (offset, zxid) of every record of a segment.
fn records(path: &Path) -> Vec<(u64, Zxid)> {
    let mut found = Vec::new();
    segment::scan(path, 1 << 20, |offset, txn| {
        found.push((offset, txn.zxid));
        Ok(())
    })
    .unwrap();
    found
}

fn offset_of(path: &Path, zxid: i64) -> u64 {
    records(path)
        .into_iter()
        .find(|(_, found)| *found == Zxid(zxid))
        .map(|(offset, _)| offset)
        .unwrap()
}

fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

fn only_segment(written: &Written) -> PathBuf {
    let segments = segments(written.path());
    assert_eq!(segments.len(), 1);
    segments[0].path.clone()
}

#[test]
fn the_zero_filled_preallocated_tail_is_a_clean_end() {
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let length = std::fs::metadata(&path).unwrap().len();
    let recovered = written.assert_recovers_through(30);
    assert_eq!(recovered.repaired_tail, None);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        length,
        "nothing cut"
    );
}

#[test]
fn a_tail_cut_inside_a_record_is_truncated_at_the_last_valid_record() {
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let cut_record = offset_of(&path, 28);
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(cut_record + 5).unwrap();
    drop(file);

    let recovered = written.assert_recovers_through(27);
    let Some(TailRepair::Truncated {
        path: repaired,
        offset,
        discarded_bytes,
        ..
    }) = recovered.repaired_tail.clone()
    else {
        panic!("expected a truncation, got {:?}", recovered.repaired_tail)
    };
    assert_eq!(
        (repaired, offset, discarded_bytes),
        (path.clone(), cut_record, 5)
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), cut_record);

    // The log goes on after the repair, in a new segment named after the next zxid.
    let mut log = recovered.log;
    let mut source = TxnSource::new(recovered.tree);
    let txns = generate(&mut source, 3);
    assert_eq!(txns[0].zxid, Zxid(28));
    log.append(&txns).unwrap();
    log.sync().unwrap();
    drop(log);
    let again = written.recover().unwrap();
    assert_eq!(again.repaired_tail, None);
    assert_eq!(again.tree.digest(), source.tree.digest());
    assert!(segments(written.path())
        .iter()
        .any(|file| file.zxid == Zxid(28)));
}

#[test]
fn flipped_bytes_in_the_last_record_are_a_torn_tail() {
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let last = offset_of(&path, 30);
    flip_byte(&path, last + 12);
    let recovered = written.assert_recovers_through(29);
    assert!(matches!(
        recovered.repaired_tail,
        Some(TailRepair::Truncated { offset, .. }) if offset == last
    ));
}

#[test]
fn garbage_after_the_last_synced_record_is_cut_without_losing_it() {
    // A crash during the write of a batch whose fsync never returned: part of it reached
    // the disk as garbage after the last synced record.
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let end = records(&path).last().map(|(offset, _)| *offset).unwrap();
    let scan = segment::scan(&path, 1 << 20, |_, _| Ok(())).unwrap();
    assert!(scan.valid_end > end);
    let mut bytes = std::fs::read(&path).unwrap();
    for (index, byte) in bytes[scan.valid_end as usize..][..300]
        .iter_mut()
        .enumerate()
    {
        *byte = (index as u8).wrapping_mul(151).wrapping_add(7);
    }
    std::fs::write(&path, bytes).unwrap();
    let recovered = written.assert_recovers_through(30);
    assert!(matches!(
        recovered.repaired_tail,
        Some(TailRepair::Truncated { offset, .. }) if offset == scan.valid_end
    ));
}

#[test]
fn flipped_bytes_in_the_middle_refuse_to_start_and_name_file_and_offset() {
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let damaged = offset_of(&path, 10);
    flip_byte(&path, damaged + 9);
    let before = std::fs::read(&path).unwrap();

    let error = written.recover().unwrap_err();
    let StorageError::CorruptLog {
        path: named,
        offset,
        ..
    } = &error
    else {
        panic!("expected CorruptLog, got {error}")
    };
    assert_eq!((named, *offset), (&path, damaged));
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("offset {damaged}")), "{message}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a refusal changes nothing"
    );
}

#[test]
fn a_zeroed_record_in_the_middle_is_not_mistaken_for_the_end() {
    let written = write_log(&[10, 10, 10], &[], &[]);
    let path = only_segment(&written);
    let start = offset_of(&path, 12) as usize;
    let end = offset_of(&path, 13) as usize;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[start..end].fill(0);
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        written.recover(),
        Err(StorageError::CorruptLog { offset, .. }) if offset == start as u64
    ));
}

#[test]
fn damage_at_the_end_of_a_segment_that_is_not_the_last_refuses() {
    let written = write_log(&[10, 10, 10], &[0], &[]);
    let segments = segments(written.path());
    assert_eq!(segments.len(), 2);
    let first = &segments[0].path;
    let last_of_first = offset_of(first, 10);
    flip_byte(first, last_of_first + 10);
    let error = written.recover().unwrap_err();
    assert!(
        matches!(&error, StorageError::CorruptLog { path, offset, .. }
            if path == first && *offset == last_of_first),
        "{error}"
    );
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_previous_one_plus_the_log() {
    let written = write_log(&[10, 10, 10, 10], &[0, 2], &[0, 2]);
    let snapshots = snapshots(written.path());
    let zxids: Vec<Zxid> = snapshots.iter().map(|file| file.zxid).collect();
    assert_eq!(zxids, vec![Zxid(10), Zxid(30)]);
    flip_byte(&snapshots[1].path, 100);

    let recovered = written.assert_recovers_through(40);
    assert_eq!(
        recovered.snapshot.as_ref().map(|file| file.zxid),
        Some(Zxid(10))
    );
    assert_eq!(recovered.skipped_snapshots.len(), 1);
    assert_eq!(recovered.skipped_snapshots[0].path, snapshots[1].path);
    assert_eq!(recovered.replayed_txns, 30);
}

#[test]
fn a_truncated_newest_snapshot_falls_back_too() {
    let written = write_log(&[10, 10, 10], &[0, 1], &[0, 1]);
    let newest = snapshots(written.path()).pop().unwrap();
    let length = std::fs::metadata(&newest.path).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&newest.path)
        .unwrap();
    file.set_len(length / 2).unwrap();
    drop(file);
    let recovered = written.assert_recovers_through(30);
    assert_eq!(recovered.snapshot.map(|file| file.zxid), Some(Zxid(10)));
}

#[test]
fn a_newest_segment_torn_while_being_created_is_removed() {
    let written = write_log(&[10], &[], &[]);
    let torn = files::version_dir(written.path()).join("log.b");
    std::fs::write(&torn, b"ZKRL\x01\0\0").unwrap();
    let recovered = written.assert_recovers_through(10);
    assert!(
        matches!(recovered.repaired_tail, Some(TailRepair::Removed { ref path, .. }) if *path == torn)
    );
    assert!(!torn.exists());
}

#[test]
fn a_newest_segment_without_records_is_removed_so_its_name_can_be_reused() {
    let written = write_log(&[10], &[], &[]);
    let dir = files::version_dir(written.path());
    drop(SegmentWriter::create(&dir, Zxid(11), 4096).unwrap());
    let recovered = written.assert_recovers_through(10);
    assert!(matches!(
        recovered.repaired_tail,
        Some(TailRepair::Removed { .. })
    ));
    let mut log = recovered.log;
    let mut source = TxnSource::new(recovered.tree);
    log.append(&generate(&mut source, 1)).unwrap();
    log.sync().unwrap();
}

#[test]
fn a_zxid_gap_inside_a_segment_refuses_and_names_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = files::version_dir(dir.path());
    std::fs::create_dir_all(&log_dir).unwrap();
    let mut source = TxnSource::default();
    let txns = generate(&mut source, 4);
    let mut writer = SegmentWriter::create(&log_dir, Zxid(1), 4096).unwrap();
    let mut bytes = Vec::new();
    let mut offsets = Vec::new();
    for txn in [&txns[0], &txns[1], &txns[3]] {
        offsets.push(segment::SEGMENT_HEADER_BYTES as u64 + bytes.len() as u64);
        record::encode(txn, &mut bytes, 1 << 20).unwrap();
    }
    writer.write(&bytes).unwrap();
    writer.sync(true).unwrap();
    let error = storage::recover(&config(dir.path()), TreeConfig::default()).unwrap_err();
    assert!(
        matches!(error, StorageError::ZxidGap { previous: Zxid(2), found: Zxid(4), offset, .. }
            if offset == offsets[2]),
        "{error}"
    );
}

#[test]
fn a_log_that_starts_after_the_recovered_tree_refuses() {
    // The only snapshot is damaged and the early log was purged: txns 1..10 are gone.
    let written = write_log(&[10, 10], &[0], &[0]);
    let segments = segments(written.path());
    std::fs::remove_file(&segments[0].path).unwrap();
    flip_byte(&snapshots(written.path())[0].path, 40);
    let error = written.recover().unwrap_err();
    assert!(
        matches!(
            error,
            StorageError::ZxidGap {
                previous: Zxid(0),
                found: Zxid(11),
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn apache_zookeeper_files_are_refused_by_name() {
    for (name, magic) in [("log.1", b"ZKLG"), ("snapshot.1", b"ZKSN")] {
        let dir = tempfile::tempdir().unwrap();
        let version_dir = files::version_dir(dir.path());
        std::fs::create_dir_all(&version_dir).unwrap();
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
        std::fs::write(version_dir.join(name), bytes).unwrap();
        let error = storage::recover(&config(dir.path()), TreeConfig::default()).unwrap_err();
        assert!(
            matches!(error, StorageError::ForeignFile { .. }),
            "{name}: {error}"
        );
        assert!(error.to_string().contains("Apache ZooKeeper"), "{error}");
    }
}
