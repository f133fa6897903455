//! The transaction log: segments in `<dataLogDir>/version-2/`, appended to in zxid order.
//!
//! Group commit is the caller's loop: [`TxnLog::append`] encodes txns into a buffer (no
//! system call), [`TxnLog::sync`] writes the buffer and fsyncs once, however many txns it
//! holds. [`TxnLog::roll`] closes the current segment; the next sync starts a new one
//! named after its first zxid. The log never appends to a segment of an earlier run: the
//! first sync after opening starts a new segment, as Apache's does.
//!
//! A segment holds at most `preAllocSize` of records: a batch that would pass that starts
//! a new segment too (when the segment holds records). A batch is never split between two
//! segments, so a crash can tear only the last one.
//!
//! Records are written over zeros already on disk. A segment starts with one step of zeros
//! ([`preallocator::step_bytes`]) and gets another as records fill it. Without a
//! preallocator, the log writes the zeros itself: it creates each segment in place, and
//! grows it in place when a batch needs room. After
//! [`TxnLog::preallocate_in_background`], a [`Preallocator`] thread prepares each next
//! segment ahead of time and writes the next step of zeros while the log appends before
//! it; the log still writes them itself when the thread failed or is gone.

use super::config::StorageConfig;
use super::error::StorageError;
use super::files;
use super::preallocator::{self, BeforeWrite, Preallocator, Runway};
use super::record;
use super::segment::{self, SegmentWriter};
use super::spare;
use std::path::{Path, PathBuf};
use zk_proto::Zxid;
use zk_tree::Txn;

/// Whether `next` is the zxid that comes right after `previous`: the next counter in the
/// same epoch, or the first (counter 1) of a later epoch.
pub fn is_next_zxid(previous: Zxid, next: Zxid) -> bool {
    if next.epoch() == previous.epoch() {
        next.0 == previous.0 + 1
    } else {
        next.epoch() > previous.epoch() && next.counter() == 1
    }
}

/// What one [`TxnLog::sync`] made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// Every txn up to this zxid is durable (or written, with `forceSync=no`).
    pub through: Zxid,
    /// Txns written by this sync.
    pub txn_count: usize,
    /// Bytes of records written by this sync.
    pub bytes: u64,
}

/// How the log's new segments were made, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewSegments {
    /// Made from a spare prepared in the background: no zeros written on the log's thread.
    pub from_spares: u64,
    /// Created and filled with zeros in place, while the batch waited (no preallocator, or
    /// it failed).
    pub created_in_place: u64,
}

/// How the log's segments got their zeros ahead of the records, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentGrowth {
    /// Steps of zeros written by the preallocator thread.
    pub extended_ahead: u64,
    /// Batches that waited for the thread to finish a step.
    pub waits: u64,
    /// Batches for which the log wrote zeros itself (no step under way, or it failed).
    pub grown_in_place: u64,
}

/// The append side of the transaction log. One per log directory.
#[derive(Debug)]
pub struct TxnLog {
    dir: PathBuf,
    /// `preAllocSize`: the most records a segment holds (unless one batch is larger).
    preallocation_bytes: u64,
    /// The zeros a segment starts with, and gets each time it runs low.
    step_bytes: u64,
    force_sync: bool,
    max_txn_bytes: usize,
    segment: Option<SegmentWriter>,
    preallocator: Option<Preallocator>,
    new_segments: NewSegments,
    growth: SegmentGrowth,
    /// Records appended and not yet written.
    buffer: Vec<u8>,
    buffered_first: Option<Zxid>,
    buffered_count: usize,
    last_appended: Zxid,
    last_synced: Zxid,
}

impl TxnLog {
    /// Opens the log directory of `config` for appending after `last_zxid` (the last txn
    /// recovered), removing a spare segment left by an earlier run. Use
    /// [`super::recover`], which checks and repairs the log first.
    pub fn open(config: &StorageConfig, last_zxid: Zxid) -> Result<TxnLog, StorageError> {
        let dir = files::version_dir(&config.data_log_dir);
        files::create_dir(&dir)?;
        if spare::remove_leftover(&dir)? {
            tracing::info!(dir = %dir.display(), "removed the spare log segment of an earlier run");
        }
        Ok(TxnLog {
            dir,
            preallocation_bytes: config.preallocation_bytes,
            step_bytes: preallocator::step_bytes(config.preallocation_bytes),
            force_sync: config.force_sync,
            max_txn_bytes: config.max_txn_bytes,
            segment: None,
            preallocator: None,
            new_segments: NewSegments::default(),
            growth: SegmentGrowth::default(),
            buffer: Vec::new(),
            buffered_first: None,
            buffered_count: 0,
            last_appended: last_zxid,
            last_synced: last_zxid,
        })
    }

    /// Starts a thread that prepares each next segment's file ahead of time, and adds
    /// zeros to the current one before the records reach their end, so that no batch
    /// waits for zeros to be written.
    pub fn preallocate_in_background(&mut self) -> Result<(), StorageError> {
        if self.preallocator.is_none() {
            self.preallocator = Some(Preallocator::spawn(&self.dir, self.step_bytes)?);
        }
        Ok(())
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How the new segments were made since the log was opened.
    pub fn new_segments(&self) -> NewSegments {
        self.new_segments
    }

    /// How the segments got their zeros since the log was opened.
    pub fn growth(&self) -> SegmentGrowth {
        self.growth
    }

    /// The zxid of the last txn appended.
    pub fn last_appended_zxid(&self) -> Zxid {
        self.last_appended
    }

    /// The zxid through which everything is durable.
    pub fn last_synced_zxid(&self) -> Zxid {
        self.last_synced
    }

    /// The segment being appended to, if one is open.
    pub fn current_segment(&self) -> Option<&Path> {
        self.segment.as_ref().map(SegmentWriter::path)
    }

    /// Buffers the records of `txns`, which must continue the log's zxid sequence. All or
    /// nothing: on error nothing is appended.
    pub fn append(&mut self, txns: &[Txn]) -> Result<(), StorageError> {
        let buffer_len = self.buffer.len();
        let mut last = self.last_appended;
        for txn in txns {
            let encoded = if is_next_zxid(last, txn.zxid) {
                record::encode(txn, &mut self.buffer, self.max_txn_bytes)
            } else {
                Err(StorageError::OutOfOrder {
                    previous: last,
                    found: txn.zxid,
                })
            };
            if let Err(error) = encoded {
                self.buffer.truncate(buffer_len);
                return Err(error);
            }
            last = txn.zxid;
        }
        if let Some(first) = txns.first() {
            self.buffered_first.get_or_insert(first.zxid);
        }
        self.buffered_count += txns.len();
        self.last_appended = last;
        Ok(())
    }

    /// Writes everything appended and fsyncs once (a no-op when nothing was appended).
    pub fn sync(&mut self) -> Result<Synced, StorageError> {
        let Some(first) = self.buffered_first else {
            return Ok(Synced {
                through: self.last_synced,
                txn_count: 0,
                bytes: 0,
            });
        };
        let batch_bytes = self.buffer.len() as u64;
        let segment = match self.segment.take() {
            Some(segment) if segment.is_empty() || self.has_room(&segment, batch_bytes) => segment,
            // A full segment is closed like a rolled one: its records were synced by the
            // sync before this one. A batch larger than a whole new segment grows it.
            Some(_) => {
                self.segment_closed();
                self.new_segment(first)?
            }
            None => self.new_segment(first)?,
        };
        let segment = self.segment.insert(segment);
        make_room(
            segment,
            self.preallocator.as_mut(),
            batch_bytes,
            &mut self.growth,
        );
        segment.write(&self.buffer)?;
        segment.sync(self.force_sync)?;
        self.ask_for_zeros_ahead();
        let synced = Synced {
            through: self.last_appended,
            txn_count: self.buffered_count,
            bytes: self.buffer.len() as u64,
        };
        self.buffer.clear();
        self.buffered_first = None;
        self.buffered_count = 0;
        self.last_synced = self.last_appended;
        Ok(synced)
    }

    /// Syncs what is appended, then closes the segment: the next append starts a new one.
    pub fn roll(&mut self) -> Result<Synced, StorageError> {
        let synced = self.sync()?;
        self.segment = None;
        self.segment_closed();
        Ok(synced)
    }

    /// Drops every logged txn after `after` (ZAB's TRUNC: proposals of an old epoch that
    /// were never committed). Later segments are removed, the one holding `after` is cut
    /// just past it; the next append starts a new segment.
    pub fn truncate_after(&mut self, after: Zxid) -> Result<(), StorageError> {
        self.roll()?;
        self.stop_writing_zeros();
        let segments = files::list(&self.dir, files::LOG_PREFIX)?;
        for file in segments.iter().rev() {
            if file.zxid > after {
                files::remove(&file.path)?;
                continue;
            }
            let mut cut = None;
            segment::scan(&file.path, self.max_txn_bytes, |offset, txn| {
                if txn.zxid > after && cut.is_none() {
                    cut = Some(offset);
                }
                Ok(())
            })?;
            if let Some(offset) = cut {
                segment::truncate(&file.path, offset)?;
            }
            break;
        }
        files::sync_directory(&self.dir)?;
        tracing::info!(%after, "truncated the log");
        self.last_appended = after;
        self.last_synced = after;
        Ok(())
    }

    /// Removes every segment: the state now comes from a snapshot at `snapshot_zxid` (ZAB's
    /// SNAP), already written, and the log restarts after it.
    pub fn restart_after_snapshot(&mut self, snapshot_zxid: Zxid) -> Result<(), StorageError> {
        self.roll()?;
        self.stop_writing_zeros();
        for file in files::list(&self.dir, files::LOG_PREFIX)? {
            files::remove(&file.path)?;
        }
        files::sync_directory(&self.dir)?;
        self.last_appended = snapshot_zxid;
        self.last_synced = snapshot_zxid;
        Ok(())
    }

    /// The segment `log.<first>`: from the preallocator's spare, or created in place.
    fn new_segment(&mut self, first: Zxid) -> Result<SegmentWriter, StorageError> {
        if let Some(preallocator) = &mut self.preallocator {
            if let Some(segment) = preallocator.next_segment(first)? {
                self.new_segments.from_spares += 1;
                return Ok(segment);
            }
        }
        self.new_segments.created_in_place += 1;
        SegmentWriter::create(&self.dir, first, self.step_bytes)
    }

    /// Whether `batch_bytes` more fit in `segment`: within the zeros it has, or within
    /// `preAllocSize` of records.
    fn has_room(&self, segment: &SegmentWriter, batch_bytes: u64) -> bool {
        let runway = Runway::of(segment, self.step_bytes, self.preallocation_bytes);
        segment.fits(batch_bytes) || runway.position + batch_bytes <= runway.limit
    }

    /// After a write: asks the preallocator for the next step of zeros, if they run low.
    fn ask_for_zeros_ahead(&mut self) {
        let (Some(segment), Some(preallocator)) = (&self.segment, &mut self.preallocator) else {
            return;
        };
        let runway = Runway::of(segment, self.step_bytes, self.preallocation_bytes);
        let Some(bytes) = preallocator::extension_wanted(runway, preallocator.extension_out())
        else {
            return;
        };
        match segment.extension(bytes) {
            // Not sent (the thread is busy with a closed segment's zeros, or gone): asked
            // again after the next write, and the log grows the segment itself if it must.
            Ok(extension) => {
                preallocator.request_extension(extension);
            }
            Err(error) => tracing::warn!(%error, "cannot ask for zeros ahead of the log"),
        }
    }

    /// The current segment was closed: the zeros being written for it, if any, are no
    /// longer waited for.
    fn segment_closed(&mut self) {
        if let Some(preallocator) = &mut self.preallocator {
            preallocator.segment_closed();
        }
    }

    /// Waits until the preallocator writes into no segment, before segments are cut or
    /// removed: zeros written after a cut would leave a hole and then zeros there.
    fn stop_writing_zeros(&mut self) {
        if let Some(preallocator) = &mut self.preallocator {
            preallocator.wait_until_no_extension_is_out();
        }
    }
}

/// Before writing `batch_bytes` to `segment`: takes in zeros the preallocator has written
/// for it, and waits for those being written if the batch needs them. A batch that still
/// does not fit makes the write grow the segment in place, with no extension out.
fn make_room(
    segment: &mut SegmentWriter,
    preallocator: Option<&mut Preallocator>,
    batch_bytes: u64,
    growth: &mut SegmentGrowth,
) {
    if let Some(preallocator) = preallocator {
        if let Some(done) = preallocator.finished_extension() {
            segment.extended(done);
            growth.extended_ahead += 1;
        }
        let fits = segment.fits(batch_bytes);
        match preallocator::before_write(fits, preallocator.extension_out()) {
            BeforeWrite::Write | BeforeWrite::GrowInPlace => {}
            BeforeWrite::WaitForExtension => {
                let started = std::time::Instant::now();
                growth.waits += 1;
                if let Some(done) = preallocator.wait_for_extension() {
                    segment.extended(done);
                    growth.extended_ahead += 1;
                }
                tracing::debug!(
                    waited_us = started.elapsed().as_micros() as u64,
                    batch_bytes,
                    "a log batch waited for the zeros ahead of it"
                );
            }
        }
    }
    if !segment.fits(batch_bytes) {
        growth.grown_in_place += 1;
        tracing::debug!(batch_bytes, "a log batch grows its segment in place");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::preallocator::Gate;
    use crate::storage::segment;
    use zk_proto::{Epoch, SessionId};
    use zk_tree::TxnBody;

    fn txn(zxid: Zxid) -> Txn {
        Txn {
            zxid,
            time_ms: 0,
            session_id: SessionId(1),
            body: TxnBody::CreateSession { timeout_ms: 10_000 },
        }
    }

    fn txns(range: std::ops::RangeInclusive<i64>) -> Vec<Txn> {
        range.map(|zxid| txn(Zxid(zxid))).collect()
    }

    fn config(dir: &Path) -> StorageConfig {
        StorageConfig {
            preallocation_bytes: 4096,
            ..StorageConfig::new(dir)
        }
    }

    fn logged_zxids(dir: &Path) -> Vec<(String, Vec<i64>)> {
        files::list(dir, files::LOG_PREFIX)
            .unwrap()
            .into_iter()
            .map(|file| {
                let mut zxids = Vec::new();
                segment::scan(&file.path, 1 << 20, |_, txn| {
                    zxids.push(txn.zxid.0);
                    Ok(())
                })
                .unwrap();
                let name = file
                    .path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (name, zxids)
            })
            .collect()
    }

    #[test]
    fn truncation_keeps_the_txns_up_to_the_cut_and_appends_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        log.append(&txns(1..=3)).unwrap();
        log.roll().unwrap();
        log.append(&txns(4..=6)).unwrap();
        log.sync().unwrap();
        log.truncate_after(Zxid(2)).unwrap();
        assert_eq!(log.last_appended_zxid(), Zxid(2));
        log.append(&txns(3..=3)).unwrap();
        log.sync().unwrap();
        let kept: Vec<i64> = logged_zxids(log.dir())
            .into_iter()
            .flat_map(|(_, zxids)| zxids)
            .collect();
        assert_eq!(kept, vec![1, 2, 3]);
    }

    #[test]
    fn zxid_succession_allows_new_epochs_only_at_counter_one() {
        let last = Zxid::new(Epoch(1), 7);
        assert!(is_next_zxid(last, Zxid::new(Epoch(1), 8)));
        assert!(is_next_zxid(last, Zxid::new(Epoch(2), 1)));
        assert!(is_next_zxid(last, Zxid::new(Epoch(5), 1)));
        assert!(!is_next_zxid(last, Zxid::new(Epoch(1), 9)));
        assert!(!is_next_zxid(last, Zxid::new(Epoch(2), 2)));
        assert!(!is_next_zxid(last, last));
        assert!(is_next_zxid(Zxid::ZERO, Zxid(1)));
    }

    #[test]
    fn one_sync_writes_every_appended_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        log.append(&txns(1..=3)).unwrap();
        log.append(&txns(4..=10)).unwrap();
        assert_eq!(log.last_synced_zxid(), Zxid::ZERO);
        let synced = log.sync().unwrap();
        assert_eq!((synced.through, synced.txn_count), (Zxid(10), 10));
        assert_eq!(log.sync().unwrap().txn_count, 0, "nothing left to sync");
        assert_eq!(
            logged_zxids(log.dir()),
            vec![("log.1".to_owned(), (1..=10).collect())]
        );
    }

    #[test]
    fn rolling_starts_a_segment_named_after_its_first_zxid() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid(4)).unwrap();
        log.append(&txns(5..=6)).unwrap();
        log.sync().unwrap();
        log.append(&txns(7..=7)).unwrap();
        let synced = log.roll().unwrap();
        assert_eq!(synced.through, Zxid(7), "roll syncs what is pending");
        log.roll().unwrap();
        log.append(&txns(8..=9)).unwrap();
        log.sync().unwrap();
        assert_eq!(
            logged_zxids(log.dir()),
            vec![
                ("log.5".to_owned(), vec![5, 6, 7]),
                ("log.8".to_owned(), vec![8, 9])
            ]
        );
    }

    #[test]
    fn out_of_order_and_oversized_appends_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        let mut batch = txns(1..=2);
        batch.push(txn(Zxid(4)));
        assert!(matches!(
            log.append(&batch),
            Err(StorageError::OutOfOrder {
                previous: Zxid(2),
                found: Zxid(4)
            })
        ));
        assert_eq!(log.last_appended_zxid(), Zxid::ZERO);
        let mut big = txn(Zxid(1));
        big.body = TxnBody::Error(zk_proto::ErrorCode::NoNode);
        let mut tiny = config(dir.path());
        tiny.max_txn_bytes = 2;
        let mut strict = TxnLog::open(&tiny, Zxid::ZERO).unwrap();
        assert!(matches!(
            strict.append(&[big]),
            Err(StorageError::TxnTooLarge { .. })
        ));
        assert_eq!(strict.sync().unwrap().txn_count, 0);
        log.append(&txns(1..=1)).unwrap();
        assert_eq!(log.sync().unwrap().through, Zxid(1));
    }

    #[test]
    fn a_batch_that_does_not_fit_starts_a_new_segment_instead_of_growing_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        // About 20 bytes a record: 100 records fill a 4 KiB segment about half.
        for batch in 0..5 {
            log.append(&txns(batch * 100 + 1..=batch * 100 + 100))
                .unwrap();
            log.sync().unwrap();
        }
        let segments = logged_zxids(log.dir());
        assert!(segments.len() > 1, "{segments:?}");
        assert_eq!(log.new_segments().created_in_place, segments.len() as u64);
        for (name, zxids) in &segments {
            assert_eq!(zxids.len() % 100, 0, "{name}: whole batches only");
        }
        let all: Vec<i64> = segments.into_iter().flat_map(|(_, zxids)| zxids).collect();
        assert_eq!(all, (1..=500).collect::<Vec<_>>());
        for file in files::list(log.dir(), files::LOG_PREFIX).unwrap() {
            let len = std::fs::metadata(&file.path).unwrap().len();
            assert_eq!(len, 24 + 4096, "{}: never grown", file.path.display());
        }
    }

    #[test]
    fn a_batch_larger_than_a_whole_segment_grows_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        log.append(&txns(1..=1000)).unwrap();
        log.sync().unwrap();
        assert_eq!(
            logged_zxids(log.dir()),
            vec![("log.1".to_owned(), (1..=1000).collect())]
        );
        let len = std::fs::metadata(log.dir().join("log.1")).unwrap().len();
        assert!(len > 24 + 4096, "grown to {len} bytes");
    }

    #[test]
    fn with_a_preallocator_every_new_segment_is_a_prepared_spare() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        log.preallocate_in_background().unwrap();
        log.append(&txns(1..=3)).unwrap();
        log.roll().unwrap();
        log.append(&txns(4..=4)).unwrap();
        log.sync().unwrap();
        for batch in 0..3 {
            let first = 5 + batch * 150;
            log.append(&txns(first..=first + 149)).unwrap();
            log.sync().unwrap();
        }
        let segments = logged_zxids(log.dir());
        assert_eq!(segments[0], ("log.1".to_owned(), vec![1, 2, 3]));
        assert_eq!(segments[1].0, "log.4");
        let all: Vec<i64> = segments
            .iter()
            .flat_map(|(_, zxids)| zxids.clone())
            .collect();
        assert_eq!(all, (1..=454).collect::<Vec<_>>());
        assert_eq!(
            log.new_segments(),
            NewSegments {
                from_spares: segments.len() as u64,
                created_in_place: 0
            }
        );
        let dir = log.dir().to_owned();
        drop(log);
        assert!(
            !dir.join(spare::SPARE_FILE_NAME).exists(),
            "an unused spare is removed"
        );
    }

    #[test]
    fn when_no_spare_can_be_prepared_segments_are_created_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        // A preallocator whose every preparation fails: its directory does not exist.
        let missing = dir.path().join("missing");
        log.preallocator = Some(Preallocator::spawn(&missing, 4096).unwrap());
        log.append(&txns(1..=2)).unwrap();
        log.roll().unwrap();
        log.append(&txns(3..=3)).unwrap();
        log.sync().unwrap();
        assert_eq!(
            log.new_segments(),
            NewSegments {
                from_spares: 0,
                created_in_place: 2
            }
        );
        assert_eq!(
            logged_zxids(log.dir()),
            vec![
                ("log.1".to_owned(), vec![1, 2]),
                ("log.3".to_owned(), vec![3])
            ]
        );
    }

    #[test]
    fn opening_removes_a_leftover_spare() {
        let dir = tempfile::tempdir().unwrap();
        let log_dir = files::version_dir(dir.path());
        files::create_dir(&log_dir).unwrap();
        std::fs::write(log_dir.join(spare::SPARE_FILE_NAME), b"partial").unwrap();
        let log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
        assert!(!log.dir().join(spare::SPARE_FILE_NAME).exists());
    }

    /// A log whose segments hold up to 1 MiB of records and grow in steps of [`STEP`].
    const STEP: u64 = 1024;

    fn stepped_config(dir: &Path) -> StorageConfig {
        StorageConfig {
            preallocation_bytes: 1 << 20,
            ..StorageConfig::new(dir)
        }
    }

    fn stepped_log(dir: &Path) -> TxnLog {
        let mut log = TxnLog::open(&stepped_config(dir), Zxid::ZERO).unwrap();
        log.step_bytes = STEP;
        log
    }

    /// Appends and syncs batches of `size` txns until `done(log)`; returns the next zxid.
    fn write_until(
        log: &mut TxnLog,
        mut next: i64,
        size: i64,
        done: impl Fn(&TxnLog) -> bool,
    ) -> i64 {
        while !done(log) {
            log.append(&txns(next..=next + size - 1)).unwrap();
            log.sync().unwrap();
            next += size;
        }
        next
    }

    fn extension_out(log: &TxnLog) -> bool {
        log.preallocator.as_ref().unwrap().extension_out()
    }

    fn segment_end(log: &TxnLog) -> (u64, u64) {
        let segment = log.segment.as_ref().unwrap();
        (segment.position(), segment.allocated())
    }

    fn scan_segment(path: &Path) -> (Vec<i64>, segment::SegmentScan) {
        let mut zxids = Vec::new();
        let scan = segment::scan(path, 1 << 20, |_, txn| {
            zxids.push(txn.zxid.0);
            Ok(())
        })
        .unwrap();
        (zxids, scan)
    }

    #[test]
    fn long_runs_of_appends_across_many_steps_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = stepped_log(dir.path());
        log.preallocate_in_background().unwrap();
        let mut next = 1;
        for batch in 0..600 {
            let size = 1 + batch % 13;
            log.append(&txns(next..=next + size - 1)).unwrap();
            log.sync().unwrap();
            next += size;
        }
        let growth = log.growth();
        assert_eq!(growth.grown_in_place, 0, "{growth:?}");
        assert!(growth.extended_ahead > 50, "{growth:?}");
        let path = log.current_segment().unwrap().to_owned();
        drop(log);
        let (zxids, scan) = scan_segment(&path);
        assert_eq!(zxids, (1..next).collect::<Vec<_>>());
        assert_eq!(scan.end, segment::SegmentEnd::Clean);
        assert!(
            scan.file_len - scan.valid_end < STEP + STEP / 2,
            "zeros stay within a step and a half of the records: {scan:?}"
        );
    }

    #[test]
    fn a_batch_waits_for_the_zeros_being_written_instead_of_writing_over_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = stepped_log(dir.path());
        let (preallocator, gate) = Preallocator::gated(&log.dir, STEP);
        log.preallocator = Some(preallocator);
        // Past half a step, the log asks for the next one, which the gate holds.
        let next = write_until(&mut log, 1, 5, extension_out);
        let (position, allocated) = segment_end(&log);
        // About 20 bytes a record: this batch passes the zeros already there.
        let batch = txns(next..=next + 40);
        assert!(position + 20 * 41 > allocated);
        let writer = std::thread::spawn(move || {
            log.append(&batch).unwrap();
            log.sync().unwrap();
            log
        });
        gate.send(Gate::Write).unwrap();
        let log = writer.join().unwrap();
        let growth = log.growth();
        assert_eq!((growth.extended_ahead, growth.grown_in_place), (1, 0));
        assert_eq!(segment_end(&log).1, allocated + STEP);
        let (zxids, scan) = scan_segment(log.current_segment().unwrap());
        assert_eq!(zxids, (1..=next + 40).collect::<Vec<_>>());
        assert_eq!(scan.end, segment::SegmentEnd::Clean);
    }

    #[test]
    fn when_no_zeros_come_from_the_preallocator_the_log_grows_segments_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = stepped_log(dir.path());
        let (preallocator, gate) = Preallocator::gated(&log.dir, STEP);
        log.preallocator = Some(preallocator);
        for _ in 0..100 {
            gate.send(Gate::Fail).unwrap();
        }
        let next = write_until(&mut log, 1, 5, |log| log.growth().grown_in_place >= 3);
        assert_eq!(log.growth().extended_ahead, 0);
        // The thread gone: segments are created and grown in place.
        log.preallocator = Some(Preallocator::without_thread());
        log.roll().unwrap();
        let grown_before = log.growth().grown_in_place;
        let last = write_until(&mut log, next, 5, |log| {
            log.growth().grown_in_place >= grown_before + 3
        });
        assert_eq!(log.new_segments().created_in_place, 1);
        let all: Vec<i64> = logged_zxids(log.dir())
            .into_iter()
            .flat_map(|(_, zxids)| zxids)
            .collect();
        assert_eq!(all, (1..last).collect::<Vec<_>>());
    }

    #[test]
    fn a_roll_while_zeros_are_being_written_leaves_a_valid_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = stepped_log(dir.path());
        let (preallocator, gate) = Preallocator::gated(&log.dir, STEP);
        log.preallocator = Some(preallocator);
        let next = write_until(&mut log, 1, 5, extension_out);
        let first_segment = log.current_segment().unwrap().to_owned();
        let (_, first_allocated) = segment_end(&log);
        log.roll().unwrap();
        assert!(!extension_out(&log), "it belongs to the closed segment");
        // While the closed segment's zeros are held, the new one grows in place.
        let next = write_until(&mut log, next, 5, |log| log.growth().grown_in_place > 0);
        gate.send(Gate::Write).unwrap();
        drop(gate);
        log.preallocator
            .as_mut()
            .unwrap()
            .wait_until_no_extension_is_out();
        let extended_before = log.growth().extended_ahead;
        let last = write_until(&mut log, next, 5, |log| {
            log.growth().extended_ahead > extended_before
        });
        drop(log);
        let first_len = std::fs::metadata(&first_segment).unwrap().len();
        assert_eq!(
            first_len,
            first_allocated + STEP,
            "zeros added after the roll"
        );
        let segments = logged_zxids(&files::version_dir(dir.path()));
        assert_eq!(segments.len(), 2);
        let all: Vec<i64> = segments.into_iter().flat_map(|(_, zxids)| zxids).collect();
        assert_eq!(all, (1..last).collect::<Vec<_>>());
        let recovered =
            crate::storage::recover(&stepped_config(dir.path()), zk_tree::TreeConfig::default())
                .unwrap();
        assert_eq!(recovered.tree.last_applied_zxid(), Zxid(last - 1));
        assert_eq!(recovered.repaired_tail, None);
    }

    #[test]
    fn truncating_waits_for_the_zeros_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = stepped_log(dir.path());
        let (preallocator, gate) = Preallocator::gated(&log.dir, STEP);
        log.preallocator = Some(preallocator);
        let next = write_until(&mut log, 1, 5, extension_out);
        let path = log.current_segment().unwrap().to_owned();
        let truncating = std::thread::spawn(move || {
            log.truncate_after(Zxid(10)).unwrap();
            log
        });
        gate.send(Gate::Write).unwrap();
        let mut log = truncating.join().unwrap();
        let (zxids, scan) = scan_segment(&path);
        assert_eq!(zxids, (1..=10).collect::<Vec<_>>());
        assert_eq!(scan.file_len, scan.valid_end, "no zeros after the cut");
        assert!(next > 11);
        log.append(&txns(11..=12)).unwrap();
        log.sync().unwrap();
        let all: Vec<i64> = logged_zxids(log.dir())
            .into_iter()
            .flat_map(|(_, zxids)| zxids)
            .collect();
        assert_eq!(all, (1..=12).collect::<Vec<_>>());
    }
}
