//! Sessions in the tree: the table of timeouts and the ephemerals closed with them.

use crate::support::*;
use zk_proto::{CreateMode, EventType, SessionId};
use zk_tree::{TxnResult, WatchTrigger, WriteRequest};

#[test]
fn sessions_are_recorded_and_forgotten() {
    let mut h = Harness::new();
    let s7 = session(7, &[]);
    let s3 = session(3, &[]);
    assert_eq!(
        h.write(&s7, WriteRequest::CreateSession { timeout_ms: 30_000 })
            .result,
        TxnResult::SessionCreated
    );
    h.write(&s3, WriteRequest::CreateSession { timeout_ms: 4_000 });
    assert_eq!(
        h.tree.sessions().collect::<Vec<_>>(),
        [(SessionId(3), 4_000), (SessionId(7), 30_000)]
    );
    assert_eq!(
        h.write(&s7, WriteRequest::CloseSession).result,
        TxnResult::SessionClosed
    );
    assert_eq!(
        h.tree.sessions().collect::<Vec<_>>(),
        [(SessionId(3), 4_000)]
    );
}

#[test]
fn closing_a_session_deletes_all_its_ephemerals() {
    let mut h = Harness::new();
    let owner = session(7, &[]);
    let other = session(8, &[]);
    h.write(&owner, WriteRequest::CreateSession { timeout_ms: 10_000 });
    h.create_persistent("/app");
    h.create(&owner, "/app/e2", CreateMode::Ephemeral).unwrap();
    h.create(&owner, "/app/e1", CreateMode::Ephemeral).unwrap();
    h.create(&owner, "/top", CreateMode::Ephemeral).unwrap();
    h.create(&other, "/app/theirs", CreateMode::Ephemeral)
        .unwrap();
    assert_eq!(
        h.tree.get_ephemerals(SessionId(7), ""),
        ["/app/e1", "/app/e2", "/top"]
    );
    assert_eq!(
        h.tree.get_ephemerals(SessionId(7), "/app"),
        ["/app/e1", "/app/e2"]
    );
    assert_eq!(
        h.tree.get_ephemerals(SessionId(7), " / "),
        ["/app/e1", "/app/e2", "/top"]
    );
    // A plain string prefix, not a path prefix.
    assert_eq!(h.tree.get_ephemerals(SessionId(7), "/to"), ["/top"]);

    let zxid = h.next_zxid();
    let outcome = h.write(&owner, WriteRequest::CloseSession);
    assert_eq!(
        outcome.triggers,
        [
            WatchTrigger::new(EventType::NodeDeleted, "/app/e1"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/app"),
            WatchTrigger::new(EventType::NodeDeleted, "/app/e2"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/app"),
            WatchTrigger::new(EventType::NodeDeleted, "/top"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/"),
        ]
    );
    assert!(h.tree.get_ephemerals(SessionId(7), "").is_empty());
    assert_eq!(h.children("/app"), ["theirs"]);
    assert_eq!(h.stat("/app").pzxid, zxid.0);
}

#[test]
fn closing_a_session_without_ephemerals_changes_no_znode() {
    let mut h = Harness::new();
    let digest = h.tree.digest();
    let outcome = h.write(&session(9, &[]), WriteRequest::CloseSession);
    assert_eq!(outcome.result, TxnResult::SessionClosed);
    assert!(outcome.triggers.is_empty());
    assert_eq!(h.tree.digest(), digest);
}
