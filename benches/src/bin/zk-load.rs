//! `zk-load`: load generator for ZooKeeper-compatible servers. See `zk-load --help` and
//! benches/README.md.

use std::process::ExitCode;
use zk_benches::cli::{parse_args, Command, USAGE};
use zk_benches::probe::{probe, ProbeOutcome};
use zk_benches::workload;

/// Exit status of a run that completed with errors.
const EXIT_ERRORS: u8 = 3;
/// Exit status of a probe that found the server but not the znode.
const EXIT_PROBE_MISSING: u8 = 4;
/// Exit status of a probe that never got an answer.
const EXIT_PROBE_UNREACHABLE: u8 = 5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("zk-load: {error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match zk_benches::tool_runtime("zk-load") {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Load { config, json } => match runtime.block_on(workload::run(&config)) {
            Ok(report) => {
                if json {
                    println!("{}", report.to_json_line());
                } else {
                    print!("{}", report.to_text());
                }
                if let Some(banner) = report.error_banner() {
                    eprintln!("zk-load: {banner}");
                    return ExitCode::from(EXIT_ERRORS);
                }
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("zk-load: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Probe {
            settings,
            path,
            limit,
            json,
        } => {
            let result = runtime.block_on(probe(settings, &path, limit));
            let (outcome, detail, status) = match &result.outcome {
                ProbeOutcome::Found => ("found", String::new(), ExitCode::SUCCESS),
                ProbeOutcome::Missing => {
                    ("missing", String::new(), ExitCode::from(EXIT_PROBE_MISSING))
                }
                ProbeOutcome::Unreachable(error) => (
                    "unreachable",
                    error.clone(),
                    ExitCode::from(EXIT_PROBE_UNREACHABLE),
                ),
            };
            let elapsed_ms = result.elapsed.as_secs_f64() * 1000.0;
            if json {
                let line = serde_json::json!({
                    "probe": outcome,
                    "path": path,
                    "elapsed_ms": elapsed_ms,
                    "attempts": result.attempts,
                    "error": detail,
                });
                println!("{line}");
            } else {
                println!(
                    "{path}: {outcome} after {elapsed_ms:.1} ms ({} attempts){}",
                    result.attempts,
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                );
            }
            status
        }
    }
}
