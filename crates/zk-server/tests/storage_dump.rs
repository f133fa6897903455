//! The offline dumps of a snapshot and of a log segment.

mod storage_support;

use storage_support::{config, generate, segments, TxnSource};
use zk_proto::Zxid;
use zk_server::storage::{self, dump_log, dump_snapshot, files, snapshot, TxnLog};

fn dump(dumper: impl FnOnce(&mut Vec<u8>) -> Result<(), storage::StorageError>) -> String {
    let mut out = Vec::new();
    dumper(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_log_dump_has_one_line_per_txn_and_says_how_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = TxnLog::open(&config(dir.path()), Zxid::ZERO).unwrap();
    let mut source = TxnSource::default();
    log.append(&generate(&mut source, 25)).unwrap();
    log.sync().unwrap();
    let path = segments(dir.path())[0].path.clone();

    let text = dump(|out| dump_log(&path, out));
    assert!(text.contains("header: format 1, first zxid 0x1"), "{text}");
    let txn_lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(" session 0x"))
        .collect();
    assert_eq!(txn_lines.len(), 25, "{text}");
    assert!(
        txn_lines[0].contains(" UTC session 0x100 zxid 0x1 "),
        "{}",
        txn_lines[0]
    );
    assert!(text.contains("25 txns, last zxid 0x19"), "{text}");
    assert!(text.contains("end: clean"), "{text}");

    // Damage in the middle is shown, with the offset, not refused.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[200] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let text = dump(|out| dump_log(&path, out));
    assert!(text.contains("end: DAMAGED at offset"), "{text}");
    assert!(text.contains("a valid record follows"), "{text}");
}

#[test]
fn a_snapshot_dump_lists_every_znode_and_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = TxnSource::default();
    generate(&mut source, 60);
    let snapshot_dir = files::version_dir(dir.path());
    std::fs::create_dir_all(&snapshot_dir).unwrap();
    let path = snapshot::write(
        &snapshot_dir,
        source.last_zxid(),
        &source.tree.to_snapshot_bytes(),
    )
    .unwrap();

    let text = dump(|out| dump_snapshot(&path, out));
    let expected_header = format!(
        "last applied zxid {}, digest {:#018x}, znodes {}",
        source.last_zxid(),
        source.tree.digest(),
        source.tree.node_count()
    );
    assert!(text.contains(&expected_header), "{text}");
    let znode_lines: Vec<&str> = text.lines().filter(|line| line.starts_with('/')).collect();
    assert_eq!(znode_lines.len(), source.tree.node_count(), "{text}");
    assert_eq!(&znode_lines[..3], &["/", "/a", "/a/x"][..], "{text}");
    assert!(text.contains("dataLength"));
    let session_lines = text
        .lines()
        .skip_while(|line| !line.starts_with("sessions"))
        .count()
        - 1;
    assert_eq!(session_lines, source.tree.sessions().count());

    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert!(dump_snapshot(&path, &mut Vec::new()).is_err());
}
