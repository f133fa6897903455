//! delete, setData, setACL and check.

use crate::support::*;
use zk_proto::{Acl, ErrorCode, EventType, SessionId};
use zk_tree::{TxnBody, TxnResult, WatchTrigger, ZnodePath};

#[test]
fn delete_moves_the_parents_pzxid_and_child_changes() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    h.create_persistent("/a/b");
    let before = h.stat("/a");
    let zxid = h.next_zxid();
    let outcome = h.write(&anyone(), delete("/a/b", 0));
    assert_eq!(outcome.result, TxnResult::Deleted);
    assert_eq!(
        outcome.triggers,
        [
            WatchTrigger::new(EventType::NodeDeleted, "/a/b"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/a"),
        ]
    );
    let after = h.stat("/a");
    assert_eq!(after.pzxid, zxid.0);
    assert_eq!(after.cversion, before.cversion + 1);
    assert_eq!(after.num_children, 0);
    assert_eq!((after.mzxid, after.version), (before.mzxid, before.version));
    assert_eq!(h.tree.exists("/a/b"), Ok(None));
    // Top-level deletes name the root as "/".
    let outcome = h.write(&anyone(), delete("/a", -1));
    assert_eq!(
        outcome.triggers[1],
        WatchTrigger::new(EventType::NodeChildrenChanged, "/")
    );
}

#[test]
fn delete_errors_follow_apaches_order() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    h.create_persistent("/a/b");
    let cases = [
        (delete("/a", -1), ErrorCode::NotEmpty),
        (delete("/a/b", 5), ErrorCode::BadVersion),
        (delete("/a/c", -1), ErrorCode::NoNode),
        (delete("/x/c", -1), ErrorCode::NoNode),
        (delete("", -1), ErrorCode::BadArguments),
        (delete("a", -1), ErrorCode::BadArguments),
        (delete("/a\0", -1), ErrorCode::BadArguments),
        // Not validated as a path: the parent exists, the node does not.
        (delete("/a/", -1), ErrorCode::NoNode),
        // The version is checked before the children.
        (delete("/a", 3), ErrorCode::BadVersion),
    ];
    for (request, expected) in cases {
        let result = h.write(&anyone(), request.clone()).result;
        assert_eq!(result, TxnResult::Error(expected), "{request:?}");
    }
}

#[test]
fn set_data_bumps_version_and_mzxid() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let created = h.stat("/a");
    let zxid = h.next_zxid();
    let outcome = h.write(&anyone(), set_data("/a", b"new", 0));
    let TxnResult::DataSet { stat } = outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!((stat.version, stat.mzxid, stat.data_length), (1, zxid.0, 3));
    assert_eq!(stat.mtime, h.now_ms);
    assert_eq!(
        (stat.czxid, stat.ctime, stat.pzxid),
        (created.czxid, created.ctime, created.pzxid)
    );
    assert_eq!(
        outcome.triggers,
        [WatchTrigger::new(EventType::NodeDataChanged, "/a")]
    );
    assert_eq!(
        h.tree.get_data("/a", &anyone()).unwrap().0,
        Some(&b"new"[..])
    );

    let cases = [
        (set_data("/a", b"x", 0), ErrorCode::BadVersion),
        (set_data("/b", b"x", -1), ErrorCode::NoNode),
        (set_data("/a/", b"x", -1), ErrorCode::BadArguments),
        (set_data("a", b"x", -1), ErrorCode::BadArguments),
    ];
    for (request, expected) in cases {
        assert_eq!(
            h.write(&anyone(), request.clone()).result,
            TxnResult::Error(expected),
            "{request:?}"
        );
    }
    assert!(code(&h.write(&anyone(), set_data("/a", b"x", 1)).result).is_ok());
    let null = zk_tree::WriteRequest::SetData {
        path: "/a".into(),
        data: None,
        version: -1,
    };
    h.write(&anyone(), null);
    assert_eq!(h.tree.get_data("/a", &anyone()).unwrap().0, None);
}

#[test]
fn versions_wrap_like_java_ints() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let body = TxnBody::SetData {
        path: ZnodePath::parse("/a").unwrap(),
        data: None,
        version: i32::MAX,
    };
    h.apply_raw(SessionId(1), body);
    let outcome = h.write(&anyone(), set_data("/a", b"x", i32::MAX));
    let TxnResult::DataSet { stat } = outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(stat.version, i32::MIN);
}

#[test]
fn set_acl_bumps_aversion_and_checks_in_order() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let outcome = h.write(&anyone(), set_acl("/a", Acl::read_unsafe(), 0));
    let TxnResult::AclSet { stat } = outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(stat.aversion, 1);
    assert!(outcome.triggers.is_empty());
    assert_eq!(
        h.tree.get_acl("/a", &anyone()).unwrap().0,
        Acl::read_unsafe()
    );
    let cases = [
        // The ACL is validated before the node is looked up.
        (set_acl("/missing", vec![], -1), ErrorCode::InvalidAcl),
        (
            set_acl("/missing", Acl::open_unsafe(), -1),
            ErrorCode::NoNode,
        ),
        (set_acl("bad", vec![], -1), ErrorCode::BadArguments),
        // /a is read-only now: no ADMIN.
        (set_acl("/a", Acl::open_unsafe(), 1), ErrorCode::NoAuth),
    ];
    for (request, expected) in cases {
        assert_eq!(
            h.write(&anyone(), request.clone()).result,
            TxnResult::Error(expected),
            "{request:?}"
        );
    }
    h.create_persistent("/b");
    assert_eq!(
        h.write(&anyone(), set_acl("/b", Acl::open_unsafe(), 4))
            .result,
        TxnResult::Error(ErrorCode::BadVersion)
    );
    // setACL does not touch the data version.
    assert_eq!(h.stat("/a").version, 0);
}

#[test]
fn check_compares_the_data_version() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let outcome = h.write(&anyone(), check("/a", 0));
    assert_eq!(outcome.result, TxnResult::Checked);
    assert!(outcome.triggers.is_empty());
    assert_eq!(
        h.write(&anyone(), check("/a", -1)).result,
        TxnResult::Checked
    );
    assert_eq!(
        h.write(&anyone(), check("/a", 1)).result,
        TxnResult::Error(ErrorCode::BadVersion)
    );
    assert_eq!(
        h.write(&anyone(), check("/b", 1)).result,
        TxnResult::Error(ErrorCode::NoNode)
    );
    assert_eq!(
        h.write(&anyone(), check("/a/", 1)).result,
        TxnResult::Error(ErrorCode::BadArguments)
    );
}
