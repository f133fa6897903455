//! Which permission each operation needs, the auth schemes, superusers, getACL masking.

use crate::support::*;
use zk_proto::{Acl, CreateMode, ErrorCode, Perms};
use zk_tree::{digest_id, AuthContext, TreeConfig, WriteRequest};

/// /p grants `perms` to everyone and ALL to bob; /p/c is open.
fn guarded(perms: Perms) -> Harness {
    let mut h = Harness::new();
    let mut list = only("bob:pw");
    if perms.0 != 0 {
        list.push(acl(perms, "world", "anyone"));
    }
    h.write(
        &anyone(),
        create_with("/p", Some(b"secret".to_vec()), list, CreateMode::Persistent),
    );
    h.write(
        &session(2, &["bob:pw"]),
        create("/p/c", CreateMode::Persistent),
    );
    assert!(h.tree.exists("/p/c").unwrap().is_some());
    h
}

fn write_result(
    h: &mut Harness,
    auth: &AuthContext,
    request: WriteRequest,
) -> Result<(), ErrorCode> {
    code(&h.write(auth, request).result)
}

#[test]
fn each_write_checks_its_permission() {
    // (request, the permission it needs on /p)
    let cases: Vec<(WriteRequest, Perms)> = vec![
        (create("/p/new", CreateMode::Persistent), Perms::CREATE),
        (delete("/p/c", -1), Perms::DELETE),
        (set_data("/p", b"x", -1), Perms::WRITE),
        (set_acl("/p", only("bob:pw"), -1), Perms::ADMIN),
        (check("/p", -1), Perms::READ),
    ];
    for (request, needed) in cases {
        for granted in [
            Perms::READ,
            Perms::WRITE,
            Perms::CREATE,
            Perms::DELETE,
            Perms::ADMIN,
        ] {
            let mut h = guarded(granted);
            let expected = if granted == needed {
                Ok(())
            } else {
                Err(ErrorCode::NoAuth)
            };
            assert_eq!(
                write_result(&mut h, &anyone(), request.clone()),
                expected,
                "{request:?} with {granted:?}"
            );
            // bob may do everything.
            let mut h = guarded(granted);
            assert_eq!(
                write_result(&mut h, &session(2, &["bob:pw"]), request.clone()),
                Ok(()),
                "bob: {request:?}"
            );
        }
    }
}

#[test]
fn delete_needs_delete_on_the_parent_not_the_node() {
    let mut h = Harness::new();
    h.create_persistent("/open");
    h.write(
        &anyone(),
        create_with("/open/locked", None, only("bob:pw"), CreateMode::Persistent),
    );
    assert_eq!(
        write_result(&mut h, &anyone(), delete("/open/locked", -1)),
        Ok(())
    );
}

#[test]
fn each_read_checks_its_permission() {
    for granted in [Perms(0), Perms::READ, Perms::WRITE, Perms::ADMIN] {
        let h = guarded(granted);
        let me = anyone();
        let read_ok = if granted == Perms::READ {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        };
        assert_eq!(
            h.tree.get_data("/p", &me).map(|_| ()),
            read_ok,
            "getData with {granted:?}"
        );
        assert_eq!(
            h.tree.get_children("/p", &me).map(|_| ()),
            read_ok,
            "getChildren with {granted:?}"
        );
        assert_eq!(
            h.tree.get_all_children_number("/p", &me).map(|_| ()),
            read_ok
        );
        assert_eq!(h.tree.check_read("/p", &me), read_ok);
        let acl_ok = if granted == Perms::READ || granted == Perms::ADMIN {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        };
        assert_eq!(
            h.tree.get_acl("/p", &me).map(|_| ()),
            acl_ok,
            "getACL with {granted:?}"
        );
        // exists needs nothing.
        assert!(h.tree.exists("/p").unwrap().is_some());
    }
    // A missing node is NoNode, not NoAuth.
    let h = guarded(Perms(0));
    assert_eq!(
        h.tree.get_data("/p/none", &anyone()).map(|_| ()),
        Err(ErrorCode::NoNode)
    );
}

#[test]
fn get_acl_masks_digests_without_admin() {
    let h = guarded(Perms::READ);
    let (masked, _) = h.tree.get_acl("/p", &anyone()).unwrap();
    assert_eq!(masked[0].id.id, "bob:x");
    assert_eq!(masked[1], acl(Perms::READ, "world", "anyone"));
    let (full, _) = h.tree.get_acl("/p", &session(2, &["bob:pw"])).unwrap();
    assert_eq!(full[0].id.id, digest_id("bob:pw"));
    let h = guarded(Perms::ADMIN);
    let (full, _) = h.tree.get_acl("/p", &anyone()).unwrap();
    assert_eq!(full[0].id.id, digest_id("bob:pw"));
}

#[test]
fn superusers_pass_every_check() {
    let mut h = guarded(Perms(0));
    let by_id = super_user();
    assert!(h.tree.get_data("/p", &by_id).is_ok());
    assert_eq!(
        write_result(&mut h, &by_id, set_data("/p", b"x", -1)),
        Ok(())
    );

    let root = digest_id("root:secret");
    let mut h = Harness::with_config(TreeConfig {
        extended_types_enabled: false,
        super_digest: Some(root),
        ..TreeConfig::default()
    });
    h.write(
        &anyone(),
        create_with("/p", None, only("bob:pw"), CreateMode::Persistent),
    );
    let by_digest = session(5, &["root:secret"]);
    assert!(h.tree.get_data("/p", &by_digest).is_ok());
    assert_eq!(write_result(&mut h, &by_digest, delete("/p", -1)), Ok(()));
    assert_eq!(
        write_result(&mut h, &by_digest, set_data("/zookeeper/config", b"x", -1)),
        Ok(())
    );
    let impostor = session(6, &["root:wrong"]);
    assert_eq!(
        write_result(&mut h, &impostor, set_data("/zookeeper/config", b"x", -1)),
        Err(ErrorCode::NoAuth)
    );
}

#[test]
fn auth_acls_expand_to_the_creators_digest_ids() {
    let mut h = Harness::new();
    let alice = session(3, &["alice:pw", "carol:pw"]);
    let auth_acl = vec![acl(Perms::ALL, "auth", "ignored")];
    assert_eq!(
        write_result(
            &mut h,
            &alice,
            create_with("/mine", None, auth_acl.clone(), CreateMode::Persistent)
        ),
        Ok(())
    );
    let (stored, _) = h.tree.get_acl("/mine", &alice).unwrap();
    assert_eq!(
        stored,
        [
            acl(Perms::ALL, "digest", &digest_id("alice:pw")),
            acl(Perms::ALL, "digest", &digest_id("carol:pw"))
        ]
    );
    assert_eq!(
        h.tree.get_data("/mine", &anyone()).map(|_| ()),
        Err(ErrorCode::NoAuth)
    );
    assert!(h.tree.get_data("/mine", &session(4, &["carol:pw"])).is_ok());
    // No digest identity: nothing to expand to.
    assert_eq!(
        write_result(
            &mut h,
            &anyone(),
            create_with("/x", None, auth_acl.clone(), CreateMode::Persistent)
        ),
        Err(ErrorCode::InvalidAcl)
    );
    // setACL expands too.
    h.create_persistent("/y");
    assert_eq!(
        write_result(&mut h, &alice, set_acl("/y", auth_acl, -1)),
        Ok(())
    );
    assert_eq!(h.tree.get_acl("/y", &alice).unwrap().0.len(), 2);
}

#[test]
fn ip_acls_match_the_address_the_server_reports() {
    let mut h = Harness::new();
    let local = vec![acl(Perms::ALL, "ip", "127.0.0.0/8")];
    h.write(
        &anyone(),
        create_with("/local", None, local, CreateMode::Persistent),
    );
    assert!(h.tree.get_data("/local", &anyone()).is_ok());
    let remote = AuthContext::new(zk_proto::SessionId(8), vec![id("ip", "10.0.0.1")]);
    assert_eq!(
        h.tree.get_data("/local", &remote).map(|_| ()),
        Err(ErrorCode::NoAuth)
    );
}

#[test]
fn duplicate_entries_are_dropped() {
    let mut h = Harness::new();
    let twice = [Acl::open_unsafe(), Acl::open_unsafe()].concat();
    h.write(
        &anyone(),
        create_with("/d", None, twice, CreateMode::Persistent),
    );
    assert_eq!(
        h.tree.get_acl("/d", &anyone()).unwrap().0,
        Acl::open_unsafe()
    );
}
