//! `zk-failover`: an ensemble's roles, and its failover time when the leader is killed.
//! See `zk-failover --help` and benches/README.md.

use std::process::ExitCode;
use std::time::Duration;
use zk_benches::cli::parse_duration;
use zk_benches::ensemble::{wait_until_serving, Member};
use zk_benches::error::LoadError;
use zk_benches::failover::{measure_failover, FailoverConfig};
use zk_benches::failover_report::FailoverFailure;

const USAGE: &str = "\
zk-failover: roles and failover time of a ZooKeeper ensemble

USAGE:
    zk-failover status --member HOST:PORT... [--wait D]
        print `HOST:PORT MODE` per member (srvr's Mode: leader, follower, ...) once the
        ensemble serves: one leader, every member answering `exists /`; waits up to D [60s]
    zk-failover kill-leader --member HOST:PORT=PID... [OPTIONS]
        a client writes continuously through a follower; the leader (found with srvr) is
        killed with SIGKILL; prints the time from the kill to the first successful write
        sent after it (the writer resumes its session on the surviving members)

--member may be repeated or given as a comma-separated list.

KILL-LEADER OPTIONS:
    --steady D               writing before the kill                    [1s]
    --limit D                a write must succeed within D of the kill  [60s]
    --connect-timeout D      connect plus handshake, per attempt        [1s]
    --response-timeout D     per write; then the writer reconnects       [5s]
    --retry-pause D          after a refused connect or an error reply  [2ms]
    --session-timeout-ms MS  the writer's session timeout               [30000]
    --path PATH              the znode written (created if missing)     [/zk-failover]
    --data-bytes B           bytes per write                            [100]
    --label TEXT             tag copied into the report
    --json                   one JSON line instead of text (a failure is a JSON line too)

Exit status: 0 measured / ready; 5 not ready within --wait; 1 the measurement failed;
2 bad arguments.
";

const EXIT_NOT_READY: u8 = 5;

enum Command {
    Help,
    Status {
        members: Vec<Member>,
        wait: Duration,
    },
    KillLeader {
        config: Box<FailoverConfig>,
        json: bool,
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("zk-failover: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match zk_benches::tool_runtime("zk-failover") {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Status { members, wait } => {
            match runtime.block_on(wait_until_serving(&members, wait)) {
                Ok(status) => {
                    print!("{}", status.to_text());
                    ExitCode::SUCCESS
                }
                Err((error, last)) => {
                    eprintln!("zk-failover: {error}");
                    if let Some(last) = last {
                        eprint!("{}", last.to_text());
                    }
                    ExitCode::from(EXIT_NOT_READY)
                }
            }
        }
        Command::KillLeader { config, json } => match runtime.block_on(measure_failover(&config)) {
            Ok(report) => {
                if json {
                    println!("{}", report.to_json_line());
                } else {
                    print!("{}", report.to_text());
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                if json {
                    let failure = FailoverFailure {
                        label: config.label.clone(),
                        failure: error.to_string(),
                    };
                    println!("{}", failure.to_json_line());
                }
                eprintln!("zk-failover: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

fn parse(args: &[String]) -> Result<Command, LoadError> {
    let bad = |message: String| LoadError::BadArgument(message);
    let mut rest = args.iter();
    let subcommand = match rest.next().map(String::as_str) {
        None | Some("--help" | "-h" | "help") => return Ok(Command::Help),
        Some(subcommand @ ("status" | "kill-leader")) => subcommand,
        Some(other) => return Err(bad(format!("unknown command {other:?}"))),
    };
    let mut members: Vec<Member> = Vec::new();
    let mut wait = Duration::from_secs(60);
    let mut config = FailoverConfig {
        members: Vec::new(),
        steady: Duration::from_secs(1),
        limit: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(1),
        response_timeout: Duration::from_secs(5),
        retry_pause: Duration::from_millis(2),
        session_timeout_ms: 30_000,
        path: "/zk-failover".into(),
        data_bytes: 100,
        label: String::new(),
    };
    let mut json = false;
    while let Some(arg) = rest.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if matches!(name, "--json" | "--help" | "-h") {
            if name == "--json" {
                json = true;
                continue;
            }
            return Ok(Command::Help);
        }
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| bad(format!("{name} needs a value")))?,
        };
        let number = |value: &str| {
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| bad(format!("{name}: {value:?} is not a number")))
        };
        match (subcommand, name) {
            (_, "--member") => {
                for part in value.split(',').filter(|part| !part.trim().is_empty()) {
                    members.push(part.parse()?);
                }
            }
            ("status", "--wait") => wait = parse_duration(&value)?,
            ("kill-leader", "--steady") => config.steady = parse_duration(&value)?,
            ("kill-leader", "--limit") => config.limit = parse_duration(&value)?,
            ("kill-leader", "--connect-timeout") => {
                config.connect_timeout = positive(name, &value)?
            }
            ("kill-leader", "--response-timeout") => {
                config.response_timeout = positive(name, &value)?
            }
            ("kill-leader", "--retry-pause") => config.retry_pause = parse_duration(&value)?,
            ("kill-leader", "--session-timeout-ms") => {
                config.session_timeout_ms = i32::try_from(number(&value)?)
                    .map_err(|_| bad(format!("{name}: {value} is out of range")))?
            }
            ("kill-leader", "--path") => config.path = value,
            ("kill-leader", "--data-bytes") => {
                config.data_bytes = usize::try_from(number(&value)?)
                    .ok()
                    .filter(|bytes| *bytes <= zk_benches::workload::DATA_BYTES_MAX)
                    .ok_or_else(|| bad(format!("{name}: {value} is out of range")))?
            }
            ("kill-leader", "--label") => config.label = value,
            _ => return Err(bad(format!("{subcommand}: unknown option {name}"))),
        }
    }
    if members.is_empty() {
        return Err(bad("give the members with --member".into()));
    }
    Ok(match subcommand {
        "status" => Command::Status { members, wait },
        _ => {
            if config.limit.is_zero() {
                return Err(bad("--limit must be positive".into()));
            }
            config.members = members;
            Command::KillLeader {
                config: Box::new(config),
                json,
            }
        }
    })
}

fn positive(name: &str, value: &str) -> Result<Duration, LoadError> {
    let duration = parse_duration(value)?;
    if duration.is_zero() {
        return Err(LoadError::BadArgument(format!("{name} must be positive")));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, LoadError> {
        parse(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn kill_leader_takes_members_with_pids_and_options() {
        let Ok(Command::KillLeader { config, json }) = parse_strs(&[
            "kill-leader",
            "--member",
            "127.0.0.1:1=10,127.0.0.1:2=11",
            "--member=127.0.0.1:3=12",
            "--steady",
            "500ms",
            "--label",
            "reference:r1",
            "--json",
        ]) else {
            panic!("expected kill-leader");
        };
        assert!(json);
        assert_eq!(config.members.len(), 3);
        assert_eq!(config.members[2].pid, Some(12));
        assert_eq!(config.steady, Duration::from_millis(500));
        assert_eq!(config.label, "reference:r1");
    }

    #[test]
    fn mistakes_are_reported() {
        for args in [
            &["frobnicate"][..],
            &["status"],
            &["status", "--steady", "1s", "--member", "127.0.0.1:1"],
            &["kill-leader", "--member", "127.0.0.1:1", "--limit", "0"],
            &[
                "kill-leader",
                "--member",
                "127.0.0.1:1",
                "--response-timeout",
                "0",
            ],
            &["kill-leader", "--member"],
        ] {
            assert!(parse_strs(args).is_err(), "{args:?} should be rejected");
        }
        assert!(matches!(
            parse_strs(&["status", "--member", "127.0.0.1:1", "--wait", "2s"]),
            Ok(Command::Status { .. })
        ));
    }
}
