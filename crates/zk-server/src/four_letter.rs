//! The four-letter words' answers, formatted as the reference server formats them so that
//! monitoring scripts (and zktop) parse them unchanged. Pure formatting: the ConnectionActor
//! gathers a [`ServerSnapshot`] from the actors and hands it here.

use crate::config::ServerConfig;
use crate::quorum::status::{Mode, QuorumStatus};
use crate::stats::ConnectionEntry;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use zk_proto::four_letter::FourLetterWord;
use zk_proto::{SessionId, Zxid};

/// The version line monitoring tools parse; the prefix keeps tools that compare versions
/// happy while naming this implementation.
pub const VERSION: &str = concat!(
    "3.8.0-zk-rs-",
    env!("CARGO_PKG_VERSION"),
    ", built on 1970-01-01 00:00 UTC"
);

/// Everything the words report, gathered at one moment.
#[derive(Debug, Default)]
pub struct ServerSnapshot {
    pub last_zxid: Zxid,
    pub node_count: usize,
    pub outstanding_requests: usize,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency_min_avg_max_ms: (u64, f64, u64),
    pub connections: Vec<ConnectionEntry>,
    pub sessions: Vec<(SessionId, i32)>,
    /// Expiry deadline (ms since the Unix epoch) → sessions, earliest first.
    pub sessions_by_deadline: Vec<(i64, Vec<SessionId>)>,
    pub approximate_data_size: u64,
    pub ephemerals_by_session: Vec<(SessionId, Vec<String>)>,
    pub watch_count: usize,
    pub data_watch_count: usize,
    pub data_watched_paths: usize,
    pub data_watching_connections: usize,
    pub watch_paths_by_session: Vec<(SessionId, Vec<String>)>,
    pub watch_sessions_by_path: Vec<(String, Vec<SessionId>)>,
    pub uptime_ms: u64,
    pub digest: u64,
    /// Bytes of snapshot files (`dataDir/version-2`) and of log files (`dataLogDir/version-2`).
    pub data_dir_bytes: u64,
    pub log_dir_bytes: u64,
    /// The role in the ensemble (standalone when there is none).
    pub quorum: QuorumStatus,
}

/// What an ensemble member answers to the words that describe the server while it has no
/// established leader, as the reference does.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// The answer to a word that the whitelist does not allow.
pub fn not_whitelisted(word: FourLetterWord) -> String {
    format!(
        "{} is not executed because it is not in the whitelist.\n",
        word.name()
    )
}

/// The answer to `word`; `None` for words that only act (`crst`, `srst`), which the caller
/// performs before formatting their fixed answer with [`acknowledgement`].
pub fn format(word: FourLetterWord, snapshot: &ServerSnapshot, config: &ServerConfig) -> String {
    let needs_serving = matches!(
        word,
        FourLetterWord::Srvr | FourLetterWord::Stat | FourLetterWord::Mntr | FourLetterWord::Cons
    );
    if needs_serving && snapshot.quorum.mode != Mode::Standalone && !snapshot.quorum.serving {
        return NOT_SERVING.to_owned();
    }
    match word {
        FourLetterWord::Ruok => "imok".to_owned(),
        FourLetterWord::Srvr => server_stats(snapshot, false),
        FourLetterWord::Stat => server_stats(snapshot, true),
        FourLetterWord::Mntr => monitor(snapshot),
        FourLetterWord::Conf => configuration(config, snapshot),
        FourLetterWord::Cons => connections(snapshot, false) + "\n",
        FourLetterWord::Envi => environment(),
        FourLetterWord::Wchs => format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            snapshot.data_watching_connections,
            snapshot.data_watched_paths,
            snapshot.data_watch_count
        ),
        FourLetterWord::Wchc => {
            let mut out = String::new();
            for (session, paths) in &snapshot.watch_paths_by_session {
                let _ = writeln!(out, "0x{:x}", session.0);
                for path in paths {
                    let _ = writeln!(out, "\t{path}");
                }
            }
            out + "\n"
        }
        FourLetterWord::Wchp => {
            let mut out = String::new();
            for (path, sessions) in &snapshot.watch_sessions_by_path {
                let _ = writeln!(out, "{path}");
                for session in sessions {
                    let _ = writeln!(out, "\t0x{:x}", session.0);
                }
            }
            out + "\n"
        }
        FourLetterWord::Dump => dump(snapshot),
        FourLetterWord::Isro => "rw".to_owned(),
        FourLetterWord::Crst => "Connection stats reset.\n".to_owned(),
        FourLetterWord::Srst => "Server stats reset.\n".to_owned(),
        FourLetterWord::Dirs => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            snapshot.data_dir_bytes, snapshot.log_dir_bytes
        ),
        // Log verbosity is set with RUST_LOG; there is no trace mask to read or set.
        FourLetterWord::Gtmk | FourLetterWord::Stmk => {
            "trace masks are not supported; set RUST_LOG instead\n".to_owned()
        }
        FourLetterWord::Hash => format!("{}, {}\n", snapshot.last_zxid.0, snapshot.digest),
        FourLetterWord::TelnetClose => String::new(),
    }
}

fn server_stats(snapshot: &ServerSnapshot, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {VERSION}\n");
    if with_clients {
        out.push_str("Clients:\n");
        out.push_str(&connections(snapshot, true));
        out.push('\n');
    }
    let (min, avg, max) = snapshot.latency_min_avg_max_ms;
    let _ = write!(
        out,
        "Latency min/avg/max: {min}/{}/{max}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\nZxid: 0x{:x}\nMode: {}\nNode count: {}\n",
        java_double(avg),
        snapshot.packets_received,
        snapshot.packets_sent,
        snapshot.connections.len(),
        snapshot.outstanding_requests,
        snapshot.last_zxid.0,
        snapshot.quorum.mode.name(),
        snapshot.node_count,
    );
    if snapshot.quorum.mode == Mode::Leader {
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            snapshot.quorum.last_proposal_size,
            snapshot
                .quorum
                .min_proposal_size
                .map_or(-1, |size| size as i64),
            snapshot.quorum.max_proposal_size
        );
    }
    out
}

/// One line per connection, as `cons` (full) and `stat` (brief) print them.
fn connections(snapshot: &ServerSnapshot, brief: bool) -> String {
    let mut out = String::new();
    for entry in &snapshot.connections {
        let stats = &entry.stats;
        let session = stats.session_id.load(Relaxed);
        let _ = write!(
            out,
            " /{}:{}[{}](queued=0,recved={},sent={}",
            entry.peer.ip(),
            entry.peer.port(),
            u8::from(session != 0),
            stats.received.load(Relaxed),
            stats.sent.load(Relaxed),
        );
        if session != 0 && !brief {
            let (min, avg, max) = stats.latency.min_avg_max_ms();
            let _ = write!(
                out,
                ",sid=0x{session:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat=0,minlat={min},avglat={},maxlat={max}",
                last_operation_name(stats.last_opcode.load(Relaxed)),
                stats.established_ms.load(Relaxed),
                stats.session_timeout_ms.load(Relaxed),
                stats.last_xid.load(Relaxed),
                stats.last_zxid.load(Relaxed),
                stats.last_response_ms.load(Relaxed),
                avg as u64,
            );
        }
        out.push_str(")\n");
    }
    out
}

/// The four-letter abbreviations the reference uses for the last operation.
fn last_operation_name(opcode: i64) -> &'static str {
    match opcode {
        1 | 15 | 19 | 21 => "CREA",
        2 | 20 => "DELE",
        3 => "EXIS",
        4 => "GETD",
        5 => "SETD",
        6 => "GETA",
        7 => "SETA",
        8 => "GETC",
        9 => "SYNC",
        11 => "PING",
        12 => "GETC",
        13 => "CHEC",
        14 => "MULT",
        17 => "CHKW",
        18 => "REMW",
        22 => "MLTR",
        101 => "SETW",
        103 => "GETE",
        104 => "GACN",
        105 => "STW2",
        106 => "ADDW",
        107 => "HOMI",
        -11 => "CLOS",
        _ => "NA",
    }
}

/// mntr's ensemble fields: the peer state on every member, the learner counts and proposal
/// sizes on the leader (Apache's names).
fn quorum_lines(quorum: &QuorumStatus) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    let state = match quorum.mode {
        Mode::Standalone => return lines,
        Mode::Looking => "looking",
        Mode::Leader => "leading - broadcast",
        Mode::Follower => "following - broadcast",
        Mode::Observer => "observing - broadcast",
    };
    lines.push(("zk_peer_state", state.to_owned()));
    lines.push(("zk_quorum_size", quorum.voters.to_string()));
    if let (Mode::Observer, Some(leader)) = (quorum.mode, quorum.leader) {
        lines.push(("zk_observer_master_id", leader.0.to_string()));
    }
    if quorum.mode == Mode::Leader {
        lines.extend([
            ("zk_learners", quorum.learners.to_string()),
            ("zk_followers", quorum.learners.to_string()),
            ("zk_synced_followers", quorum.synced_followers.to_string()),
            ("zk_synced_non_voting_followers", "0".to_owned()),
            ("zk_synced_observers", quorum.synced_observers.to_string()),
            ("zk_pending_syncs", quorum.pending_syncs.to_string()),
            (
                "zk_last_proposal_size",
                quorum.last_proposal_size.to_string(),
            ),
            ("zk_max_proposal_size", quorum.max_proposal_size.to_string()),
            (
                "zk_min_proposal_size",
                quorum
                    .min_proposal_size
                    .map_or(-1, |size| size as i64)
                    .to_string(),
            ),
        ]);
    }
    lines
}

fn monitor(snapshot: &ServerSnapshot) -> String {
    let (min, avg, max) = snapshot.latency_min_avg_max_ms;
    let ephemerals: usize = snapshot
        .ephemerals_by_session
        .iter()
        .map(|(_, paths)| paths.len())
        .sum();
    let mut lines: Vec<(&str, String)> = vec![
        ("zk_version", VERSION.to_owned()),
        ("zk_server_state", snapshot.quorum.mode.name().to_owned()),
        ("zk_ephemerals_count", ephemerals.to_string()),
        (
            "zk_num_alive_connections",
            snapshot.connections.len().to_string(),
        ),
        ("zk_avg_latency", java_double(avg)),
        (
            "zk_outstanding_requests",
            snapshot.outstanding_requests.to_string(),
        ),
        ("zk_znode_count", snapshot.node_count.to_string()),
        ("zk_global_sessions", snapshot.sessions.len().to_string()),
        ("zk_local_sessions", "0".to_owned()),
        ("zk_packets_sent", snapshot.packets_sent.to_string()),
        ("zk_packets_received", snapshot.packets_received.to_string()),
        ("zk_watch_count", snapshot.watch_count.to_string()),
        ("zk_min_latency", min.to_string()),
        ("zk_max_latency", max.to_string()),
        ("zk_uptime", snapshot.uptime_ms.to_string()),
        (
            "zk_approximate_data_size",
            snapshot.approximate_data_size.to_string(),
        ),
        (
            "zk_open_file_descriptor_count",
            open_file_descriptors().to_string(),
        ),
        (
            "zk_max_file_descriptor_count",
            max_file_descriptors().to_string(),
        ),
    ];
    lines.extend(quorum_lines(&snapshot.quorum));
    let mut out = String::new();
    for (key, value) in lines {
        let _ = writeln!(out, "{key}\t{value}");
    }
    out
}

fn configuration(config: &ServerConfig, snapshot: &ServerSnapshot) -> String {
    format!(
        "clientPort={}\nsecureClientPort=-1\ndataDir={}/version-2\ndataDirSize={}\ndataLogDir={}/version-2\ndataLogSize={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId=0\n",
        config.client_address.port(),
        config.data_dir.display(),
        snapshot.data_dir_bytes,
        config.data_log_dir.display(),
        snapshot.log_dir_bytes,
        config.tick_time_ms,
        config.max_client_connections_per_ip,
        config.min_session_timeout_ms,
        config.max_session_timeout_ms,
    )
}

fn environment() -> String {
    let read_trimmed = |path: &str| {
        std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .ok()
    };
    let host = read_trimmed("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".to_owned());
    let os_version =
        read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "unknown".to_owned());
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    let home = std::env::var("HOME").unwrap_or_default();
    let directory = std::env::current_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_default();
    let os_name = match std::env::consts::OS {
        "linux" => "Linux",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        other => other,
    };
    format!(
        "Environment:\nzookeeper.version={VERSION}\nhost.name={host}\nos.name={os_name}\nos.arch={arch}\nos.version={os_version}\nuser.name={user}\nuser.home={home}\nuser.dir={directory}\n"
    )
}

fn dump(snapshot: &ServerSnapshot) -> String {
    let mut out = String::from("SessionTracker dump:\n");
    let _ = writeln!(
        out,
        "Session Sets ({})/({}):",
        snapshot.sessions_by_deadline.len(),
        snapshot.sessions.len()
    );
    for (deadline_ms, sessions) in &snapshot.sessions_by_deadline {
        let _ = writeln!(
            out,
            "{} expire at {}:",
            sessions.len(),
            java_date(*deadline_ms)
        );
        for session in sessions {
            let _ = writeln!(out, "\t0x{:x}", session.0);
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    let _ = writeln!(
        out,
        "Sessions with Ephemerals ({}):",
        snapshot.ephemerals_by_session.len()
    );
    for (session, paths) in &snapshot.ephemerals_by_session {
        let _ = writeln!(out, "0x{:x}:", session.0);
        for path in paths {
            let _ = writeln!(out, "\t{path}");
        }
    }
    out.push_str("Connections dump:\n");
    let _ = writeln!(
        out,
        "Connections Sets (1)/({}):",
        snapshot.connections.len()
    );
    for entry in &snapshot.connections {
        let _ = writeln!(
            out,
            "\tip: /{}:{} sessionId: 0x{:x}",
            entry.peer.ip(),
            entry.peer.port(),
            entry.stats.session_id.load(Relaxed)
        );
    }
    out
}

/// Formats a float as Java's `Double.toString` does for the values we print (always at
/// least one decimal).
fn java_double(value: f64) -> String {
    let text = format!("{value}");
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// Formats a time as Java's `Date.toString` in UTC: `Mon Nov 23 00:35:42 UTC 2026`.
fn java_date(epoch_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = epoch_ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = crate::civil_time::civil_from_days(days);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        year
    )
}

/// The process's limit on open files, as `zk_max_file_descriptor_count` reports it.
fn max_file_descriptors() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|line| line.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse().ok()
        })
        .unwrap_or(0)
}

fn open_file_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_has_the_lines_tools_parse() {
        let snapshot = ServerSnapshot {
            last_zxid: Zxid(5),
            node_count: 7,
            ..ServerSnapshot::default()
        };
        let text = format(FourLetterWord::Srvr, &snapshot, &ServerConfig::default());
        assert!(text.starts_with("Zookeeper version: 3.8.0"));
        assert!(text.contains("Latency min/avg/max: 0/0.0/0\n"));
        assert!(text.contains("Zxid: 0x5\n"));
        assert!(text.contains("Mode: standalone\n"));
        assert!(text.ends_with("Node count: 7\n"));
    }

    #[test]
    fn mntr_is_tab_separated() {
        let text = format(
            FourLetterWord::Mntr,
            &ServerSnapshot::default(),
            &ServerConfig::default(),
        );
        for line in text.lines() {
            assert_eq!(line.split('\t').count(), 2, "{line}");
        }
        assert!(text.contains("zk_server_state\tstandalone\n"));
    }

    #[test]
    fn an_ensemble_leader_reports_its_mode_and_learners() {
        let snapshot = ServerSnapshot {
            quorum: QuorumStatus {
                mode: Mode::Leader,
                serving: true,
                learners: 3,
                synced_followers: 2,
                synced_observers: 1,
                voters: 3,
                last_proposal_size: 40,
                min_proposal_size: Some(30),
                max_proposal_size: 50,
                ..QuorumStatus::default()
            },
            ..ServerSnapshot::default()
        };
        let config = ServerConfig::default();
        let srvr = format(FourLetterWord::Srvr, &snapshot, &config);
        assert!(srvr.contains("Mode: leader\n"));
        assert!(srvr.ends_with("Proposal sizes last/min/max: 40/30/50\n"));
        let mntr = format(FourLetterWord::Mntr, &snapshot, &config);
        for expected in [
            "zk_server_state\tleader\n",
            "zk_peer_state\tleading - broadcast\n",
            "zk_learners\t3\n",
            "zk_synced_followers\t2\n",
            "zk_synced_observers\t1\n",
            "zk_quorum_size\t3\n",
        ] {
            assert!(mntr.contains(expected), "{expected:?} missing from {mntr}");
        }
    }

    #[test]
    fn an_ensemble_member_without_a_leader_is_not_serving() {
        let snapshot = ServerSnapshot {
            quorum: QuorumStatus {
                mode: Mode::Looking,
                ..QuorumStatus::default()
            },
            ..ServerSnapshot::default()
        };
        let config = ServerConfig::default();
        for word in [
            FourLetterWord::Srvr,
            FourLetterWord::Stat,
            FourLetterWord::Mntr,
        ] {
            assert_eq!(format(word, &snapshot, &config), NOT_SERVING);
        }
        assert_eq!(format(FourLetterWord::Ruok, &snapshot, &config), "imok");
    }

    #[test]
    fn whitelist_refusal_names_the_word() {
        assert_eq!(
            not_whitelisted(FourLetterWord::Dump),
            "dump is not executed because it is not in the whitelist.\n"
        );
    }

    #[test]
    fn java_dates_match_the_reference_format() {
        assert_eq!(java_date(1_795_394_142_000), "Mon Nov 23 00:35:42 UTC 2026");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    }

    #[test]
    fn java_doubles_keep_a_decimal() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(5.375), "5.375");
    }
}
