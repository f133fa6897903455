//! zk-load's command line: flags to a [`Command`].

use crate::connection::SessionSettings;
use crate::error::LoadError;
use crate::key_space::{KeySpace, SetupSettings};
use crate::op_mix::OpMix;
use crate::workload::{LoadConfig, StopRule};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The help text.
pub const USAGE: &str = "\
zk-load: a load generator for ZooKeeper-compatible servers (wire protocol over TCP)

USAGE:
    zk-load [OPTIONS]                 run a load and print a report
    zk-load --probe PATH [OPTIONS]    wait until the server answers `exists PATH`
    zk-load --help

LOAD:
    --server HOST:PORT        server address                          [127.0.0.1:2181]
                              repeat it (or give HOST:PORT,HOST:PORT) to spread the
                              sessions round-robin over several servers of an ensemble;
                              the keys are created through the first
    --sessions N              sessions (one TCP connection each)      [8]
    --in-flight K             requests in flight per session          [1]
    --mix SPEC                operation weights, e.g. get=90,set=10   [get]
                              operations: get exists set create delete
                              (create = persistent sequential; delete removes znodes
                              this session created, or creates when it has none)
    --read-percent P          shorthand for --mix get=P,set=(100-P)
    --data-bytes B            data size of set and create             [100]
    --keys N                  pre-created znodes read and written     [1000]
    --root PATH               parent of the run's znodes    [/zk-load-<pid>-<unix time>]
    --reuse-keys              the keys exist already (from a run with the same --root
                              and --keys): skip creating them
    --setup-sessions N        sessions creating the keys              [4]
    --setup-in-flight K       creates in flight per setup session     [100]
    --duration D              measurement length (e.g. 10, 10s, 500ms) [10s]
    --requests N              instead of --duration: measure N requests in total
    --warmup D                load before measuring, not counted      [2s]
    --max-duration D          hard limit on warm-up plus measurement  [600s]
    --seed S                  seed of operation and key choices       [1]
    --check-replies           decode every reply body (costs client CPU)

TIMEOUTS:
    --connect-timeout D       TCP connect plus handshake              [5s]
    --response-timeout D      per reply; a late reply ends its session [10s]
    --session-timeout-ms MS   session timeout asked for               [30000]

MEASUREMENT:
    --server-pid PID          report this process's CPU per op and memory (repeatable)
    --label TEXT              tag copied into the report
    --json                    print one JSON line instead of the text report

PROBE:
    --probe PATH              probe mode: repeat connect + `exists PATH` until answered
    --probe-timeout D         give up after D                         [60s]

Exit status: 0 on success; 3 if the run had errors (they are also printed in a banner);
for --probe: 0 found, 4 missing (NoNode), 5 unreachable; 2 for bad arguments; 1 if the run
could not start.
";

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Print the help text.
    Help,
    /// Run a load.
    Load {
        /// The run.
        config: Box<LoadConfig>,
        /// Print JSON instead of text.
        json: bool,
    },
    /// Probe for readiness.
    Probe {
        /// Where and with which timeouts.
        settings: SessionSettings,
        /// The znode to ask about.
        path: String,
        /// How long to keep trying.
        limit: Duration,
        /// Print JSON instead of text.
        json: bool,
    },
}

/// Parses `args` (without the program name).
pub fn parse_args(args: &[String]) -> Result<Command, LoadError> {
    let mut flags = Flags::default();
    let mut position = 0;
    while position < args.len() {
        let arg = &args[position];
        position += 1;
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if let Some(switch) = flags.switch(name) {
            if inline_value.is_some() {
                return Err(bad(format!("{name} takes no value")));
            }
            *switch = true;
            continue;
        }
        let value = match inline_value {
            Some(value) => value,
            None => {
                let value = args
                    .get(position)
                    .ok_or_else(|| bad(format!("{name} needs a value")))?;
                position += 1;
                value.clone()
            }
        };
        flags.set(name, value)?;
    }
    flags.into_command()
}

fn bad(message: String) -> LoadError {
    LoadError::BadArgument(message)
}

/// Parses `10` (seconds), `10s`, `500ms` or `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, LoadError> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(number) = text.strip_suffix("ms") {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1000.0)
    } else if let Some(number) = text.strip_suffix('m') {
        (number, 60_000.0)
    } else {
        (text, 1000.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        bad(format!(
            "{text:?} is not a duration (e.g. 10, 10s, 500ms, 2m)"
        ))
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(bad(format!("{text:?} is not a non-negative duration")));
    }
    Ok(Duration::from_secs_f64(value * unit_ms / 1000.0))
}

/// Parses a flag's numeric value; `name` is the flag, for the error.
pub fn parse_number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, LoadError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(format!("{name}: {value:?} is not a valid number")))
}

fn parse_addr(value: &str) -> Result<SocketAddr, LoadError> {
    value
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| bad(format!("--server: {value:?} is not HOST:PORT")))
}

/// The flags as given, before defaults.
#[derive(Debug, Default)]
struct Flags {
    servers: Vec<String>,
    sessions: Option<usize>,
    in_flight: Option<usize>,
    mix: Option<OpMix>,
    data_bytes: Option<usize>,
    keys: Option<u64>,
    root: Option<String>,
    reuse_keys: bool,
    setup_sessions: Option<usize>,
    setup_in_flight: Option<usize>,
    duration: Option<Duration>,
    requests: Option<u64>,
    warmup: Option<Duration>,
    max_duration: Option<Duration>,
    seed: Option<u64>,
    check_replies: bool,
    connect_timeout: Option<Duration>,
    response_timeout: Option<Duration>,
    session_timeout_ms: Option<i32>,
    server_pids: Vec<u32>,
    label: Option<String>,
    json: bool,
    probe: Option<String>,
    probe_timeout: Option<Duration>,
    help: bool,
}

impl Flags {
    fn switch(&mut self, name: &str) -> Option<&mut bool> {
        Some(match name {
            "--reuse-keys" => &mut self.reuse_keys,
            "--check-replies" => &mut self.check_replies,
            "--json" => &mut self.json,
            "--help" | "-h" => &mut self.help,
            _ => return None,
        })
    }

    fn set(&mut self, name: &str, value: String) -> Result<(), LoadError> {
        match name {
            "--server" => self
                .servers
                .extend(value.split(',').map(|part| part.trim().to_owned())),
            "--sessions" => self.sessions = Some(parse_number(name, &value)?),
            "--in-flight" => self.in_flight = Some(parse_number(name, &value)?),
            "--mix" | "--op" => self.set_mix(OpMix::parse(&value)?)?,
            "--read-percent" => self.set_mix(OpMix::read_percent(parse_number(name, &value)?)?)?,
            "--data-bytes" => self.data_bytes = Some(parse_number(name, &value)?),
            "--keys" => self.keys = Some(parse_number(name, &value)?),
            "--root" => self.root = Some(value),
            "--setup-sessions" => self.setup_sessions = Some(parse_number(name, &value)?),
            "--setup-in-flight" => self.setup_in_flight = Some(parse_number(name, &value)?),
            "--duration" => self.duration = Some(parse_duration(&value)?),
            "--requests" => self.requests = Some(parse_number(name, &value)?),
            "--warmup" => self.warmup = Some(parse_duration(&value)?),
            "--max-duration" => self.max_duration = Some(parse_duration(&value)?),
            "--seed" => self.seed = Some(parse_number(name, &value)?),
            "--connect-timeout" => self.connect_timeout = Some(parse_duration(&value)?),
            "--response-timeout" => self.response_timeout = Some(parse_duration(&value)?),
            "--session-timeout-ms" => self.session_timeout_ms = Some(parse_number(name, &value)?),
            "--server-pid" => self.server_pids.push(parse_number(name, &value)?),
            "--label" => self.label = Some(value),
            "--probe" => self.probe = Some(value),
            "--probe-timeout" => self.probe_timeout = Some(parse_duration(&value)?),
            _ => return Err(bad(format!("unknown option {name} (see --help)"))),
        }
        Ok(())
    }

    fn set_mix(&mut self, mix: OpMix) -> Result<(), LoadError> {
        if self.mix.is_some() {
            return Err(bad(
                "give the mix once (--mix, --op or --read-percent)".into()
            ));
        }
        self.mix = Some(mix);
        Ok(())
    }

    /// Every `--server`, in order; the default when none was given.
    fn server_addrs(&self) -> Result<Vec<SocketAddr>, LoadError> {
        if self.servers.is_empty() {
            return Ok(vec![parse_addr("127.0.0.1:2181")?]);
        }
        self.servers
            .iter()
            .map(|server| parse_addr(server))
            .collect()
    }

    fn session_settings(&self, addr: SocketAddr) -> Result<SessionSettings, LoadError> {
        let positive = |name: &str, value: Option<Duration>, default: Duration| {
            let value = value.unwrap_or(default);
            if value.is_zero() {
                Err(bad(format!("{name} must be positive")))
            } else {
                Ok(value)
            }
        };
        Ok(SessionSettings {
            addr,
            connect_timeout: positive(
                "--connect-timeout",
                self.connect_timeout,
                Duration::from_secs(5),
            )?,
            response_timeout: positive(
                "--response-timeout",
                self.response_timeout,
                Duration::from_secs(10),
            )?,
            session_timeout_ms: self.session_timeout_ms.unwrap_or(30_000),
        })
    }

    fn into_command(self) -> Result<Command, LoadError> {
        if self.help {
            return Ok(Command::Help);
        }
        let servers = self.server_addrs()?;
        let settings = self.session_settings(servers[0])?;
        if let Some(path) = self.probe {
            if servers.len() > 1 {
                return Err(bad("--probe asks one server: give one --server".into()));
            }
            return Ok(Command::Probe {
                settings,
                path,
                limit: self.probe_timeout.unwrap_or(Duration::from_secs(60)),
                json: self.json,
            });
        }
        let stop = match (self.duration, self.requests) {
            (Some(_), Some(_)) => {
                return Err(bad("give --duration or --requests, not both".into()))
            }
            (_, Some(requests)) => StopRule::Requests(requests),
            (duration, None) => StopRule::Duration(duration.unwrap_or(Duration::from_secs(10))),
        };
        let root = self.root.unwrap_or_else(default_root);
        let config = LoadConfig {
            session: settings,
            servers,
            sessions: self.sessions.unwrap_or(8),
            in_flight: self.in_flight.unwrap_or(1),
            mix: self
                .mix
                .unwrap_or_else(|| OpMix::only(crate::op_mix::Operation::Get)),
            data_bytes: self.data_bytes.unwrap_or(100),
            key_space: KeySpace::new(&root, self.keys.unwrap_or(1000))?,
            reuse_keys: self.reuse_keys,
            setup: SetupSettings {
                sessions: self.setup_sessions.unwrap_or(4),
                in_flight: self.setup_in_flight.unwrap_or(100),
            },
            stop,
            warmup: self.warmup.unwrap_or(Duration::from_secs(2)),
            max_duration: self.max_duration.unwrap_or(Duration::from_secs(600)),
            seed: self.seed.unwrap_or(1),
            check_replies: self.check_replies,
            server_pids: self.server_pids,
            label: self.label.unwrap_or_default(),
        };
        config.validate()?;
        Ok(Command::Load {
            config: Box::new(config),
            json: self.json,
        })
    }
}

/// A root no earlier run used: the process id and the time.
fn default_root() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format!("/zk-load-{}-{seconds}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op_mix::Operation;

    fn parse(args: &[&str]) -> Result<Command, LoadError> {
        parse_args(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>())
    }

    fn load(args: &[&str]) -> LoadConfig {
        match parse(args).unwrap() {
            Command::Load { config, .. } => *config,
            other => panic!("expected a load, got {other:?}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn defaults() {
        let config = load(&[]);
        assert_eq!(config.session.addr.to_string(), "127.0.0.1:2181");
        assert_eq!(config.servers, [config.session.addr]);
        assert_eq!((config.sessions, config.in_flight), (8, 1));
        assert_eq!(config.mix, OpMix::only(Operation::Get));
        assert_eq!(config.stop, StopRule::Duration(Duration::from_secs(10)));
        assert!(config.key_space.root().starts_with("/zk-load-"));
        assert!(config.server_pids.is_empty());
    }

    #[test]
    fn flags_with_spaces_and_equals() {
        let config = load(&[
            "--server=127.0.0.1:3000",
            "--sessions",
            "2",
            "--in-flight=50",
            "--mix",
            "get=3,set=1",
            "--server-pid",
            "10",
            "--server-pid=11",
            "--requests",
            "500",
            "--root",
            "/b",
            "--reuse-keys",
        ]);
        assert_eq!(config.session.addr.port(), 3000);
        assert_eq!((config.sessions, config.in_flight), (2, 50));
        assert_eq!(config.mix.to_string(), "get=3,set=1");
        assert_eq!(config.server_pids, [10, 11]);
        assert_eq!(config.stop, StopRule::Requests(500));
        assert_eq!(config.key_space.root(), "/b");
        assert!(config.reuse_keys);
    }

    #[test]
    fn several_servers_repeated_or_in_one_list() {
        let config = load(&[
            "--server",
            "127.0.0.1:3001,127.0.0.1:3002",
            "--server=127.0.0.1:3003",
        ]);
        let ports: Vec<u16> = config.servers.iter().map(|addr| addr.port()).collect();
        assert_eq!(ports, [3001, 3002, 3003]);
        // The keys are created through the first.
        assert_eq!(config.session.addr.port(), 3001);
        assert!(parse(&["--server", "127.0.0.1:1,127.0.0.1:2", "--probe", "/"]).is_err());
    }

    #[test]
    fn read_percent_is_a_mix() {
        assert_eq!(
            load(&["--read-percent", "75"]).mix.to_string(),
            "get=75,set=25"
        );
    }

    #[test]
    fn mistakes_are_reported() {
        for args in [
            &["--sessions"][..],
            &["--sessions", "many"],
            &["--frobnicate", "1"],
            &["--json=yes"],
            &["--duration", "1s", "--requests", "5"],
            &["--mix", "get", "--read-percent", "50"],
            &["--warmup", "10m", "--duration", "10m"],
            &["--in-flight", "0"],
            &["--response-timeout", "0"],
        ] {
            assert!(parse(args).is_err(), "{args:?} should be rejected");
        }
    }

    #[test]
    fn probe_and_help() {
        match parse(&["--probe", "/x", "--probe-timeout", "3s", "--json"]).unwrap() {
            Command::Probe {
                path, limit, json, ..
            } => {
                assert_eq!(path, "/x");
                assert_eq!(limit, Duration::from_secs(3));
                assert!(json);
            }
            other => panic!("expected a probe, got {other:?}"),
        }
        assert!(matches!(parse(&["--help"]).unwrap(), Command::Help));
    }
}
