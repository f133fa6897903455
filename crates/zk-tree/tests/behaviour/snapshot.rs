//! Snapshots and replica determinism.

use crate::support::*;
use zk_proto::{Acl, CreateMode, Perms, SessionId};
use zk_tree::{DataTree, TreeConfig, TreeError, Txn, WriteRequest};

/// A tree with every kind of content: sessions, ephemerals, containers, TTL nodes, ACLs,
/// null and empty data, sequential nodes, deletes.
fn busy() -> (Harness, Vec<Txn>) {
    let mut h = Harness::extended();
    let mut txns = Vec::new();
    let owner = session(7, &["bob:pw"]);
    let requests = vec![
        (
            owner.clone(),
            WriteRequest::CreateSession { timeout_ms: 6_000 },
        ),
        (anyone(), create("/app", CreateMode::Persistent)),
        (
            owner.clone(),
            create("/app/e", CreateMode::EphemeralSequential),
        ),
        (anyone(), create("/app/c", CreateMode::Container)),
        (
            anyone(),
            create_ttl("/app/t", CreateMode::PersistentWithTtl, 99),
        ),
        (
            anyone(),
            create_with(
                "/app/null",
                None,
                Acl::read_unsafe(),
                CreateMode::Persistent,
            ),
        ),
        (
            owner.clone(),
            create_with(
                "/app/bob",
                Some(vec![1; 300]),
                vec![acl(Perms::ALL, "auth", "")],
                CreateMode::Persistent,
            ),
        ),
        (anyone(), create("/app/gone", CreateMode::Persistent)),
        (anyone(), delete("/app/gone", -1)),
        (anyone(), set_data("/app", b"v2", -1)),
        (anyone(), create("/app/c/x", CreateMode::Persistent)),
    ];
    for (auth, request) in requests {
        let txn = h.prepare(&auth, &request);
        h.apply(&txn);
        txns.push(txn);
    }
    (h, txns)
}

#[test]
fn a_snapshot_restores_the_same_tree() {
    let (h, _) = busy();
    let bytes = h.tree.to_snapshot_bytes();
    let config = h.tree.config().clone();
    let restored = DataTree::from_snapshot_bytes(&bytes, config).unwrap();
    restored.check_invariants();
    assert_eq!(restored.digest(), h.tree.digest());
    assert_eq!(restored.to_snapshot_bytes(), bytes);
    assert_eq!(restored.last_applied_zxid(), h.tree.last_applied_zxid());
    assert_eq!(
        restored.sessions().collect::<Vec<_>>(),
        [(SessionId(7), 6_000)]
    );
    assert_eq!(
        restored.get_ephemerals(SessionId(7), "/"),
        ["/app/e0000000000"]
    );
    assert_eq!(
        restored.reap_candidates(i64::MAX / 2),
        h.tree.reap_candidates(i64::MAX / 2)
    );
    for path in [
        "/",
        "/app",
        "/app/null",
        "/app/bob",
        "/app/c/x",
        "/zookeeper/config",
    ] {
        let auth = super_user();
        assert_eq!(
            restored.get_data(path, &auth),
            h.tree.get_data(path, &auth),
            "{path}"
        );
        assert_eq!(
            restored.get_acl(path, &auth),
            h.tree.get_acl(path, &auth),
            "{path}"
        );
        assert_eq!(
            restored.get_children(path, &auth),
            h.tree.get_children(path, &auth),
            "{path}"
        );
    }
    assert_eq!(restored.acl_list_count(), h.tree.acl_list_count());
}

#[test]
fn replicas_fed_the_same_txns_agree() {
    let (leader, txns) = busy();
    let mut follower = DataTree::new(leader.tree.config().clone());
    for txn in &txns {
        follower.apply(txn);
    }
    assert_eq!(follower.digest(), leader.tree.digest());
    assert_eq!(
        follower.to_snapshot_bytes(),
        leader.tree.to_snapshot_bytes()
    );
}

#[test]
fn a_restored_tree_keeps_going_like_the_original() {
    let (mut h, _) = busy();
    let mut restored =
        DataTree::from_snapshot_bytes(&h.tree.to_snapshot_bytes(), h.tree.config().clone())
            .unwrap();
    let more = vec![
        (session(7, &[]), WriteRequest::CloseSession),
        (anyone(), create("/app/s", CreateMode::PersistentSequential)),
        (anyone(), delete("/app/c/x", -1)),
    ];
    for (auth, request) in more {
        let txn = h.prepare(&auth, &request);
        let original = h.apply(&txn);
        let copy = restored.apply(&txn);
        assert_eq!(original, copy);
    }
    assert_eq!(restored.to_snapshot_bytes(), h.tree.to_snapshot_bytes());
}

#[test]
fn the_digest_tracks_content_not_history() {
    let mut a = Harness::new();
    let mut b = Harness::new();
    // Same final content reached through different histories and memory layouts.
    a.create_persistent("/x");
    a.create_persistent("/y");
    b.create_persistent("/y");
    b.create_persistent("/x");
    assert_ne!(
        a.tree.digest(),
        b.tree.digest(),
        "czxids differ, so digests do"
    );
    let empty = DataTree::new(TreeConfig::default());
    let mut c = Harness::new();
    c.create_persistent("/z");
    c.write(&anyone(), delete("/z", -1));
    // Only the root's pzxid and cversion remember /z.
    assert_ne!(c.tree.digest(), empty.digest());
}

#[test]
fn a_tampered_snapshot_is_refused() {
    let (h, _) = busy();
    let mut bytes = h.tree.to_snapshot_bytes();
    let position = bytes
        .windows(2)
        .position(|w| w == b"v2")
        .expect("the data of /app");
    bytes[position] = b'w';
    assert!(matches!(
        DataTree::from_snapshot_bytes(&bytes, h.tree.config().clone()),
        Err(TreeError::DigestMismatch { .. })
    ));
}
