//! The `zkcli` binary against our server and against Apache ZooKeeper 3.8 (`name::ours`,
//! `name::reference`): zkCli's commands, output formats, errors and exit codes, one-shot and
//! interactive, quotas, the configuration, history and `redo`. (Its formats were checked
//! line for line against Apache's `zkCli.sh` 3.8; the unit tests in `src/cli` pin them.)

mod common;

use common::connect;
use common::target::TestRoot;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `zkcli -server <address> args...` to the end.
fn zkcli_at(address: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkcli"))
        .args(["-server", address, "-timeout", "5000"])
        .args(args)
        .output()
        .expect("run zkcli")
}

/// Runs `zkcli` on the test's root (a chroot).
fn zkcli(root: &TestRoot, args: &[&str]) -> Output {
    zkcli_at(&root.address(), args)
}

/// Runs an interactive `zkcli` on `address` with `script` as its standard input.
fn zkcli_script(address: &str, script: &str) -> Output {
    let mut shell = Command::new(env!("CARGO_BIN_EXE_zkcli"))
        .args(["-server", address])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zkcli");
    shell
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write the script");
    shell.wait_with_output().expect("zkcli finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn zkcli_runs_commands_like_zkcli_sh(root: TestRoot) {
    let created = zkcli(&root, &["create", "/app", "hello world"]);
    assert!(created.status.success());
    assert_eq!(text(&created.stderr), "Created /app\n");

    let again = zkcli(&root, &["create", "/app", "x"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(text(&again.stderr), "Node already exists: /app\n");

    assert!(zkcli(&root, &["create", "-e", "-s", "/app/e-"])
        .status
        .success());
    assert!(zkcli(&root, &["create", "/app/null"]).status.success());
    assert_eq!(text(&zkcli(&root, &["get", "/app/null"]).stdout), "null\n");

    let got = text(&zkcli(&root, &["get", "-s", "/app"]).stdout);
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(lines[0], "hello world");
    assert_eq!(lines.len(), 12);
    assert!(lines[1].starts_with("cZxid = 0x"));
    assert!(lines[2].starts_with("ctime = ") && lines[2].contains(" UTC "));
    assert_eq!(lines[7], "dataVersion = 0");
    assert_eq!(lines[10], "dataLength = 11");

    assert_eq!(
        text(&zkcli(&root, &["ls", "/app"]).stdout),
        "[null]\n",
        "the ephemeral went with its session"
    );
    assert_eq!(
        text(&zkcli(&root, &["ls", "-R", "/app"]).stdout),
        "/app\n/app/null\n"
    );
    assert_eq!(
        text(&zkcli(&root, &["getAcl", "/app"]).stdout),
        "'world,'anyone\n: cdrwa\n"
    );

    let stale = zkcli(&root, &["set", "-v", "7", "/app", "x"]);
    assert_eq!(text(&stale.stderr), "version No is not valid : /app\n");
    let set = text(&zkcli(&root, &["set", "-s", "-v", "0", "/app", "v2"]).stdout);
    assert!(set.contains("dataVersion = 1\n"), "{set}");

    assert_eq!(
        text(&zkcli(&root, &["delete", "/app"]).stderr),
        "Node not empty: /app\n"
    );
    assert_eq!(
        text(&zkcli(&root, &["stat", "/missing"]).stderr),
        "Node does not exist: /missing\n"
    );
    assert!(zkcli(&root, &["deleteall", "/app"]).status.success());
    assert_eq!(text(&zkcli(&root, &["ls", "/"]).stdout), "[]\n");
    assert_eq!(
        text(&zkcli(&root, &["whoami"]).stdout),
        "Auth scheme: User\nip: 127.0.0.1\n"
    );
    assert_eq!(text(&zkcli(&root, &["sync", "/"]).stdout), "Sync is OK\n");
    let unknown = zkcli(&root, &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(127));
    let usage = text(&unknown.stderr);
    assert!(usage.contains("\tls [-s] [-w] [-R] path\n"));
    assert!(usage.contains("\tsetquota -n|-b|-N|-B val path\n\tstat [-w] path\n"));
    assert!(usage.ends_with("\nCommand not found: Command not found frobnicate\n"));
    let bad_option = zkcli(&root, &["ls", "-x", "/"]);
    assert_eq!(bad_option.status.code(), Some(1));
    assert_eq!(
        text(&bad_option.stderr),
        "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x\n"
    );

    // Interactive: a script on standard input, with a watch that fires.
    let output = zkcli_script(
        &root.address(),
        "create /w one\nget -w /w\nset /w two\nget /w\nquit\n",
    );
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with(&format!(
        "Connecting to {}\nWelcome to ZooKeeper!\n",
        root.address()
    )));
    assert!(stdout.contains(&format!("[zk: {}(CONNECTED) 0] ", root.address())));
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
on_both_servers!(zkcli_runs_commands_like_zkcli_sh);

/// `setquota`, `listquota` and `delquota` keep zkCli's layout under `/zookeeper/quota`
/// (outside any chroot), and print its messages; the server counts the usage.
async fn zkcli_manages_quotas_like_zkcli_sh(root: TestRoot) {
    let address = root.server_address();
    let base = root.chroot().to_owned();
    let q = format!("{base}/q");
    let quota_dir = format!("/zookeeper/quota{q}");
    let run = |args: &[&str]| zkcli_at(&address, args);
    assert!(run(&["create", &q]).status.success());
    assert!(run(&["create", &format!("{q}/a"), "xyz"]).status.success());
    assert!(run(&["create", &format!("{q}/a/b"), "12"]).status.success());

    let set = run(&["setquota", "-n", "5", &q]);
    assert!(set.status.success());
    assert_eq!(
        (text(&set.stdout), text(&set.stderr)),
        (String::new(), String::new())
    );
    let listed = run(&["listquota", &q]);
    assert_eq!(
        text(&listed.stdout),
        format!(
            "Output quota for {q} count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1\n\
             Output stat for {q} count=3,bytes=5\n"
        )
    );
    assert_eq!(
        text(&listed.stderr),
        format!("absolute path is {quota_dir}/zookeeper_limits\n")
    );
    let client = connect(&address).await;
    let mut layout = client.get_children(&quota_dir).await.unwrap();
    layout.sort();
    assert_eq!(layout, ["zookeeper_limits", "zookeeper_stats"]);

    // Updating keeps the other limits; limits below the usage are warned about.
    let lower = run(&["setquota", "-b", "2", &q]);
    assert_eq!(
        text(&lower.stdout),
        "[Warning]: the bytes quota you create is less than the existing bytes:5\n"
    );
    assert!(run(&["setquota", "-N", "10", &q]).status.success());
    let (limits, _) = client
        .get_data(&format!("{quota_dir}/zookeeper_limits"))
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8(limits).unwrap(),
        "count=5,bytes=2=;byteHardLimit=-1;countHardLimit=10"
    );

    // Quotas do not nest; values are checked; paths must exist.
    let nested = run(&["setquota", "-n", "3", &format!("{q}/a")]);
    assert_eq!(nested.status.code(), Some(1));
    assert_eq!(
        text(&nested.stderr),
        format!("{q}/a has a parent {q} which has a quota\n")
    );
    let above = run(&["setquota", "-n", "3", &base]);
    assert_eq!(
        text(&above.stderr),
        format!("{base} has a child {q} which has a quota\n")
    );
    let zero = run(&["setquota", "-n", "0", &q]);
    assert!(zero.status.success(), "zkCli only complains");
    assert_eq!(
        text(&zero.stderr),
        "the num quota must be greater than zero\n"
    );
    let missing = run(&["setquota", "-n", "1", &format!("{base}/missing")]);
    assert_eq!(
        (missing.status.code(), text(&missing.stderr)),
        (Some(1), format!("{base}/missing does not exist.\n"))
    );
    let two = run(&["setquota", "-n", "1", "-b", "2", &q]);
    assert_eq!(
        text(&two.stderr),
        "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but \
         an option from this group has already been selected: 'n'\n"
    );
    let none = run(&["setquota", &q]);
    assert!(text(&none.stderr).starts_with("org.apache.commons.cli.MissingOptionException"));

    // The server keeps counting.
    assert!(run(&["create", &format!("{q}/c")]).status.success());
    assert!(text(&run(&["listquota", &q]).stdout).ends_with(" count=4,bytes=5\n"));

    // Deleting one limit, then the whole quota (its empty quota nodes go too).
    assert!(run(&["delquota", "-n", &q]).status.success());
    assert!(text(&run(&["listquota", &q]).stdout)
        .starts_with(&format!("Output quota for {q} count=-1,bytes=2=")));
    assert!(run(&["delquota", &q]).status.success());
    let gone = run(&["listquota", &q]);
    assert!(gone.status.success());
    assert_eq!(text(&gone.stdout), "");
    assert!(text(&gone.stderr).ends_with(&format!("quota for {q} does not exist.\n")));
    assert_eq!(
        client
            .exists(&format!("/zookeeper/quota{base}"))
            .await
            .unwrap(),
        None,
        "empty quota nodes are removed"
    );
    assert_eq!(
        text(&run(&["delquota", &q]).stdout),
        format!("Quota does not exist for {q}\n")
    );
    client.close().await;
}
on_both_servers!(zkcli_manages_quotas_like_zkcli_sh);

/// `config` reads `/zookeeper/config` whatever the chroot (standalone servers keep it
/// empty): the data, `-c` the client addresses after the version, `-s` the stat.
async fn zkcli_reads_the_configuration(root: TestRoot) {
    let plain = zkcli(&root, &["config"]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    assert_eq!(text(&plain.stdout), "\n");
    assert_eq!(text(&zkcli(&root, &["config", "-c"]).stdout), " \n");
    let with_stat = text(&zkcli(&root, &["config", "-s"]).stdout);
    let lines: Vec<&str> = with_stat.lines().collect();
    assert_eq!(lines.len(), 12, "{with_stat}");
    assert_eq!(lines[1], "cZxid = 0x0");
    assert_eq!(lines[8], "aclVersion = -1");
    assert_eq!(lines[10], "dataLength = 0");
    // Through the chroot, the node itself is not there.
    assert_eq!(
        text(&zkcli(&root, &["get", "/zookeeper/config"]).stderr),
        "Node does not exist: /zookeeper/config\n"
    );
}
on_both_servers!(zkcli_reads_the_configuration);

/// The interactive shell numbers its lines; `history` lists them, `redo` runs one again
/// under its own number, `printwatches off` silences watch events; in one-command mode
/// there is no history.
async fn zkcli_keeps_history_and_redoes_commands(root: TestRoot) {
    let script = "create /h one\nget /h\nhistory\nredo 1\nset /h two\nredo 3\nredo 9\n\
                  redo 6\nprintwatches\nprintwatches off\nget -w /h\nset /h three\n\
                  printwatches\nquit\n";
    let output = zkcli_script(&root.address(), script);
    let stdout = text(&output.stdout);
    let prompt = |number: usize| format!("[zk: {}(CONNECTED) {number}] ", root.address());
    assert!(
        stdout.contains(&format!(
            "{}0 - create /h one\n1 - get /h\n2 - history\n{}",
            prompt(2),
            prompt(3)
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{}one\n{}", prompt(3), prompt(4))));
    assert!(stdout.contains(&format!("{}two\n{}", prompt(5), prompt(6))));
    assert!(stdout.contains(&format!("{}printwatches is on\n", prompt(8))));
    assert!(stdout.contains(&format!("{}printwatches is off\n", prompt(12))));
    assert!(stdout.contains(&prompt(13)));
    assert!(!stdout.contains("WATCHER::"), "{stdout}");
    assert_eq!(
        text(&output.stderr),
        "Created /h\nCommand index out of range\nNo redoing redos\n"
    );

    assert_eq!(text(&zkcli(&root, &["history"]).stdout), "0 - null\n");
    let redo = zkcli(&root, &["redo", "0"]);
    assert_eq!(
        (redo.status.code(), text(&redo.stderr)),
        (Some(1), "Command index out of range\n".to_owned())
    );
    assert_eq!(
        text(&zkcli(&root, &["printwatches"]).stdout),
        "printwatches is on\n"
    );
}
on_both_servers!(zkcli_keeps_history_and_redoes_commands);
