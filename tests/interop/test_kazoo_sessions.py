"""Sessions: ephemerals on close and on expiry, negotiated timeouts, resuming a session
on a new connection (kazoo and raw), wrong passwords, and re-arming watches with
setWatches / setWatches2 after a reconnect.

The module server uses a short tick so expiry tests finish in about a second.
"""

import time

import pytest

import jute
import zkraw
from jute import AddWatchMode, CreateMode, Err, EventType, KeeperState, WatcherEvent
from servers import ServerSpec
from support import EventRecorder, wait_until

TICK_MS = 250
MIN_SESSION_TIMEOUT_MS = 1000
MAX_SESSION_TIMEOUT_MS = 20 * TICK_MS  # the server's default: 20 ticks
EXPIRY_SLACK_S = 5.0

# What the server answers to a handshake for a session that is gone or whose password is
# wrong: protocolVersion 0, timeOut 0, sessionId 0, a 16-byte zero password, readOnly false.
DEAD_SESSION_HANDSHAKE = bytes.fromhex(
    "00000000"  # protocolVersion
    "00000000"  # timeOut
    "0000000000000000"  # sessionId
    "00000010" + "00" * 16  # passwd
    + "00"  # readOnly
)


@pytest.fixture(scope="module")
def server_spec():
    return ServerSpec(tick_time_ms=TICK_MS, min_session_timeout_ms=MIN_SESSION_TIMEOUT_MS)


def handshake_bytes(server, session_id: int, passwd: bytes) -> bytes:
    """Sends a resume handshake; returns the reply frame payload, and checks the server then closes."""
    sock = zkraw.open_socket(server.address)
    try:
        sock.sendall(zkraw.frame(jute.connect_request(10000, session_id, passwd)))
        payload = zkraw.recv_frame(sock)
        assert zkraw.wait_for_close(sock, 5.0) == b""
        return payload
    finally:
        sock.close()


def test_negotiated_timeout_is_clamped(server, raw_factory):
    assert raw_factory(server, timeout_ms=100).timeout_ms == MIN_SESSION_TIMEOUT_MS
    assert raw_factory(server, timeout_ms=1500).timeout_ms == 1500
    assert raw_factory(server, timeout_ms=600000).timeout_ms == MAX_SESSION_TIMEOUT_MS


def test_ephemeral_removed_when_session_closes(server, kazoo_factory, zk, root):
    owner = kazoo_factory(server)
    path = owner.create(f"{root}/eph", b"", ephemeral=True)
    recorder = EventRecorder()
    assert zk.exists(path, watch=recorder) is not None

    owner.stop()

    # closeSession is a transaction: once its reply arrived, the node is gone for everyone.
    assert zk.exists(path) is None
    assert recorder.wait_for(("DELETED", path)) == [("DELETED", path)]


def test_raw_close_session_reply(server, raw_factory, zk, root):
    session = raw_factory(server)
    assert session.create(f"{root}/e", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    assert session.close() == Err.OK
    assert zk.exists(f"{root}/e") is None


def test_ephemeral_removed_when_session_expires(server, raw_factory, zk, root):
    session = raw_factory(server, timeout_ms=MIN_SESSION_TIMEOUT_MS)
    path = f"{root}/expiring"
    assert session.create(path, mode=CreateMode.EPHEMERAL) == (Err.OK, path)
    owner = zk.exists(path).ephemeralOwner
    assert owner == session.session_id
    started = time.monotonic()

    # The session now stays silent (no pings) on an open connection.
    wait_until(lambda: zk.exists(path) is None, MIN_SESSION_TIMEOUT_MS / 1000 + EXPIRY_SLACK_S, "expiry")
    elapsed = time.monotonic() - started
    assert elapsed >= MIN_SESSION_TIMEOUT_MS / 1000 * 0.5

    # The server closes the idle connection, and the session cannot be resumed.
    assert zkraw.wait_for_close(session.sock, EXPIRY_SLACK_S) == b""
    assert handshake_bytes(server, session.session_id, session.passwd) == DEAD_SESSION_HANDSHAKE


def test_ephemeral_survives_dropped_connection_and_session_resumes(server, raw_factory, zk, root):
    session = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS)
    path = f"{root}/survivor"
    assert session.create(path, b"v", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    session.drop()

    assert zk.exists(path).ephemeralOwner == session.session_id
    resumed = raw_factory(
        server,
        timeout_ms=MAX_SESSION_TIMEOUT_MS,
        session_id=session.session_id,
        passwd=session.passwd,
        last_zxid_seen=session.last_zxid,
    )
    assert resumed.session_id == session.session_id
    assert resumed.passwd == session.passwd
    assert resumed.timeout_ms == MAX_SESSION_TIMEOUT_MS
    assert resumed.get_ephemerals(root) == (Err.OK, [path])
    assert resumed.delete(path) == Err.OK


def test_kazoo_resumes_session_by_client_id(server, raw_factory, kazoo_factory, zk, root):
    # The session starts on a raw connection that is then dropped (a kazoo client would
    # reconnect on its own and fight the resuming client for the session).
    original = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS)
    path = f"{root}/kept"
    assert original.create(path, mode=CreateMode.EPHEMERAL)[0] == Err.OK
    original.drop()

    resumed = kazoo_factory(server, client_id=(original.session_id, original.passwd))

    assert resumed.client_id == (original.session_id, original.passwd)
    assert zk.exists(path).ephemeralOwner == original.session_id
    resumed.delete(path)  # the session still owns it and may act on it
    resumed.create(path, b"", ephemeral=True)
    resumed.stop()  # closes the session itself
    assert zk.exists(path) is None


def test_wrong_password_gets_dead_session_handshake(server, raw_factory, zk, root):
    live = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS)
    path = f"{root}/guarded-eph"
    assert live.create(path, mode=CreateMode.EPHEMERAL)[0] == Err.OK
    wrong = bytes(b ^ 0xFF for b in live.passwd)

    assert handshake_bytes(server, live.session_id, wrong) == DEAD_SESSION_HANDSHAKE

    # Observed on the reference: the attempt closes the live session's current connection
    # (before the password is checked) but the session itself is unharmed.
    assert zkraw.wait_for_close(live.sock, 5.0) == b""
    assert zk.exists(path).ephemeralOwner == live.session_id
    resumed = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS, session_id=live.session_id, passwd=live.passwd)
    assert resumed.session_id == live.session_id
    assert resumed.exists(path)[0] == Err.OK


def test_unknown_session_id_gets_dead_session_handshake(server):
    assert handshake_bytes(server, 0x0123456789ABCDEF, b"\x01" * 16) == DEAD_SESSION_HANDSHAKE


def test_set_watches_after_reconnect_delivers_missed_events(server, raw_factory, zk, root):
    watcher = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS)
    created, changed, parent, untouched, deleted = (
        f"{root}/{name}" for name in ("created", "changed", "parent", "untouched", "deleted")
    )
    for path in (changed, parent, untouched, deleted):
        zk.create(path, b"0")
    assert watcher.exists(created, watch=True)[0] == Err.NO_NODE
    assert watcher.get_data(changed, watch=True)[0] == Err.OK
    assert watcher.get_children(parent, watch=True)[0] == Err.OK
    assert watcher.get_data(untouched, watch=True)[0] == Err.OK
    assert watcher.get_data(deleted, watch=True)[0] == Err.OK
    last_zxid = watcher.last_zxid
    watcher.drop()

    # Changes while the watcher is disconnected.
    zk.create(created, b"")
    zk.set(changed, b"1")
    zk.create(f"{parent}/kid")
    zk.delete(deleted)

    resumed = raw_factory(
        server, timeout_ms=MAX_SESSION_TIMEOUT_MS, session_id=watcher.session_id, passwd=watcher.passwd,
        last_zxid_seen=last_zxid,
    )
    err = resumed.set_watches(
        last_zxid, data=[changed, untouched, deleted], exist=[created], child=[parent]
    )
    assert err == Err.OK
    connected = KeeperState.SYNC_CONNECTED
    # Data watches are checked first, then exist watches, then child watches.
    assert resumed.barrier() == [
        WatcherEvent(EventType.NODE_DATA_CHANGED, connected, changed),
        WatcherEvent(EventType.NODE_DELETED, connected, deleted),
        WatcherEvent(EventType.NODE_CREATED, connected, created),
        WatcherEvent(EventType.NODE_CHILDREN_CHANGED, connected, parent),
    ]
    # The watch on the unchanged node was re-armed and fires on the next change.
    zk.set(untouched, b"1")
    assert resumed.barrier() == [WatcherEvent(EventType.NODE_DATA_CHANGED, connected, untouched)]


def test_set_watches2_restores_persistent_watches(server, raw_factory, zk, root):
    watcher = raw_factory(server, timeout_ms=MAX_SESSION_TIMEOUT_MS)
    tree, single = f"{root}/tree", f"{root}/single"
    zk.create(tree)
    zk.create(single)
    assert watcher.add_watch(tree, AddWatchMode.PERSISTENT_RECURSIVE) == Err.OK
    assert watcher.add_watch(single, AddWatchMode.PERSISTENT) == Err.OK
    last_zxid = watcher.last_zxid
    watcher.drop()

    zk.create(f"{tree}/missed")  # persistent watches get no catch-up event

    resumed = raw_factory(
        server, timeout_ms=MAX_SESSION_TIMEOUT_MS, session_id=watcher.session_id, passwd=watcher.passwd,
        last_zxid_seen=last_zxid,
    )
    assert resumed.set_watches2(last_zxid, persistent=[single], recursive=[tree]) == Err.OK
    assert resumed.barrier() == []

    zk.create(f"{tree}/missed/deep")
    zk.set(single, b"1")
    zk.set(single, b"2")
    connected = KeeperState.SYNC_CONNECTED
    assert resumed.barrier() == [
        WatcherEvent(EventType.NODE_CREATED, connected, f"{tree}/missed/deep"),
        WatcherEvent(EventType.NODE_DATA_CHANGED, connected, single),
        WatcherEvent(EventType.NODE_DATA_CHANGED, connected, single),
    ]


def test_pings_keep_a_session_alive(server, raw_factory, zk, root):
    session = raw_factory(server, timeout_ms=MIN_SESSION_TIMEOUT_MS)
    path = f"{root}/pinged"
    assert session.create(path, mode=CreateMode.EPHEMERAL)[0] == Err.OK
    last_zxid = zk.exists(path).czxid

    # Ping at a third of the timeout for well over two timeouts.
    deadline = time.monotonic() + 2.5 * MIN_SESSION_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        reply = session.ping()
        assert (reply.xid, reply.err, reply.body) == (jute.Xid.PING, Err.OK, b"")
        assert reply.zxid >= last_zxid  # the last committed zxid
        time.sleep(MIN_SESSION_TIMEOUT_MS / 3000)

    assert zk.exists(path).ephemeralOwner == session.session_id
