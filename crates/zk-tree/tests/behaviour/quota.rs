//! Quota usage counts, replaying a session observed on Apache 3.8.0.

use crate::support::*;
use zk_proto::{Acl, CreateMode};
use zk_tree::{DataTree, TxnResult};

const STATS: &str = "/zookeeper/quota/app/zookeeper_stats";

fn put(h: &mut Harness, path: &str, data: &[u8]) -> TxnResult {
    h.write(
        &anyone(),
        create_with(
            path,
            Some(data.to_vec()),
            Acl::open_unsafe(),
            CreateMode::Persistent,
        ),
    )
    .result
}

fn stats(tree: &DataTree) -> String {
    let data = tree.get_data(STATS, &anyone()).unwrap().0.unwrap();
    String::from_utf8(data.to_vec()).unwrap()
}

#[test]
fn stats_follow_creates_set_data_and_deletes_like_apache() {
    let mut h = Harness::new();
    put(&mut h, "/app", b"12345");
    put(&mut h, "/app/a", b"xx");
    put(&mut h, "/app/a/b", b"");
    put(&mut h, "/zookeeper/quota/app", b"");
    put(
        &mut h,
        "/zookeeper/quota/app/zookeeper_limits",
        b"count=10,bytes=-1",
    );
    // Creating the stats node recounts the subtree; the reply still shows what was sent.
    let TxnResult::Created { stat, .. } = put(&mut h, STATS, b"count=0,bytes=0") else {
        panic!()
    };
    assert_eq!(stat.data_length, 15);
    assert_eq!(stats(&h.tree), "count=3,bytes=7");
    let created = h.stat(STATS);

    put(&mut h, "/app/c", b"abc");
    assert_eq!(stats(&h.tree), "count=4,bytes=10");
    // The stats node's data changes, its stat does not (but dataLength).
    let after = h.stat(STATS);
    assert_eq!(
        (after.mzxid, after.version, after.data_length),
        (created.mzxid, 0, 16)
    );

    h.write(&anyone(), set_data("/app/c", b"abcde", -1));
    assert_eq!(stats(&h.tree), "count=4,bytes=12");
    h.write(&anyone(), delete("/app/c", -1));
    assert_eq!(stats(&h.tree), "count=3,bytes=7");

    // Keys other than count and bytes survive, after an extra '='.
    h.write(
        &anyone(),
        set_data(STATS, b"count=1,bytes=5=;countHardLimit=10", -1),
    );
    put(&mut h, "/app/d", b"abc");
    assert_eq!(stats(&h.tree), "count=2,bytes=8=;countHardLimit=10");

    // A snapshot keeps the quota.
    let restored =
        DataTree::from_snapshot_bytes(&h.tree.to_snapshot_bytes(), h.tree.config().clone())
            .unwrap();
    h.tree = restored;
    put(&mut h, "/app/d/e", b"");
    assert_eq!(stats(&h.tree), "count=3,bytes=8=;countHardLimit=10");

    // Without its limits node the path has no quota any more.
    h.write(
        &anyone(),
        delete("/zookeeper/quota/app/zookeeper_limits", -1),
    );
    put(&mut h, "/app/e", b"abc");
    assert_eq!(stats(&h.tree), "count=3,bytes=8=;countHardLimit=10");
}

#[test]
fn the_deepest_quota_counts_and_malformed_stats_are_left_alone() {
    let mut h = Harness::new();
    for path in ["/a", "/a/b", "/zookeeper/quota/a", "/zookeeper/quota/a/b"] {
        put(&mut h, path, b"");
    }
    for quota in ["/zookeeper/quota/a", "/zookeeper/quota/a/b"] {
        put(&mut h, &format!("{quota}/zookeeper_limits"), b"count=5");
        put(&mut h, &format!("{quota}/zookeeper_stats"), b"");
    }
    let read = |h: &Harness, path: &str| {
        let data = h
            .tree
            .get_data(path, &anyone())
            .unwrap()
            .0
            .unwrap()
            .to_vec();
        String::from_utf8(data).unwrap()
    };
    assert_eq!(
        read(&h, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=0"
    );
    assert_eq!(
        read(&h, "/zookeeper/quota/a/b/zookeeper_stats"),
        "count=1,bytes=0"
    );
    put(&mut h, "/a/b/c", b"xyz");
    assert_eq!(
        read(&h, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=0"
    );
    assert_eq!(
        read(&h, "/zookeeper/quota/a/b/zookeeper_stats"),
        "count=2,bytes=3"
    );
    h.write(
        &anyone(),
        set_data("/zookeeper/quota/a/b/zookeeper_stats", b"count=", -1),
    );
    put(&mut h, "/a/b/d", b"");
    assert_eq!(read(&h, "/zookeeper/quota/a/b/zookeeper_stats"), "count=");
}
