//! The preallocator thread: writes the log's zeros ahead of time, so that no commit waits
//! for them. It has two jobs, done one at a time in the order asked:
//!
//! - prepare the next segment's file ([`SpareSegment`]): header space and one step of
//!   zeros;
//! - extend the current segment by one step of zeros ([`ZeroExtension`]), asked for when
//!   the records come within half a step of the zeros' end ([`extension_wanted`]).
//!
//! Why steps: the log rolls at every snapshot, so a segment ends wherever its records are
//! at that moment, often after 10–20 MiB. Zeros added a step at a time end at most about
//! a step and a half past the last record. A whole `preAllocSize` (64 MiB) per segment
//! wrote 3–6 times more zeros than records.
//!
//! The log never writes records where zeros are still being written: a batch that needs
//! them waits for the extension under way ([`BeforeWrite`]), which takes no longer than
//! writing one step. At most one extension is out at a time. When the log rolls while an
//! extension is out, the zeros still land after the closed segment's last record, which
//! recovery reads as a clean end, and the report is dropped. Before it cuts or removes
//! segments (ZAB's TRUNC and SNAP), the log waits until no extension is out.
//!
//! If a job failed, or the thread is gone, the log writes the zeros itself: it creates the
//! segment in place, or grows it in place. Correctness never depends on this thread.

use super::error::StorageError;
use super::segment::{ExtendedTo, SegmentWriter, ZeroExtension, SEGMENT_HEADER_BYTES};
use super::spare::SpareSegment;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use zk_proto::Zxid;

/// The largest step by which a segment's zeros grow. Each segment ends with up to about a
/// step and a half of zeros that were written for nothing, so the step is kept small
/// beside the 10–20 MiB a segment holds under load. It is large enough that extensions
/// are rare (one per step of records), and that a step is written long before the log
/// fills the half step left when it was asked for.
pub const MAX_STEP_BYTES: u64 = 4 << 20;

/// The step for a `preAllocSize` of `preallocation_bytes`: a small `preAllocSize` (in
/// tests, say) gives small steps.
pub fn step_bytes(preallocation_bytes: u64) -> u64 {
    preallocation_bytes.clamp(1, MAX_STEP_BYTES)
}

/// Where the current segment stands: the input of the log's decisions about zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runway {
    /// Where the next record goes.
    pub position: u64,
    /// The end of the durable zeros.
    pub allocated: u64,
    pub step_bytes: u64,
    /// The size past which no zeros are added: the log starts a new segment rather than
    /// let this one hold more than `preAllocSize` of records.
    pub limit: u64,
}

impl Runway {
    /// The runway of `segment`, holding at most `preallocation_bytes` of records.
    pub fn of(segment: &SegmentWriter, step_bytes: u64, preallocation_bytes: u64) -> Runway {
        Runway {
            position: segment.position(),
            allocated: segment.allocated(),
            step_bytes,
            limit: SEGMENT_HEADER_BYTES as u64 + preallocation_bytes,
        }
    }
}

/// How many zeros to ask the thread for after a write: one step (less if the segment's
/// limit is nearer) once fewer than half a step of zeros is left; none while an extension
/// is out, or once the zeros reach the limit.
pub fn extension_wanted(runway: Runway, extension_out: bool) -> Option<u64> {
    let zeros_ahead = runway.allocated.saturating_sub(runway.position);
    if extension_out || zeros_ahead >= runway.step_bytes / 2 || runway.allocated >= runway.limit {
        return None;
    }
    Some(runway.step_bytes.min(runway.limit - runway.allocated))
}

/// What the log does before writing a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeWrite {
    /// The batch fits in the durable zeros.
    Write,
    /// It does not, and the next step of zeros is being written: wait for it. Writing
    /// first would let those zeros land on the batch's records.
    WaitForExtension,
    /// It does not, and no extension is out: the writer adds the zeros itself.
    GrowInPlace,
}

/// The decision for a batch that `fits` in the durable zeros, or not.
pub fn before_write(fits: bool, extension_out: bool) -> BeforeWrite {
    match (fits, extension_out) {
        (true, _) => BeforeWrite::Write,
        (false, true) => BeforeWrite::WaitForExtension,
        (false, false) => BeforeWrite::GrowInPlace,
    }
}

/// Jobs queued at most: one spare and one extension.
const JOB_QUEUE_LIMIT: usize = 2;

/// The thread's name, in errors and thread listings.
const THREAD_NAME: &str = "zk-log-prealloc";

/// Work for the thread.
#[derive(Debug)]
enum Job {
    Spare,
    Extend(ZeroExtension),
}

/// The one extension allowed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extension {
    None,
    /// Asked for the segment the log is writing.
    ForCurrentSegment,
    /// Asked for a segment the log has closed since: its report is dropped.
    ForClosedSegment,
}

/// What a test tells the thread before each extension ([`Preallocator::gated`]).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug)]
pub(super) enum Gate {
    Write,
    Fail,
    Exit,
}

/// The log's handle on the preallocator thread. Dropping it stops the thread (after the
/// job at hand and those queued) and removes a spare nobody took.
#[derive(Debug)]
pub struct Preallocator {
    /// `None` once dropping began, which ends the thread's loop.
    jobs: Option<SyncSender<Job>>,
    spares: Receiver<Result<SpareSegment, StorageError>>,
    extensions: Receiver<Result<ExtendedTo, StorageError>>,
    /// A spare was asked for and not taken yet.
    spare_requested: bool,
    extension: Extension,
    thread: Option<JoinHandle<()>>,
}

impl Preallocator {
    /// Starts the thread, which prepares spares with `step_bytes` of zeros in `dir`, and
    /// asks for the first spare.
    pub fn spawn(dir: &Path, step_bytes: u64) -> Result<Preallocator, StorageError> {
        Preallocator::spawn_with_gate(dir, step_bytes, None)
    }

    fn spawn_with_gate(
        dir: &Path,
        step_bytes: u64,
        gate: Option<Receiver<Gate>>,
    ) -> Result<Preallocator, StorageError> {
        let (job_sender, jobs) = mpsc::sync_channel(JOB_QUEUE_LIMIT);
        let (spare_sender, spares) = mpsc::sync_channel(1);
        let (extension_sender, extensions) = mpsc::sync_channel(1);
        let dir = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                run(
                    &dir,
                    step_bytes,
                    &jobs,
                    &spare_sender,
                    &extension_sender,
                    gate.as_ref(),
                )
            })
            .map_err(|source| StorageError::Thread {
                name: THREAD_NAME,
                source,
            })?;
        let mut preallocator = Preallocator {
            jobs: Some(job_sender),
            spares,
            extensions,
            spare_requested: false,
            extension: Extension::None,
            thread: Some(thread),
        };
        preallocator.request_spare();
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
        let Some(spare) = self.take_spare() else {
            self.request_spare();
            return Ok(None);
        };
        // The next spare is asked for only now: until the rename, this one holds the name.
        let segment = spare.activate(first_zxid)?;
        self.request_spare();
        Ok(Some(segment))
    }

    /// Whether an extension of the current segment is being written: the log must not
    /// write past the segment's end, nor grow it, until it is reported.
    pub fn extension_out(&self) -> bool {
        self.extension == Extension::ForCurrentSegment
    }

    /// Asks the thread to write `extension`, for the current segment. Returns whether it
    /// was sent: not while another extension is out (one of a closed segment, say), nor
    /// once the thread has ended. The log asks again after its next write.
    pub fn request_extension(&mut self, extension: ZeroExtension) -> bool {
        // A closed segment's extension may be done by now; its report is dropped.
        self.collect_extension(false);
        if self.extension != Extension::None {
            return false;
        }
        let Some(jobs) = &self.jobs else {
            return false;
        };
        match jobs.try_send(Job::Extend(extension)) {
            Ok(()) => {
                self.extension = Extension::ForCurrentSegment;
                true
            }
            // Full cannot happen (one spare and one extension at most); either way the
            // log grows the segment itself if it must.
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// The extension of the current segment, if it was written since the last call.
    pub fn finished_extension(&mut self) -> Option<ExtendedTo> {
        self.collect_extension(false)
    }

    /// Waits for the extension of the current segment being written. `None` when there is
    /// none, or it failed, or the thread has ended: the log then grows the segment itself.
    pub fn wait_for_extension(&mut self) -> Option<ExtendedTo> {
        if !self.extension_out() {
            return None;
        }
        self.collect_extension(true)
    }

    /// Marks the extension out, if any, as one of a segment the log has closed.
    pub fn segment_closed(&mut self) {
        if self.extension == Extension::ForCurrentSegment {
            self.extension = Extension::ForClosedSegment;
        }
    }

    /// Waits until no extension is out, dropping its report: after this, the thread writes
    /// into no segment file until asked again (before cutting or removing segments).
    pub fn wait_until_no_extension_is_out(&mut self) {
        self.segment_closed();
        self.collect_extension(true);
    }

    /// Takes in the report of the extension out, waiting for it if `wait`; returns it when
    /// it extended the current segment.
    fn collect_extension(&mut self, wait: bool) -> Option<ExtendedTo> {
        if self.extension == Extension::None {
            return None;
        }
        let received = if wait {
            self.extensions
                .recv()
                .map_err(|_| TryRecvError::Disconnected)
        } else {
            self.extensions.try_recv()
        };
        let for_current = self.extension == Extension::ForCurrentSegment;
        let outcome = match received {
            Err(TryRecvError::Empty) => return None,
            Ok(Ok(done)) => Some(done),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot extend the log segment ahead; the log grows it itself");
                None
            }
            Err(TryRecvError::Disconnected) => {
                tracing::warn!("the preallocator thread has ended; the log grows segments itself");
                None
            }
        };
        self.extension = Extension::None;
        outcome.filter(|_| for_current)
    }

    /// The spare requested last, once it is prepared.
    fn take_spare(&mut self) -> Option<SpareSegment> {
        if !self.spare_requested {
            // The thread could not be asked: it has ended.
            return None;
        }
        let received = self.spares.recv();
        self.spare_requested = false;
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

    fn request_spare(&mut self) {
        let Some(jobs) = &self.jobs else {
            return;
        };
        match jobs.try_send(Job::Spare) {
            Ok(()) => self.spare_requested = true,
            Err(TrySendError::Full(_)) => {
                unreachable!("a spare is requested only after the one before was taken")
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

impl Drop for Preallocator {
    fn drop(&mut self) {
        // Closing the job channel ends the thread's loop after the jobs queued.
        self.jobs = None;
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

/// The thread: one job at a time, until the job channel closes. Each result has room in
/// its channel (one spare and one extension out at most), so sending never blocks.
fn run(
    dir: &Path,
    step_bytes: u64,
    jobs: &Receiver<Job>,
    spares: &SyncSender<Result<SpareSegment, StorageError>>,
    extensions: &SyncSender<Result<ExtendedTo, StorageError>>,
    gate: Option<&Receiver<Gate>>,
) {
    for job in jobs {
        // The receivers live until the thread is joined, so sending cannot fail; if it
        // did, a spare would be left for the next start to remove.
        let sent = match job {
            Job::Spare => spares.send(prepare_spare(dir, step_bytes)).is_ok(),
            Job::Extend(extension) => {
                let gate = gate.map_or(Gate::Write, |gate| gate.recv().unwrap_or(Gate::Write));
                let done = match gate {
                    Gate::Write => extension.write(),
                    Gate::Fail => Err(StorageError::io(extension.path(), "extend (test)")(
                        std::io::Error::other("failed by the test"),
                    )),
                    Gate::Exit => return,
                };
                extensions.send(done).is_ok()
            }
        };
        if !sent {
            return;
        }
    }
}

fn prepare_spare(dir: &Path, step_bytes: u64) -> Result<SpareSegment, StorageError> {
    let started = std::time::Instant::now();
    let spare = SpareSegment::prepare(dir, step_bytes);
    if spare.is_ok() {
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "spare log segment prepared"
        );
    }
    spare
}

#[cfg(test)]
impl Preallocator {
    /// A preallocator whose thread waits, before each extension, for the test to send
    /// what to do with it. Dropping the sender lets every extension be written.
    pub(super) fn gated(dir: &Path, step_bytes: u64) -> (Preallocator, mpsc::Sender<Gate>) {
        let (sender, gate) = mpsc::channel();
        let preallocator = Preallocator::spawn_with_gate(dir, step_bytes, Some(gate)).unwrap();
        (preallocator, sender)
    }

    /// A preallocator whose thread has ended (or never started).
    pub(super) fn without_thread() -> Preallocator {
        let (_, spares) = mpsc::sync_channel(1);
        let (_, extensions) = mpsc::sync_channel(1);
        Preallocator {
            jobs: None,
            spares,
            extensions,
            spare_requested: false,
            extension: Extension::None,
            thread: None,
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
    fn without_its_thread_it_gives_no_spare_and_takes_no_extension() {
        let dir = tempfile::tempdir().unwrap();
        let segment = SegmentWriter::create(dir.path(), Zxid(1), 4096).unwrap();
        let mut preallocator = Preallocator::without_thread();
        assert!(preallocator.next_segment(Zxid(1)).unwrap().is_none());
        assert!(!preallocator.request_extension(segment.extension(4096).unwrap()));
        assert!(!preallocator.extension_out());
        assert_eq!(preallocator.wait_for_extension(), None);
    }

    #[test]
    fn the_step_is_pre_alloc_size_up_to_four_mib() {
        assert_eq!(step_bytes(64 << 20), MAX_STEP_BYTES);
        assert_eq!(step_bytes(MAX_STEP_BYTES), MAX_STEP_BYTES);
        assert_eq!(step_bytes(4096), 4096);
        assert_eq!(step_bytes(0), 1);
    }

    #[test]
    fn a_step_is_wanted_within_half_a_step_of_the_end_and_never_past_the_limit() {
        let runway = |position, allocated| Runway {
            position,
            allocated,
            step_bytes: 1000,
            limit: 10_000,
        };
        assert_eq!(extension_wanted(runway(24, 1024), false), None);
        assert_eq!(
            extension_wanted(runway(524, 1024), false),
            None,
            "half left"
        );
        assert_eq!(extension_wanted(runway(525, 1024), false), Some(1000));
        assert_eq!(extension_wanted(runway(525, 1024), true), None, "one out");
        assert_eq!(extension_wanted(runway(2000, 1024), false), Some(1000));
        assert_eq!(extension_wanted(runway(9000, 9400), false), Some(600));
        assert_eq!(extension_wanted(runway(9900, 10_000), false), None);
        assert_eq!(extension_wanted(runway(9900, 12_000), false), None);
    }

    #[test]
    fn a_batch_past_the_zeros_waits_for_the_extension_out_else_grows_in_place() {
        assert_eq!(before_write(true, false), BeforeWrite::Write);
        assert_eq!(before_write(true, true), BeforeWrite::Write);
        assert_eq!(before_write(false, true), BeforeWrite::WaitForExtension);
        assert_eq!(before_write(false, false), BeforeWrite::GrowInPlace);
    }

    #[test]
    fn an_extension_adds_durable_zeros_after_the_segment_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut preallocator = Preallocator::spawn(dir.path(), 1024).unwrap();
        let mut segment = preallocator.next_segment(Zxid(1)).unwrap().unwrap();
        let end = segment.allocated();
        assert!(preallocator.request_extension(segment.extension(1024).unwrap()));
        assert!(preallocator.extension_out());
        let done = preallocator.wait_for_extension().expect("written");
        assert_eq!(
            done,
            ExtendedTo {
                from: end,
                to: end + 1024
            }
        );
        assert!(!preallocator.extension_out());
        segment.extended(done);
        assert_eq!(segment.allocated(), end + 1024);
        let bytes = std::fs::read(segment.path()).unwrap();
        assert_eq!(bytes.len() as u64, end + 1024);
        assert!(bytes[SEGMENT_HEADER_BYTES..].iter().all(|&byte| byte == 0));
    }

    #[test]
    fn one_extension_at_a_time_and_a_closed_segments_report_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut preallocator, gate) = Preallocator::gated(dir.path(), 1024);
        let first = preallocator.next_segment(Zxid(1)).unwrap().unwrap();
        assert!(preallocator.request_extension(first.extension(1024).unwrap()));
        assert!(!preallocator.request_extension(first.extension(1024).unwrap()));
        preallocator.segment_closed();
        assert!(!preallocator.extension_out());
        let second = preallocator.next_segment(Zxid(5)).unwrap().unwrap();
        // The closed segment's extension is still out: no second one.
        assert!(!preallocator.request_extension(second.extension(1024).unwrap()));
        gate.send(Gate::Write).unwrap();
        preallocator.wait_until_no_extension_is_out();
        assert_eq!(preallocator.finished_extension(), None, "dropped");
        let first_len = std::fs::metadata(first.path()).unwrap().len();
        assert_eq!(first_len, first.allocated() + 1024, "written all the same");
        assert!(preallocator.request_extension(second.extension(1024).unwrap()));
        gate.send(Gate::Write).unwrap();
        assert_eq!(
            preallocator.wait_for_extension(),
            Some(ExtendedTo {
                from: second.allocated(),
                to: second.allocated() + 1024
            })
        );
    }

    #[test]
    fn a_failed_extension_is_none_and_the_next_can_be_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let (mut preallocator, gate) = Preallocator::gated(dir.path(), 1024);
        let segment = preallocator.next_segment(Zxid(1)).unwrap().unwrap();
        gate.send(Gate::Fail).unwrap();
        assert!(preallocator.request_extension(segment.extension(1024).unwrap()));
        assert_eq!(preallocator.wait_for_extension(), None);
        assert!(!preallocator.extension_out());
        gate.send(Gate::Write).unwrap();
        assert!(preallocator.request_extension(segment.extension(1024).unwrap()));
        assert!(preallocator.wait_for_extension().is_some());
    }

    #[test]
    fn a_thread_ended_during_an_extension_is_none_and_takes_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let (mut preallocator, gate) = Preallocator::gated(dir.path(), 1024);
        let segment = preallocator.next_segment(Zxid(1)).unwrap().unwrap();
        gate.send(Gate::Exit).unwrap();
        assert!(preallocator.request_extension(segment.extension(1024).unwrap()));
        assert_eq!(preallocator.wait_for_extension(), None);
        assert!(!preallocator.request_extension(segment.extension(1024).unwrap()));
        // The spare asked for before the extension was prepared before the thread ended.
        assert!(preallocator.next_segment(Zxid(9)).unwrap().is_some());
        assert!(preallocator.next_segment(Zxid(30)).unwrap().is_none());
    }
}
