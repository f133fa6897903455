//! The floor under a durable write: what one small append plus `fdatasync` costs this
//! machine's disk and kernel, measured with no server in the way. A server that fsyncs every
//! write at one request in flight cannot answer faster than this, nor spend less CPU per
//! write than this plus a read's round trip; `benches/compare.sh --write-floor` puts the
//! two side by side.
//!
//! The file is filled with zeros and synced first, so the appends overwrite allocated
//! blocks (as zk-server's log segments do) and the fdatasync has no allocation metadata to
//! write: the cheapest durable append the file system offers.

use crate::error::LoadError;
use crate::histogram::{LatencyHistogram, LatencySummary};
use crate::proc_stats::own_cpu_us;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Debug, Clone)]
pub struct FsyncFloorConfig {
    /// The directory of the scratch file: the disk being measured.
    pub dir: PathBuf,
    /// Bytes per append (a 100-byte setData is about 160 bytes in either server's log).
    pub record_bytes: usize,
    /// How long to append for.
    pub duration: Duration,
    /// The zero-filled file's size; appends wrap around to its start at the end.
    pub file_bytes: u64,
}

/// The outcome: latency of each append + fdatasync, and this process's CPU per append.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FsyncFloorReport {
    pub record_bytes: usize,
    pub appends: u64,
    pub appends_per_s: f64,
    /// User plus system CPU of the loop (the kernel's work for the write and the sync is
    /// system time of the calling thread), per append.
    pub cpu_us_per_append: f64,
    pub latency: LatencySummary,
}

/// The scratch file, removed when dropped (also after an error).
struct ScratchFile {
    path: PathBuf,
    file: File,
}

impl ScratchFile {
    fn create(dir: &Path, bytes: u64) -> Result<Self, LoadError> {
        let path = dir.join(format!("zk-fsync-floor.{}.tmp", std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| LoadError::ScratchFile {
                action: "creating",
                path: path.clone(),
                source,
            })?;
        let scratch = ScratchFile {
            path: path.clone(),
            file,
        };
        let zeros = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let chunk = left.min(zeros.len() as u64) as usize;
            (&scratch.file)
                .write_all(&zeros[..chunk])
                .map_err(|source| scratch.failed("zero-filling", source))?;
            left -= chunk as u64;
        }
        scratch
            .file
            .sync_all()
            .map_err(|source| scratch.failed("fsync of", source))?;
        Ok(scratch)
    }

    /// The error for `action` on this file.
    fn failed(&self, action: &'static str, source: std::io::Error) -> LoadError {
        LoadError::ScratchFile {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.path) {
            eprintln!("zk-fsync-floor: removing {}: {error}", self.path.display());
        }
    }
}

/// Appends `record_bytes` and fdatasyncs, one at a time, for `duration`.
pub fn measure(config: &FsyncFloorConfig) -> Result<FsyncFloorReport, LoadError> {
    let record_bytes = config.record_bytes.max(1);
    if config.file_bytes < record_bytes as u64 {
        return Err(LoadError::BadArgument(format!(
            "the file ({} bytes) must hold at least one record ({record_bytes} bytes)",
            config.file_bytes
        )));
    }
    let scratch = ScratchFile::create(&config.dir, config.file_bytes)?;
    let record = vec![0x5a_u8; record_bytes];
    let mut histogram = LatencyHistogram::new();
    let mut offset = 0u64;
    let cpu_before = own_cpu_us();
    let started = Instant::now();
    while started.elapsed() < config.duration {
        if offset + record_bytes as u64 > config.file_bytes {
            offset = 0;
        }
        let call = Instant::now();
        scratch
            .file
            .write_all_at(&record, offset)
            .map_err(|source| scratch.failed("writing", source))?;
        scratch
            .file
            .sync_data()
            .map_err(|source| scratch.failed("fdatasync of", source))?;
        histogram.record(call.elapsed());
        offset += record_bytes as u64;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_us = own_cpu_us().saturating_sub(cpu_before);
    let appends = histogram.count();
    Ok(FsyncFloorReport {
        record_bytes,
        appends,
        appends_per_s: if elapsed > 0.0 {
            appends as f64 / elapsed
        } else {
            0.0
        },
        cpu_us_per_append: if appends > 0 {
            cpu_us as f64 / appends as f64
        } else {
            0.0
        },
        latency: histogram.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100-byte records in a file of `file_bytes` under `dir`.
    fn config(dir: &Path, duration: Duration, file_bytes: u64) -> FsyncFloorConfig {
        FsyncFloorConfig {
            dir: dir.to_owned(),
            record_bytes: 100,
            duration,
            file_bytes,
        }
    }

    #[test]
    fn appends_for_the_duration_and_removes_its_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A second is hundreds of appends on any disk that syncs in under 300 ms.
        let report = measure(&config(dir.path(), Duration::from_secs(1), 250)).expect("measured");
        // Two records fit in the file: the third append wrapped to its start.
        assert!(report.appends >= 3, "{report:?}");
        assert_eq!(report.latency.count, report.appends);
        assert!(report.cpu_us_per_append > 0.0);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn a_file_smaller_than_a_record_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        let refused = measure(&config(dir.path(), Duration::from_millis(10), 10));
        assert!(matches!(refused, Err(LoadError::BadArgument(_))));
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("absent");
        let error = measure(&config(&missing, Duration::from_millis(10), 1000))
            .expect_err("no such directory");
        assert!(error.to_string().contains("creating"), "{error}");
        assert!(error.to_string().contains("absent"), "{error}");
    }
}
