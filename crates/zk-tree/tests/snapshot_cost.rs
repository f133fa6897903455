//! What freezing the tree for a snapshot costs, and what the copy-on-write costs the writes
//! that follow. Prints the times; asserts only that the view still encodes the tree as it
//! was (times on a shared machine are too noisy to assert on).
//!
//! `cargo test -p zk-tree --test snapshot_cost` measures 20 000 znodes; the README's
//! figures come from
//! `ZK_TREE_SNAPSHOT_ZNODES=1000000 cargo test --release -p zk-tree --test snapshot_cost -- --nocapture`.

use std::time::{Duration, Instant};
use zk_proto::{Acl, SessionId, Zxid};
use zk_tree::{DataTree, TreeConfig, Txn, TxnBody, ZnodePath};

const PARENTS: usize = 1000;
const DATA_BYTES: usize = 100;
/// Nodes per arena chunk (`node::CHUNK_NODES`): writing one znode every this many ids
/// touches every chunk once.
const CHUNK_NODES: usize = 597;

fn znodes_to_measure() -> usize {
    std::env::var("ZK_TREE_SNAPSHOT_ZNODES")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(20_000)
}

struct Builder {
    tree: DataTree,
    zxid: i64,
}

impl Builder {
    fn apply(&mut self, body: TxnBody) {
        self.zxid += 1;
        let txn = Txn {
            zxid: Zxid(self.zxid),
            time_ms: 1_700_000_000_000 + self.zxid,
            session_id: SessionId(1),
            body,
        };
        let outcome = self.tree.apply(&txn);
        assert!(outcome.result.error().is_none(), "{txn:?}");
    }

    fn create(&mut self, path: &str) {
        self.apply(TxnBody::Create {
            path: ZnodePath::parse(path).expect("a valid path"),
            data: Some(vec![b'x'; DATA_BYTES]),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_cversion: -1,
        });
    }

    fn set_data(&mut self, path: &str, version: i32) {
        self.apply(TxnBody::SetData {
            path: ZnodePath::parse(path).expect("a valid path"),
            data: Some(vec![b'y'; DATA_BYTES]),
            version,
        });
    }
}

fn child_path(child: usize) -> String {
    format!("/p{:04}/c{:07}", child % PARENTS, child / PARENTS)
}

fn micros(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e6
}

#[test]
fn freezing_the_tree_is_cheap_and_exact() {
    let znodes = znodes_to_measure();
    let mut builder = Builder {
        tree: DataTree::new(TreeConfig::default()),
        zxid: 0,
    };
    for parent in 0..PARENTS {
        builder.create(&format!("/p{parent:04}"));
    }
    for child in 0..znodes - PARENTS {
        builder.create(&child_path(child));
    }

    let started = Instant::now();
    let encoded_before = builder.tree.to_snapshot_bytes();
    let encode = started.elapsed();

    let started = Instant::now();
    let clone = builder.tree.clone();
    let clone_time = started.elapsed();
    drop(clone);

    let started = Instant::now();
    let view = builder.tree.snapshot_view();
    let view_time = started.elapsed();

    // One write per chunk: the children were created one after another into consecutive
    // arena slots, so every CHUNK_NODES-th child lies in another chunk.
    let children = znodes - PARENTS;
    let chunk_writes: Vec<usize> = (0..children).step_by(CHUNK_NODES).collect();
    let started = Instant::now();
    for &child in &chunk_writes {
        builder.set_data(&child_path(child), 1);
    }
    let first_writes = started.elapsed();
    let started = Instant::now();
    for &child in &chunk_writes {
        builder.set_data(&child_path(child), 2);
    }
    let second_writes = started.elapsed();

    assert!(
        view.to_snapshot_bytes() == encoded_before,
        "the view changed"
    );
    println!(
        "{} znodes: to_snapshot_bytes {:.1} ms; clone {:.1} us; snapshot_view {:.1} us; \
         setData on a chunk the view shares {:.1} us, on the same chunk again {:.1} us \
         (mean of {} writes)",
        builder.tree.node_count(),
        encode.as_secs_f64() * 1e3,
        micros(clone_time),
        micros(view_time),
        micros(first_writes) / chunk_writes.len() as f64,
        micros(second_writes) / chunk_writes.len() as f64,
        chunk_writes.len(),
    );
}
