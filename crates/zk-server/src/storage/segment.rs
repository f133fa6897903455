//! One log segment file, `log.<first zxid>`:
//!
//! ```text
//! offset 0   magic "ZKRL" | format u32 LE | first zxid i64 LE | reserved u32 (0) | header CRC32 u32 LE
//! offset 24  record | record | ... | zeros to the end of the file
//! ```
//!
//! The header CRC covers the 20 bytes before it. Records are described in
//! [`super::record`]. A segment is complete with its header and a first run of zeros,
//! fsynced, and its directory fsynced, before the first record is acknowledged. It is
//! either created here in place ([`SegmentWriter::create`]) or made from a spare file
//! prepared ahead of time ([`super::spare`]).
//!
//! Records are written over zeros that are already on disk, so an fdatasync after an
//! append has no allocation or file-size metadata to write. The zeros ahead of the records
//! are kept short, and grow one step at a time as records fill them: the preallocator
//! thread writes the next step ([`ZeroExtension`]) while the log keeps appending before
//! it. If no step is ready when a batch needs room, the writer writes the zeros itself
//! ([`SegmentWriter::write`]). A segment's file ends with at most a few steps of zeros,
//! which recovery reads as a clean end.

use super::error::StorageError;
use super::files::{self, LOG_PREFIX};
use super::record::{self, Frame};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use zk_proto::Zxid;
use zk_tree::Txn;

/// The first bytes of every segment ("ZooKeeper Rust Log").
pub const SEGMENT_MAGIC: [u8; 4] = *b"ZKRL";
/// Apache ZooKeeper's log magic, recognised only to give a clear error.
pub const APACHE_LOG_MAGIC: [u8; 4] = *b"ZKLG";
/// The version of the segment and record layout; bump it on any change.
pub const SEGMENT_FORMAT: u32 = 1;
/// The size of the header; the first record starts here.
pub const SEGMENT_HEADER_BYTES: usize = 24;

/// The parsed header of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub format: u32,
    pub first_zxid: Zxid,
}

impl SegmentHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut bytes = [0; SEGMENT_HEADER_BYTES];
        bytes[0..4].copy_from_slice(&SEGMENT_MAGIC);
        bytes[4..8].copy_from_slice(&self.format.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.first_zxid.0.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..20]);
        bytes[20..24].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Parses and checks the header at the start of `bytes`.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<SegmentHeader, StorageError> {
        let bad = |reason: String| StorageError::BadHeader {
            path: path.to_owned(),
            reason,
        };
        if bytes.starts_with(&APACHE_LOG_MAGIC) {
            return Err(StorageError::ForeignFile {
                path: path.to_owned(),
                reason: "an Apache ZooKeeper transaction log".into(),
            });
        }
        if bytes.len() < SEGMENT_HEADER_BYTES {
            return Err(bad(format!("only {} bytes", bytes.len())));
        }
        if bytes[0..4] != SEGMENT_MAGIC {
            return Err(bad(format!(
                "magic {:02x?} is not a log segment's",
                &bytes[0..4]
            )));
        }
        let stored_crc = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
        let computed_crc = crc32fast::hash(&bytes[..20]);
        if stored_crc != computed_crc {
            return Err(bad(format!(
                "header CRC mismatch (stored {stored_crc:#010x}, computed {computed_crc:#010x})"
            )));
        }
        let format = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if format != SEGMENT_FORMAT {
            return Err(bad(format!(
                "format {format} is not supported (expected {SEGMENT_FORMAT})"
            )));
        }
        let first_zxid = Zxid(i64::from_le_bytes(
            bytes[8..16].try_into().expect("8 bytes"),
        ));
        Ok(SegmentHeader { format, first_zxid })
    }
}

/// How the records of a segment end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentEnd {
    /// After the last record come only zeros, or the end of the file.
    Clean,
    /// The bytes at `offset` are not a valid record.
    Damaged {
        offset: u64,
        reason: String,
        /// The offset of a valid later record, if one follows: then this is not a torn
        /// tail but damage in the middle.
        valid_record_at: Option<u64>,
    },
}

/// The result of reading a whole segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    pub path: PathBuf,
    /// The header, or why it is not valid (then no record was read).
    pub header: Result<SegmentHeader, String>,
    pub record_count: u64,
    /// The offset just past the last valid record (the header's end when there is none).
    pub valid_end: u64,
    pub last_zxid: Option<Zxid>,
    pub end: SegmentEnd,
    pub file_len: u64,
}

/// Reads the segment at `path`, calling `visit(offset, txn)` for each valid record in
/// order, and reports how the records end. A `visit` error stops the scan and is returned.
/// A bad header is reported in the scan (with a search for valid records after it), not
/// as an error, except for a foreign file, which is.
pub fn scan<F>(path: &Path, max_txn_bytes: usize, mut visit: F) -> Result<SegmentScan, StorageError>
where
    F: FnMut(u64, Txn) -> Result<(), StorageError>,
{
    let bytes = std::fs::read(path).map_err(StorageError::io(path, "read"))?;
    let file_len = bytes.len() as u64;
    let header = match SegmentHeader::decode(path, &bytes) {
        Ok(header) => header,
        Err(error @ StorageError::ForeignFile { .. }) => return Err(error),
        Err(error) => {
            let reason = error.to_string();
            // Successors of the zxid before the one the file is named after.
            let named_first = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(|name| files::parse_file_name(LOG_PREFIX, name))
                .unwrap_or(Zxid(1));
            let after = Zxid(named_first.0 - 1);
            let valid_record_at = record::find_valid_record(&bytes, after, max_txn_bytes);
            return Ok(SegmentScan {
                path: path.to_owned(),
                header: Err(reason.clone()),
                record_count: 0,
                valid_end: 0,
                last_zxid: None,
                end: SegmentEnd::Damaged {
                    offset: 0,
                    reason,
                    valid_record_at: valid_record_at.map(|at| at as u64),
                },
                file_len,
            });
        }
    };
    let mut offset = SEGMENT_HEADER_BYTES;
    let mut record_count = 0;
    let mut last_zxid = None;
    let end = loop {
        match record::decode(&bytes[offset..], max_txn_bytes) {
            Frame::Record { txn, size } => {
                last_zxid = Some(txn.zxid);
                visit(offset as u64, txn)?;
                record_count += 1;
                offset += size;
            }
            Frame::End => break SegmentEnd::Clean,
            Frame::Damaged { reason } => {
                // Successors of the last good zxid (or of the one before the first).
                let after = last_zxid.unwrap_or(Zxid(header.first_zxid.0 - 1));
                let valid_record_at =
                    record::find_valid_record(&bytes[offset + 1..], after, max_txn_bytes)
                        .map(|at| (offset + 1 + at) as u64);
                break SegmentEnd::Damaged {
                    offset: offset as u64,
                    reason,
                    valid_record_at,
                };
            }
        }
    };
    Ok(SegmentScan {
        path: path.to_owned(),
        header: Ok(header),
        record_count,
        valid_end: offset as u64,
        last_zxid,
        end,
        file_len,
    })
}

/// A segment open for appending, owned by the log.
#[derive(Debug)]
pub struct SegmentWriter {
    path: PathBuf,
    file: File,
    /// Where the next record goes.
    position: u64,
    /// The file's size: zeros from `position` to here.
    allocated: u64,
    /// How many zeros the writer adds when it grows the file itself.
    step_bytes: u64,
    /// Set when the file grew since the last sync: the next sync must also write metadata.
    grown: bool,
}

impl SegmentWriter {
    /// Creates `log.<first_zxid>` in `dir`: header, `step_bytes` of zeros, fsync of file
    /// and directory. Fails if the file exists: a segment is never overwritten.
    pub fn create(
        dir: &Path,
        first_zxid: Zxid,
        step_bytes: u64,
    ) -> Result<SegmentWriter, StorageError> {
        let path = dir.join(files::file_name(LOG_PREFIX, first_zxid));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(StorageError::io(&path, "create log segment"))?;
        let header = SegmentHeader {
            format: SEGMENT_FORMAT,
            first_zxid,
        };
        file.write_all_at(&header.encode(), 0)
            .map_err(StorageError::io(&path, "write segment header"))?;
        let mut writer = SegmentWriter {
            path,
            file,
            position: SEGMENT_HEADER_BYTES as u64,
            allocated: SEGMENT_HEADER_BYTES as u64,
            step_bytes,
            grown: false,
        };
        writer.grow(step_bytes)?;
        writer.sync(true)?;
        files::sync_directory(dir)?;
        Ok(writer)
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes over a complete segment file whose `allocated` bytes (header and zeros) are
    /// already durable, and whose name is too: the next record goes right after the header.
    pub(super) fn adopt(
        path: PathBuf,
        file: File,
        allocated: u64,
        step_bytes: u64,
    ) -> SegmentWriter {
        assert!(
            allocated >= SEGMENT_HEADER_BYTES as u64,
            "a segment holds at least its header"
        );
        SegmentWriter {
            path,
            file,
            position: SEGMENT_HEADER_BYTES as u64,
            allocated,
            step_bytes,
            grown: false,
        }
    }

    /// Where the next record goes.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The file's size: the records, then zeros up to here.
    pub fn allocated(&self) -> u64 {
        self.allocated
    }

    /// Whether no record was written yet.
    pub fn is_empty(&self) -> bool {
        self.position == SEGMENT_HEADER_BYTES as u64
    }

    /// Whether `bytes` more fit in the zeros already allocated (no growth needed).
    pub fn fits(&self, bytes: u64) -> bool {
        self.position + bytes <= self.allocated
    }

    /// Writes `bytes` (whole records) after the last record, first growing the file by
    /// whole steps of zeros if they would pass its end. Not durable until
    /// [`SegmentWriter::sync`]. The caller makes sure that no [`ZeroExtension`] of this
    /// file is being written when it grows: both would write at the same offset.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        let end = self.position + bytes.len() as u64;
        if end > self.allocated {
            let needed = end - self.allocated;
            let steps = needed.div_ceil(self.step_bytes);
            self.grow(steps * self.step_bytes)?;
        }
        self.file
            .write_all_at(bytes, self.position)
            .map_err(StorageError::io(&self.path, "write log records"))?;
        self.position = end;
        Ok(())
    }

    /// Makes everything written durable: fdatasync, or fsync when the file grew.
    pub fn sync(&mut self, force_sync: bool) -> Result<(), StorageError> {
        if !force_sync {
            return Ok(());
        }
        let result = if self.grown {
            self.file.sync_all()
        } else {
            self.file.sync_data()
        };
        result.map_err(StorageError::io(&self.path, "fsync log segment"))?;
        self.grown = false;
        Ok(())
    }

    /// The job of writing `bytes` more zeros at the end of this file on another thread,
    /// through a second handle on it. Until [`SegmentWriter::extended`] reports it done,
    /// the writer stays within its current end.
    pub fn extension(&self, bytes: u64) -> Result<ZeroExtension, StorageError> {
        let file = self.file.try_clone().map_err(StorageError::io(
            &self.path,
            "open a second handle on the log segment",
        ))?;
        Ok(ZeroExtension {
            path: self.path.clone(),
            file,
            offset: self.allocated,
            bytes,
        })
    }

    /// Takes in zeros written, made durable, by a [`ZeroExtension`] of this file: records
    /// may now go up to its end. An extension that does not start at the current end (it
    /// cannot happen: the writer does not grow while one is out) is ignored.
    pub fn extended(&mut self, done: ExtendedTo) {
        if done.from == self.allocated {
            self.allocated = done.to;
        } else {
            tracing::warn!(
                path = %self.path.display(),
                from = done.from,
                allocated = self.allocated,
                "ignoring zeros written for another end of the log segment"
            );
        }
    }

    /// Appends `bytes` zeros to the file (see [`write_zeros`]); made durable by the next
    /// sync, which also writes the new size.
    fn grow(&mut self, bytes: u64) -> Result<(), StorageError> {
        write_zeros(&self.file, &self.path, self.allocated, bytes)?;
        self.allocated += bytes;
        self.grown = true;
        Ok(())
    }
}

/// More zeros for the end of a segment, written on the preallocator thread through its own
/// handle on the file while the log appends before them.
#[derive(Debug)]
pub struct ZeroExtension {
    path: PathBuf,
    file: File,
    /// The segment's end when the extension was asked for: the zeros start here.
    offset: u64,
    bytes: u64,
}

/// A [`ZeroExtension`] written and durable: the file is zeros from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedTo {
    pub from: u64,
    pub to: u64,
}

impl ZeroExtension {
    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the zeros and makes them durable, [`DURABLE_ZEROS_CHUNK_BYTES`] at a time.
    pub fn write(self) -> Result<ExtendedTo, StorageError> {
        write_zeros_durably(&self.file, &self.path, self.offset, self.bytes)?;
        Ok(ExtendedTo {
            from: self.offset,
            to: self.offset + self.bytes,
        })
    }
}

/// The zeros written between two fdatasyncs when a spare or an extension is filled. The
/// log's fsyncs share the disk with these zeros: a chunk in the disk's queue delays them
/// by the time it takes to write, so a whole run of zeros at once would. For zeros in the
/// log's own segment, an fdatasync of the log also writes whatever zeros are not yet
/// durable, which the chunk bounds too.
pub const DURABLE_ZEROS_CHUNK_BYTES: u64 = 1 << 20;

/// Writes `bytes` zeros into `file` at `offset`, [`DURABLE_ZEROS_CHUNK_BYTES`] at a time,
/// each chunk made durable (with the file's new size) before the next is written.
pub(super) fn write_zeros_durably(
    file: &File,
    path: &Path,
    offset: u64,
    bytes: u64,
) -> Result<(), StorageError> {
    let mut filled = 0;
    while filled < bytes {
        let chunk = (bytes - filled).min(DURABLE_ZEROS_CHUNK_BYTES);
        write_zeros(file, path, offset + filled, chunk)?;
        file.sync_data()
            .map_err(StorageError::io(path, "fsync the zeros of a log segment"))?;
        filled += chunk;
    }
    Ok(())
}

/// Writes `bytes` zeros into `file` at `offset`. Writing real zeros (rather than leaving a
/// hole, or an unwritten extent as `fallocate` would) means later appends overwrite
/// allocated blocks, so an fdatasync after them has no allocation metadata to write.
/// The zeros go in pieces of [`ZERO_WRITE_BYTES`]: each write holds the file's lock, which
/// the log's own writes to the same file wait for.
pub(super) fn write_zeros(
    file: &File,
    path: &Path,
    offset: u64,
    bytes: u64,
) -> Result<(), StorageError> {
    let mut written = 0;
    while written < bytes {
        let chunk = (bytes - written).min(ZERO_WRITE_BYTES) as usize;
        file.write_all_at(&ZEROS[..chunk], offset + written)
            .map_err(StorageError::io(path, "preallocate log segment"))?;
        written += chunk as u64;
    }
    Ok(())
}

/// The zeros given to one `write` system call by [`write_zeros`].
const ZERO_WRITE_BYTES: u64 = 64 << 10;

/// The source of every zero write, alive for the whole process. A buffer allocated per
/// call can be fresh, never-touched memory: the kernel's copy then faults on it, zeroes
/// the page-cache pages it was filling, and retries (a third of the preallocator's CPU
/// with jemalloc, seen in `perf` as `folio_zero_new_buffers`).
static ZEROS: [u8; ZERO_WRITE_BYTES as usize] = [0; ZERO_WRITE_BYTES as usize];

/// Cuts the segment at `path` to `length` bytes and fsyncs it (torn-tail repair).
pub fn truncate(path: &Path, length: u64) -> Result<(), StorageError> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(StorageError::io(path, "open for truncation"))?;
    file.set_len(length)
        .and_then(|()| file.sync_all())
        .map_err(StorageError::io(path, "truncate"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::SessionId;
    use zk_tree::TxnBody;

    const LIMIT: usize = 1 << 20;

    fn txn(zxid: i64) -> Txn {
        Txn {
            zxid: Zxid(zxid),
            time_ms: zxid,
            session_id: SessionId(1),
            body: TxnBody::CreateSession { timeout_ms: 30_000 },
        }
    }

    fn write_segment(dir: &Path, zxids: std::ops::RangeInclusive<i64>, prealloc: u64) -> PathBuf {
        let mut writer = SegmentWriter::create(dir, Zxid(*zxids.start()), prealloc).unwrap();
        let mut bytes = Vec::new();
        for zxid in zxids {
            record::encode(&txn(zxid), &mut bytes, LIMIT).unwrap();
        }
        writer.write(&bytes).unwrap();
        writer.sync(true).unwrap();
        writer.path().to_owned()
    }

    fn scan_zxids(path: &Path) -> (Vec<i64>, SegmentScan) {
        let mut zxids = Vec::new();
        let scan = scan(path, LIMIT, |_, txn| {
            zxids.push(txn.zxid.0);
            Ok(())
        })
        .unwrap();
        (zxids, scan)
    }

    #[test]
    fn header_round_trips_and_checks() {
        let header = SegmentHeader {
            format: SEGMENT_FORMAT,
            first_zxid: Zxid(0x2_0000_0001),
        };
        let path = Path::new("log.200000001");
        let bytes = header.encode();
        assert_eq!(SegmentHeader::decode(path, &bytes).unwrap(), header);
        let mut damaged = bytes;
        damaged[9] ^= 1;
        assert!(matches!(
            SegmentHeader::decode(path, &damaged),
            Err(StorageError::BadHeader { .. })
        ));
        let mut apache = bytes;
        apache[..4].copy_from_slice(b"ZKLG");
        assert!(matches!(
            SegmentHeader::decode(path, &apache),
            Err(StorageError::ForeignFile { .. })
        ));
    }

    #[test]
    fn a_preallocated_segment_reads_back_to_a_clean_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), 1..=50, 4096);
        let (zxids, scan) = scan_zxids(&path);
        assert_eq!(zxids, (1..=50).collect::<Vec<_>>());
        assert_eq!(scan.end, SegmentEnd::Clean);
        assert_eq!(scan.last_zxid, Some(Zxid(50)));
        assert!(scan.file_len > scan.valid_end, "zeros follow the records");
        assert_eq!(scan.file_len % 4096, SEGMENT_HEADER_BYTES as u64);
    }

    #[test]
    fn a_segment_grows_past_its_preallocation() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), 1..=500, 256);
        let (zxids, scan) = scan_zxids(&path);
        assert_eq!(zxids.len(), 500);
        assert_eq!(scan.end, SegmentEnd::Clean);
    }

    #[test]
    fn an_extension_moves_the_end_only_from_where_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SegmentWriter::create(dir.path(), Zxid(1), 256).unwrap();
        let end = writer.allocated();
        let extension = writer.extension(512).unwrap();
        assert_eq!(extension.path(), writer.path());
        let done = extension.write().unwrap();
        assert_eq!(
            done,
            ExtendedTo {
                from: end,
                to: end + 512
            }
        );
        assert_eq!(std::fs::metadata(writer.path()).unwrap().len(), end + 512);
        writer.extended(ExtendedTo {
            from: end + 1,
            to: end + 4096,
        });
        assert_eq!(writer.allocated(), end, "zeros for another end are ignored");
        writer.extended(done);
        assert_eq!(writer.allocated(), end + 512);
        assert!(writer.fits(512 + 256) && !writer.fits(512 + 257));
    }

    #[test]
    fn segments_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        write_segment(dir.path(), 1..=1, 4096);
        assert!(matches!(
            SegmentWriter::create(dir.path(), Zxid(1), 4096),
            Err(StorageError::Io { .. })
        ));
    }

    #[test]
    fn damage_reports_its_offset_and_whether_valid_records_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), 1..=10, 4096);
        let (_, clean) = scan_zxids(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = SEGMENT_HEADER_BYTES + 30;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (zxids, scan) = scan_zxids(&path);
        let SegmentEnd::Damaged {
            offset,
            valid_record_at,
            ..
        } = scan.end
        else {
            panic!("damage expected")
        };
        assert_eq!(offset, scan.valid_end);
        assert!(offset <= middle as u64);
        assert!(valid_record_at.is_some(), "later records are still valid");
        assert!(zxids.len() < 10);
        assert!(clean.valid_end > offset);
    }
}
