//! `zk-fsync-floor`: what one small append plus fdatasync costs this machine, with no
//! server in the way. See `zk-fsync-floor --help` and benches/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use zk_benches::cli::{parse_duration, parse_number};
use zk_benches::error::LoadError;
use zk_benches::fsync_floor::{measure, FsyncFloorConfig};

const USAGE: &str = "\
zk-fsync-floor: latency and CPU of one append + fdatasync, one at a time

USAGE:
    zk-fsync-floor [--dir DIR] [--record-bytes B] [--duration D] [--file-bytes B] [--json]

    --dir DIR           where the scratch file goes (the disk measured)  [.]
    --record-bytes B    bytes per append                                  [160]
    --duration D        how long to append for                            [5s]
    --file-bytes B      size of the zero-filled scratch file              [16777216]
    --json              one JSON line instead of text

The scratch file is filled with zeros and synced first (appends then overwrite allocated
blocks, as zk-server's log does), and removed at the end.
Exit status: 0 measured; 1 an I/O error; 2 bad arguments.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, json) = match parse(&args) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("zk-fsync-floor: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let report = match measure(&config) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("zk-fsync-floor: {error}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string(&report) {
            Ok(line) => println!("{line}"),
            Err(error) => {
                eprintln!("zk-fsync-floor: encoding the report: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        println!(
            "appends         {} of {} bytes, {:.0} per second",
            report.appends, report.record_bytes, report.appends_per_s
        );
        println!("latency (us)    {}", report.latency.to_text());
        println!(
            "CPU             {:.1} us per append",
            report.cpu_us_per_append
        );
    }
    ExitCode::SUCCESS
}

/// The config and whether to print JSON; `None` for --help.
fn parse(args: &[String]) -> Result<Option<(FsyncFloorConfig, bool)>, LoadError> {
    let mut config = FsyncFloorConfig {
        dir: PathBuf::from("."),
        record_bytes: 160,
        duration: Duration::from_secs(5),
        file_bytes: 16 << 20,
    };
    let mut json = false;
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let mut value = || {
            rest.next()
                .ok_or_else(|| LoadError::BadArgument(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--dir" => config.dir = PathBuf::from(value()?),
            "--record-bytes" => config.record_bytes = parse_number(flag, value()?)?,
            "--duration" => config.duration = parse_duration(value()?)?,
            "--file-bytes" => config.file_bytes = parse_number(flag, value()?)?,
            "--json" => json = true,
            "--help" | "-h" => return Ok(None),
            other => return Err(LoadError::BadArgument(format!("unknown argument {other}"))),
        }
    }
    if config.record_bytes == 0 {
        return Err(LoadError::BadArgument(
            "--record-bytes must be at least 1".into(),
        ));
    }
    Ok(Some((config, json)))
}
