//! Containers and TTL znodes: which are due, and deleteContainer's re-checks.

use crate::support::*;
use zk_proto::{CreateMode, ErrorCode, EventType};
use zk_tree::{TxnResult, WatchTrigger, WriteRequest};

fn delete_container(path: &str) -> WriteRequest {
    WriteRequest::DeleteContainer { path: path.into() }
}

#[test]
fn containers_are_due_once_they_had_a_child_and_have_none() {
    let mut h = Harness::new();
    h.create(&anyone(), "/c", CreateMode::Container).unwrap();
    h.create(&anyone(), "/unused", CreateMode::Container)
        .unwrap();
    assert!(h.tree.reap_candidates(h.now_ms).is_empty());
    h.create_persistent("/c/child");
    assert!(h.tree.reap_candidates(h.now_ms).is_empty());
    h.write(&anyone(), delete("/c/child", -1));
    assert_eq!(h.tree.reap_candidates(h.now_ms), ["/c"]);
    // Never-used containers go only with maxNeverUsedIntervalMs set.
    let later = h.now_ms + 1_000;
    assert_eq!(h.tree.reap_candidates_with(later, 500), ["/c", "/unused"]);

    let outcome = h.write(&anyone(), delete_container("/c"));
    assert_eq!(outcome.result, TxnResult::Deleted);
    assert_eq!(
        outcome.triggers,
        [
            WatchTrigger::new(EventType::NodeDeleted, "/c"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/"),
        ]
    );
    assert!(h.tree.reap_candidates(h.now_ms).is_empty());
}

#[test]
fn ttl_nodes_are_due_when_unmodified_and_childless_past_their_ttl() {
    let mut h = Harness::extended();
    h.write(
        &anyone(),
        create_ttl("/t", CreateMode::PersistentWithTtl, 1_000),
    );
    let created = h.now_ms;
    assert!(h.tree.reap_candidates(created + 1_000).is_empty());
    assert_eq!(h.tree.reap_candidates(created + 1_001), ["/t"]);
    // A data change restarts the clock.
    h.write(&anyone(), set_data("/t", b"x", -1));
    let modified = h.now_ms;
    assert!(h.tree.reap_candidates(created + 1_001).is_empty());
    assert_eq!(h.tree.reap_candidates(modified + 1_001), ["/t"]);
    // A child keeps it.
    h.create_persistent("/t/child");
    assert!(h.tree.reap_candidates(modified + 5_000).is_empty());
}

#[test]
fn delete_container_rechecks_at_prepare() {
    let mut h = Harness::new();
    h.create(&anyone(), "/c", CreateMode::Container).unwrap();
    h.create_persistent("/c/child");
    let owner = session(5, &[]);
    h.create(&owner, "/e", CreateMode::Ephemeral).unwrap();
    h.create_persistent("/p");
    let cases = [
        ("/c", Err(ErrorCode::NotEmpty)),
        ("/e", Err(ErrorCode::BadVersion)),
        ("/missing", Err(ErrorCode::NoNode)),
        ("/zookeeper", Err(ErrorCode::BadArguments)),
        ("x", Err(ErrorCode::BadArguments)),
        // Apache deletes any childless znode that is not a session's ephemeral.
        ("/p", Ok(())),
    ];
    for (path, expected) in cases {
        assert_eq!(
            code(&h.write(&anyone(), delete_container(path)).result),
            expected,
            "{path}"
        );
    }
}

#[test]
fn delete_container_needs_no_permission() {
    let mut h = Harness::new();
    h.write(
        &anyone(),
        create_with("/locked", None, only("bob:pw"), CreateMode::Persistent),
    );
    h.write(
        &session(2, &["bob:pw"]),
        create_with("/locked/c", None, only("bob:pw"), CreateMode::Container),
    );
    assert_eq!(
        code(&h.write(&anyone(), delete_container("/locked/c")).result),
        Ok(())
    );
}
