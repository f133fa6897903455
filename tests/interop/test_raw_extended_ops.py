"""Operations kazoo 2.11 cannot send, driven through the raw client: TTL and container
nodes (and their reaping), getEphemerals, getAllChildrenNumber, addWatch (persistent and
persistent recursive), checkWatches / removeWatches, and unknown opcodes."""

from jute import AddWatchMode, CreateMode, Err, EventType, KeeperState, OpCode, WatcherEvent, WatcherType
from support import wait_until

# The servers run the container/TTL reaper every second (znode.container.checkIntervalMs).
REAP_WAIT_S = 10.0
TTL_MAX_MS = 0xFF_FFFF_FFFF  # 40 bits: EphemeralType.TTL's limit

CONNECTED = KeeperState.SYNC_CONNECTED


def event(type_, path):
    return WatcherEvent(type_, CONNECTED, path)


# ---- TTL nodes -------------------------------------------------------------------


def test_ttl_create_and_stat(raw, root):
    err, path, stat = raw.create2(f"{root}/ttl", b"t", mode=CreateMode.PERSISTENT_WITH_TTL, ttl=TTL_MAX_MS)
    assert (err, path) == (Err.OK, f"{root}/ttl")
    # The TTL is kept internally; clients see ephemeralOwner 0.
    assert (stat.ephemeral_owner, stat.version, stat.data_length) == (0, 0, 1)
    assert raw.exists(path) == (Err.OK, stat)

    err, path, _ = raw.create2(f"{root}/ttl-seq-", mode=CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=60000)
    assert (err, path) == (Err.OK, f"{root}/ttl-seq-0000000001")


def test_ttl_arguments_are_validated(raw, root):
    path = f"{root}/bad-ttl"
    assert raw.create(path, mode=CreateMode.PERSISTENT_WITH_TTL, ttl=0) == (Err.BAD_ARGUMENTS, None)
    assert raw.create(path, mode=CreateMode.PERSISTENT_WITH_TTL, ttl=-1) == (Err.BAD_ARGUMENTS, None)
    assert raw.create(path, mode=CreateMode.PERSISTENT_WITH_TTL, ttl=TTL_MAX_MS + 1) == (Err.BAD_ARGUMENTS, None)
    # A TTL op with a mode that is not a TTL mode, and a TTL mode on a plain create.
    assert raw.create(path, mode=CreateMode.PERSISTENT, ttl=1000) == (Err.BAD_ARGUMENTS, None)
    assert raw.create(path, mode=CreateMode.EPHEMERAL, ttl=1000) == (Err.BAD_ARGUMENTS, None)
    assert raw.create(path, mode=CreateMode.PERSISTENT_WITH_TTL, opcode=OpCode.CREATE) == (Err.BAD_ARGUMENTS, None)
    assert raw.exists(path) == (Err.NO_NODE, None)


def test_ttl_node_expires_unless_it_has_children(raw, zk, root):
    parent = f"{root}/ttl-parent"
    lonely = f"{root}/ttl-lonely"
    assert raw.create(parent, mode=CreateMode.PERSISTENT_WITH_TTL, ttl=200)[0] == Err.OK
    assert raw.create(f"{parent}/kid")[0] == Err.OK
    assert raw.create(lonely, mode=CreateMode.PERSISTENT_WITH_TTL, ttl=200)[0] == Err.OK

    wait_until(lambda: zk.exists(lonely) is None, REAP_WAIT_S, "childless TTL node to be reaped")
    # Same TTL, created earlier, examined by the same reaper pass: kept for its child.
    assert zk.exists(parent) is not None

    zk.delete(f"{parent}/kid")
    wait_until(lambda: zk.exists(parent) is None, REAP_WAIT_S, "TTL node to be reaped once childless")


# ---- containers ------------------------------------------------------------------


def test_container_create_and_stat(raw, root):
    err, path, stat = raw.create2(f"{root}/box", b"c", mode=CreateMode.CONTAINER)
    assert (err, path) == (Err.OK, f"{root}/box")
    assert (stat.ephemeral_owner, stat.version, stat.num_children, stat.data_length) == (0, 0, 0, 1)


def test_container_is_reaped_after_losing_its_last_child(raw, zk, root):
    used = f"{root}/used-box"
    never_used = f"{root}/empty-box"
    assert raw.create(used, mode=CreateMode.CONTAINER)[0] == Err.OK
    assert raw.create(never_used, mode=CreateMode.CONTAINER)[0] == Err.OK
    assert raw.create(f"{used}/item")[0] == Err.OK
    assert raw.create(f"{used}/other")[0] == Err.OK
    assert raw.delete(f"{used}/item") == Err.OK
    assert zk.exists(used) is not None  # still has a child

    assert raw.delete(f"{used}/other") == Err.OK
    wait_until(lambda: zk.exists(used) is None, REAP_WAIT_S, "emptied container to be reaped")
    # The reaper has run since the never-used container was created: it is kept.
    assert zk.exists(never_used) is not None


# ---- getEphemerals / getAllChildrenNumber ----------------------------------------


def test_get_ephemerals_lists_own_ephemerals_by_prefix(server, raw_factory, root):
    mine = raw_factory(server)
    theirs = raw_factory(server)
    for name in ("e1", "ex", "other"):
        assert mine.create(f"{root}/{name}", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    assert theirs.create(f"{root}/e2", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    assert mine.create(f"{root}/persistent")[0] == Err.OK

    err, everything = mine.get_ephemerals("/")
    assert (err, sorted(everything)) == (Err.OK, [f"{root}/e1", f"{root}/ex", f"{root}/other"])
    # The prefix is a string prefix, not a path component.
    err, prefixed = mine.get_ephemerals(f"{root}/e")
    assert (err, sorted(prefixed)) == (Err.OK, [f"{root}/e1", f"{root}/ex"])
    assert mine.get_ephemerals(f"{root}/e1/") == (Err.OK, [])
    assert mine.get_ephemerals(f"{root}/nothing") == (Err.OK, [])
    assert theirs.get_ephemerals(root) == (Err.OK, [f"{root}/e2"])


def test_get_all_children_number_counts_descendants(raw, root):
    for path in ("a", "a/b", "a/b/c", "a/d", "e"):
        assert raw.create(f"{root}/{path}")[0] == Err.OK
    assert raw.get_all_children_number(root) == (Err.OK, 5)
    assert raw.get_all_children_number(f"{root}/a") == (Err.OK, 3)
    assert raw.get_all_children_number(f"{root}/e") == (Err.OK, 0)
    assert raw.get_all_children_number(f"{root}/missing") == (Err.NO_NODE, None)
    assert raw.get_all_children_number("/zookeeper") == (Err.OK, 2)


# ---- addWatch ----------------------------------------------------------------------


def test_persistent_watch_fires_repeatedly_for_node_and_children_list(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = zk.create(f"{root}/watched", b"0")
    assert watcher.add_watch(path, AddWatchMode.PERSISTENT) == Err.OK

    zk.create(f"{path}/kid")
    zk.set(path, b"1")
    zk.set(path, b"2")
    zk.set(f"{path}/kid", b"ignored")  # not the watched node
    zk.create(f"{path}/kid/grandchild")  # not a change of the watched node's children
    zk.delete(f"{path}/kid/grandchild")
    zk.delete(f"{path}/kid")
    zk.delete(path)

    assert watcher.barrier() == [
        event(EventType.NODE_CHILDREN_CHANGED, path),
        event(EventType.NODE_DATA_CHANGED, path),
        event(EventType.NODE_DATA_CHANGED, path),
        event(EventType.NODE_CHILDREN_CHANGED, path),
        event(EventType.NODE_DELETED, path),
    ]
    # Still registered after the delete: it sees the node come back.
    zk.create(path)
    assert watcher.barrier() == [event(EventType.NODE_CREATED, path)]


def test_persistent_recursive_watch_covers_the_subtree_without_child_events(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = zk.create(f"{root}/tree", b"0")
    assert watcher.add_watch(path, AddWatchMode.PERSISTENT_RECURSIVE) == Err.OK

    zk.create(f"{path}/a")
    zk.set(path, b"1")
    zk.set(f"{path}/a", b"1")
    zk.create(f"{path}/a/b")
    zk.delete(f"{path}/a/b")
    zk.delete(f"{path}/a")
    zk.create(f"{root}/tree-sibling")  # shares the prefix, outside the subtree

    assert watcher.barrier() == [
        event(EventType.NODE_CREATED, f"{path}/a"),
        event(EventType.NODE_DATA_CHANGED, path),
        event(EventType.NODE_DATA_CHANGED, f"{path}/a"),
        event(EventType.NODE_CREATED, f"{path}/a/b"),
        event(EventType.NODE_DELETED, f"{path}/a/b"),
        event(EventType.NODE_DELETED, f"{path}/a"),
    ]


def test_add_watch_on_missing_node_and_bad_mode(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = f"{root}/not-yet"
    assert watcher.add_watch(path, AddWatchMode.PERSISTENT) == Err.OK
    zk.create(path)
    zk.delete(path)
    assert watcher.barrier() == [event(EventType.NODE_CREATED, path), event(EventType.NODE_DELETED, path)]
    # An undefined mode is rejected as a marshalling error; the session continues.
    assert watcher.add_watch(path, 7) == Err.MARSHALLING_ERROR
    assert watcher.exists("/")[0] == Err.OK


# ---- checkWatches / removeWatches ------------------------------------------------


def test_check_and_remove_one_shot_watches(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = zk.create(f"{root}/w", b"")
    missing = f"{root}/missing"

    assert watcher.check_watches(path, WatcherType.ANY) == Err.NO_WATCHER
    assert watcher.get_children(path, watch=True)[0] == Err.OK
    assert watcher.check_watches(path, WatcherType.DATA) == Err.NO_WATCHER
    assert watcher.check_watches(path, WatcherType.CHILDREN) == Err.OK
    assert watcher.get_data(path, watch=True)[0] == Err.OK
    assert watcher.check_watches(path, WatcherType.DATA) == Err.OK
    assert watcher.check_watches(path, WatcherType.ANY) == Err.OK

    assert watcher.remove_watches(path, WatcherType.CHILDREN) == Err.OK
    assert watcher.check_watches(path, WatcherType.CHILDREN) == Err.NO_WATCHER
    assert watcher.check_watches(path, WatcherType.DATA) == Err.OK
    assert watcher.remove_watches(path, WatcherType.ANY) == Err.OK
    assert watcher.remove_watches(path, WatcherType.ANY) == Err.NO_WATCHER

    # An exists watch on a missing node counts as a data watch.
    assert watcher.exists(missing, watch=True)[0] == Err.NO_NODE
    assert watcher.check_watches(missing, WatcherType.DATA) == Err.OK
    assert watcher.remove_watches(missing, WatcherType.DATA) == Err.OK

    # Removal sends no notification, and removed watches no longer fire.
    zk.create(f"{path}/kid")
    zk.set(path, b"1")
    zk.create(missing)
    assert watcher.barrier() == []


def test_check_and_remove_persistent_watches(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = zk.create(f"{root}/pw", b"")
    assert watcher.add_watch(path, AddWatchMode.PERSISTENT_RECURSIVE) == Err.OK
    for watcher_type in (WatcherType.CHILDREN, WatcherType.DATA, WatcherType.ANY):
        assert watcher.check_watches(path, watcher_type) == Err.OK

    assert watcher.remove_watches(path, WatcherType.ANY) == Err.OK
    assert watcher.check_watches(path, WatcherType.ANY) == Err.NO_WATCHER
    zk.set(path, b"1")
    assert watcher.barrier() == []


# ---- odd requests ------------------------------------------------------------------


def test_sync_does_not_check_the_path(raw, root):
    assert raw.sync(f"{root}/missing") == (Err.OK, f"{root}/missing")


