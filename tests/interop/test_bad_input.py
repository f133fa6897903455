"""Hostile and malformed input on the raw socket. After each case a separate, healthy
kazoo session must still work: one bad client never hurts the others."""

import struct

import pytest

import jute
import zkraw
from jute import CreateMode, Err, OpCode
from servers import ServerSpec
from support import wait_until

JUTE_MAXBUFFER = 0xFFFFF  # the default jute.maxbuffer, 1 MiB - 1


def assert_healthy(zk, root):
    """A full write/read round trip on an unrelated session."""
    path = zk.create(f"{root}/health-", b"ok", sequence=True)
    assert zk.get(path)[0] == b"ok"
    zk.delete(path)


def handshake_or_none(address):
    """A new session, or None if the server closed the connection without answering."""
    try:
        return zkraw.RawSession.connect(address, io_timeout_s=5.0)
    except (zkraw.ConnectionClosed, ConnectionError):
        return None


def assert_closed_without_answer(sock) -> None:
    try:
        assert zkraw.wait_for_close(sock, 5.0) == b""
    finally:
        sock.close()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"\xde\xad\xbe\xef" * 8, id="garbage"),
        pytest.param(struct.pack(">i", JUTE_MAXBUFFER + 1) + b"\x00" * 64, id="length-over-maxbuffer"),
        pytest.param(struct.pack(">i", 0x7FFFFFFF), id="length-max-int"),
        pytest.param(struct.pack(">i", -5) + b"\x00" * 16, id="negative-length"),
        pytest.param(
            zkraw.frame(jute.request_header(1, OpCode.EXISTS) + jute.path_watch_body("/", False)),
            id="request-before-handshake",
        ),
    ],
)
def test_bad_first_bytes_close_the_connection(server, zk, root, payload):
    sock = zkraw.open_socket(server.address)
    sock.sendall(payload)
    assert_closed_without_answer(sock)
    assert_healthy(zk, root)


def test_oversized_frame_after_handshake_closes_the_connection(server, raw_factory, zk, root):
    session = raw_factory(server)
    session.send_raw(struct.pack(">i", JUTE_MAXBUFFER + 1))
    assert_closed_without_answer(session.sock)
    assert_healthy(zk, root)


def test_negative_length_after_handshake_closes_the_connection(server, raw_factory, zk, root):
    session = raw_factory(server)
    session.send_raw(struct.pack(">i", -1))
    assert_closed_without_answer(session.sock)
    assert_healthy(zk, root)


def test_truncated_frame_waits_then_close_is_harmless(server, raw_factory, zk, root):
    session = raw_factory(server)
    # Half a request: the server waits for the rest without answering.
    session.send_raw(struct.pack(">i", 100) + b"\x00\x00\x00\x07")
    with pytest.raises(TimeoutError):
        zkraw.wait_for_close(session.sock, 0.5)
    session.drop()
    assert_healthy(zk, root)


def test_truncated_handshake_then_close_is_harmless(server, zk, root):
    sock = zkraw.open_socket(server.address)
    sock.sendall(zkraw.frame(jute.connect_request(30000))[:20])
    sock.close()
    assert_healthy(zk, root)


def test_undecodable_request_body_is_a_marshalling_error(server, raw_factory, zk, root):
    """A getData whose path length runs past the end of the frame."""
    session = raw_factory(server)
    xid = session.allocate_xid()
    session.send(xid, OpCode.GET_DATA, struct.pack(">i", 1000) + b"/short")

    reply = session.read_reply(xid)

    assert (reply.err, reply.body) == (Err.MARSHALLING_ERROR, b"")
    # Like a read's reply, it carries the last committed zxid.
    follow_up = session.request(OpCode.EXISTS, jute.path_watch_body("/", False))
    assert reply.zxid == follow_up.zxid
    # The session carries on.
    assert session.create(f"{root}/after")[0] == Err.OK
    assert_healthy(zk, root)


def test_unknown_opcode_is_unimplemented_then_connection_closes(server, raw_factory, zk, root):
    session = raw_factory(server)
    assert session.create(f"{root}/eph", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    xid = session.allocate_xid()

    reply = session.request(999, b"", xid=xid)

    # The reply carries zxid -1; then the server closes the connection, not the session.
    assert (reply.xid, reply.zxid, reply.err, reply.body) == (xid, -1, Err.UNIMPLEMENTED, b"")
    assert zkraw.wait_for_close(session.sock, 5.0) == b""
    resumed = raw_factory(server, session_id=session.session_id, passwd=session.passwd)
    assert resumed.get_ephemerals(root) == (Err.OK, [f"{root}/eph"])
    assert_healthy(zk, root)


# ---- invalid paths -------------------------------------------------------------------

OPERATIONS = {
    # name: (call, in this order on one session)
    "create": lambda s, p: s.create(p)[0],
    "delete": lambda s, p: s.delete(p),
    "exists": lambda s, p: s.exists(p)[0],
    "getData": lambda s, p: s.get_data(p)[0],
    "setData": lambda s, p: s.set_data(p, b"x")[0],
    "getChildren": lambda s, p: s.get_children(p)[0],
    "getACL": lambda s, p: s.get_acl(p)[0],
    "setACL": lambda s, p: s.set_acl(p, jute.OPEN_ACL_UNSAFE)[0],
    "sync": lambda s, p: s.sync(p)[0],
    "createSequential": lambda s, p: s.create(p, mode=CreateMode.PERSISTENT_SEQUENTIAL)[0],
    "addWatch": lambda s, p: s.add_watch(p, 0),
    "getAllChildrenNumber": lambda s, p: s.get_all_children_number(p)[0],
}
OK, BAD, NONODE = Err.OK, Err.BAD_ARGUMENTS, Err.NO_NODE
# Observed on the reference, for a root R holding only R/a. Reads do not validate paths
# (a lookup simply misses; "" is the root's own key), writes do, creates look up the parent
# (named by the last "/") before validating, and sync and addWatch accept anything.
#                         create delete exists getData setData getChildren getACL setACL sync   createSeq addWatch allChildren
INVALID_PATH_RESULTS = {
    "x/y":        (NONODE, NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, NONODE, OK, NONODE),
    "":           (BAD,    BAD,    OK,     OK,     BAD, OK,     OK,     BAD, OK, BAD,    OK, OK),
    "R/a/":       (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, OK,     OK, NONODE),
    "R//a":       (NONODE, NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, NONODE, OK, NONODE),
    "R/a//b":     (NONODE, NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, NONODE, OK, NONODE),
    "R/a/./b":    (NONODE, NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, NONODE, OK, NONODE),
    "R/a/../b":   (NONODE, NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, NONODE, OK, NONODE),
    "R/a/.":      (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, OK,     OK, NONODE),
    "R/a/..":     (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, OK,     OK, NONODE),
    "R/a\0b":     (BAD,    BAD,    BAD,    NONODE, BAD, NONODE, NONODE, BAD, OK, BAD,    OK, NONODE),
    "//":         (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, BAD,    OK, NONODE),
    "/.":         (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, OK,     OK, NONODE),
    "R/a\x01b":   (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, BAD,    OK, NONODE),
    "R/a\x7fb":   (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, BAD,    OK, NONODE),
    "R/a\ufffeb": (BAD,    NONODE, NONODE, NONODE, BAD, NONODE, NONODE, BAD, OK, BAD,    OK, NONODE),
}


@pytest.mark.parametrize("template", list(INVALID_PATH_RESULTS), ids=[repr(t) for t in INVALID_PATH_RESULTS])
def test_invalid_path_answers(server, raw_factory, zk, root, template):
    zk.create(f"{root}/a")
    path = template.replace("R", root, 1) if template.startswith("R") else template
    session = raw_factory(server)

    observed = tuple(call(session, path) for call in OPERATIONS.values())

    assert dict(zip(OPERATIONS, observed)) == dict(zip(OPERATIONS, INVALID_PATH_RESULTS[template]))
    assert_healthy(zk, root)


def test_unusual_but_valid_names(raw, zk, root):
    for name in ("a b", ".hidden", "...", "é", "日本", "x" * 500):
        path = f"{root}/{name}"
        assert raw.create(path, name.encode()) == (Err.OK, path)
        assert raw.get_data(path)[1] == name.encode()
    err, children = raw.get_children(root)
    assert (err, sorted(children)) == (Err.OK, sorted(["a b", ".hidden", "...", "é", "日本", "x" * 500]))


def test_reserved_paths(raw, root):
    assert raw.create("/") == (Err.NODE_EXISTS, None)
    assert raw.delete("/") == Err.BAD_ARGUMENTS
    assert raw.delete("/zookeeper") == Err.BAD_ARGUMENTS
    assert raw.create("/zookeeper") == (Err.NODE_EXISTS, None)
    # /zookeeper/config is read-only for everyone; /zookeeper itself accepts children.
    assert raw.set_data("/zookeeper/config", b"x")[0] == Err.NO_AUTH
    child = f"/zookeeper/interop{root.replace('/', '-')}"
    assert raw.create(child) == (Err.OK, child)
    assert raw.delete(child) == Err.OK


# ---- connection limit ----------------------------------------------------------------


def test_max_client_connections_per_ip(server_factory):
    limited = server_factory(ServerSpec(max_client_cnxns=3))
    sessions = [zkraw.RawSession.connect(limited.address) for _ in range(3)]
    try:
        for session in sessions:
            assert session.exists("/")[0] == Err.OK

        # The fourth connection from the same address is accepted, then closed unanswered.
        assert handshake_or_none(limited.address) is None

        # Freeing a slot lets a new client in (once the server has seen the close).
        sessions.pop().close()

        fourth = wait_until(lambda: handshake_or_none(limited.address), 5.0, "a free connection slot")
        sessions.append(fourth)
        assert fourth.exists("/")[0] == Err.OK
        for session in sessions:
            assert session.exists("/")[0] == Err.OK
    finally:
        for session in sessions:
            session.drop()
