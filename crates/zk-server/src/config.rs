//! Server configuration in Apache ZooKeeper's zoo.cfg format.
//!
//! Every key a deployment of the reference server uses is accepted. Keys we act on are
//! parsed strictly (a bad value is an error naming the key); keys that only matter to the
//! JVM server are accepted silently; anything else is logged as unknown, as Apache does.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zk_proto::ServerId;

/// Why a configuration cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `key=value`, found {text:?}")]
    Syntax {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error("invalid value {value:?} for key `{key}`: {reason}")]
    InvalidValue {
        key: String,
        value: String,
        reason: String,
    },
    #[error("invalid configuration: {0}")]
    Inconsistent(String),
}

/// One `server.N=host:quorumPort:electionPort[:role]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub id: ServerId,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub observer: bool,
}

/// Everything the server needs to start, with Apache's defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The length of one tick; session timeouts and limits are counted in ticks.
    pub tick_time_ms: u32,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    pub client_address: SocketAddr,
    /// Connections allowed from one IP address; 0 means no limit.
    pub max_client_connections_per_ip: usize,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    /// Four-letter words that may run; `None` means every word (`*`).
    pub four_letter_word_whitelist: Option<Vec<String>>,
    /// Largest payload of a client frame (Apache's `jute.maxbuffer`).
    pub jute_max_buffer_bytes: usize,
    /// Whether TTL nodes may be created (`extendedTypesEnabled`).
    pub extended_types_enabled: bool,
    /// How often containers and expired TTL nodes are looked for.
    pub container_check_interval_ms: u64,
    /// `super:<base64 sha1>`: a session authenticated as this digest bypasses ACLs.
    pub super_digest: Option<String>,
    /// Bytes queued for a client that does not read before it is disconnected.
    pub max_outbound_bytes_per_connection: usize,
    pub init_limit_ticks: u32,
    pub sync_limit_ticks: u32,
    pub peers: Vec<PeerConfig>,
    /// `snapCount`: logged transactions between snapshots (randomised per server).
    pub snap_count: u64,
    /// `zookeeper.snapSizeLimitInKb`, in bytes: logged bytes between snapshots; 0 = off.
    pub snap_size_limit_bytes: u64,
    /// `preAllocSize` (given in KiB), in bytes: how far log segments are grown at a time.
    pub preallocation_bytes: u64,
    /// `forceSync`: fsync the log before acknowledging a write (`no` is unsafe).
    pub force_sync: bool,
    /// `autopurge.snapRetainCount`.
    pub snap_retain_count: usize,
    /// `autopurge.purgeInterval`, in hours; 0 = off.
    pub purge_interval_hours: u32,
}

impl Default for ServerConfig {
    /// What `zk-server` with no arguments runs: standalone on 127.0.0.1:2181, data in ./data.
    fn default() -> Self {
        let tick_time_ms = 2000;
        ServerConfig {
            tick_time_ms,
            data_dir: PathBuf::from("data"),
            data_log_dir: PathBuf::from("data"),
            client_address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 2181),
            max_client_connections_per_ip: 60,
            min_session_timeout_ms: 2 * tick_time_ms,
            max_session_timeout_ms: 20 * tick_time_ms,
            four_letter_word_whitelist: Some(vec!["srvr".to_owned()]),
            jute_max_buffer_bytes: 0xfffff,
            extended_types_enabled: false,
            container_check_interval_ms: 60_000,
            super_digest: None,
            max_outbound_bytes_per_connection: 16 * 1024 * 1024,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            peers: Vec::new(),
            snap_count: 100_000,
            snap_size_limit_bytes: 4 * 1024 * 1024 * 1024,
            preallocation_bytes: 64 * 1024 * 1024,
            force_sync: true,
            snap_retain_count: 3,
            purge_interval_hours: 0,
        }
    }
}

/// Keys of the reference server that change nothing here; accepted without a warning.
const ACCEPTED_IGNORED_KEYS: &[&str] = &[
    "admin.enableServer",
    "admin.serverPort",
    "admin.serverAddress",
    "electionAlg",
    "quorumListenOnAllIPs",
    "standaloneEnabled",
    "reconfigEnabled",
    "globalOutstandingLimit",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "syncEnabled",
    "metricsProvider.className",
    "clientPortListenBacklog",
    "maxCnxns",
    // Our observers are named by `:observer` on their `server.N` line, which Apache requires
    // as well; `peerType` repeats it.
    "peerType",
];

/// A warning found while parsing, reported by the caller through tracing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning(pub String);

impl ServerConfig {
    /// Reads and validates a zoo.cfg file.
    pub fn from_file(path: &Path) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let entries = parse_properties(path, &text)?;
        Self::from_entries(&entries)
    }

    /// Builds a configuration from `key=value` entries, in file order.
    pub fn from_entries(
        entries: &[(String, String)],
    ) -> Result<(Self, Vec<ConfigWarning>), ConfigError> {
        let mut config = ServerConfig::default();
        let mut warnings = Vec::new();
        let values: BTreeMap<&str, &str> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut min_session_timeout = None;
        let mut max_session_timeout = None;
        let mut client_port = None;
        let mut client_host = None;
        let mut data_log_dir = None;
        for (&key, &value) in &values {
            match key {
                "tickTime" => config.tick_time_ms = parse_number(key, value, 1..=u32::MAX)?,
                "dataDir" => config.data_dir = PathBuf::from(value),
                "dataLogDir" => data_log_dir = Some(PathBuf::from(value)),
                "clientPort" => client_port = Some(parse_number::<u16>(key, value, 1..=u16::MAX)?),
                "clientPortAddress" => client_host = Some(parse_ip(key, value)?),
                "maxClientCnxns" => {
                    config.max_client_connections_per_ip = parse_number(key, value, 0..=usize::MAX)?
                }
                "minSessionTimeout" => {
                    min_session_timeout = Some(parse_number(key, value, 0..=u32::MAX)?)
                }
                "maxSessionTimeout" => {
                    max_session_timeout = Some(parse_number(key, value, 0..=u32::MAX)?)
                }
                "4lw.commands.whitelist" => {
                    config.four_letter_word_whitelist = parse_whitelist(value)
                }
                "jute.maxbuffer" => {
                    config.jute_max_buffer_bytes =
                        parse_number(key, value, 1..=(i32::MAX as usize))?
                }
                "extendedTypesEnabled" | "zookeeper.extendedTypesEnabled" => {
                    config.extended_types_enabled = parse_bool(key, value)?
                }
                "znode.container.checkIntervalMs" => {
                    config.container_check_interval_ms = parse_number(key, value, 1..=u64::MAX)?
                }
                "superDigest"
                | "DigestAuthenticationProvider.superDigest"
                | "zookeeper.DigestAuthenticationProvider.superDigest" => {
                    config.super_digest = Some(parse_super_digest(key, value)?)
                }
                "snapCount" => config.snap_count = parse_number(key, value, 1..=u64::MAX)?,
                "zookeeper.snapSizeLimitInKb" | "snapSizeLimitInKb" => {
                    // Apache treats a non-positive limit as "no size limit".
                    let kib: i64 = parse_number(key, value, i64::MIN..=i64::MAX / 1024)?;
                    config.snap_size_limit_bytes = kib.max(0) as u64 * 1024;
                }
                "preAllocSize" => {
                    config.preallocation_bytes =
                        parse_number::<u64>(key, value, 1..=u64::MAX / 1024)? * 1024
                }
                "forceSync" => config.force_sync = parse_bool(key, value)?,
                "autopurge.snapRetainCount" => {
                    config.snap_retain_count = parse_number(key, value, 0..=usize::MAX)?
                }
                "autopurge.purgeInterval" => {
                    config.purge_interval_hours = parse_number(key, value, 0..=u32::MAX)?
                }
                "initLimit" => config.init_limit_ticks = parse_number(key, value, 1..=u32::MAX)?,
                "syncLimit" => config.sync_limit_ticks = parse_number(key, value, 1..=u32::MAX)?,
                _ if key.starts_with("server.") => config.peers.push(parse_peer(key, value)?),
                _ if ACCEPTED_IGNORED_KEYS.contains(&key) => {}
                _ => warnings.push(ConfigWarning(format!(
                    "unknown configuration key `{key}` ignored"
                ))),
            }
        }
        config.data_log_dir = data_log_dir.unwrap_or_else(|| config.data_dir.clone());
        config.client_address = SocketAddr::new(
            client_host.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            client_port.unwrap_or(2181),
        );
        config.min_session_timeout_ms = min_session_timeout
            .filter(|&ms| ms > 0)
            .unwrap_or(2 * config.tick_time_ms);
        config.max_session_timeout_ms = max_session_timeout
            .filter(|&ms| ms > 0)
            .unwrap_or(20 * config.tick_time_ms);
        config.peers.sort_by_key(|peer| peer.id);
        config.validate()?;
        Ok((config, warnings))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.min_session_timeout_ms > self.max_session_timeout_ms {
            return Err(ConfigError::Inconsistent(format!(
                "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
                self.min_session_timeout_ms, self.max_session_timeout_ms
            )));
        }
        if self.max_outbound_bytes_per_connection == 0 || self.jute_max_buffer_bytes == 0 {
            return Err(ConfigError::Inconsistent(
                "buffer limits must be positive".into(),
            ));
        }
        for pair in self.peers.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(ConfigError::Inconsistent(format!(
                    "server.{} is listed twice",
                    pair[0].id
                )));
            }
        }
        Ok(())
    }

    /// Negotiates a client's requested session timeout into the configured bounds.
    pub fn negotiate_session_timeout(&self, requested_ms: i32) -> i32 {
        let requested = requested_ms.max(0) as u32;
        requested.clamp(self.min_session_timeout_ms, self.max_session_timeout_ms) as i32
    }

    /// Whether a four-letter word may run.
    pub fn four_letter_word_allowed(&self, word: &str) -> bool {
        match &self.four_letter_word_whitelist {
            None => true,
            Some(words) => words.iter().any(|allowed| allowed == word),
        }
    }
}

/// Splits Java-properties-style text into `key=value` entries (`#`/`!` comments, blank
/// lines skipped, whitespace around keys and values trimmed).
fn parse_properties(path: &Path, text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else {
            return Err(ConfigError::Syntax {
                path: path.to_owned(),
                line: index + 1,
                text: raw.to_owned(),
            });
        };
        entries.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(entries)
}

fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_number<T>(
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let number: T = value
        .parse()
        .map_err(|_| invalid(key, value, "not a number"))?;
    if !range.contains(&number) {
        return Err(invalid(
            key,
            value,
            format!("must be between {} and {}", range.start(), range.end()),
        ));
    }
    Ok(number)
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        _ => Err(invalid(key, value, "expected true or false")),
    }
}

fn parse_ip(key: &str, value: &str) -> Result<IpAddr, ConfigError> {
    if value == "localhost" {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    value
        .parse()
        .map_err(|_| invalid(key, value, "not an IP address"))
}

fn parse_whitelist(value: &str) -> Option<Vec<String>> {
    let words: Vec<String> = value
        .split(',')
        .map(|word| word.trim().to_owned())
        .filter(|word| !word.is_empty())
        .collect();
    if words.iter().any(|word| word == "*") {
        None
    } else {
        Some(words)
    }
}

fn parse_super_digest(key: &str, value: &str) -> Result<String, ConfigError> {
    match value.split_once(':') {
        Some((user, digest)) if !user.is_empty() && !digest.is_empty() => Ok(value.to_owned()),
        _ => Err(invalid(key, value, "expected user:base64digest")),
    }
}

fn parse_peer(key: &str, value: &str) -> Result<PeerConfig, ConfigError> {
    let id = key["server.".len()..]
        .parse::<u64>()
        .map_err(|_| invalid(key, value, "server id must be a number"))?;
    // Apache allows `;clientPort` after the addresses; it does not concern the peer link.
    let addresses = value.split(';').next().unwrap_or_default();
    let parts: Vec<&str> = addresses.split(':').collect();
    let (host, quorum, election, role) = match parts.as_slice() {
        [host, quorum, election] => (host, quorum, election, None),
        [host, quorum, election, role] => (host, quorum, election, Some(*role)),
        _ => {
            return Err(invalid(
                key,
                value,
                "expected host:quorumPort:electionPort[:participant|observer]",
            ))
        }
    };
    let port = |text: &str| {
        text.parse::<u16>()
            .map_err(|_| invalid(key, value, "invalid port"))
    };
    let observer = match role {
        None | Some("participant") => false,
        Some("observer") => true,
        Some(_) => return Err(invalid(key, value, "role must be participant or observer")),
    };
    Ok(PeerConfig {
        id: ServerId(id),
        host: host.to_string(),
        quorum_port: port(quorum)?,
        election_port: port(election)?,
        observer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_tick() {
        let (config, warnings) =
            ServerConfig::from_entries(&entries(&[("tickTime", "500"), ("clientPort", "2999")]))
                .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(config.min_session_timeout_ms, 1000);
        assert_eq!(config.max_session_timeout_ms, 10_000);
        assert_eq!(config.client_address.port(), 2999);
        assert_eq!(config.negotiate_session_timeout(100), 1000);
        assert_eq!(config.negotiate_session_timeout(60_000), 10_000);
    }

    #[test]
    fn bad_value_names_the_key() {
        let error = ServerConfig::from_entries(&entries(&[("tickTime", "soon")])).unwrap_err();
        assert!(error.to_string().contains("tickTime"), "{error}");
    }

    #[test]
    fn unknown_keys_warn() {
        let (_, warnings) = ServerConfig::from_entries(&entries(&[("frobnicate", "1")])).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].0.contains("frobnicate"));
    }

    #[test]
    fn whitelist_star_allows_everything() {
        let (config, _) =
            ServerConfig::from_entries(&entries(&[("4lw.commands.whitelist", "*")])).unwrap();
        assert!(config.four_letter_word_allowed("dump"));
        let (config, _) =
            ServerConfig::from_entries(&entries(&[("4lw.commands.whitelist", "srvr, ruok")]))
                .unwrap();
        assert!(config.four_letter_word_allowed("ruok"));
        assert!(!config.four_letter_word_allowed("dump"));
    }

    #[test]
    fn peers_are_parsed_with_roles() {
        let (config, _) = ServerConfig::from_entries(&entries(&[
            ("server.2", "127.0.0.1:3000:3001:observer"),
            ("server.1", "127.0.0.1:2000:2001;2181"),
        ]))
        .unwrap();
        assert_eq!(config.peers.len(), 2);
        assert_eq!(config.peers[0].id, ServerId(1));
        assert!(config.peers[1].observer);
        assert!(ServerConfig::from_entries(&entries(&[("server.x", "h:1:2")])).is_err());
    }

    #[test]
    fn storage_keys_are_parsed() {
        let (config, warnings) = ServerConfig::from_entries(&entries(&[
            ("snapCount", "5000"),
            ("preAllocSize", "1024"),
            ("forceSync", "no"),
            ("autopurge.snapRetainCount", "4"),
            ("autopurge.purgeInterval", "2"),
        ]))
        .unwrap();
        assert!(warnings.is_empty());
        assert_eq!(config.snap_count, 5000);
        assert_eq!(config.preallocation_bytes, 1024 * 1024);
        assert!(!config.force_sync);
        assert_eq!(
            (config.snap_retain_count, config.purge_interval_hours),
            (4, 2)
        );
        assert!(ServerConfig::from_entries(&entries(&[("forceSync", "maybe")])).is_err());
    }

    #[test]
    fn inverted_session_bounds_are_rejected() {
        let error = ServerConfig::from_entries(&entries(&[
            ("minSessionTimeout", "9000"),
            ("maxSessionTimeout", "4000"),
        ]))
        .unwrap_err();
        assert!(matches!(error, ConfigError::Inconsistent(_)));
    }

    #[test]
    fn properties_syntax() {
        let entries =
            parse_properties(Path::new("zoo.cfg"), "# c\n\ntickTime = 100\nx:y\n").unwrap();
        assert_eq!(
            entries,
            vec![("tickTime".into(), "100".into()), ("x".into(), "y".into())]
        );
        assert!(parse_properties(Path::new("zoo.cfg"), "novalue\n").is_err());
    }
}
