//! The preallocator thread: prepares the log's next segment file ([`SpareSegment`]) while
//! the log thread keeps appending, so that writing `preAllocSize` of zeros and fsyncing
//! them never delays a commit.
//!
//! One spare is in the pipeline at a time ([`SPARES_AHEAD_LIMIT`]): the thread prepares one
//! when asked; [`Preallocator::next_segment`] turns it into the new segment and then asks
//! for the next. It waits for a spare still being prepared, which never takes longer than
//! creating a segment in place would. If preparing failed, or the thread is gone, it returns
//! `None` and the log creates the segment itself, as it does without a preallocator:
//! correctness never depends on this thread.

use super::error::StorageError;
use super::segment::SegmentWriter;
use super::spare::SpareSegment;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use zk_proto::Zxid;

/// Spares requested or prepared and not yet taken. Each holds `preAllocSize` of disk space,
/// and one is enough when the time to prepare it is shorter than the time between two
/// rolls; if it is not, the roll waits for the spare, as it would for creating a segment.
pub const SPARES_AHEAD_LIMIT: usize = 1;

/// The thread's name, in errors and thread listings.
const THREAD_NAME: &str = "zk-log-prealloc";

/// The log's handle on the preallocator thread. Dropping it stops the thread (after the
/// spare at hand) and removes a spare nobody took.
#[derive(Debug)]
pub struct Preallocator {
    /// `None` once dropping began, which ends the thread's loop.
    requests: Option<SyncSender<()>>,
    spares: Receiver<Result<SpareSegment, StorageError>>,
    /// A spare was requested and not taken yet.
    requested: bool,
    thread: Option<JoinHandle<()>>,
}

impl Preallocator {
    /// Starts the thread preparing spares of `preallocation_bytes` in `dir`, and asks for
    /// the first one.
    pub fn spawn(dir: &Path, preallocation_bytes: u64) -> Result<Preallocator, StorageError> {
        let (request_sender, requests) = mpsc::sync_channel(SPARES_AHEAD_LIMIT);
        let (spare_sender, spares) = mpsc::sync_channel(SPARES_AHEAD_LIMIT);
        let dir = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || run(&dir, preallocation_bytes, &requests, &spare_sender))
            .map_err(|source| StorageError::Thread {
                name: THREAD_NAME,
                source,
            })?;
        let mut preallocator = Preallocator {
            requests: Some(request_sender),
            spares,
            requested: false,
            thread: Some(thread),
        };
        preallocator.request();
        Ok(preallocator)
    }

    /// The segment `log.<first_zxid>`, made from the prepared spare (waiting for it if it
    /// is still being prepared); then asks for the next spare. `Ok(None)`, with a warning,
    /// when preparing the spare failed or the thread has ended: the caller then creates
    /// the segment itself.
    pub fn next_segment(
        &mut self,
        first_zxid: Zxid,
    ) -> Result<Option<SegmentWriter>, StorageError> {
        let Some(spare) = self.take() else {
            self.request();
            return Ok(None);
        };
        // The next spare is asked for only now: until the rename, this one holds the name.
        let segment = spare.activate(first_zxid)?;
        self.request();
        Ok(Some(segment))
    }

    /// The spare requested last, once it is prepared.
    fn take(&mut self) -> Option<SpareSegment> {
        if !self.requested {
            // The thread could not be asked: it has ended.
            return None;
        }
        let received = self.spares.recv();
        self.requested = false;
        match received {
            Ok(Ok(spare)) => Some(spare),
            Ok(Err(error)) => {
                tracing::warn!(%error, "no spare log segment; creating the next one in place");
                None
            }
            Err(_) => {
                tracing::warn!("the preallocator thread has ended; creating segments in place");
                None
            }
        }
    }

    fn request(&mut self) {
        let Some(requests) = &self.requests else {
            return;
        };
        match requests.try_send(()) {
            Ok(()) => self.requested = true,
            Err(TrySendError::Full(())) => {
                unreachable!("a spare is requested only after the one before was taken")
            }
            Err(TrySendError::Disconnected(())) => {}
        }
    }
}

impl Drop for Preallocator {
    fn drop(&mut self) {
        // Closing the request channel ends the thread's loop after the spare at hand.
        self.requests = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("the preallocator thread panicked");
            }
        }
        if let Ok(Ok(spare)) = self.spares.try_recv() {
            let path: PathBuf = spare.path().to_owned();
            if let Err(error) = spare.discard() {
                tracing::warn!(path = %path.display(), %error, "cannot remove an unused spare log segment");
            }
        }
    }
}

/// The thread: one spare per request, until the request channel closes.
fn run(
    dir: &Path,
    preallocation_bytes: u64,
    requests: &Receiver<()>,
    spares: &SyncSender<Result<SpareSegment, StorageError>>,
) {
    for () in requests {
        let started = std::time::Instant::now();
        let spare = SpareSegment::prepare(dir, preallocation_bytes);
        if spare.is_ok() {
            tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "spare log segment prepared"
            );
        }
        // The receiver lives until the thread is joined, so this cannot fail; if it did,
        // the spare would be left for the next start to remove.
        if spares.send(spare).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::spare::SPARE_FILE_NAME;

    #[test]
    fn each_new_segment_is_a_prepared_spare_and_the_next_is_prepared_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut preallocator = Preallocator::spawn(dir.path(), 4096).unwrap();
        for first in [1, 20, 300] {
            let segment = preallocator.next_segment(Zxid(first)).unwrap();
            let segment = segment.expect("a segment made from a spare");
            assert_eq!(segment.path(), dir.path().join(format!("log.{first:x}")));
        }
        drop(preallocator);
        assert!(!dir.path().join(SPARE_FILE_NAME).exists());
    }

    #[test]
    fn dropping_it_removes_the_spare_nobody_took() {
        let dir = tempfile::tempdir().unwrap();
        let preallocator = Preallocator::spawn(dir.path(), 4096).unwrap();
        drop(preallocator);
        assert!(!dir.path().join(SPARE_FILE_NAME).exists());
    }

    #[test]
    fn a_failed_preparation_is_no_segment_and_the_next_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let mut preallocator = Preallocator::spawn(&missing, 4096).unwrap();
        assert!(preallocator.next_segment(Zxid(1)).unwrap().is_none());
        std::fs::create_dir(&missing).unwrap();
        // The failed attempt asked for another, which may have run before the directory
        // existed; the one asked for after it finds the directory.
        let segment = match preallocator.next_segment(Zxid(1)).unwrap() {
            Some(segment) => segment,
            None => preallocator
                .next_segment(Zxid(1))
                .unwrap()
                .expect("a spare"),
        };
        assert_eq!(segment.path(), missing.join("log.1"));
    }

    #[test]
    fn without_its_thread_it_gives_no_spare() {
        let (_, spares) = mpsc::sync_channel(SPARES_AHEAD_LIMIT);
        let mut preallocator = Preallocator {
            requests: None,
            spares,
            requested: false,
            thread: None,
        };
        assert!(preallocator.next_segment(Zxid(1)).unwrap().is_none());
    }
}
