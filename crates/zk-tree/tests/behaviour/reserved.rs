//! The /zookeeper subtree: present from the start, protected as Apache protects it.

use crate::support::*;
use zk_proto::{Acl, CreateMode, ErrorCode};
use zk_tree::TxnResult;

#[test]
fn the_zookeeper_subtree_is_there_from_the_start() {
    let h = Harness::new();
    assert_eq!(h.children("/"), ["zookeeper"]);
    assert_eq!(h.children("/zookeeper"), ["config", "quota"]);
    assert_eq!(
        h.tree.get_acl("/zookeeper/config", &anyone()).unwrap().0,
        Acl::read_unsafe()
    );
    assert_eq!(
        h.tree.get_acl("/zookeeper", &anyone()).unwrap().0,
        Acl::open_unsafe()
    );
    let (data, stat) = h.tree.get_data("/zookeeper/quota", &anyone()).unwrap();
    assert_eq!(data, Some(&b""[..]));
    assert_eq!(stat, zk_proto::Stat::default());
    assert_eq!(h.stat("/zookeeper/config").aversion, -1);
    assert_eq!(h.tree.get_all_children_number("/", &anyone()), Ok(3));
    assert_eq!(
        h.tree.get_all_children_number("/zookeeper", &anyone()),
        Ok(2)
    );
    assert_eq!(h.tree.node_count(), 4);
}

#[test]
fn the_servers_znodes_cannot_be_deleted() {
    let mut h = Harness::new();
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        for auth in [anyone(), super_user()] {
            assert_eq!(
                h.write(&auth, delete(path, -1)).result,
                TxnResult::Error(ErrorCode::BadArguments),
                "{path}"
            );
        }
    }
}

#[test]
fn other_writes_under_zookeeper_follow_the_acls() {
    let mut h = Harness::new();
    // Observed on Apache 3.8.0: /zookeeper and /zookeeper/quota are open to all.
    assert_eq!(
        h.create(&anyone(), "/zookeeper/foo", CreateMode::Persistent),
        Ok("/zookeeper/foo".into())
    );
    assert_eq!(
        h.create(&anyone(), "/zookeeper/quota/foo", CreateMode::Persistent),
        Ok("/zookeeper/quota/foo".into())
    );
    assert!(code(&h.write(&anyone(), set_data("/zookeeper", b"x", -1)).result).is_ok());
    assert!(code(&h.write(&anyone(), delete("/zookeeper/foo", -1)).result).is_ok());
    // /zookeeper/config is world-readable only.
    assert_eq!(
        h.create(&anyone(), "/zookeeper/config/foo", CreateMode::Persistent),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        h.write(&anyone(), set_data("/zookeeper/config", b"x", -1))
            .result,
        TxnResult::Error(ErrorCode::NoAuth)
    );
    assert!(code(
        &h.write(&super_user(), set_data("/zookeeper/config", b"x", -1))
            .result
    )
    .is_ok());
}

#[test]
fn reads_look_paths_up_as_given() {
    let h = Harness::new();
    // "" is the root in Apache's node map.
    assert_eq!(h.tree.get_children("", &anyone()).unwrap().0, ["zookeeper"]);
    assert_eq!(h.tree.get_all_children_number("", &anyone()), Ok(4));
    assert_eq!(
        h.tree.get_data("/zookeeper/", &anyone()).map(|_| ()),
        Err(ErrorCode::NoNode)
    );
    assert_eq!(h.tree.exists("/zookeeper/"), Ok(None));
    assert_eq!(h.tree.exists("/zoo\0keeper"), Err(ErrorCode::BadArguments));
    assert_eq!(
        h.tree.get_data("zookeeper", &anyone()).map(|_| ()),
        Err(ErrorCode::NoNode)
    );
}
