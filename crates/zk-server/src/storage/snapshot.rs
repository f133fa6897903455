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

use super::error::StorageError;
use super::files::{self, SNAPSHOT_PREFIX};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use zk_proto::Zxid;
use zk_tree::{DataTree, TreeConfig};

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
pub fn write(dir: &Path, zxid: Zxid, body: &[u8]) -> Result<PathBuf, StorageError> {
    let header = SnapshotHeader {
        format: SNAPSHOT_FILE_FORMAT,
        zxid,
        body_len: body.len() as u64,
        body_crc: crc32fast::hash(body),
    };
    let name = files::file_name(SNAPSHOT_PREFIX, zxid);
    files::write_atomically(dir, &name, &[&header.encode(), body])
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

    fn sample_tree() -> DataTree {
        DataTree::new(TreeConfig::default())
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
