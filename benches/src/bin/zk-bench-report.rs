//! `zk-bench-report`: medians and ratios over zk-load's JSON lines.
//!
//! `zk-bench-report RESULTS.jsonl [--baseline NAME] [--candidate NAME] [--csv OUT.csv]`
//! prints a markdown table (one row per point, candidate beside baseline, ratios
//! candidate / baseline) and optionally writes the CSV the plot is drawn from.
//!
//! `zk-bench-report --failover FAILOVER.jsonl [--baseline NAME] [--candidate NAME]` prints
//! the table of failover times from zk-failover's JSON lines instead.

use report_command::run;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zk-bench-report: {message}");
            ExitCode::from(2)
        }
    }
}

mod report_command {
    use zk_benches::compare::{markdown_table, parse_reports, plot_csv, summarise};
    use zk_benches::failover_report::{failover_table, parse_failover_lines};

    const USAGE: &str = "usage: zk-bench-report RESULTS.jsonl [--baseline reference] [--candidate ours] [--csv OUT.csv]
       zk-bench-report --failover FAILOVER.jsonl [--baseline reference] [--candidate ours]";

    pub fn run(args: &[String]) -> Result<(), String> {
        let mut input = None;
        let mut baseline = String::from("reference");
        let mut candidate = String::from("ours");
        let mut csv_path = None;
        let mut failover = false;
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value = || {
                rest.next()
                    .cloned()
                    .ok_or(format!("{arg} needs a value\n{USAGE}"))
            };
            match arg.as_str() {
                "--baseline" => baseline = value()?,
                "--candidate" => candidate = value()?,
                "--csv" => csv_path = Some(value()?),
                "--failover" => failover = true,
                "--help" | "-h" => {
                    println!("{USAGE}");
                    return Ok(());
                }
                path if input.is_none() && !path.starts_with("--") => input = Some(path.to_owned()),
                other => return Err(format!("unexpected argument {other}\n{USAGE}")),
            }
        }
        let input = input.ok_or(USAGE.to_owned())?;
        let text = std::fs::read_to_string(&input).map_err(|error| format!("{input}: {error}"))?;
        if failover {
            if csv_path.is_some() {
                return Err(format!(
                    "--csv is for load results, not --failover\n{USAGE}"
                ));
            }
            let lines = parse_failover_lines(&text).map_err(|error| format!("{input}: {error}"))?;
            print!("{}", failover_table(&lines, &baseline, &candidate));
            return Ok(());
        }
        let reports = parse_reports(&text).map_err(|error| format!("{input}: {error}"))?;
        let table = summarise(&reports);
        print!("{}", markdown_table(&table, &baseline, &candidate));
        if let Some(csv_path) = csv_path {
            std::fs::write(&csv_path, plot_csv(&table))
                .map_err(|error| format!("{csv_path}: {error}"))?;
        }
        Ok(())
    }
}
