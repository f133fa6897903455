//! The two epoch files of an ensemble member, `acceptedEpoch` and `currentEpoch`, in
//! `<dataDir>/version-2/` as Apache keeps them: one decimal number each. ZAB's promises rest
//! on them, so a write replaces the file atomically (temp file, fsync, rename, directory
//! fsync) and a missing file reads as epoch 0 (a server that never joined an ensemble).

use super::error::StorageError;
use super::files;
use std::path::Path;
use zk_proto::Epoch;

/// The epoch this server promised to follow (ZAB's accepted epoch).
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";
/// The epoch of the last leader this server synchronised with.
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";

/// Reads `name` from the version directory of `data_dir`; 0 when the file does not exist.
pub fn read(data_dir: &Path, name: &str) -> Result<Epoch, StorageError> {
    let path = files::version_dir(data_dir).join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Epoch(0)),
        Err(error) => return Err(StorageError::io(&path, "read")(error)),
    };
    text.trim()
        .parse::<u32>()
        .map(Epoch)
        .map_err(|_| StorageError::CorruptEpochFile {
            path: path.clone(),
            content: text.chars().take(40).collect(),
        })
}

/// Durably replaces `name` in the version directory of `data_dir` with `epoch`.
pub fn write(data_dir: &Path, name: &str, epoch: Epoch) -> Result<(), StorageError> {
    let dir = files::version_dir(data_dir);
    files::create_dir(&dir)?;
    files::write_atomically(&dir, name, &[format!("{}\n", epoch.0).as_bytes()])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_round_trip_and_default_to_zero() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(), Epoch(0));
        write(dir.path(), ACCEPTED_EPOCH_FILE, Epoch(7)).unwrap();
        write(dir.path(), ACCEPTED_EPOCH_FILE, Epoch(9)).unwrap();
        assert_eq!(read(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(), Epoch(9));
        assert_eq!(read(dir.path(), CURRENT_EPOCH_FILE).unwrap(), Epoch(0));
    }

    #[test]
    fn a_garbled_epoch_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let version = files::version_dir(dir.path());
        std::fs::create_dir_all(&version).unwrap();
        std::fs::write(version.join(CURRENT_EPOCH_FILE), "x1\n").unwrap();
        let error = read(dir.path(), CURRENT_EPOCH_FILE).unwrap_err();
        assert!(error.to_string().contains("currentEpoch"), "{error}");
    }
}
