//! The `zkcli` binary against our server: zkCli's commands, output formats, errors and exit
//! codes, one-shot and interactive. (Its formats were checked line for line against
//! Apache's `zkCli.sh` 3.8; the unit tests in `src/cli` pin them.)

mod common;

use common::server::Server;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn zkcli(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkcli"))
        .args(["-server", &server.address(), "-timeout", "5000"])
        .args(args)
        .output()
        .expect("run zkcli")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn zkcli_runs_commands_like_zkcli_sh() {
    let server = Server::start();

    let created = zkcli(&server, &["create", "/app", "hello world"]);
    assert!(created.status.success());
    assert_eq!(text(&created.stderr), "Created /app\n");

    let again = zkcli(&server, &["create", "/app", "x"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(text(&again.stderr), "Node already exists: /app\n");

    assert!(zkcli(&server, &["create", "-e", "-s", "/app/e-"])
        .status
        .success());
    assert!(zkcli(&server, &["create", "/app/null"]).status.success());
    assert_eq!(
        text(&zkcli(&server, &["get", "/app/null"]).stdout),
        "null\n"
    );

    let got = text(&zkcli(&server, &["get", "-s", "/app"]).stdout);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "hello world");
    assert_eq!(lines.len(), 12);
    assert!(lines[1].starts_with("cZxid = 0x"));
    assert!(lines[2].starts_with("ctime = ") && lines[2].contains(" UTC "));
    assert_eq!(lines[7], "dataVersion = 0");
    assert_eq!(lines[10], "dataLength = 11");

    assert_eq!(
        text(&zkcli(&server, &["ls", "/app"]).stdout),
        "[null]\n",
        "the ephemeral went with its session"
    );
    assert_eq!(
        text(&zkcli(&server, &["ls", "-R", "/app"]).stdout),
        "/app\n/app/null\n"
    );
    assert_eq!(
        text(&zkcli(&server, &["getAcl", "/app"]).stdout),
        "'world,'anyone\n: cdrwa\n"
    );

    let stale = zkcli(&server, &["set", "-v", "7", "/app", "x"]);
    assert_eq!(text(&stale.stderr), "version No is not valid : /app\n");
    let set = text(&zkcli(&server, &["set", "-s", "-v", "0", "/app", "v2"]).stdout);
    assert!(set.contains("dataVersion = 1\n"), "{set}");

    assert_eq!(
        text(&zkcli(&server, &["delete", "/app"]).stderr),
        "Node not empty: /app\n"
    );
    assert_eq!(
        text(&zkcli(&server, &["stat", "/missing"]).stderr),
        "Node does not exist: /missing\n"
    );
    assert!(zkcli(&server, &["deleteall", "/app"]).status.success());
    assert_eq!(text(&zkcli(&server, &["ls", "/"]).stdout), "[zookeeper]\n");
    assert_eq!(
        text(&zkcli(&server, &["whoami"]).stdout),
        "Auth scheme: User\nip: 127.0.0.1\n"
    );
    assert_eq!(text(&zkcli(&server, &["sync", "/"]).stdout), "Sync is OK\n");
    let unknown = zkcli(&server, &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("\tls [-s] [-w] [-R] path\n"));

    // Interactive: a script on standard input, with a watch that fires.
    let mut shell = Command::new(env!("CARGO_BIN_EXE_zkcli"))
        .args(["-server", &server.address()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zkcli");
    shell
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"create /w one\nget -w /w\nset /w two\nget /w\nquit\n")
        .expect("write the script");
    let output = shell.wait_with_output().expect("zkcli finishes");
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with(&format!(
        "Connecting to {}\nWelcome to ZooKeeper!\n",
        server.address()
    )));
    assert!(stdout.contains(&format!("[zk: {}(CONNECTED) 0] ", server.address())));
    assert!(stdout.contains("one\n"));
    assert!(
        stdout.contains(
            "WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("two\n"));
    assert_eq!(text(&output.stderr), "Created /w\n");
}
