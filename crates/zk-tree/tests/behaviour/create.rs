//! create: paths, stats, sequential names, znode kinds.

use crate::support::*;
use zk_proto::{Acl, CreateMode, ErrorCode, EventType, SessionId};
use zk_tree::{TxnBody, TxnResult, WatchTrigger, ZnodePath, TTL_MAX_MS};

#[test]
fn create_sets_the_stat_and_moves_the_parent() {
    let mut h = Harness::new();
    let zxid = h.next_zxid();
    let outcome = h.write(&anyone(), create("/a", CreateMode::Persistent));
    let TxnResult::Created { path, stat } = outcome.result else {
        panic!("{:?}", outcome.result)
    };
    assert_eq!(path, "/a");
    assert_eq!(
        (stat.czxid, stat.mzxid, stat.pzxid),
        (zxid.0, zxid.0, zxid.0)
    );
    assert_eq!((stat.ctime, stat.mtime), (START_MS + 10, START_MS + 10));
    assert_eq!((stat.version, stat.cversion, stat.aversion), (0, 0, 0));
    assert_eq!(
        (stat.ephemeral_owner, stat.data_length, stat.num_children),
        (0, 1, 0)
    );
    assert_eq!(
        outcome.triggers,
        [
            WatchTrigger::new(EventType::NodeCreated, "/a"),
            WatchTrigger::new(EventType::NodeChildrenChanged, "/"),
        ]
    );
    let root = h.stat("/");
    assert_eq!(root.pzxid, zxid.0);
    assert_eq!(root.num_children, 2);
    // One creation, two children (zookeeper was added without a creation): 2*1 - 2.
    assert_eq!(root.cversion, 0);
    assert_eq!(h.tree.last_applied_zxid(), zxid);

    let outcome = h.write(&anyone(), create("/a/b", CreateMode::Persistent));
    assert_eq!(
        outcome.triggers[1],
        WatchTrigger::new(EventType::NodeChildrenChanged, "/a")
    );
    let a = h.stat("/a");
    assert_eq!((a.cversion, a.num_children, a.pzxid), (1, 1, zxid.0 + 1));
    // The parent's data stat does not move.
    assert_eq!((a.mzxid, a.version), (zxid.0, 0));
}

#[test]
fn create_errors_follow_apaches_order() {
    let mut h = Harness::new();
    h.create_persistent("/a");
    let cases = [
        ("/a", ErrorCode::NodeExists),
        ("/", ErrorCode::NodeExists),
        ("/missing/b", ErrorCode::NoNode),
        ("a", ErrorCode::BadArguments),
        ("", ErrorCode::BadArguments),
        ("/a\0b", ErrorCode::BadArguments),
        // The parent is looked up before the path is validated.
        ("/missing/", ErrorCode::NoNode),
        ("/a/", ErrorCode::BadArguments),
        ("//a", ErrorCode::BadArguments),
        ("/a/.", ErrorCode::BadArguments),
        ("/a/..", ErrorCode::BadArguments),
        ("/a\u{1}", ErrorCode::BadArguments),
        ("/😀", ErrorCode::BadArguments),
    ];
    for (path, expected) in cases {
        let result = h
            .write(&anyone(), create(path, CreateMode::Persistent))
            .result;
        assert_eq!(result, TxnResult::Error(expected), "create {path:?}");
    }
}

#[test]
fn a_failed_create_is_an_error_txn_that_consumes_its_zxid() {
    let mut h = Harness::new();
    let zxid = h.next_zxid();
    let txn = h.prepare(&anyone(), &create("/missing/b", CreateMode::Persistent));
    assert_eq!(txn.body, TxnBody::Error(ErrorCode::NoNode));
    assert_eq!(txn.zxid, zxid);
    let outcome = h.apply(&txn);
    assert_eq!(outcome.result, TxnResult::Error(ErrorCode::NoNode));
    assert!(outcome.triggers.is_empty());
    assert_eq!(h.tree.last_applied_zxid(), zxid);
}

#[test]
fn sequential_names_come_from_the_parents_creation_count() {
    let mut h = Harness::new();
    h.create_persistent("/s");
    let seq =
        |h: &mut Harness, path: &str| h.create(&anyone(), path, CreateMode::PersistentSequential);
    assert_eq!(seq(&mut h, "/s/a-"), Ok("/s/a-0000000000".into()));
    assert_eq!(seq(&mut h, "/s/a-"), Ok("/s/a-0000000001".into()));
    // A delete does not reuse a number: the suffix counts creations.
    assert!(code(&h.write(&anyone(), delete("/s/a-0000000001", -1)).result).is_ok());
    assert_eq!(seq(&mut h, "/s/b"), Ok("/s/b0000000002".into()));
    // A trailing slash is fine: the suffix becomes the whole name.
    assert_eq!(seq(&mut h, "/s/"), Ok("/s/0000000003".into()));
    assert_eq!(
        h.create(&anyone(), "/s/e", CreateMode::EphemeralSequential),
        Ok("/s/e0000000004".into())
    );
    // Client cversion: 5 creations + 1 delete = 6 changes.
    assert_eq!(h.stat("/s").cversion, 6);
    // A sequential create of an existing name fails.
    h.create_persistent("/s/c0000000006");
    assert_eq!(seq(&mut h, "/s/c"), Err(ErrorCode::NodeExists));
}

#[test]
fn sequential_suffix_after_cversion_overflow_matches_java() {
    let mut h = Harness::new();
    h.create_persistent("/p");
    // Reach cversion = i32::MAX with one hand-made create.
    let body = TxnBody::Create {
        path: ZnodePath::parse("/p/x").unwrap(),
        data: None,
        acl: Acl::open_unsafe(),
        ephemeral: false,
        parent_cversion: i32::MAX,
    };
    assert!(code(&h.apply_raw(SessionId(1), body).result).is_ok());
    let seq = create("/p/n", CreateMode::PersistentSequential);
    // Two pipelined creates: the second sees the wrapped count of the first.
    let first = h.prepare(&anyone(), &seq);
    let second = h.prepare(&anyone(), &seq);
    assert_eq!(
        created_path(h.apply(&first).result),
        Ok("/p/n2147483647".into())
    );
    assert_eq!(
        created_path(h.apply(&second).result),
        Ok("/p/n-2147483648".into())
    );
    // Applying a lower parent cversion does not lower the stored one (Apache keeps
    // MAX), so the next name is MAX again, which exists now.
    assert_eq!(
        h.create(&anyone(), "/p/n", CreateMode::PersistentSequential),
        Err(ErrorCode::NodeExists)
    );
}

#[test]
fn data_may_be_null_or_empty() {
    let mut h = Harness::new();
    h.write(
        &anyone(),
        create_with("/null", None, Acl::open_unsafe(), CreateMode::Persistent),
    );
    h.write(
        &anyone(),
        create_with(
            "/empty",
            Some(vec![]),
            Acl::open_unsafe(),
            CreateMode::Persistent,
        ),
    );
    let (data, stat) = h.tree.get_data("/null", &anyone()).unwrap();
    assert_eq!((data, stat.data_length), (None, 0));
    let (data, _) = h.tree.get_data("/empty", &anyone()).unwrap();
    assert_eq!(data, Some(&b""[..]));
}

#[test]
fn ephemerals_belong_to_their_session_and_have_no_children() {
    let mut h = Harness::new();
    let owner = session(7, &[]);
    assert_eq!(
        h.create(&owner, "/e", CreateMode::Ephemeral),
        Ok("/e".into())
    );
    assert_eq!(h.stat("/e").ephemeral_owner, 7);
    assert_eq!(
        h.create(&owner, "/e/child", CreateMode::Persistent),
        Err(ErrorCode::NoChildrenForEphemerals)
    );
    assert_eq!(
        h.create(&owner, "/e/child", CreateMode::EphemeralSequential),
        Err(ErrorCode::NoChildrenForEphemerals)
    );
    assert_eq!(h.tree.get_ephemerals(SessionId(7), "/"), ["/e"]);
    assert!(h.tree.get_ephemerals(SessionId(8), "/").is_empty());
}

#[test]
fn containers_and_ttl_nodes_show_owner_zero_and_may_have_children() {
    let mut h = Harness::extended();
    let outcome = h.write(&anyone(), create("/c", CreateMode::Container));
    let TxnResult::Created { stat, .. } = outcome.result else {
        panic!()
    };
    assert_eq!(stat.ephemeral_owner, 0);
    h.create_persistent("/c/child");
    assert!(code(
        &h.write(
            &anyone(),
            create_ttl("/t", CreateMode::PersistentWithTtl, 1000)
        )
        .result
    )
    .is_ok());
    assert_eq!(h.stat("/t").ephemeral_owner, 0);
    h.create_persistent("/t/child");
    assert_eq!(
        created_path(
            h.write(
                &anyone(),
                create_ttl("/t/s", CreateMode::PersistentSequentialWithTtl, 5)
            )
            .result
        ),
        Ok("/t/s0000000001".into())
    );
}

#[test]
fn container_and_ttl_creates_log_their_own_txn_kinds() {
    let mut h = Harness::extended();
    let txn = h.prepare(&anyone(), &create("/c", CreateMode::Container));
    assert!(matches!(
        txn.body,
        TxnBody::CreateContainer {
            parent_cversion: 1,
            ..
        }
    ));
    h.apply(&txn);
    let txn = h.prepare(
        &anyone(),
        &create_ttl("/t", CreateMode::PersistentWithTtl, 500),
    );
    assert!(matches!(
        txn.body,
        TxnBody::CreateTtl {
            ttl_ms: 500,
            parent_cversion: 2,
            ..
        }
    ));
    let txn = h.prepare(
        &session(3, &[]),
        &create("/e", CreateMode::EphemeralSequential),
    );
    assert!(matches!(
        txn.body,
        TxnBody::Create {
            ephemeral: true,
            ..
        }
    ));
}

#[test]
fn ttl_needs_extended_types_and_a_ttl_in_range() {
    let mut disabled = Harness::new();
    // Unimplemented comes first, even before the path is checked.
    for path in ["/t", "bad"] {
        let result = disabled
            .write(
                &anyone(),
                create_ttl(path, CreateMode::PersistentWithTtl, 1000),
            )
            .result;
        assert_eq!(result, TxnResult::Error(ErrorCode::Unimplemented));
    }
    let mut h = Harness::extended();
    for ttl in [0, -1, TTL_MAX_MS + 1] {
        let result = h
            .write(
                &anyone(),
                create_ttl("/t", CreateMode::PersistentWithTtl, ttl),
            )
            .result;
        assert_eq!(
            result,
            TxnResult::Error(ErrorCode::BadArguments),
            "ttl {ttl}"
        );
    }
    // A TTL mode without a TTL (create opcode, Apache's -1) is out of range too.
    let result = h
        .write(&anyone(), create("/t", CreateMode::PersistentWithTtl))
        .result;
    assert_eq!(result, TxnResult::Error(ErrorCode::BadArguments));
    // A TTL with a mode that has none is refused.
    let result = h
        .write(&anyone(), create_ttl("/t", CreateMode::Persistent, 10))
        .result;
    assert_eq!(result, TxnResult::Error(ErrorCode::BadArguments));
    let result = h
        .write(
            &anyone(),
            create_ttl("/t", CreateMode::PersistentWithTtl, TTL_MAX_MS),
        )
        .result;
    assert!(code(&result).is_ok());
}

#[test]
fn invalid_acls_are_refused() {
    let mut h = Harness::new();
    for bad in [
        vec![],
        vec![acl(zk_proto::Perms::ALL, "world", "somebody")],
        vec![acl(zk_proto::Perms::ALL, "auth", "")],
        vec![acl(zk_proto::Perms::ALL, "digest", "nohash")],
        vec![acl(zk_proto::Perms::ALL, "ip", "1.2.3.4/40")],
        vec![acl(zk_proto::Perms::ALL, "unknown", "x")],
    ] {
        let result = h
            .write(
                &anyone(),
                create_with("/x", None, bad.clone(), CreateMode::Persistent),
            )
            .result;
        assert_eq!(result, TxnResult::Error(ErrorCode::InvalidAcl), "{bad:?}");
    }
    // InvalidAcl is checked before the parent exists.
    let result = h
        .write(
            &anyone(),
            create_with("/missing/x", None, vec![], CreateMode::Persistent),
        )
        .result;
    assert_eq!(result, TxnResult::Error(ErrorCode::InvalidAcl));
}
