//! Pipelining: requests prepared before the earlier ones are applied see their changes.

use crate::support::*;
use zk_proto::{Acl, CreateMode, ErrorCode};
use zk_tree::{TxnBody, TxnResult, WriteRequest};

#[test]
fn a_child_can_be_created_under_a_pending_parent() {
    let mut h = Harness::new();
    let parent = h.prepare(&anyone(), &create("/a", CreateMode::Persistent));
    let child = h.prepare(&anyone(), &create("/a/b", CreateMode::Persistent));
    assert!(
        matches!(child.body, TxnBody::Create { .. }),
        "{:?}",
        child.body
    );
    assert_eq!(h.pending.len(), 4);
    assert!(code(&h.apply(&parent).result).is_ok());
    assert!(code(&h.apply(&child).result).is_ok());
    assert!(h.pending.is_empty());
    assert_eq!(h.children("/a"), ["b"]);
}

#[test]
fn pipelined_sequential_creates_get_consecutive_numbers() {
    let mut h = Harness::new();
    h.create_persistent("/q");
    let txns: Vec<_> = (0..3)
        .map(|_| {
            h.prepare(
                &anyone(),
                &create("/q/item-", CreateMode::PersistentSequential),
            )
        })
        .collect();
    let paths: Vec<_> = txns
        .iter()
        .map(|txn| created_path(h.apply(txn).result).unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/q/item-0000000000",
            "/q/item-0000000001",
            "/q/item-0000000002"
        ]
    );
}

#[test]
fn pending_deletes_and_versions_are_seen() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let del = h.prepare(&anyone(), &delete("/a", -1));
    // The node is gone for the next prepare: a second delete fails, a create succeeds.
    assert_eq!(
        h.prepare(&anyone(), &delete("/a", -1)).body,
        TxnBody::Error(ErrorCode::NoNode)
    );
    let recreate = h.prepare(&anyone(), &create("/a", CreateMode::Persistent));
    let v1 = h.prepare(&anyone(), &set_data("/a", b"1", 0));
    let v2 = h.prepare(&anyone(), &set_data("/a", b"2", 1));
    assert_eq!(
        h.prepare(&anyone(), &set_data("/a", b"3", 1)).body,
        TxnBody::Error(ErrorCode::BadVersion)
    );
    for txn in [&del, &recreate, &v1, &v2] {
        assert!(code(&h.apply(txn).result).is_ok(), "{txn:?}");
    }
    assert_eq!(h.stat("/a").version, 2);
}

#[test]
fn a_failed_request_leaves_no_pending_change() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let failing = h.prepare(&anyone(), &create("/a", CreateMode::Persistent));
    assert_eq!(failing.body, TxnBody::Error(ErrorCode::NodeExists));
    assert!(h.pending.is_empty());
    let failed_multi = h.prepare(
        &anyone(),
        &WriteRequest::Multi(vec![
            create("/m", CreateMode::Persistent),
            delete("/none", -1),
        ]),
    );
    assert!(matches!(failed_multi.body, TxnBody::Multi(_)));
    assert!(h.pending.is_empty());
    assert_eq!(
        h.prepare(&anyone(), &create("/m/child", CreateMode::Persistent))
            .body,
        TxnBody::Error(ErrorCode::NoNode)
    );
}

#[test]
fn applied_changes_are_trimmed_by_zxid() {
    let mut h = Harness::new();
    let first = h.prepare(&anyone(), &create("/a", CreateMode::Persistent));
    let second = h.prepare(&anyone(), &create("/b", CreateMode::Persistent));
    h.apply(&first);
    // The root's record from `second` is newer: it stays, and so does /b's.
    assert_eq!(h.pending.len(), 2);
    h.apply(&second);
    assert!(h.pending.is_empty());
}

#[test]
fn a_pending_set_acl_still_checks_the_old_acl() {
    // Apache's ChangeRecord for setACL keeps the old ACL; the new one counts once applied.
    let mut h = Harness::new();
    h.create_persistent("/a");
    let lock = h.prepare(&anyone(), &set_acl("/a", Acl::read_unsafe(), -1));
    let write = h.prepare(&anyone(), &set_data("/a", b"x", -1));
    assert!(matches!(write.body, TxnBody::SetData { .. }));
    h.apply(&lock);
    h.apply(&write);
    assert_eq!(
        h.write(&anyone(), set_data("/a", b"y", -1)).result,
        TxnResult::Error(ErrorCode::NoAuth)
    );
}

#[test]
fn close_session_sees_pending_ephemerals() {
    let mut h = Harness::new();
    let owner = session(4, &[]);
    let create_e = h.prepare(&owner, &create("/e", CreateMode::Ephemeral));
    let close = h.prepare(&owner, &WriteRequest::CloseSession);
    let TxnBody::CloseSession { ephemerals } = &close.body else {
        panic!("{:?}", close.body)
    };
    assert_eq!(
        ephemerals.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["/e"]
    );
    h.apply(&create_e);
    h.apply(&close);
    assert_eq!(h.tree.exists("/e"), Ok(None));
}

#[test]
fn close_session_skips_ephemerals_with_a_pending_delete() {
    let mut h = Harness::new();
    let owner = session(4, &[]);
    h.create(&owner, "/e1", CreateMode::Ephemeral).unwrap();
    h.create(&owner, "/e2", CreateMode::Ephemeral).unwrap();
    let del = h.prepare(&anyone(), &delete("/e1", -1));
    let close = h.prepare(&owner, &WriteRequest::CloseSession);
    let TxnBody::CloseSession { ephemerals } = &close.body else {
        panic!()
    };
    assert_eq!(
        ephemerals.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["/e2"]
    );
    h.apply(&del);
    let outcome = h.apply(&close);
    assert_eq!(outcome.triggers.len(), 2);
    assert!(h.tree.get_ephemerals(owner.session_id, "").is_empty());
}
