//! Directory layout and file names. Both directories get Apache's `version-2`
//! subdirectory; log segments are `log.<zxid>` and snapshots `snapshot.<zxid>`, the zxid in
//! lowercase hex without padding, as Apache names them (only the contents differ). A file
//! being written is `<name>.tmp` until it is complete.

use super::error::StorageError;
use std::fs::File;
use std::path::{Path, PathBuf};
use zk_proto::Zxid;

/// The subdirectory of `dataDir` and `dataLogDir` holding the files (Apache's name; the
/// `conf` four-letter word reports it).
pub const VERSION_DIR: &str = "version-2";
/// The name prefix of log segments.
pub const LOG_PREFIX: &str = "log";
/// The name prefix of snapshots.
pub const SNAPSHOT_PREFIX: &str = "snapshot";
/// The suffix of a file not yet complete; such files are ignored and removed at start.
pub const TEMP_SUFFIX: &str = ".tmp";

/// `<dir>/version-2`.
pub fn version_dir(dir: &Path) -> PathBuf {
    dir.join(VERSION_DIR)
}

/// `<prefix>.<zxid in hex>`.
pub fn file_name(prefix: &str, zxid: Zxid) -> String {
    format!("{prefix}.{:x}", zxid.0)
}

/// The zxid in a name made by [`file_name`] with `prefix`, if it is one.
pub fn parse_file_name(prefix: &str, name: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?.strip_prefix('.')?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16)
        .ok()
        .map(|zxid| Zxid(zxid as i64))
}

/// A file of the log or snapshot directory, with the zxid its name carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedFile {
    pub zxid: Zxid,
    pub path: PathBuf,
}

/// The files named `<prefix>.<zxid>` in `dir`, oldest (smallest zxid) first. A missing
/// directory holds no files.
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<NamedFile>, StorageError> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(error) => return Err(StorageError::io(dir, "list directory")(error)),
    };
    for entry in entries {
        let entry = entry.map_err(StorageError::io(dir, "list directory"))?;
        let name = entry.file_name();
        let Some(zxid) = name.to_str().and_then(|name| parse_file_name(prefix, name)) else {
            continue;
        };
        found.push(NamedFile {
            zxid,
            path: entry.path(),
        });
    }
    found.sort_by_key(|file| file.zxid);
    Ok(found)
}

/// Removes the `<prefix>.*.tmp` leftovers of a crash in `dir`; returns what was removed.
pub fn remove_temp_files(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, StorageError> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(error) => return Err(StorageError::io(dir, "list directory")(error)),
    };
    for entry in entries {
        let entry = entry.map_err(StorageError::io(dir, "list directory"))?;
        let name = entry.file_name();
        let is_ours = name.to_str().is_some_and(|name| {
            name.strip_suffix(TEMP_SUFFIX)
                .is_some_and(|base| parse_file_name(prefix, base).is_some())
        });
        if is_ours {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(StorageError::io(&path, "remove"))?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        sync_directory(dir)?;
    }
    Ok(removed)
}

/// Creates `dir` and its parents if needed.
pub fn create_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::create_dir_all(dir).map_err(StorageError::io(dir, "create directory"))
}

/// Makes the creation, renaming or removal of entries of `dir` durable: without it a
/// crash can forget a file whose contents were fsynced.
pub fn sync_directory(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(StorageError::io(dir, "fsync directory"))
}

/// Writes `parts` as the whole of `dir/name`, atomically: into `<name>.tmp`, fsynced, then
/// renamed over `name` and the directory fsynced. A crash leaves the old file or the new
/// one, never a mix (snapshots, the epoch files).
pub fn write_atomically(dir: &Path, name: &str, parts: &[&[u8]]) -> Result<PathBuf, StorageError> {
    use std::io::Write;
    let fill = |file: &mut File| parts.iter().try_for_each(|part| file.write_all(part));
    write_atomically_with(dir, name, fill).map(|(path, ())| path)
}

/// Like [`write_atomically`], with the contents written by `fill` into the new, empty
/// `<name>.tmp` (it may seek, e.g. to write a header last); returns the path and what
/// `fill` returned. When anything fails, the temporary file is removed and the old `name`,
/// if any, is left as it was.
pub fn write_atomically_with<T, F>(
    dir: &Path,
    name: &str,
    fill: F,
) -> Result<(PathBuf, T), StorageError>
where
    F: FnOnce(&mut File) -> std::io::Result<T>,
{
    let path = dir.join(name);
    let temp_path = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let mut file = File::create(&temp_path).map_err(StorageError::io(&temp_path, "create"))?;
    let written = fill(&mut file)
        .and_then(|filled| file.sync_all().map(|()| filled))
        .map_err(StorageError::io(&temp_path, "write"))
        .and_then(|filled| {
            drop(file);
            std::fs::rename(&temp_path, &path)
                .map(|()| filled)
                .map_err(StorageError::io(&temp_path, "rename"))
        });
    match written {
        Ok(filled) => {
            sync_directory(dir)?;
            Ok((path, filled))
        }
        Err(error) => {
            // Best effort: the write has failed already, and a leftover is removed at the
            // next start anyway (`remove_temp_files`).
            let _ = std::fs::remove_file(&temp_path);
            Err(error)
        }
    }
}

/// Removes `path` (used by purging and repair).
pub fn remove(path: &Path) -> Result<(), StorageError> {
    std::fs::remove_file(path).map_err(StorageError::io(path, "remove"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_zxid_in_hex_like_apache() {
        let zxid = Zxid(0x1_0000_002a);
        assert_eq!(file_name(LOG_PREFIX, zxid), "log.10000002a");
        assert_eq!(parse_file_name(LOG_PREFIX, "log.10000002a"), Some(zxid));
        assert_eq!(
            parse_file_name(SNAPSHOT_PREFIX, "snapshot.0"),
            Some(Zxid(0))
        );
        for bad in [
            "log.",
            "log",
            "logx.1",
            "log.1g",
            "log.1.tmp",
            "log.11111111111111111",
        ] {
            assert_eq!(parse_file_name(LOG_PREFIX, bad), None, "{bad}");
        }
        assert_eq!(parse_file_name(LOG_PREFIX, "snapshot.1"), None);
    }

    #[test]
    fn listing_sorts_by_zxid_not_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "log.10",
            "log.9",
            "log.a0",
            "snapshot.5",
            "log.3.tmp",
            "other",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let zxids: Vec<i64> = list(dir.path(), LOG_PREFIX)
            .unwrap()
            .iter()
            .map(|file| file.zxid.0)
            .collect();
        assert_eq!(zxids, vec![0x9, 0x10, 0xa0]);
        let removed = remove_temp_files(dir.path(), LOG_PREFIX).unwrap();
        assert_eq!(removed, vec![dir.path().join("log.3.tmp")]);
        assert!(list(&dir.path().join("missing"), LOG_PREFIX)
            .unwrap()
            .is_empty());
    }
}
