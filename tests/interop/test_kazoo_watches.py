"""One-shot watch semantics, seen through kazoo and, where kazoo would hide what the
server sends (deduplication, ordering against replies), through the raw client."""

import itertools

import pytest
from kazoo.exceptions import NoNodeError

from jute import EventType, KeeperState, WatcherEvent
from support import EventRecorder

_sentinels = itertools.count()


def settle(client, recorder: EventRecorder, root: str) -> list[tuple[str, str]]:
    """Returns every event recorded before a fresh sentinel event, sentinel excluded.

    The server delivers notifications in order, and kazoo calls watchers in order, so
    anything that was going to fire has fired by the time the sentinel's event arrives.
    """
    path = f"{root}/sentinel-{next(_sentinels)}"
    assert client.exists(path, watch=recorder) is None
    client.create(path)
    events = recorder.wait_for(("CREATED", path))
    return [event for event in events if event != ("CREATED", path)]


@pytest.fixture
def other(server, kazoo_factory):
    """A second session that makes the changes the first one watches."""
    return kazoo_factory(server)


def test_exists_on_missing_node_fires_created(zk, other, root):
    recorder = EventRecorder()
    path = f"{root}/later"
    assert zk.exists(path, watch=recorder) is None

    other.create(path, b"x")

    assert settle(zk, recorder, root) == [("CREATED", path)]
    assert recorder.events[0].state == "CONNECTED"


def test_get_on_missing_node_sets_no_watch(zk, other, root):
    recorder = EventRecorder()
    path = f"{root}/absent"
    with pytest.raises(NoNodeError):
        zk.get(path, watch=recorder)
    with pytest.raises(NoNodeError):
        zk.get_children(path, watch=recorder)

    other.create(path, b"x")
    other.set(path, b"y")
    other.create(f"{path}/kid")

    assert settle(zk, recorder, root) == []


def test_same_watcher_registered_twice_fires_once(zk, other, root):
    recorder = EventRecorder()
    path = zk.create(f"{root}/twice", b"0")
    zk.get(path, watch=recorder)
    zk.get(path, watch=recorder)
    zk.exists(path, watch=recorder)

    other.set(path, b"1")

    assert settle(zk, recorder, root) == [("CHANGED", path)]


def test_data_watch_is_one_shot(zk, other, root):
    recorder = EventRecorder()
    path = zk.create(f"{root}/once", b"0")
    zk.get(path, watch=recorder)

    other.set(path, b"1")
    other.set(path, b"2")

    assert settle(zk, recorder, root) == [("CHANGED", path)]


def test_child_watch_fires_on_child_create_and_delete_only(zk, other, root):
    recorder = EventRecorder()
    parent = zk.create(f"{root}/parent")
    assert zk.get_children(parent, watch=recorder) == []
    other.create(f"{parent}/kid", b"")
    assert settle(zk, recorder, root) == [("CHILD", parent)]

    # Re-armed: data changes of the parent or a child and grandchildren do not fire it.
    recorder.events.clear()
    assert zk.get_children(parent, watch=recorder) == ["kid"]
    other.set(f"{parent}/kid", b"changed")
    other.set(parent, b"changed")
    other.create(f"{parent}/kid/grandchild")
    other.delete(f"{parent}/kid/grandchild")
    other.delete(f"{parent}/kid")
    assert settle(zk, recorder, root) == [("CHILD", parent)]


def test_delete_fires_deleted_for_data_and_child_watchers(zk, other, root):
    data_recorder, child_recorder, parent_recorder = EventRecorder(), EventRecorder(), EventRecorder()
    path = zk.create(f"{root}/doomed", b"")
    zk.get(path, watch=data_recorder)
    zk.get_children(path, watch=child_recorder)
    zk.get_children(root, watch=parent_recorder)

    other.delete(path)

    settle(zk, parent_recorder, root)
    assert data_recorder.summary() == [("DELETED", path)]
    assert child_recorder.summary() == [("DELETED", path)]
    assert parent_recorder.summary()[0] == ("CHILD", root)


def test_exists_watch_on_existing_node(zk, other, root):
    recorder = EventRecorder()
    path = zk.create(f"{root}/present", b"")
    assert zk.exists(path, watch=recorder) is not None
    other.set(path, b"1")
    assert settle(zk, recorder, root) == [("CHANGED", path)]

    recorder.events.clear()
    zk.exists(path, watch=recorder)
    other.delete(path)
    assert settle(zk, recorder, root) == [("DELETED", path)]


# ---- what the server sends, seen on the raw protocol ------------------------------


def test_server_sends_one_notification_per_session_and_change(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    path = zk.create(f"{root}/dedup", b"")
    assert watcher.get_data(path, watch=True)[0] == 0
    assert watcher.get_data(path, watch=True)[0] == 0
    assert watcher.exists(path, watch=True)[0] == 0
    assert watcher.get_children(path, watch=True)[0] == 0

    zk.set(path, b"1")
    assert watcher.barrier() == [WatcherEvent(EventType.NODE_DATA_CHANGED, KeeperState.SYNC_CONNECTED, path)]

    # The child watch is still armed; delete fires it and the re-armed data watch once.
    assert watcher.get_data(path, watch=True)[0] == 0
    zk.delete(path)
    assert watcher.barrier() == [WatcherEvent(EventType.NODE_DELETED, KeeperState.SYNC_CONNECTED, path)]


def test_event_order_for_node_and_parent(server, raw_factory, zk, root):
    watcher = raw_factory(server)
    child = f"{root}/ordered"
    assert watcher.exists(child, watch=True)[0] == -101
    assert watcher.get_children(root, watch=True)[0] == 0
    zk.create(child)
    assert [(e.type, e.path) for e in watcher.barrier()] == [
        (EventType.NODE_CREATED, child),
        (EventType.NODE_CHILDREN_CHANGED, root),
    ]

    assert watcher.exists(child, watch=True)[0] == 0
    assert watcher.get_children(root, watch=True)[0] == 0
    zk.delete(child)
    assert [(e.type, e.path) for e in watcher.barrier()] == [
        (EventType.NODE_DELETED, child),
        (EventType.NODE_CHILDREN_CHANGED, root),
    ]


def test_notification_precedes_reply_to_the_change(server, raw_factory, root):
    session = raw_factory(server)
    path = f"{root}/self-watch"
    assert session.create(path)[0] == 0
    assert session.get_data(path, watch=True)[0] == 0

    err, _stat = session.set_data(path, b"mine")

    # Already queued when the reply arrived: no barrier needed.
    assert err == 0
    assert list(session.events) == [WatcherEvent(EventType.NODE_DATA_CHANGED, KeeperState.SYNC_CONNECTED, path)]
