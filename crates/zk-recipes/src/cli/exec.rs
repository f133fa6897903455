//! Runs one zkCli command against a [`Client`], collecting what zkCli would print on
//! stdout and stderr, and the watches the command set (`-w`, `addWatch`), which the caller
//! prints when they fire. The shell's own commands (`history`, `redo`, `printwatches`) need
//! a session's state and live in [`super::shell`].

use super::format;
use super::parse::{parse, CommandLine};
use super::quota::{self, Key, QuotaError, StatsTrack};
use crate::client::ops::CreateOptions;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::watch::{Watch, WatchStream};
use std::time::Duration;
use zk_proto::{Acl, AddWatchMode, CreateMode, WatcherType};

/// What a command printed and left behind.
#[derive(Debug, Default)]
pub struct Output {
    /// What zkCli prints on stdout.
    pub out: String,
    /// What zkCli prints on stderr (`Created /a`, error messages, usage).
    pub err: String,
    /// Whether the command failed (zkCli exits 1 in non-interactive mode).
    pub failed: bool,
    /// Whether the command does not exist (zkCli exits 127).
    pub not_found: bool,
    /// One-shot watches set by `-w`.
    pub watches: Vec<Watch>,
    /// Persistent watches set by `addWatch`.
    pub streams: Vec<WatchStream>,
}

impl Output {
    /// The status zkCli exits with after this command in non-interactive mode.
    pub fn exit_status(&self) -> u8 {
        match (self.failed, self.not_found) {
            (_, true) => 127,
            (true, false) => 1,
            (false, false) => 0,
        }
    }
}

/// What the shell does after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Read the next command.
    Continue,
    /// Close the session and stay (`close`).
    Close,
    /// Connect to another server (`connect host:port`).
    Connect(String),
    /// Leave (`quit`).
    Quit,
}

/// One command's syntax: name, flag letters, letters that take a value, usage.
struct Syntax {
    name: &'static str,
    flags: &'static str,
    valued: &'static str,
    usage: &'static str,
}

const COMMANDS: &[Syntax] = &[
    syntax("addWatch", "", "m", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    syntax("addauth", "", "", "addauth scheme auth"),
    syntax("close", "", "", "close "),
    syntax("config", "cws", "", "config [-c] [-w] [-s]"),
    syntax("connect", "", "", "connect host:port"),
    syntax("create", "sec", "t", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    syntax("delete", "", "v", "delete [-v version] path"),
    syntax("deleteall", "", "b", "deleteall path [-b batch size]"),
    syntax("delquota", "nbNB", "", "delquota [-n|-b|-N|-B] path"),
    syntax("get", "sw", "", "get [-s] [-w] path"),
    syntax("getAcl", "s", "", "getAcl [-s] path"),
    syntax("getAllChildrenNumber", "", "", "getAllChildrenNumber path"),
    syntax("getEphemerals", "", "", "getEphemerals path"),
    syntax("listquota", "", "", "listquota path"),
    syntax("ls", "swR", "", "ls [-s] [-w] [-R] path"),
    syntax("quit", "", "", "quit "),
    syntax("removewatches", "cdal", "", "removewatches path [-c|-d|-a] [-l]"),
    syntax("set", "s", "v", "set [-s] [-v version] path data"),
    syntax("setAcl", "sR", "v", "setAcl [-s] [-v version] [-R] path acl"),
    syntax("setquota", "", "nbNB", "setquota -n|-b|-N|-B val path"),
    syntax("stat", "w", "", "stat [-w] path"),
    syntax("sync", "", "", "sync path"),
    syntax("version", "", "", "version "),
    syntax("whoami", "", "", "whoami "),
];

const fn syntax(
    name: &'static str,
    flags: &'static str,
    valued: &'static str,
    usage: &'static str,
) -> Syntax {
    Syntax {
        name,
        flags,
        valued,
        usage,
    }
}

/// The usage lines of the shell's own commands ([`super::shell`]).
const SHELL_USAGE: &[(&str, &str)] = &[
    ("history", "history "),
    ("printwatches", "printwatches on|off"),
    ("redo", "redo cmdno"),
];

/// The usage text zkCli prints for an unknown command: every command, sorted by name.
pub fn usage() -> String {
    let mut lines: Vec<(&str, &str)> = COMMANDS
        .iter()
        .map(|command| (command.name, command.usage))
        .chain(SHELL_USAGE.iter().copied())
        .collect();
    lines.sort();
    let mut text = String::from(
        "ZooKeeper -server host:port -client-configuration properties-file cmd args\n",
    );
    for (_, usage) in lines {
        text.push_str(&format!("\t{usage}\n"));
    }
    text
}

/// Runs `words` (a command and its arguments) on `client`. The shell's own commands are
/// refused here: they run through a [`super::shell::Shell`].
pub async fn execute(client: &Client, words: &[String]) -> (Output, Next) {
    let mut output = Output::default();
    let Some(name) = words.first() else {
        return (output, Next::Continue);
    };
    if SHELL_USAGE
        .iter()
        .any(|(shell_command, _)| shell_command == name)
    {
        output.err.push_str(&format!(
            "{name} is a shell command: run it through cli::Shell\n"
        ));
        output.failed = true;
        return (output, Next::Continue);
    }
    let Some(syntax) = COMMANDS.iter().find(|c| c.name == name) else {
        output.err.push_str(&usage());
        output
            .err
            .push_str(&format!("Command not found: Command not found {name}\n"));
        output.failed = true;
        output.not_found = true;
        return (output, Next::Continue);
    };
    let line = match parse(words, syntax.flags, syntax.valued) {
        Ok(line) => line,
        Err(message) => {
            output.err.push_str(&format!("{message}\n"));
            output.failed = true;
            return (output, Next::Continue);
        }
    };
    let next = match line.name.as_str() {
        "quit" => Next::Quit,
        "close" => Next::Close,
        "connect" => match line.args.first() {
            Some(host) => Next::Connect(host.clone()),
            None => {
                output.err.push_str(&format!("{}\n", syntax.usage));
                output.failed = true;
                Next::Continue
            }
        },
        _ => {
            if let Err(failure) = run(client, &line, syntax, &mut output).await {
                output.failed = true;
                output.err.push_str(&failure);
                output.err.push('\n');
            }
            Next::Continue
        }
    };
    (output, next)
}

/// Why a command failed: the line zkCli prints.
type Failure = String;

fn arg<'a>(line: &'a CommandLine, index: usize, syntax: &Syntax) -> Result<&'a str, Failure> {
    line.args
        .get(index)
        .map(String::as_str)
        .ok_or_else(|| syntax.usage.to_owned())
}

fn keeper(path: &str) -> impl Fn(Error) -> Failure + '_ {
    move |error| match error {
        Error::InvalidPath { path, reason } => format::invalid_path(&path, reason),
        other => format::error(&other, path),
    }
}

/// The one option of a group of mutually exclusive ones (`setquota`, `delquota`), or the
/// message Commons CLI gives when a second one follows the first.
fn exclusive_option(line: &CommandLine) -> Result<Option<char>, Failure> {
    match line.given.as_slice() {
        [] => Ok(None),
        [only] => Ok(Some(*only)),
        [first, second, ..] => Err(format!(
            "org.apache.commons.cli.AlreadySelectedException: The option '{second}' was \
             specified but an option from this group has already been selected: '{first}'"
        )),
    }
}

fn version(line: &CommandLine) -> Result<Option<i32>, Failure> {
    line.value('v')
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| "-v argument must be an int value".to_owned())
        })
        .transpose()
}

async fn run(
    client: &Client,
    line: &CommandLine,
    syntax: &Syntax,
    output: &mut Output,
) -> Result<(), Failure> {
    match line.name.as_str() {
        "ls" => {
            let path = arg(line, 0, syntax)?;
            if line.has('R') {
                for node in subtree(client, path).await.map_err(keeper(path))? {
                    output.out.push_str(&format!("{node}\n"));
                }
                return Ok(());
            }
            let (mut children, stat) = if line.has('w') {
                let (children, stat, watch) = client
                    .get_children_watch(path)
                    .await
                    .map_err(keeper(path))?;
                output.watches.push(watch);
                (children, stat)
            } else {
                client.get_children2(path).await.map_err(keeper(path))?
            };
            children.sort();
            output.out.push_str(&format::list(&children));
            output.out.push('\n');
            if line.has('s') {
                output.out.push_str(&format::stat(&stat));
            }
        }
        "create" => {
            let path = arg(line, 0, syntax)?;
            let (e, s, c) = (line.has('e'), line.has('s'), line.has('c'));
            let ttl = line
                .value('t')
                .map(|t| {
                    t.parse::<u64>()
                        .map_err(|_| "-t argument must be a long value".to_owned())
                })
                .transpose()?;
            if c && (s || e) {
                return Err("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.".into());
            }
            if ttl.is_some() && e {
                return Err("TTLs cannot be used with Ephemeral znodes".into());
            }
            if ttl.is_some() && c {
                return Err("TTLs cannot be used with Container znodes".into());
            }
            let mode = match (e, s, c, ttl.is_some()) {
                (true, true, _, _) => CreateMode::EphemeralSequential,
                (true, false, _, _) => CreateMode::Ephemeral,
                (false, true, _, true) => CreateMode::PersistentSequentialWithTtl,
                (false, true, _, false) => CreateMode::PersistentSequential,
                (false, false, true, _) => CreateMode::Container,
                (false, false, false, true) => CreateMode::PersistentWithTtl,
                (false, false, false, false) => CreateMode::Persistent,
            };
            // No data argument: null data, as zkCli sends it.
            let data = line.args.get(1).map(|d| d.as_bytes());
            let acl = match line.args.get(2) {
                Some(text) => format::parse_acl(text)?,
                None => Acl::open_unsafe(),
            };
            let mut options = CreateOptions::new(mode).with_acl(acl);
            if let Some(ttl) = ttl {
                options = options.with_ttl(Duration::from_millis(ttl));
            }
            let (created, _) = client
                .create_nullable(path, data, &options)
                .await
                .map_err(keeper(path))?;
            output.err.push_str(&format!("Created {created}\n"));
        }
        "get" => {
            let path = arg(line, 0, syntax)?;
            let (data, stat) = if line.has('w') {
                let (data, stat, watch) = client
                    .get_data_watch_nullable(path)
                    .await
                    .map_err(keeper(path))?;
                output.watches.push(watch);
                (data, stat)
            } else {
                client.get_data_nullable(path).await.map_err(keeper(path))?
            };
            let text = match data {
                Some(data) => String::from_utf8_lossy(&data).into_owned(),
                None => "null".to_owned(),
            };
            output.out.push_str(&format!("{text}\n"));
            if line.has('s') {
                output.out.push_str(&format::stat(&stat));
            }
        }
        "set" => {
            let path = arg(line, 0, syntax)?;
            let data = arg(line, 1, syntax)?;
            let stat = client
                .set_data(path, data.as_bytes(), version(line)?)
                .await
                .map_err(keeper(path))?;
            if line.has('s') {
                output.out.push_str(&format::stat(&stat));
            }
        }
        "delete" => {
            let path = arg(line, 0, syntax)?;
            client
                .delete(path, version(line)?)
                .await
                .map_err(keeper(path))?;
        }
        "deleteall" => {
            let path = arg(line, 0, syntax)?;
            client.delete_all(path).await.map_err(keeper(path))?;
        }
        "stat" => {
            let path = arg(line, 0, syntax)?;
            let stat = if line.has('w') {
                let (stat, watch) = client.exists_watch(path).await.map_err(keeper(path))?;
                output.watches.push(watch);
                stat
            } else {
                client.exists(path).await.map_err(keeper(path))?
            };
            let stat = stat
                .ok_or_else(|| format::error(&Error::Keeper(zk_proto::ErrorCode::NoNode), path))?;
            output.out.push_str(&format::stat(&stat));
        }
        "getAcl" => {
            let path = arg(line, 0, syntax)?;
            let (acl, stat) = client.get_acl(path).await.map_err(keeper(path))?;
            output.out.push_str(&format::acl(&acl));
            if line.has('s') {
                output.out.push_str(&format::stat(&stat));
            }
        }
        "setAcl" => {
            let path = arg(line, 0, syntax)?;
            let acl = format::parse_acl(arg(line, 1, syntax)?)?;
            let targets = if line.has('R') {
                subtree(client, path).await.map_err(keeper(path))?
            } else {
                vec![path.to_owned()]
            };
            for target in &targets {
                let stat = client
                    .set_acl(target, &acl, version(line)?)
                    .await
                    .map_err(keeper(target))?;
                if line.has('s') && !line.has('R') {
                    output.out.push_str(&format::stat(&stat));
                }
            }
        }
        "addauth" => {
            let scheme = arg(line, 0, syntax)?;
            let auth = line.args.get(1).map(String::as_str).unwrap_or("");
            client
                .add_auth(scheme, auth.as_bytes())
                .await
                .map_err(keeper(""))?;
        }
        "sync" => {
            let path = arg(line, 0, syntax)?;
            match client.sync(path).await {
                Ok(_) => output.out.push_str("Sync is OK\n"),
                Err(error) => output
                    .out
                    .push_str(&format!("Sync has failed. rc={}\n", error.code().code())),
            }
        }
        "whoami" => {
            let identities = client.who_am_i().await.map_err(keeper(""))?;
            output.out.push_str("Auth scheme: User\n");
            for identity in identities {
                output
                    .out
                    .push_str(&format!("{}: {}\n", identity.auth_scheme, identity.user));
            }
        }
        "getEphemerals" => {
            let prefix = line.args.first().map(String::as_str).unwrap_or("/");
            let ephemerals = client
                .get_ephemerals(prefix)
                .await
                .map_err(keeper(prefix))?;
            output
                .out
                .push_str(&format!("{}\n", format::list(&ephemerals)));
        }
        "getAllChildrenNumber" => {
            let path = arg(line, 0, syntax)?;
            let count = client
                .get_all_children_number(path)
                .await
                .map_err(keeper(path))?;
            output.out.push_str(&format!("{count}\n"));
        }
        "addWatch" => {
            let path = arg(line, 0, syntax)?;
            let mode = match line.value('m') {
                None | Some("PERSISTENT_RECURSIVE") => AddWatchMode::PersistentRecursive,
                Some("PERSISTENT") => AddWatchMode::Persistent,
                Some(_) => return Err(syntax.usage.to_owned()),
            };
            let stream = client.add_watch(path, mode).await.map_err(keeper(path))?;
            output.streams.push(stream);
        }
        "removewatches" => {
            let path = arg(line, 0, syntax)?;
            let watcher_type = if line.has('c') {
                WatcherType::Children
            } else if line.has('d') {
                WatcherType::Data
            } else {
                WatcherType::Any
            };
            client
                .remove_watches(path, watcher_type)
                .await
                .map_err(keeper(path))?;
        }
        "config" => config(client, line, output).await?,
        "setquota" => set_quota(client, line, syntax, output).await?,
        "listquota" => {
            let path = arg(line, 0, syntax)?;
            output
                .err
                .push_str(&format!("absolute path is {}\n", quota::limit_path(path)));
            match quota::list_quota(client, path).await {
                Ok(Some((limits, usage))) => {
                    output
                        .out
                        .push_str(&format!("Output quota for {path} {limits}\n"));
                    match usage {
                        Some(usage) => output
                            .out
                            .push_str(&format!("Output stat for {path} {usage}\n")),
                        None => output
                            .err
                            .push_str(&format!("quota for {path} does not exist.\n")),
                    }
                }
                Ok(None) => output
                    .err
                    .push_str(&format!("quota for {path} does not exist.\n")),
                Err(error) => return Err(keeper(path)(error)),
            }
        }
        "delquota" => {
            let chosen = exclusive_option(line)?.and_then(Key::from_option);
            let path = arg(line, 0, syntax)?;
            match quota::delete_quota(client, path, chosen).await {
                Ok(true) => {}
                Ok(false) => output
                    .out
                    .push_str(&format!("Quota does not exist for {path}\n")),
                Err(error) if error.is_no_node() => output
                    .err
                    .push_str(&format!("quota for {path} does not exist.\n")),
                Err(error) => return Err(keeper(path)(error)),
            }
        }
        "version" => {
            output.out.push_str(&format!(
                "ZooKeeper CLI version: 3.8.0 (zk-recipes {})\n",
                env!("CARGO_PKG_VERSION")
            ));
        }
        other => return Err(format!("unhandled command {other}")),
    }
    Ok(())
}

/// `config [-c] [-w] [-s]`: the ensemble's configuration (`getConfig`, whatever the
/// chroot), as zkCli prints it.
async fn config(client: &Client, line: &CommandLine, output: &mut Output) -> Result<(), Failure> {
    let config_path = crate::client::ops::CONFIG_NODE;
    let (data, stat) = if line.has('w') {
        let (data, stat, watch) = client
            .get_config_watch()
            .await
            .map_err(keeper(config_path))?;
        output.watches.push(watch);
        (data, stat)
    } else {
        client.get_config().await.map_err(keeper(config_path))?
    };
    let text = match data {
        Some(data) => String::from_utf8_lossy(&data).into_owned(),
        None => "null".to_owned(),
    };
    if line.has('c') {
        output.out.push_str(&format::client_config(&text));
    } else {
        output.out.push_str(&text);
    }
    output.out.push('\n');
    if line.has('s') {
        output.out.push_str(&format::stat(&stat));
    }
    Ok(())
}

/// `setquota -n|-b|-N|-B val path`, with zkCli's checks and messages (some of which it
/// prints without failing).
async fn set_quota(
    client: &Client,
    line: &CommandLine,
    syntax: &Syntax,
    output: &mut Output,
) -> Result<(), Failure> {
    let Some(option) = exclusive_option(line)? else {
        return Err(
            "org.apache.commons.cli.MissingOptionException: Missing required option: \
             [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"
                .to_owned(),
        );
    };
    let path = arg(line, 0, syntax)?;
    if path.starts_with(quota::QUOTA_ROOT) {
        output.err.push_str(&format!(
            "cannot set a quota under the path: {}\n",
            quota::QUOTA_ROOT
        ));
        return Ok(());
    }
    let Some(key) = Key::from_option(option) else {
        return Err(syntax.usage.to_owned());
    };
    let value = line.value(option).unwrap_or_default();
    // Counts are Java ints, byte sizes longs.
    let parsed = if key.counts_nodes() {
        value.parse::<i32>().ok().map(i64::from)
    } else {
        value.parse::<i64>().ok()
    };
    let Some(value) = parsed else {
        output
            .err
            .push_str("NumberFormatException happens when parsing the option value\n");
        return Ok(());
    };
    if key.counts_nodes() && value <= 0 {
        output
            .err
            .push_str("the num quota must be greater than zero\n");
        return Ok(());
    }
    if !key.counts_nodes() && value < 0 {
        output
            .err
            .push_str("the bytes quota must be greater than or equal to zero\n");
        return Ok(());
    }
    let mut limits = StatsTrack::default();
    for unset in Key::ALL {
        limits.set(unset, -1);
    }
    limits.set(key, value);
    match quota::set_quota(client, path, &limits).await {
        Ok(warnings) => {
            for warning in warnings {
                output.out.push_str(&format!("{warning}\n"));
            }
            Ok(())
        }
        Err(QuotaError::Keeper { path, error }) => Err(keeper(&path)(error)),
        Err(refused) => Err(refused.to_string()),
    }
}

/// `path` and every node below it, depth first, each node before its children (zkCli's
/// `ZKUtil.visitSubTreeDFS`, children in server order).
async fn subtree(client: &Client, path: &str) -> Result<Vec<String>> {
    let mut nodes = Vec::new();
    let mut stack = vec![path.to_owned()];
    while let Some(node) = stack.pop() {
        let children = match client.get_children(&node).await {
            Ok(children) => children,
            Err(error) if error.is_no_node() && node != path => continue,
            Err(error) => return Err(error),
        };
        for child in children.iter().rev() {
            stack.push(crate::path::join(&node, child));
        }
        nodes.push(node);
    }
    Ok(nodes)
}
