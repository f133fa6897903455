//! `zk-server log-dump FILE` and `zk-server snapshot-dump FILE`, run as the real binary.

mod storage_support;

use std::process::Command;
use storage_support::{config, generate, segments, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::{files, snapshot, TxnLog};
use zk_tree::{DataTree, TreeConfig};

fn run(subcommand: &str, file: &std::path::Path) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_zk-server"))
        .arg(subcommand)
        .arg(file)
        .output()
        .expect("the zk-server binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn log_dump_prints_every_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
    log.append(&generate(&mut TxnSource::default(), 7)).unwrap();
    log.sync().unwrap();
    let path = segments(dir.path())[0].path.clone();

    let (ok, out, err) = run("log-dump", &path);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines()
            .filter(|line| line.contains(" session 0x"))
            .count(),
        7,
        "{out}"
    );
    assert!(out.contains("end: clean"), "{out}");
}

#[test]
fn snapshot_dump_prints_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let tree = DataTree::new(TreeConfig::default());
    let snapshots = files::version_dir(dir.path());
    files::create_dir(&snapshots).unwrap();
    let path = snapshot::write(
        &snapshots,
        tree.last_applied_zxid(),
        &tree.to_snapshot_bytes(),
    )
    .unwrap();

    let (ok, out, err) = run("snapshot-dump", &path);
    assert!(ok, "{err}");
    assert!(out.contains("/zookeeper/config"), "{out}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = run("log-dump", &dir.path().join("log.1"));
    assert!(!ok);
    assert!(err.contains("log.1"), "{err}");
}
