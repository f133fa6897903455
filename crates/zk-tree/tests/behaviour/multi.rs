//! multi: all or nothing, per-op results, one zxid for all ops.

use crate::support::*;
use zk_proto::{Acl, CreateMode, ErrorCode, EventType};
use zk_tree::{TxnBody, TxnResult, WatchTrigger, WriteRequest};

#[test]
fn a_successful_multi_applies_every_op_with_one_zxid() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let zxid = h.next_zxid();
    let outcome = h.write(
        &anyone(),
        WriteRequest::Multi(vec![
            create("/a/x", CreateMode::Persistent),
            create("/a/x/y", CreateMode::Persistent),
            set_data("/a/x", b"v", 0),
            check("/a/x", 1),
            delete("/a/x/y", 0),
            create("/a/s-", CreateMode::PersistentSequential),
        ]),
    );
    let TxnResult::Multi(results) = &outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(results.len(), 6);
    assert!(
        matches!(&results[0], TxnResult::Created { path, stat } if path == "/a/x" && stat.czxid == zxid.0)
    );
    let TxnResult::DataSet { stat } = &results[2] else {
        panic!()
    };
    assert_eq!((stat.version, stat.mzxid, stat.czxid), (1, zxid.0, zxid.0));
    assert_eq!(results[3], TxnResult::Checked);
    assert_eq!(results[4], TxnResult::Deleted);
    // The sequential number counts the two creates before it under /a.
    assert!(matches!(&results[5], TxnResult::Created { path, .. } if path == "/a/s-0000000001"));
    assert_eq!(outcome.result.error(), None);
    assert_eq!(
        outcome.triggers,
        [
            WatchTrigger::new(EventType::NodeCreated, "/a/x"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/a"),
            WatchTrigger::new(EventType::NodeCreated, "/a/x/y"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/a/x"),
            WatchTrigger::new(EventType::NodeDataChanged, "/a/x"),
            WatchTrigger::new(EventType::NodeDeleted, "/a/x/y"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/a/x"),
            WatchTrigger::new(EventType::NodeCreated, "/a/s-0000000001"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/a"),
        ]
    );
    let a = h.stat("/a");
    assert_eq!((a.pzxid, a.num_children, a.cversion), (zxid.0, 2, 2));
    let x = h.stat("/a/x");
    assert_eq!((x.pzxid, x.cversion, x.num_children), (zxid.0, 2, 0));
}

#[test]
fn a_failed_multi_changes_nothing_and_reports_each_op() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let digest = h.tree.digest();
    let zxid = h.next_zxid();
    let outcome = h.write(
        &anyone(),
        WriteRequest::Multi(vec![
            create("/m1", CreateMode::Persistent),
            set_data("/a", b"x", -1),
            create("/nope/x", CreateMode::Persistent),
            create("/m3", CreateMode::Persistent),
            delete("/a", -1),
        ]),
    );
    assert_eq!(
        outcome.result,
        TxnResult::Multi(vec![
            TxnResult::RolledBack,
            TxnResult::RolledBack,
            TxnResult::Error(ErrorCode::NoNode),
            TxnResult::Error(ErrorCode::RuntimeInconsistency),
            TxnResult::Error(ErrorCode::RuntimeInconsistency),
        ])
    );
    assert_eq!(outcome.result.error(), Some(ErrorCode::NoNode));
    assert!(outcome.triggers.is_empty());
    assert_eq!(h.tree.digest(), digest);
    assert_eq!(h.tree.exists("/m1"), Ok(None));
    assert_eq!(h.tree.last_applied_zxid(), zxid);
}

#[test]
fn the_failed_multis_txn_is_a_list_of_errors() {
    let mut h = Harness::new();
    let txn = h.prepare(
        &anyone(),
        &WriteRequest::Multi(vec![
            create("/a", CreateMode::Persistent),
            check("/a", 3),
            delete("/a", -1),
        ]),
    );
    assert_eq!(
        txn.body,
        TxnBody::Multi(vec![
            TxnBody::RolledBack,
            TxnBody::Error(ErrorCode::BadVersion),
            TxnBody::Error(ErrorCode::RuntimeInconsistency),
        ])
    );
}

#[test]
fn ops_not_allowed_in_a_multi_fail_the_whole_request() {
    let mut h = Harness::new();
    for op in [
        set_acl("/a", Acl::open_unsafe(), -1),
        WriteRequest::CloseSession,
        WriteRequest::DeleteContainer { path: "/a".into() },
        WriteRequest::Multi(vec![]),
    ] {
        let txn = h.prepare(
            &anyone(),
            &WriteRequest::Multi(vec![create("/a", CreateMode::Persistent), op]),
        );
        assert_eq!(txn.body, TxnBody::Error(ErrorCode::MarshallingError));
    }
    assert!(h.pending.is_empty());
}

#[test]
fn an_empty_multi_succeeds() {
    let mut h = Harness::new();
    assert_eq!(
        h.write(&anyone(), WriteRequest::Multi(vec![])).result,
        TxnResult::Multi(vec![])
    );
}

#[test]
fn apply_turns_a_mixed_multi_into_errors_as_apache_does() {
    // A multi whose list holds real ops and an error (as Apache logs them) applies nothing.
    let mut h = Harness::new();
    let real = h.prepare(&anyone(), &create("/a", CreateMode::Persistent));
    h.pending.clear();
    let outcome = h.apply_raw(
        real.session_id,
        TxnBody::Multi(vec![
            real.body.clone(),
            TxnBody::Error(ErrorCode::NoNode),
            real.body,
        ]),
    );
    assert_eq!(
        outcome.result,
        TxnResult::Multi(vec![
            TxnResult::RolledBack,
            TxnResult::Error(ErrorCode::NoNode),
            TxnResult::Error(ErrorCode::RuntimeInconsistency),
        ])
    );
    assert_eq!(h.tree.exists("/a"), Ok(None));
}
