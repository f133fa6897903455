"""kazoo against the server: create (every mode kazoo can send), create2, delete, exists,
get, set, get_children, sync, and the exact stat fields each one reports."""

import pytest
from kazoo.exceptions import (
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)


def assert_fresh_stat(stat, data_length, ephemeral_owner=0):
    """The stat of a znode just created and never changed."""
    assert stat.version == 0
    assert stat.cversion == 0
    assert stat.aversion == 0
    assert stat.ephemeralOwner == ephemeral_owner
    assert stat.dataLength == data_length
    assert stat.numChildren == 0
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat.ctime == stat.mtime
    assert stat.czxid > 0


def test_create_persistent_with_create2_stat(zk, root):
    path, stat = zk.create(f"{root}/node", b"hello", include_data=True)

    assert path == f"{root}/node"
    assert_fresh_stat(stat, data_length=5)
    assert zk.exists(path) == stat
    data, get_stat = zk.get(path)
    assert data == b"hello"
    assert get_stat == stat


def test_create_updates_parent_stat(zk, root):
    parent_before = zk.exists(root)
    _, child = zk.create(f"{root}/child", b"", include_data=True)

    parent = zk.exists(root)
    assert parent.numChildren == 1
    assert parent.cversion == parent_before.cversion + 1
    assert parent.pzxid == child.czxid
    # Children do not change the parent's data.
    assert parent.version == parent_before.version
    assert parent.mzxid == parent_before.mzxid


def test_create_without_create2_returns_path_only(zk, root):
    assert zk.create(f"{root}/plain", b"x") == f"{root}/plain"


def test_create_existing_raises_node_exists(zk, root):
    zk.create(f"{root}/dup", b"first")
    with pytest.raises(NodeExistsError):
        zk.create(f"{root}/dup", b"second")
    assert zk.get(f"{root}/dup")[0] == b"first"


def test_create_under_missing_parent_raises_no_node(zk, root):
    with pytest.raises(NoNodeError):
        zk.create(f"{root}/missing/child")


def test_create_makepath_creates_parents(zk, root):
    zk.create(f"{root}/a/b/c", b"leaf", makepath=True)
    assert zk.get_children(f"{root}/a") == ["b"]
    assert zk.get(f"{root}/a/b/c")[0] == b"leaf"


def test_create_ephemeral_is_owned_by_session(zk, root):
    path, stat = zk.create(f"{root}/eph", b"e", ephemeral=True, include_data=True)

    session_id = zk.client_id[0]
    assert_fresh_stat(stat, data_length=1, ephemeral_owner=session_id)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{path}/child")


def test_sequential_suffix_counts_child_creations(zk, root):
    parent = f"{root}/seq"
    zk.create(parent)

    first = zk.create(f"{parent}/n-", sequence=True)
    second = zk.create(f"{parent}/n-", b"", sequence=True, ephemeral=True)
    zk.delete(first)
    zk.delete(second)
    # Deleting does not rewind the counter, and plain creates advance it too.
    zk.create(f"{parent}/plain")
    third = zk.create(f"{parent}/n-", sequence=True)
    other_prefix = zk.create(f"{parent}/other", sequence=True)

    assert first == f"{parent}/n-0000000000"
    assert second == f"{parent}/n-0000000001"
    assert third == f"{parent}/n-0000000003"
    assert other_prefix == f"{parent}/other0000000004"
    # cversion counts creates and deletes: 5 creates + 2 deletes.
    assert zk.exists(parent).cversion == 7
    assert sorted(zk.get_children(parent)) == ["n-0000000003", "other0000000004", "plain"]


def test_sequential_name_may_end_with_slash_prefix(zk, root):
    """A sequential create of "parent/" names the child by the counter alone."""
    parent = f"{root}/bare"
    zk.create(parent)
    assert zk.create(f"{parent}/", sequence=True) == f"{parent}/0000000000"


def test_set_with_versions(zk, root):
    path = f"{root}/versioned"
    _, created = zk.create(path, b"v0", include_data=True)

    after_first = zk.set(path, b"v1", version=0)
    assert after_first.version == 1
    assert after_first.czxid == created.czxid
    assert after_first.mzxid > created.mzxid
    assert after_first.pzxid == created.pzxid
    assert after_first.ctime == created.ctime
    assert after_first.mtime >= created.mtime
    assert after_first.dataLength == 2

    with pytest.raises(BadVersionError):
        zk.set(path, b"stale", version=0)
    after_any = zk.set(path, b"longer value", version=-1)
    assert after_any.version == 2
    assert after_any.dataLength == 12
    assert zk.get(path) == (b"longer value", after_any)


def test_set_missing_node_raises_no_node(zk, root):
    with pytest.raises(NoNodeError):
        zk.set(f"{root}/nothing", b"x")


def test_set_empty_data(zk, root):
    path = zk.create(f"{root}/empty", b"something")
    stat = zk.set(path, b"")
    assert stat.dataLength == 0
    assert zk.get(path)[0] == b""


def test_delete_versions_and_errors(zk, root):
    path = f"{root}/victim"
    zk.create(path, b"")
    zk.set(path, b"1")
    zk.create(f"{path}/kid")

    with pytest.raises(NotEmptyError):
        zk.delete(path)
    zk.delete(f"{path}/kid")
    with pytest.raises(BadVersionError):
        zk.delete(path, version=0)
    parent_before = zk.exists(root)
    zk.delete(path, version=1)

    assert zk.exists(path) is None
    parent = zk.exists(root)
    assert parent.numChildren == parent_before.numChildren - 1
    assert parent.cversion == parent_before.cversion + 1
    assert parent.pzxid > parent_before.pzxid
    with pytest.raises(NoNodeError):
        zk.delete(path)


def test_exists_and_get_on_missing_node(zk, root):
    assert zk.exists(f"{root}/ghost") is None
    with pytest.raises(NoNodeError):
        zk.get(f"{root}/ghost")


def test_get_children_with_stat(zk, root):
    names = ["b", "a", "c", "ünïcode"]
    for name in names:
        zk.create(f"{root}/{name}", name.encode())

    children, stat = zk.get_children(root, include_data=True)

    assert sorted(children) == sorted(names)
    assert stat == zk.exists(root)
    assert stat.numChildren == 4
    assert zk.get_children(f"{root}/a") == []
    with pytest.raises(NoNodeError):
        zk.get_children(f"{root}/ghost")


def test_sync_returns_path(zk, root):
    assert zk.sync(root) == root


def test_large_value_round_trip(zk, root):
    value = bytes(range(256)) * 2048  # 512 KiB, under the default 1 MiB jute.maxbuffer
    path = zk.create(f"{root}/big", value)
    data, stat = zk.get(path)
    assert data == value
    assert stat.dataLength == len(value)


def test_initial_tree_of_a_fresh_server(fresh_server, kazoo_factory):
    """What a brand-new standalone server holds, down to the odd initial cversions."""
    client = kazoo_factory(fresh_server)

    root_stat = client.exists("/")
    assert sorted(client.get_children("/")) == ["zookeeper"]
    assert (root_stat.czxid, root_stat.mzxid, root_stat.pzxid) == (0, 0, 0)
    assert (root_stat.ctime, root_stat.mtime) == (0, 0)
    assert (root_stat.version, root_stat.cversion, root_stat.aversion) == (0, -1, 0)
    assert (root_stat.dataLength, root_stat.numChildren) == (0, 1)

    zookeeper_stat = client.exists("/zookeeper")
    assert sorted(client.get_children("/zookeeper")) == ["config", "quota"]
    assert (zookeeper_stat.version, zookeeper_stat.cversion, zookeeper_stat.aversion) == (0, -2, 0)
    assert (zookeeper_stat.czxid, zookeeper_stat.pzxid, zookeeper_stat.numChildren) == (0, 0, 2)

    config_data, config_stat = client.get("/zookeeper/config")
    assert config_data == b""
    assert (config_stat.version, config_stat.cversion, config_stat.aversion) == (0, 0, -1)
    acls, _ = client.get_acls("/zookeeper/config")
    assert [(acl.perms, acl.id.scheme, acl.id.id) for acl in acls] == [(1, "world", "anyone")]

    quota_data, quota_stat = client.get("/zookeeper/quota")
    assert quota_data == b""
    assert (quota_stat.version, quota_stat.cversion, quota_stat.aversion) == (0, 0, 0)
