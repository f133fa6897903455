//! The znode tree on a 1M-znode tree: create, getData, setData and delete through the same
//! calls the server makes (prepare + apply for writes, with the pending changes trimmed
//! after each apply). The tree is built once and shared by the groups; writes that add
//! znodes remove them again outside the timed section, so every group sees the same tree.
//!
//! `cargo bench -p zk-benches --bench tree -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::{Duration, Instant};
use zk_proto::{Acl, CreateMode, SessionId, Zxid};
use zk_tree::{
    AuthContext, DataTree, PendingChanges, TreeConfig, Txn, TxnBody, WriteRequest, ZnodePath,
};

/// 1000 parents under the root, 1000 children each.
const PARENTS: usize = 1000;
const CHILDREN_PER_PARENT: usize = 1000;
const DATA: &[u8] = b"a small payload of 32 bytes.....";

/// A tree being written to as the server would: zxids and times assigned in order.
struct Writer {
    tree: DataTree,
    pending: PendingChanges,
    auth: AuthContext,
    zxid: i64,
}

impl Writer {
    fn write(&mut self, request: &WriteRequest) {
        self.zxid += 1;
        let txn = self.tree.prepare(
            &mut self.pending,
            &self.auth,
            Zxid(self.zxid),
            self.zxid,
            request,
        );
        let outcome = self.tree.apply(&txn);
        self.pending.applied(txn.zxid);
        debug_assert!(outcome.result.error().is_none(), "{outcome:?}");
        black_box(outcome);
    }
}

fn parent_path(parent: usize) -> String {
    format!("/parent-{parent:04}")
}

fn child_path(parent: usize, child: usize) -> String {
    format!("/parent-{parent:04}/child-{child:06}")
}

fn build() -> (Writer, Vec<String>) {
    let mut tree = DataTree::new(TreeConfig::default());
    let mut zxid = 0;
    let mut paths = Vec::with_capacity(PARENTS * CHILDREN_PER_PARENT);
    let mut create = |tree: &mut DataTree, path: &str| {
        zxid += 1;
        tree.apply(&Txn {
            zxid: Zxid(zxid),
            time_ms: zxid,
            session_id: SessionId(1),
            body: TxnBody::Create {
                path: ZnodePath::parse(path).expect("valid path"),
                data: Some(DATA.to_vec()),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_cversion: -1,
            },
        });
    };
    for parent in 0..PARENTS {
        create(&mut tree, &parent_path(parent));
    }
    for child in 0..CHILDREN_PER_PARENT {
        for parent in 0..PARENTS {
            let path = child_path(parent, child);
            create(&mut tree, &path);
            paths.push(path);
        }
    }
    let writer = Writer {
        tree,
        pending: PendingChanges::default(),
        auth: AuthContext::new(SessionId(1), Vec::new()),
        zxid,
    };
    (writer, paths)
}

/// A deterministic walk over `len` indexes that looks random to the caches.
struct Scatter {
    state: u64,
    len: usize,
}

impl Iterator for Scatter {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Some((self.state >> 33) as usize % self.len)
    }
}

fn bench_tree(c: &mut Criterion) {
    let (mut writer, paths) = build();
    let anyone = writer.auth.clone();
    let mut scatter = Scatter {
        state: 7,
        len: paths.len(),
    };

    let mut group = c.benchmark_group("tree_1m");
    group.throughput(Throughput::Elements(1));

    group.bench_function("get_data", |b| {
        b.iter(|| {
            let path = &paths[scatter.next().unwrap()];
            black_box(writer.tree.get_data(path, &anyone).expect("exists"));
        })
    });

    group.bench_function("exists", |b| {
        b.iter(|| {
            black_box(
                writer
                    .tree
                    .exists(&paths[scatter.next().unwrap()])
                    .expect("valid"),
            )
        })
    });

    group.bench_function("set_data", |b| {
        b.iter_batched(
            || WriteRequest::SetData {
                path: paths[scatter.next().unwrap()].clone(),
                data: Some(DATA.to_vec()),
                version: -1,
            },
            |request| writer.write(&request),
            BatchSize::SmallInput,
        )
    });

    // Creates and deletes run in rounds: `iters` new znodes spread over the parents,
    // timed, then removed (untimed), or the other way round for delete.
    let mut round = 0usize;
    let extra = |round: usize, i: usize| format!("/parent-{:04}/extra-{round}-{i}", i % PARENTS);
    let create = |path: String| WriteRequest::Create {
        path,
        data: Some(DATA.to_vec()),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    let delete = |path: String| WriteRequest::Delete { path, version: -1 };

    group.bench_function("create", |b| {
        b.iter_custom(|iters| {
            round += 1;
            let requests: Vec<_> = (0..iters as usize)
                .map(|i| create(extra(round, i)))
                .collect();
            let start = Instant::now();
            for request in &requests {
                writer.write(request);
            }
            let elapsed = start.elapsed();
            for i in 0..iters as usize {
                writer.write(&delete(extra(round, i)));
            }
            elapsed
        })
    });

    group.bench_function("delete", |b| {
        b.iter_custom(|iters| {
            round += 1;
            for i in 0..iters as usize {
                writer.write(&create(extra(round, i)));
            }
            let requests: Vec<_> = (0..iters as usize)
                .map(|i| delete(extra(round, i)))
                .collect();
            let start = Instant::now();
            for request in &requests {
                writer.write(request);
            }
            start.elapsed()
        })
    });
    group.finish();
    assert_eq!(
        writer.tree.node_count(),
        PARENTS * (CHILDREN_PER_PARENT + 1) + 4
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench_tree
}
criterion_main!(benches);
