//! `zkcli`: a shell compatible with Apache ZooKeeper's `zkCli.sh`.
//!
//!     zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] [cmd args...]
//!
//! With a command it runs that command and exits (status 1 if it failed, 127 if there is
//! no such command); without one it
//! reads commands from standard input with zkCli's prompt, numbering them for `history`
//! and `redo`. Watches set with `-w`, `config -w` and `addWatch` print `WATCHER::` and the
//! event when they fire (`printwatches off` hides them).

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zk_recipes::cli::{Next, Output, Shell};
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

/// Prints the command's output and hands its watches to printer tasks, which print an
/// event if `print_watches` is on when it fires.
fn report(output: Output, print_watches: &Arc<AtomicBool>) {
    print!("{}", output.out);
    eprint!("{}", output.err);
    let _ = std::io::stdout().flush();
    for watch in output.watches {
        let print_watches = print_watches.clone();
        tokio::spawn(async move {
            if let Ok(event) = watch.await {
                if print_watches.load(Ordering::SeqCst) {
                    print_event(&event);
                }
            }
        });
    }
    for mut stream in output.streams {
        let print_watches = print_watches.clone();
        tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                if print_watches.load(Ordering::SeqCst) {
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
    let mut shell = Shell::new();
    let (output, _) = shell.run_words(&client, &options.command).await;
    let status = output.exit_status();
    // The process ends now: watches set by the one command never fire.
    report(output, &Arc::new(AtomicBool::new(false)));
    client.close().await;
    ExitCode::from(status)
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
    let mut shell = Shell::new();
    let print_watches = shell.print_watches();
    loop {
        print!(
            "[zk: {server}({}) {}] ",
            state_name(client.state()),
            shell.command_number()
        );
        let _ = std::io::stdout().flush();
        let Some(line) = lines.recv().await else {
            break;
        };
        let (output, next) = shell.run_line(&client, &line).await;
        report(output, &print_watches);
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
