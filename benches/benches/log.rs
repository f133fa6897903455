//! The transaction log on this machine's disk: the raw fdatasync rate of a preallocated
//! file (the ceiling for durable writes one at a time), and durable txns per second through
//! `TxnLog::append` + `TxnLog::sync` with group commits of 1, 10 and 100 txns (the batch
//! sizes the LogActor forms when that many writes arrive during one fsync).
//!
//! Files go to a temporary directory under `ZK_BENCH_DIR` (default: cargo's target tmp
//! directory), so put that on the disk you want to measure.
//!
//! `cargo bench -p zk-benches --bench log -- --warm-up-time 1 --measurement-time 5`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use zk_proto::{SessionId, Zxid};
use zk_server::storage::{StorageConfig, TxnLog};
use zk_tree::{Txn, TxnBody, ZnodePath};

/// Apache's default preallocation, as the server uses.
const PREALLOCATION_BYTES: u64 = 64 * 1024 * 1024;
/// The data of each logged setData: 100 bytes, a typical small znode value.
const DATA_BYTES: usize = 100;

fn bench_dir() -> PathBuf {
    std::env::var_os("ZK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
}

fn set_data(zxid: i64) -> Txn {
    Txn {
        zxid: Zxid(zxid),
        time_ms: 1_700_000_000_000 + zxid,
        session_id: SessionId(0x1_0000_0001),
        body: TxnBody::SetData {
            path: ZnodePath::parse("/benchmarks/log/znode-0001").expect("valid path"),
            data: Some(vec![0xab; DATA_BYTES]),
            version: zxid as i32,
        },
    }
}

fn bench_fdatasync(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench directory");
    let path = dir.path().join("fdatasync.bin");
    let file = OpenOptions::new()
        .create_new(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("create file");
    // Zero-filled like a log segment, so that each sync writes data only.
    let zeros = vec![0u8; 1 << 20];
    for chunk in 0..PREALLOCATION_BYTES / zeros.len() as u64 {
        file.write_all_at(&zeros, chunk * zeros.len() as u64)
            .expect("preallocate");
    }
    file.sync_all().expect("sync");
    let record = [0x5au8; 160];
    let mut offset = 0u64;
    let mut group = c.benchmark_group("disk");
    group.throughput(Throughput::Elements(1));
    group.bench_function("write_160_bytes_and_fdatasync", |b| {
        b.iter(|| {
            file.write_all_at(&record, offset).expect("write");
            file.sync_data().expect("fdatasync");
            offset = (offset + record.len() as u64) % (PREALLOCATION_BYTES - 4096);
        })
    });
    group.finish();
}

fn bench_group_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir_in(bench_dir()).expect("bench directory");
    let config = StorageConfig {
        preallocation_bytes: PREALLOCATION_BYTES,
        ..StorageConfig::new(dir.path())
    };
    let mut log = TxnLog::open(&config, Zxid::ZERO).expect("open log");
    let mut zxid = 0i64;
    let mut group = c.benchmark_group("log_append_fsync");
    for batch in [1usize, 10, 100] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::new("batch", batch), &batch, |b, &batch| {
            b.iter_batched(
                || {
                    let txns: Vec<Txn> = (1..=batch as i64).map(|i| set_data(zxid + i)).collect();
                    zxid += batch as i64;
                    txns
                },
                |txns| {
                    log.append(&txns).expect("append");
                    log.sync().expect("sync")
                },
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fdatasync, bench_group_commit);
criterion_main!(benches);
