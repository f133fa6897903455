"""ACLs and authentication: get/set ACL with versions, the world, digest, auth and ip
schemes, NoAuth enforcement per permission bit, the superuser, whoAmI and failed auth."""

import pytest
from kazoo.exceptions import (
    AuthFailedError,
    BadVersionError,
    InvalidACLError,
    NoAuthError,
    NoNodeError,
)
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, Permissions, make_digest_acl

import jute
import zkraw
from jute import Acl, Err, OpCode, Xid
from servers import SUPER_PASSWORD, SUPER_USER, ServerSpec, digest


@pytest.fixture(scope="module")
def server_spec():
    return ServerSpec(with_super_user=True)


@pytest.fixture
def stranger(server, kazoo_factory):
    """A session with no credentials."""
    return kazoo_factory(server)


def acl_tuples(acls):
    return sorted((acl.perms, acl.id.scheme, acl.id.id) for acl in acls)


def test_default_acl_is_open(zk, root):
    acls, stat = zk.get_acls(root)
    assert acl_tuples(acls) == [(Permissions.ALL, "world", "anyone")]
    assert stat == zk.exists(root)
    assert stat.aversion == 0


def test_set_acls_versions(zk, root):
    path = zk.create(f"{root}/guarded", b"")
    read_only = [ACL(Permissions.READ | Permissions.ADMIN, Id("world", "anyone"))]

    stat = zk.set_acls(path, read_only, version=0)
    assert stat.aversion == 1
    assert stat.version == 0  # data version untouched
    with pytest.raises(BadVersionError):
        zk.set_acls(path, OPEN_ACL_UNSAFE, version=0)
    acls, stat = zk.get_acls(path)
    assert acl_tuples(acls) == [(Permissions.READ | Permissions.ADMIN, "world", "anyone")]
    assert stat.aversion == 1
    with pytest.raises(NoNodeError):
        zk.get_acls(f"{root}/missing")


def test_each_permission_bit_is_enforced(zk, root):
    def node_with(perms, name):
        return zk.create(f"{root}/{name}", b"data", acl=[ACL(perms, Id("world", "anyone"))])

    no_read = node_with(Permissions.ALL & ~Permissions.READ, "no-read")
    with pytest.raises(NoAuthError):
        zk.get(no_read)
    with pytest.raises(NoAuthError):
        zk.get_children(no_read)
    assert zk.exists(no_read) is not None  # exists needs no permission

    no_write = node_with(Permissions.ALL & ~Permissions.WRITE, "no-write")
    with pytest.raises(NoAuthError):
        zk.set(no_write, b"x")

    no_create = node_with(Permissions.ALL & ~Permissions.CREATE, "no-create")
    with pytest.raises(NoAuthError):
        zk.create(f"{no_create}/child")

    no_delete = node_with(Permissions.ALL & ~Permissions.DELETE, "no-delete")
    zk.create(f"{no_delete}/child")
    with pytest.raises(NoAuthError):
        zk.delete(f"{no_delete}/child")

    no_admin = node_with(Permissions.ALL & ~Permissions.ADMIN, "no-admin")
    with pytest.raises(NoAuthError):
        zk.set_acls(no_admin, OPEN_ACL_UNSAFE)
    # The node itself may be deleted: that needs DELETE on its parent only.
    zk.delete(no_admin)


def test_digest_acl(zk, stranger, root, server, kazoo_factory):
    acl = make_digest_acl("alice", "secret", all=True)
    path = zk.create(f"{root}/alice-only", b"private", acl=[acl])

    with pytest.raises(NoAuthError):
        stranger.get(path)
    with pytest.raises(NoAuthError):
        stranger.get_acls(path)  # getACL needs READ or ADMIN

    alice = kazoo_factory(server, auth_data=[("digest", "alice:secret")])
    assert alice.get(path)[0] == b"private"
    acls, _ = alice.get_acls(path)
    assert acl_tuples(acls) == [(Permissions.ALL, "digest", digest("alice", "secret"))]

    stranger.add_auth("digest", "alice:wrong")  # accepted, but is another identity
    with pytest.raises(NoAuthError):
        stranger.get(path)
    stranger.add_auth("digest", "alice:secret")
    assert stranger.get(path)[0] == b"private"


def test_get_acls_without_admin_hides_digest_hashes(zk, root):
    acl = [
        ACL(Permissions.READ, Id("world", "anyone")),
        ACL(Permissions.ALL, Id("digest", digest("dave", "pw"))),
    ]
    path = zk.create(f"{root}/redacted", b"", acl=acl)

    acls, _ = zk.get_acls(path)
    assert acl_tuples(acls) == [(Permissions.READ, "world", "anyone"), (Permissions.ALL, "digest", "dave:x")]


def test_auth_scheme_expands_to_the_session_identities(server, kazoo_factory, stranger, root):
    bob = kazoo_factory(server, auth_data=[("digest", "bob:pw")])
    path = bob.create(f"{root}/bobs", b"b", acl=[ACL(Permissions.ALL, Id("auth", ""))])

    acls, _ = bob.get_acls(path)
    assert acl_tuples(acls) == [(Permissions.ALL, "digest", digest("bob", "pw"))]
    with pytest.raises(NoAuthError):
        stranger.get(path)
    # Without any authenticated identity the auth scheme has nothing to expand to.
    with pytest.raises(InvalidACLError):
        stranger.create(f"{root}/nobodys", b"", acl=[ACL(Permissions.ALL, Id("auth", ""))])


def test_ip_acl(zk, root):
    local = zk.create(f"{root}/local", b"l", acl=[ACL(Permissions.READ, Id("ip", "127.0.0.1"))])
    subnet = zk.create(f"{root}/subnet", b"s", acl=[ACL(Permissions.READ, Id("ip", "127.0.0.0/8"))])
    remote = zk.create(f"{root}/remote", b"r", acl=[ACL(Permissions.READ, Id("ip", "10.1.2.3"))])

    assert zk.get(local)[0] == b"l"
    assert zk.get(subnet)[0] == b"s"
    with pytest.raises(NoAuthError):
        zk.get(remote)
    with pytest.raises(NoAuthError):
        zk.set(local, b"x")  # only READ was granted


def test_invalid_acls_are_rejected(zk, root):
    invalid = [
        [ACL(Permissions.ALL, Id("nosuchscheme", "x"))],
        [ACL(Permissions.ALL, Id("digest", "no-colon"))],
        [ACL(Permissions.ALL, Id("ip", "not-an-ip"))],
        [ACL(Permissions.ALL, Id("ip", "127.0.0.1/33"))],
        [ACL(Permissions.ALL, Id("world", "someone"))],
        [ACL(Permissions.ALL, Id("super", "x"))],
        # (kazoo turns an empty list into its default ACL; see the raw test below.)
    ]
    for number, acl in enumerate(invalid):
        with pytest.raises(InvalidACLError):
            zk.create(f"{root}/bad-{number}", b"", acl=acl)
    assert zk.get_children(root) == []


def test_superuser_bypasses_acls(zk, server, kazoo_factory, root):
    path = zk.create(f"{root}/locked", b"secret", acl=[make_digest_acl("carol", "pw", all=True)])
    superuser = kazoo_factory(server, auth_data=[("digest", f"{SUPER_USER}:{SUPER_PASSWORD}")])

    assert superuser.get(path)[0] == b"secret"
    superuser.set(path, b"overwritten")
    superuser.set_acls(path, OPEN_ACL_UNSAFE)
    assert zk.get(path)[0] == b"overwritten"


def test_unknown_auth_scheme_fails_the_session(server, kazoo_factory):
    client = kazoo_factory(server)
    with pytest.raises(AuthFailedError):
        client.add_auth("nosuchscheme", "whatever")


def test_raw_whoami_and_failed_auth_reply(server, raw_factory):
    session = raw_factory(server)
    assert session.whoami() == (Err.OK, [("ip", "127.0.0.1")])

    reply = session.request(OpCode.AUTH, jute.auth_body("digest", b"u:p"), xid=Xid.AUTH)
    # Auth replies carry zxid 0, unlike other replies.
    assert (reply.xid, reply.zxid, reply.err, reply.body) == (Xid.AUTH, 0, Err.OK, b"")
    assert session.add_auth("digest", b"u:p") == Err.OK
    assert session.add_auth("digest", b"v:p") == Err.OK
    err, identities = session.whoami()
    # The server keeps a set: duplicates collapse; the order is not specified.
    assert err == Err.OK
    assert sorted(identities) == [("digest", "u"), ("digest", "v"), ("ip", "127.0.0.1")]

    # An unknown scheme is answered on the auth xid with AuthFailed, then the connection
    # (not the session) is closed.
    reply = session.request(OpCode.AUTH, jute.auth_body("nosuchscheme", b"x"), xid=Xid.AUTH)
    assert (reply.xid, reply.zxid, reply.err, reply.body) == (Xid.AUTH, 0, Err.AUTH_FAILED, b"")
    assert zkraw.wait_for_close(session.sock, 5.0) == b""
    resumed = raw_factory(server, session_id=session.session_id, passwd=session.passwd)
    assert resumed.session_id == session.session_id
    # Identities belong to the connection: the new one starts with its address only.
    assert resumed.whoami() == (Err.OK, [("ip", "127.0.0.1")])


def test_raw_empty_acl_is_invalid_and_duplicates_collapse(raw, root):
    assert raw.create(f"{root}/empty-acl", acl=[]) == (Err.INVALID_ACL, None)
    twice = [Acl(31, "world", "anyone"), Acl(31, "world", "anyone")]
    assert raw.create(f"{root}/twice", acl=twice) == (Err.OK, f"{root}/twice")
    err, acls, _stat = raw.get_acl(f"{root}/twice")
    assert (err, acls) == (Err.OK, [Acl(31, "world", "anyone")])
