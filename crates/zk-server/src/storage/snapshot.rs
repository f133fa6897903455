//! Snapshot files, `snapshot.<zxid>` in `<dataDir>/version-2/`:
//!
//! ```text
//! offset 0   magic "ZKRS" | format u32 LE | zxid i64 LE | body length u64 LE | body CRC32 u32 LE | header CRC32 u32 LE
//! offset 32  body: the tree's snapshot bytes (DataTree::to_snapshot_bytes)
//! ```
//!
//! The header CRC covers the 28 bytes before it. A snapshot is written to
//! `snapshot.<zxid>.tmp`, fsynced, renamed into place and its directory fsynced, so a
//! `snapshot.<zxid>` file is either complete or was damaged after the fact; the CRCs tell.
//! The body is streamed into the file as it is encoded; the header, which needs the body's
//! length and CRC, is written last, over zeros that held its place.

use super::error::StorageError;
use super::files::{self, SNAPSHOT_PREFIX};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use zk_proto::Zxid;
use zk_tree::{DataTree, SnapshotView, TreeConfig};

/// The first bytes of every snapshot ("ZooKeeper Rust Snapshot").
pub const SNAPSHOT_MAGIC: [u8; 4] = *b"ZKRS";
/// Apache ZooKeeper's snapshot magic, recognised only to give a clear error.
pub const APACHE_SNAPSHOT_MAGIC: [u8; 4] = *b"ZKSN";
/// The version of the snapshot file layout (the body has its own, `zk_tree::SNAPSHOT_FORMAT`).
pub const SNAPSHOT_FILE_FORMAT: u32 = 1;
/// The size of the header; the body starts here.
pub const SNAPSHOT_HEADER_BYTES: usize = 32;

/// The parsed header of a snapshot file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub format: u32,
    /// The last txn the snapshot's tree includes.
    pub zxid: Zxid,
    pub body_len: u64,
    pub body_crc: u32,
}

impl SnapshotHeader {
    fn encode(&self) -> [u8; SNAPSHOT_HEADER_BYTES] {
        let mut bytes = [0; SNAPSHOT_HEADER_BYTES];
        bytes[0..4].copy_from_slice(&SNAPSHOT_MAGIC);
        bytes[4..8].copy_from_slice(&self.format.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.zxid.0.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.body_len.to_le_bytes());
        bytes[24..28].copy_from_slice(&self.body_crc.to_le_bytes());
        let crc = crc32fast::hash(&bytes[..28]);
        bytes[28..32].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    fn decode(path: &Path, bytes: &[u8]) -> Result<SnapshotHeader, StorageError> {
        if bytes.starts_with(&APACHE_SNAPSHOT_MAGIC) {
            return Err(StorageError::ForeignFile {
                path: path.to_owned(),
                reason: "an Apache ZooKeeper snapshot".into(),
            });
        }
        let invalid = |reason: String| invalid(path, reason);
        if bytes.len() < SNAPSHOT_HEADER_BYTES {
            return Err(invalid(format!("only {} bytes", bytes.len())));
        }
        if bytes[0..4] != SNAPSHOT_MAGIC {
            return Err(invalid(format!(
                "magic {:02x?} is not a snapshot's",
                &bytes[0..4]
            )));
        }
        let stored_crc = u32::from_le_bytes(bytes[28..32].try_into().expect("4 bytes"));
        let computed_crc = crc32fast::hash(&bytes[..28]);
        if stored_crc != computed_crc {
            return Err(invalid(format!(
                "header CRC mismatch (stored {stored_crc:#010x}, computed {computed_crc:#010x})"
            )));
        }
        let format = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        if format != SNAPSHOT_FILE_FORMAT {
            return Err(invalid(format!(
                "format {format} is not supported (expected {SNAPSHOT_FILE_FORMAT})"
            )));
        }
        Ok(SnapshotHeader {
            format,
            zxid: Zxid(i64::from_le_bytes(
                bytes[8..16].try_into().expect("8 bytes"),
            )),
            body_len: u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")),
            body_crc: u32::from_le_bytes(bytes[24..28].try_into().expect("4 bytes")),
        })
    }
}

fn invalid(path: &Path, reason: String) -> StorageError {
    StorageError::InvalidSnapshot {
        path: path.to_owned(),
        reason,
    }
}

/// Writes the snapshot `body` of the tree at `zxid` into `dir` atomically; returns its path.
/// For bytes already in memory (a snapshot received from the leader); a server's own
/// snapshots are streamed with [`write_view`].
pub fn write(dir: &Path, zxid: Zxid, body: &[u8]) -> Result<PathBuf, StorageError> {
    write_streaming(dir, zxid, |out| out.write_all(body)).map(|(path, _)| path)
}

/// Writes the snapshot of the tree frozen in `view` into `dir` atomically, encoding it
/// straight into the file: memory holds one buffer of [`BODY_BUFFER_BYTES`], not the
/// whole snapshot. Returns the path and the header written.
pub fn write_view(
    dir: &Path,
    view: &SnapshotView,
) -> Result<(PathBuf, SnapshotHeader), StorageError> {
    write_streaming(dir, view.last_applied_zxid(), |out| {
        view.write_snapshot(out).map(drop)
    })
}

/// The buffer between the encoder and the file: large enough that the file sees few
/// writes and the CRC runs over long runs of bytes.
pub const BODY_BUFFER_BYTES: usize = 1 << 20;

/// Writes `snapshot.<zxid>` with the body `write_body` streams, through
/// [`files::write_atomically_with`]: the header's place is filled with zeros first (never a
/// valid header), and the real header, with the body's length and CRC counted on the way,
/// is written over it once the body is complete.
fn write_streaming<F>(
    dir: &Path,
    zxid: Zxid,
    write_body: F,
) -> Result<(PathBuf, SnapshotHeader), StorageError>
where
    F: FnOnce(&mut BodyWriter<'_>) -> io::Result<()>,
{
    let name = files::file_name(SNAPSHOT_PREFIX, zxid);
    files::write_atomically_with(dir, &name, |file| {
        file.write_all(&[0; SNAPSHOT_HEADER_BYTES])?;
        let mut body = BodyWriter::new(file);
        write_body(&mut body)?;
        let (body_len, body_crc) = body.finish()?;
        let header = SnapshotHeader {
            format: SNAPSHOT_FILE_FORMAT,
            zxid,
            body_len,
            body_crc,
        };
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header.encode())?;
        Ok(header)
    })
}

/// Where a snapshot body goes: buffered, then counted and checksummed on its way into the
/// file. A type of its own so that the encoder is compiled for it (no dynamic dispatch for
/// each of its many small writes).
struct BodyWriter<'a> {
    buffered: BufWriter<Checksummed<&'a mut File>>,
}

impl<'a> BodyWriter<'a> {
    fn new(file: &'a mut File) -> Self {
        BodyWriter {
            buffered: BufWriter::with_capacity(BODY_BUFFER_BYTES, Checksummed::new(file)),
        }
    }

    /// Writes out what is buffered; returns the body's length and CRC32.
    fn finish(self) -> io::Result<(u64, u32)> {
        let checksummed = self
            .buffered
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        Ok((checksummed.len, checksummed.hasher.finalize()))
    }
}

impl Write for BodyWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffered.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffered.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.buffered.flush()
    }
}

/// Counts and checksums what its inner writer accepts.
struct Checksummed<W> {
    inner: W,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<W> Checksummed<W> {
    fn new(inner: W) -> Self {
        Checksummed {
            inner,
            hasher: crc32fast::Hasher::new(),
            len: 0,
        }
    }
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.len += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads the snapshot at `path` and checks its header, length and body CRC; returns the
/// header and the whole file (the body starts at [`SNAPSHOT_HEADER_BYTES`]).
pub fn read(path: &Path) -> Result<(SnapshotHeader, Vec<u8>), StorageError> {
    let bytes = std::fs::read(path).map_err(StorageError::io(path, "read"))?;
    let header = SnapshotHeader::decode(path, &bytes)?;
    let body = &bytes[SNAPSHOT_HEADER_BYTES..];
    check_body(path, &header, body.len() as u64, crc32fast::hash(body))?;
    Ok((header, bytes))
}

/// Checks the snapshot at `path` like [`read`], streaming, without keeping the body.
pub fn verify(path: &Path) -> Result<SnapshotHeader, StorageError> {
    let mut file = File::open(path).map_err(StorageError::io(path, "open"))?;
    let mut header_bytes = [0; SNAPSHOT_HEADER_BYTES];
    let mut filled = 0;
    while filled < SNAPSHOT_HEADER_BYTES {
        match file.read(&mut header_bytes[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) => return Err(StorageError::io(path, "read")(error)),
        }
    }
    let header = SnapshotHeader::decode(path, &header_bytes[..filled])?;
    let mut hasher = crc32fast::Hasher::new();
    let mut body_len = 0u64;
    let mut chunk = vec![0; 1 << 20];
    loop {
        let read = file
            .read(&mut chunk)
            .map_err(StorageError::io(path, "read"))?;
        if read == 0 {
            break;
        }
        hasher.update(&chunk[..read]);
        body_len += read as u64;
    }
    check_body(path, &header, body_len, hasher.finalize())?;
    Ok(header)
}

fn check_body(
    path: &Path,
    header: &SnapshotHeader,
    len: u64,
    crc: u32,
) -> Result<(), StorageError> {
    if len != header.body_len {
        return Err(invalid(
            path,
            format!(
                "body is {len} bytes, the header announces {}",
                header.body_len
            ),
        ));
    }
    if crc != header.body_crc {
        return Err(invalid(
            path,
            format!(
                "body CRC mismatch (stored {:#010x}, computed {crc:#010x})",
                header.body_crc
            ),
        ));
    }
    if let Some(named) = path
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| files::parse_file_name(SNAPSHOT_PREFIX, name))
    {
        if named != header.zxid {
            return Err(invalid(
                path,
                format!("named after {named} but holds the tree at {}", header.zxid),
            ));
        }
    }
    Ok(())
}

/// Reads, checks and restores the snapshot at `path` into a tree.
pub fn load(path: &Path, tree_config: TreeConfig) -> Result<DataTree, StorageError> {
    let (header, bytes) = read(path)?;
    let tree = DataTree::from_snapshot_bytes(&bytes[SNAPSHOT_HEADER_BYTES..], tree_config)
        .map_err(|error| invalid(path, error.to_string()))?;
    if tree.last_applied_zxid() != header.zxid {
        return Err(invalid(
            path,
            format!(
                "header says zxid {} but the tree is at {}",
                header.zxid,
                tree.last_applied_zxid()
            ),
        ));
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_proto::{Acl, CreateMode, SessionId};
    use zk_tree::{AuthContext, PendingChanges, WriteRequest};

    fn sample_tree() -> DataTree {
        DataTree::new(TreeConfig::default())
    }

    /// Applies `requests` to `tree` as the server would, one zxid each, from session 7.
    fn apply(tree: &mut DataTree, requests: &[WriteRequest]) {
        let mut pending = PendingChanges::default();
        let auth = AuthContext::new(SessionId(7), Vec::new());
        for request in requests {
            let zxid = tree.last_applied_zxid().next();
            let txn = tree.prepare(&mut pending, &auth, zxid, 1_700_000_000_000, request);
            tree.apply(&txn);
            pending.applied(zxid);
        }
    }

    fn create(path: &str, data: &[u8], acl: Vec<Acl>, mode: CreateMode) -> WriteRequest {
        WriteRequest::Create {
            path: path.to_owned(),
            data: Some(data.to_vec()),
            acl,
            mode,
            ttl_ms: None,
        }
    }

    /// A session with an ephemeral, two ACL lists, and a few hundred znodes with data.
    fn busy_tree() -> DataTree {
        let mut tree = sample_tree();
        let mut requests = vec![
            WriteRequest::CreateSession { timeout_ms: 6_000 },
            create("/app", b"", Acl::read_unsafe(), CreateMode::Persistent),
            create("/e", b"mine", Acl::open_unsafe(), CreateMode::Ephemeral),
            create("/d", b"", Acl::open_unsafe(), CreateMode::Persistent),
        ];
        for leaf in 0..300 {
            let data = vec![leaf as u8; leaf % 120];
            let path = format!("/d/n{leaf}");
            requests.push(create(
                &path,
                &data,
                Acl::open_unsafe(),
                CreateMode::Persistent,
            ));
        }
        apply(&mut tree, &requests);
        assert!(tree.node_count() > 300);
        tree
    }

    fn names_in(dir: &Path) -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_snapshot_streamed_from_a_view_loads_back_as_the_tree_it_froze() {
        let dir = tempfile::tempdir().unwrap();
        let mut tree = busy_tree();
        let view = tree.snapshot_view();
        let frozen = tree.to_snapshot_bytes();
        // Changes after the freeze are not in the snapshot.
        apply(
            &mut tree,
            &[WriteRequest::Delete {
                path: "/d/n5".into(),
                version: -1,
            }],
        );

        let (path, header) = write_view(dir.path(), &view).unwrap();
        assert_eq!(
            path,
            dir.path()
                .join(files::file_name(SNAPSHOT_PREFIX, view.last_applied_zxid()))
        );
        assert_eq!(header.zxid, view.last_applied_zxid());
        assert_eq!(header.body_len, frozen.len() as u64);
        assert_eq!(verify(&path).unwrap(), header);
        let loaded = load(&path, TreeConfig::default()).unwrap();
        loaded.check_invariants();
        assert_eq!(loaded.to_snapshot_bytes(), frozen);
        assert_eq!(
            names_in(dir.path()),
            vec![path.file_name().unwrap().to_owned()]
        );

        // The same file as one written from the bytes.
        let from_bytes = tempfile::tempdir().unwrap();
        let other = write(from_bytes.path(), header.zxid, &frozen).unwrap();
        assert_eq!(
            std::fs::read(&other).unwrap(),
            std::fs::read(&path).unwrap()
        );
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let view = busy_tree().snapshot_view();
        let zxid = view.last_applied_zxid();
        let (path, _) = write_view(dir.path(), &view).unwrap();
        let before = std::fs::read(&path).unwrap();

        // The body fails after more than a buffer's worth reached the file.
        let error = write_streaming(dir.path(), zxid, |out| {
            out.write_all(&vec![1; 3 * BODY_BUFFER_BYTES / 2])?;
            Err(io::Error::other("the encoder gave up"))
        })
        .unwrap_err();
        let StorageError::Io {
            path: failed,
            operation,
            source,
        } = error
        else {
            panic!("not an I/O error: {error}");
        };
        assert_eq!(
            failed,
            dir.path().join(format!("snapshot.{:x}.tmp", zxid.0))
        );
        assert_eq!(operation, "write");
        assert_eq!(source.to_string(), "the encoder gave up");
        assert_eq!(
            names_in(dir.path()),
            vec![path.file_name().unwrap().to_owned()]
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the older file is intact"
        );

        // The directory is gone.
        let gone = dir.path().join("gone");
        std::fs::create_dir(&gone).unwrap();
        std::fs::remove_dir(&gone).unwrap();
        assert!(matches!(
            write_view(&gone, &view),
            Err(StorageError::Io {
                operation: "create",
                ..
            })
        ));
        assert!(!gone.exists());
    }

    #[test]
    fn a_written_snapshot_loads_back_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let tree = sample_tree();
        let path = write(
            dir.path(),
            tree.last_applied_zxid(),
            &tree.to_snapshot_bytes(),
        )
        .unwrap();
        assert_eq!(path, dir.path().join("snapshot.0"));
        let loaded = load(&path, TreeConfig::default()).unwrap();
        assert_eq!(loaded.digest(), tree.digest());
        assert_eq!(verify(&path).unwrap().zxid, Zxid::ZERO);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["snapshot.0"]);
    }

    #[test]
    fn any_damage_is_detected_by_read_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let tree = sample_tree();
        let path = write(dir.path(), Zxid::ZERO, &tree.to_snapshot_bytes()).unwrap();
        let good = std::fs::read(&path).unwrap();
        for offset in [0, 9, 20, 30, SNAPSHOT_HEADER_BYTES + 3, good.len() - 1] {
            let mut bad = good.clone();
            bad[offset] ^= 0x10;
            std::fs::write(&path, &bad).unwrap();
            assert!(read(&path).is_err(), "flip at {offset}");
            assert!(verify(&path).is_err(), "flip at {offset}");
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(matches!(
            verify(&path),
            Err(StorageError::InvalidSnapshot { .. })
        ));
        std::fs::write(&path, b"ZKSN\0\0\0\x02").unwrap();
        assert!(matches!(read(&path), Err(StorageError::ForeignFile { .. })));
    }

    #[test]
    fn a_snapshot_under_another_zxid_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), Zxid::ZERO, &sample_tree().to_snapshot_bytes()).unwrap();
        let renamed = dir.path().join("snapshot.5");
        std::fs::rename(&path, &renamed).unwrap();
        assert!(matches!(
            verify(&renamed),
            Err(StorageError::InvalidSnapshot { .. })
        ));
    }
}
