//! CPU time and resident memory of processes, from Linux's /proc, and the load generator's
//! own CPU time from getrusage(2).
//!
//! `/proc/PID/stat` counts user and system time of all the process's threads in clock
//! ticks (`sysconf(_SC_CLK_TCK)`, 100 per second on Linux), so a measurement over a few
//! seconds at thousands of requests per second resolves a fraction of a microsecond per
//! request. `/proc/PID/status` gives the resident set (`VmRSS`) and its peak (`VmHWM`).

use crate::error::LoadError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSample {
    /// The process id.
    pub pid: u32,
    /// User plus system CPU time of all threads, in microseconds.
    pub cpu_us: u64,
    /// Resident memory now, in KiB.
    pub rss_kb: u64,
    /// The largest resident memory so far, in KiB.
    pub rss_peak_kb: u64,
}

/// Reads processes under a /proc directory; tests point it at a fake tree.
#[derive(Debug, Clone)]
pub struct ProcReader {
    proc_root: PathBuf,
    clock_ticks_per_second: u64,
}

impl ProcReader {
    /// The real /proc, with the system's clock tick rate.
    pub fn system() -> Self {
        ProcReader::new(PathBuf::from("/proc"), system_clock_ticks_per_second())
    }

    /// A reader of `proc_root` where one CPU tick is `1 / clock_ticks_per_second` s.
    pub fn new(proc_root: PathBuf, clock_ticks_per_second: u64) -> Self {
        assert!(clock_ticks_per_second > 0, "a clock tick rate is positive");
        ProcReader {
            proc_root,
            clock_ticks_per_second,
        }
    }

    /// CPU time and memory of `pid` now.
    pub fn sample(&self, pid: u32) -> Result<ProcessSample, LoadError> {
        let process_dir = self.proc_root.join(pid.to_string());
        let stat_path = process_dir.join("stat");
        let ticks = parse_stat_cpu_ticks(&read(&stat_path)?)
            .map_err(|what| parse_error(&stat_path, what))?;
        let status_path = process_dir.join("status");
        let status = read(&status_path)?;
        let rss_kb =
            parse_status_kb(&status, "VmRSS").map_err(|what| parse_error(&status_path, what))?;
        let rss_peak_kb = parse_status_kb(&status, "VmHWM").unwrap_or(rss_kb);
        Ok(ProcessSample {
            pid,
            cpu_us: ticks.saturating_mul(1_000_000) / self.clock_ticks_per_second,
            rss_kb,
            rss_peak_kb,
        })
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::ProcRead {
        path: path.to_owned(),
        source,
    })
}

fn parse_error(path: &Path, what: String) -> LoadError {
    LoadError::ProcParse {
        path: path.to_owned(),
        what,
    }
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks.
///
/// The second field, the command name in parentheses, may itself hold spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_stat_cpu_ticks(stat: &str) -> Result<u64, String> {
    let after_name = stat
        .rfind(')')
        .map(|position| &stat[position + 1..])
        .ok_or("no ')' closing the command name")?;
    // After the name come field 3 (state), 4 (ppid), ...: utime is field 14, index 11 here.
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let mut next_ticks = |name: &str| -> Result<u64, String> {
        let text = fields.next().ok_or(format!("no {name} field"))?;
        text.parse::<u64>()
            .map_err(|_| format!("{name} is not a number: {text:?}"))
    };
    let user_ticks = next_ticks("utime")?;
    let system_ticks = next_ticks("stime")?;
    Ok(user_ticks + system_ticks)
}

/// The value in KiB of a `Key:   1234 kB` line of `/proc/PID/status`.
pub fn parse_status_kb(status: &str, key: &str) -> Result<u64, String> {
    let line = status
        .lines()
        .find(|line| line.split_once(':').is_some_and(|(name, _)| name == key))
        .ok_or(format!("no {key} line"))?;
    let value = line
        .split_once(':')
        .map(|(_, value)| value.trim())
        .unwrap_or_default();
    let number = value.strip_suffix("kB").unwrap_or(value).trim();
    number
        .parse::<u64>()
        .map_err(|_| format!("{key} is not a size in kB: {value:?}"))
}

/// The kernel's clock tick rate for /proc times.
fn system_clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // Linux has reported 100 (USER_HZ) on every architecture for decades; fall back to it if
    // the call fails.
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// This process's user plus system CPU time, in microseconds (all threads).
pub fn own_cpu_us() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a full rusage into the pointer it is given, which points to
    // memory of that type; RUSAGE_SELF is always a valid target.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if status != 0 {
        return 0;
    }
    // SAFETY: getrusage succeeded, so it initialised the struct (and it was zeroed anyway).
    let usage = unsafe { usage.assume_init() };
    let micros = |time: libc::timeval| {
        u64::try_from(time.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(time.tv_usec).unwrap_or(0)
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (java (main) x) S 1 4242 4242 0 -1 4194560 5320 0 12 0 \
                        1234 567 0 0 20 0 40 0 1005 5000000000 30000 18446744073709551615 \
                        1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";

    const STATUS: &str = "Name:\tjava\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 9000 kB\n\
                          VmHWM:\t  250000 kB\nVmRSS:\t  123456 kB\nRssAnon:\t 100000 kB\nThreads:\t40\n";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        assert_eq!(parse_stat_cpu_ticks(STAT), Ok(1234 + 567));
    }

    #[test]
    fn truncated_or_garbled_stat_is_an_error() {
        assert!(parse_stat_cpu_ticks("4242 java S 1").is_err());
        assert!(parse_stat_cpu_ticks("4242 (java) S 1 2 3").is_err());
        assert!(parse_stat_cpu_ticks(&STAT.replace(" 1234 ", " x ")).is_err());
    }

    #[test]
    fn status_sizes_are_found_by_exact_key() {
        assert_eq!(parse_status_kb(STATUS, "VmRSS"), Ok(123_456));
        assert_eq!(parse_status_kb(STATUS, "VmHWM"), Ok(250_000));
        assert!(parse_status_kb(STATUS, "VmSwap").is_err());
        // "RssAnon" must not match a search for a prefix of it.
        assert!(parse_status_kb(STATUS, "Rss").is_err());
    }

    #[test]
    fn sample_reads_a_fake_proc_tree() {
        let root = tempfile::tempdir().unwrap();
        let process_dir = root.path().join("4242");
        std::fs::create_dir(&process_dir).unwrap();
        std::fs::write(process_dir.join("stat"), STAT).unwrap();
        std::fs::write(process_dir.join("status"), STATUS).unwrap();
        let reader = ProcReader::new(root.path().to_owned(), 100);
        let sample = reader.sample(4242).unwrap();
        assert_eq!(
            sample,
            ProcessSample {
                pid: 4242,
                cpu_us: (1234 + 567) * 10_000,
                rss_kb: 123_456,
                rss_peak_kb: 250_000,
            }
        );
    }

    #[test]
    fn missing_process_is_a_read_error() {
        let root = tempfile::tempdir().unwrap();
        let reader = ProcReader::new(root.path().to_owned(), 100);
        assert!(matches!(reader.sample(1), Err(LoadError::ProcRead { .. })));
    }

    #[test]
    fn own_process_is_readable_and_cpu_time_advances() {
        let reader = ProcReader::system();
        let sample = reader.sample(std::process::id()).unwrap();
        assert!(sample.rss_kb > 0);
        let before = own_cpu_us();
        let mut spin = 0_u64;
        while own_cpu_us() < before + 20_000 {
            spin = spin.wrapping_add(1);
        }
        assert!(spin > 0);
    }
}
