//! `zkcli`: a shell compatible with Apache ZooKeeper's `zkCli.sh`.
//!
//!     zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] [cmd args...]
//!
//! With a command it runs that command and exits (status 1 if it failed); without one it
//! reads commands from standard input with zkCli's prompt. Watches set with `-w` and
//! `addWatch` print `WATCHER::` and the event when they fire (`printwatches off` hides them).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::mpsc;
use zk_recipes::cli::{execute, parse::split_words, Next, Output};
use zk_recipes::{Client, ClientConfig, ConnectionState, WatchedEvent};

/// Lines of input waiting for the shell.
const INPUT_QUEUE_LIMIT: usize = 64;

struct Options {
    server: String,
    timeout: Duration,
    command: Vec<String>,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        server: "localhost:2181".to_owned(),
        timeout: Duration::from_millis(30_000),
        command: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-server" => {
                options.server = args
                    .next()
                    .ok_or("Error: no argument found for option -server")?
                    .clone()
            }
            "-timeout" => {
                let ms = args
                    .next()
                    .ok_or("Error: no argument found for option -timeout")?;
                let ms: u64 = ms.parse().map_err(|_| format!("invalid -timeout {ms}"))?;
                options.timeout = Duration::from_millis(ms);
            }
            // Read-only connections are not supported; the option is accepted and ignored.
            "-r" => {}
            _ => {
                options.command.push(arg.clone());
                options.command.extend(args.by_ref().cloned());
            }
        }
    }
    Ok(options)
}

fn connect(server: &str, timeout: Duration) -> Result<Client, String> {
    let mut config = ClientConfig::new(server);
    config.session_timeout = timeout;
    Client::start(config).map_err(|error| error.to_string())
}

/// zkCli's name for the client's state in the prompt.
fn state_name(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected | ConnectionState::Reconnected => "CONNECTED",
        ConnectionState::Closed => "CLOSED",
        _ => "CONNECTING",
    }
}

fn print_event(event: &WatchedEvent) {
    println!("\nWATCHER::");
    println!(
        "\nWatchedEvent state:{:?} type:{:?} path:{}",
        event.state, event.event_type, event.path
    );
}

/// Prints the command's output and hands its watches to printer tasks.
fn report(output: Output, print_watches: bool) {
    print!("{}", output.out);
    eprint!("{}", output.err);
    let _ = std::io::stdout().flush();
    for watch in output.watches {
        tokio::spawn(async move {
            if let Ok(event) = watch.await {
                if print_watches {
                    print_event(&event);
                }
            }
        });
    }
    for mut stream in output.streams {
        tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                if print_watches {
                    print_event(&event);
                }
            }
        });
    }
}

async fn run_once(options: &Options) -> ExitCode {
    let client = match connect(&options.server, options.timeout) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    if client.wait_connected(options.timeout).await.is_err() {
        eprintln!("Not connected");
        return ExitCode::FAILURE;
    }
    let (output, _) = execute(&client, &options.command).await;
    let failed = output.failed;
    report(output, false);
    client.close().await;
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn run_shell(options: &Options) -> ExitCode {
    let mut server = options.server.clone();
    println!("Connecting to {server}");
    let mut client = match connect(&server, options.timeout) {
        Ok(client) => client,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    // Give the first connection a moment, so the first prompt usually says CONNECTED.
    let _ = client.wait_connected(options.timeout).await;
    println!("Welcome to ZooKeeper!");
    // Standard input is read on a thread of its own: reading it blocks.
    let (lines_in, mut lines) = mpsc::channel::<String>(INPUT_QUEUE_LIMIT);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines_in.blocking_send(line).is_err() {
                return;
            }
        }
    });
    let mut history: Vec<String> = Vec::new();
    let mut print_watches = true;
    loop {
        print!(
            "[zk: {server}({}) {}] ",
            state_name(client.state()),
            history.len()
        );
        let _ = std::io::stdout().flush();
        let Some(line) = lines.recv().await else {
            break;
        };
        let Some(words) = split_words(&line) else {
            eprintln!("unbalanced quotes: {line}");
            continue;
        };
        if words.is_empty() {
            continue;
        }
        history.push(line.clone());
        match words[0].as_str() {
            "history" => {
                let first = history.len().saturating_sub(11);
                for (number, entry) in history.iter().enumerate().skip(first) {
                    println!("{number} - {entry}");
                }
                continue;
            }
            "printwatches" => {
                match words.get(1).map(String::as_str) {
                    Some("on") => print_watches = true,
                    Some("off") => print_watches = false,
                    _ => {}
                }
                println!(
                    "printwatches is {}",
                    if print_watches { "on" } else { "off" }
                );
                continue;
            }
            "quit" | "connect" | "close" => {}
            _ if client.state() == ConnectionState::Closed => {
                println!("Not connected");
                continue;
            }
            _ => {}
        }
        let (output, next) = execute(&client, &words).await;
        report(output, print_watches);
        match next {
            Next::Continue => {}
            Next::Quit => break,
            Next::Close => client.close().await,
            Next::Connect(address) => {
                client.close().await;
                server = address;
                match connect(&server, options.timeout) {
                    Ok(connected) => {
                        client = connected;
                        let _ = client.wait_connected(options.timeout).await;
                    }
                    Err(error) => eprintln!("{error}"),
                }
            }
        }
    }
    client.close().await;
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_options(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            eprint!("{}", zk_recipes::cli::usage());
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        if options.command.is_empty() {
            run_shell(&options).await
        } else {
            run_once(&options).await
        }
    })
}
