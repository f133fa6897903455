//! Snapshots of a 1M-znode tree (1000 parents of 1000 children, 100 bytes of data each):
//! encoding the tree, writing the file (temp file, fsync, rename, directory fsync) and
//! loading it back (read, CRC check, decode, rebuild with digest check) — the work of a
//! snapshot and of a restart. Ten samples of one run each keep the whole bench near a
//! minute.
//!
//! Files go to a temporary directory under `ZK_BENCH_DIR` (default: cargo's target tmp
//! directory).
//!
//! `cargo bench -p zk-benches --bench snapshot`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::path::PathBuf;
use std::time::Duration;
use zk_proto::{Acl, SessionId, Zxid};
use zk_server::storage::{files, snapshot};
use zk_tree::{DataTree, TreeConfig, Txn, TxnBody, ZnodePath};

const PARENTS: usize = 1000;
const CHILDREN_PER_PARENT: usize = 1000;
const DATA: [u8; 100] = [b'd'; 100];

fn bench_dir() -> PathBuf {
    std::env::var_os("ZK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
}

fn build_tree() -> DataTree {
    let mut tree = DataTree::new(TreeConfig::default());
    let mut zxid = 0;
    let mut create = |tree: &mut DataTree, path: String| {
        zxid += 1;
        tree.apply(&Txn {
            zxid: Zxid(zxid),
            time_ms: 1_700_000_000_000 + zxid,
            session_id: SessionId(1),
            body: TxnBody::Create {
                path: ZnodePath::parse(&path).expect("valid path"),
                data: Some(DATA.to_vec()),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            },
        });
    };
    for parent in 0..PARENTS {
        create(&mut tree, format!("/parent-{parent:04}"));
    }
    for parent in 0..PARENTS {
        for child in 0..CHILDREN_PER_PARENT {
            create(&mut tree, format!("/parent-{parent:04}/child-{child:06}"));
        }
    }
    tree
}

fn bench_snapshot(c: &mut Criterion) {
    let tree = build_tree();
    assert_eq!(tree.node_count(), PARENTS * (CHILDREN_PER_PARENT + 1) + 4);
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench directory");
    let snapshot_dir = files::version_dir(dir.path());
    files::create_dir(&snapshot_dir).expect("snapshot directory");
    let zxid = tree.last_applied_zxid();
    let bytes = tree.to_snapshot_bytes();
    let path = snapshot::write(&snapshot_dir, zxid, &bytes).expect("write snapshot");

    let mut group = c.benchmark_group("snapshot_1m");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("encode", |b| b.iter(|| black_box(tree.to_snapshot_bytes())));
    group.bench_function("write_file", |b| {
        b.iter(|| snapshot::write(&snapshot_dir, zxid, &bytes).expect("write snapshot"))
    });
    group.bench_function("verify_crc", |b| {
        b.iter(|| snapshot::verify(&path).expect("valid snapshot"))
    });
    group.bench_function("load", |b| {
        b.iter(|| snapshot::load(&path, TreeConfig::default()).expect("load snapshot"))
    });
    group.finish();
}

criterion_group!(benches, bench_snapshot);
criterion_main!(benches);
