//! The spare segment: the next log segment's file, prepared ahead of time so that starting
//! a segment costs a header write, a rename and a directory fsync instead of writing its
//! first run of zeros while commits wait.
//!
//! A segment is named after its first zxid, which is known only when its first batch is
//! written. So the spare is prepared under a fixed name, [`SPARE_FILE_NAME`]: created, filled
//! with zeros (header space, then one growth step) one chunk and one fdatasync at a time,
//! fsynced, and its directory fsynced. When the log needs a new segment,
//! [`SpareSegment::activate`] writes the header into the zeros at offset 0, renames the
//! file to `log.<first zxid>` and fsyncs the directory, all before the first record is
//! written. Later zeros are added to the segment a step at a time, as records fill it
//! (see [`super::preallocator`]).
//!
//! Crashes are harmless at every step:
//! - before the rename, the spare holds no record: [`remove_leftover`] removes it at start
//!   (the log never appends to a file of an earlier run), and listing ignores its name;
//! - after the rename but before the first record is durable, `log.<zxid>` holds only a
//!   header (or zeros, if the header did not reach the disk) and is the last segment:
//!   recovery removes it as an empty last segment, and its name can be used again.

use super::error::StorageError;
use super::files::{self, LOG_PREFIX};
use super::segment::{self, SegmentHeader, SegmentWriter, SEGMENT_FORMAT, SEGMENT_HEADER_BYTES};
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zk_proto::Zxid;

/// The spare's name in the log directory. It does not parse as a segment name, so listing,
/// recovery and purging never take it for one.
pub const SPARE_FILE_NAME: &str = "log.spare.tmp";

/// A complete, durable, zero-filled segment file without a header, waiting to become the
/// next segment.
#[derive(Debug)]
pub struct SpareSegment {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// The file's size: room for the header plus `step_bytes`.
    allocated: u64,
    /// The zeros it holds for records, and the step by which the segment grows later.
    step_bytes: u64,
}

impl SpareSegment {
    /// Creates the spare in `dir`, with room for a header and `step_bytes` of records, all
    /// zeros; fsyncs it and `dir`. Fails if a spare exists already. A failed preparation
    /// removes what it wrote.
    pub fn prepare(dir: &Path, step_bytes: u64) -> Result<SpareSegment, StorageError> {
        let path = dir.join(SPARE_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StorageError::io(&path, "create the spare log segment"))?;
        let allocated = SEGMENT_HEADER_BYTES as u64 + step_bytes;
        let filled = segment::write_zeros_durably(&file, &path, 0, allocated)
            .and_then(|()| {
                file.sync_all()
                    .map_err(StorageError::io(&path, "fsync the spare log segment"))
            })
            .and_then(|()| files::sync_directory(dir));
        if let Err(error) = filled {
            if let Err(cleanup) = files::remove(&path) {
                tracing::warn!(%cleanup, "cannot remove a spare log segment that failed");
            }
            return Err(error);
        }
        Ok(SpareSegment {
            dir: dir.to_owned(),
            path,
            file,
            allocated,
            step_bytes,
        })
    }

    /// The spare's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns the spare into the segment `log.<first_zxid>`: writes the header, renames the
    /// file and fsyncs the directory. The header becomes durable with the first fsync of
    /// records (it shares their file); until then the segment reads as empty. Fails if a
    /// segment of that name exists: a segment is never overwritten.
    pub fn activate(self, first_zxid: Zxid) -> Result<SegmentWriter, StorageError> {
        let target = self.dir.join(files::file_name(LOG_PREFIX, first_zxid));
        // std has no rename that refuses to replace its target. Only the log names
        // segments in its directory, and it does so on one thread, so checking first is
        // enough to keep an existing segment from being replaced.
        match std::fs::symlink_metadata(&target) {
            Ok(_) => {
                return Err(StorageError::io(&target, "name the spare log segment")(
                    std::io::Error::from(ErrorKind::AlreadyExists),
                ))
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(StorageError::io(&target, "check for a log segment")(error)),
        }
        let header = SegmentHeader {
            format: SEGMENT_FORMAT,
            first_zxid,
        };
        self.file
            .write_all_at(&header.encode(), 0)
            .map_err(StorageError::io(&self.path, "write segment header"))?;
        std::fs::rename(&self.path, &target)
            .map_err(StorageError::io(&self.path, "rename the spare log segment"))?;
        files::sync_directory(&self.dir)?;
        Ok(SegmentWriter::adopt(
            target,
            self.file,
            self.allocated,
            self.step_bytes,
        ))
    }

    /// Removes the spare unused (when the log that asked for it is closed).
    pub fn discard(self) -> Result<(), StorageError> {
        drop(self.file);
        files::remove(&self.path)
    }
}

/// Removes a spare left in `dir` by an earlier run; returns whether there was one. Its
/// zeros may not all have reached the disk, and a spare is cheap to make again.
pub fn remove_leftover(dir: &Path) -> Result<bool, StorageError> {
    let path = dir.join(SPARE_FILE_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            files::sync_directory(dir)?;
            Ok(true)
        }
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(false),
        Err(error) => Err(StorageError::io(
            &path,
            "remove the leftover spare log segment",
        )(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record;
    use crate::storage::segment::SegmentEnd;
    use std::os::unix::fs::MetadataExt;
    use zk_proto::SessionId;
    use zk_tree::{Txn, TxnBody};

    fn txn(zxid: i64) -> Txn {
        Txn {
            zxid: Zxid(zxid),
            time_ms: zxid,
            session_id: SessionId(1),
            body: TxnBody::CreateSession { timeout_ms: 30_000 },
        }
    }

    #[test]
    fn a_spare_is_zeros_with_room_for_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let spare = SpareSegment::prepare(dir.path(), 4096).unwrap();
        let bytes = std::fs::read(spare.path()).unwrap();
        assert_eq!(bytes.len(), SEGMENT_HEADER_BYTES + 4096);
        assert!(bytes.iter().all(|&byte| byte == 0));
        assert!(
            files::list(dir.path(), LOG_PREFIX).unwrap().is_empty(),
            "a spare is not a segment"
        );
        assert!(matches!(
            SpareSegment::prepare(dir.path(), 4096),
            Err(StorageError::Io { .. })
        ));
    }

    #[test]
    fn activating_renames_the_same_file_and_writes_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let spare = SpareSegment::prepare(dir.path(), 4096).unwrap();
        let spare_inode = std::fs::metadata(spare.path()).unwrap().ino();
        let mut writer = spare.activate(Zxid(7)).unwrap();
        assert_eq!(writer.path(), dir.path().join("log.7"));
        assert_eq!(std::fs::metadata(writer.path()).unwrap().ino(), spare_inode);
        assert!(!dir.path().join(SPARE_FILE_NAME).exists());
        let mut bytes = Vec::new();
        for zxid in 7..=9 {
            record::encode(&txn(zxid), &mut bytes, 1 << 20).unwrap();
        }
        assert!(writer.is_empty() && writer.fits(4096) && !writer.fits(4097));
        writer.write(&bytes).unwrap();
        writer.sync(true).unwrap();
        let mut zxids = Vec::new();
        let scan = segment::scan(writer.path(), 1 << 20, |_, txn| {
            zxids.push(txn.zxid.0);
            Ok(())
        })
        .unwrap();
        assert_eq!(zxids, vec![7, 8, 9]);
        assert_eq!(scan.end, SegmentEnd::Clean);
        assert_eq!(scan.file_len, SEGMENT_HEADER_BYTES as u64 + 4096);
    }

    #[test]
    fn activating_never_replaces_a_segment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("log.7"), b"records").unwrap();
        let spare = SpareSegment::prepare(dir.path(), 4096).unwrap();
        let error = spare.activate(Zxid(7)).unwrap_err();
        assert!(error.to_string().contains("log.7"), "{error}");
        assert_eq!(std::fs::read(dir.path().join("log.7")).unwrap(), b"records");
    }

    #[test]
    fn a_leftover_is_removed_once_and_a_discarded_spare_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!remove_leftover(dir.path()).unwrap());
        drop(SpareSegment::prepare(dir.path(), 4096).unwrap());
        assert!(remove_leftover(dir.path()).unwrap());
        assert!(!remove_leftover(dir.path()).unwrap());
        SpareSegment::prepare(dir.path(), 4096)
            .unwrap()
            .discard()
            .unwrap();
        assert!(!dir.path().join(SPARE_FILE_NAME).exists());
    }

    #[test]
    fn a_failed_preparation_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let error = SpareSegment::prepare(&missing, 4096).unwrap_err();
        assert!(
            error.to_string().contains(SPARE_FILE_NAME),
            "the error names the spare: {error}"
        );
    }
}
