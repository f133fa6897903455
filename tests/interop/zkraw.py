"""A small synchronous ZooKeeper client over a raw TCP socket.

It exists so tests can see exactly what a server answers: error codes, stats, event
order, handshake fields, and how it reacts to malformed input. One session per
object, one thread, no reconnects and no automatic pings: a test that wants a
session to expire simply stops talking.

Notifications (xid -1) that arrive while waiting for a reply are queued in `events`
in arrival order; `barrier()` flushes those already sent by the server, because a
server answers a read only after the notifications it queued before it.
"""

import collections
import socket
import struct
import time
from typing import NamedTuple, Optional

import jute
from jute import Acl, Err, OpCode, OPEN_ACL_UNSAFE, Stat, WatcherEvent, Xid

FRAME_LENGTH_MAX = 64 * 1024 * 1024
IO_TIMEOUT_S = 10.0


class ConnectionClosed(Exception):
    """The server closed the TCP connection."""


class Reply(NamedTuple):
    xid: int
    zxid: int
    err: int
    body: bytes


def open_socket(address: tuple[str, int], timeout_s: float = IO_TIMEOUT_S) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def recv_exact(sock: socket.socket, count: int) -> bytes:
    chunks = []
    while count:
        chunk = sock.recv(count)
        if not chunk:
            raise ConnectionClosed(f"EOF with {count} bytes still expected")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> bytes:
    (length,) = struct.unpack(">i", recv_exact(sock, 4))
    if length < 0 or length > FRAME_LENGTH_MAX:
        raise jute.DecodeError(f"server sent frame length {length}")
    return recv_exact(sock, length)


def wait_for_close(sock: socket.socket, timeout_s: float) -> bytes:
    """Reads until the peer closes; returns what it sent. Fails if it stays open."""
    deadline = time.monotonic() + timeout_s
    received = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"connection still open after {timeout_s}s; got {b''.join(received)!r}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return b"".join(received)
        except socket.timeout:
            continue
        if not chunk:
            return b"".join(received)
        received.append(chunk)


class HandshakeRejected(Exception):
    """The server answered the handshake with a dead session (id 0, timeout 0)."""

    def __init__(self, response: jute.ConnectResponse) -> None:
        super().__init__(f"handshake rejected: {response}")
        self.response = response


class RawSession:
    def __init__(self, sock: socket.socket, handshake: jute.ConnectResponse) -> None:
        self.sock = sock
        self.handshake = handshake
        self.events: collections.deque[WatcherEvent] = collections.deque()
        self.last_zxid = 0
        self._next_xid = 1

    # ---- lifecycle -------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        address: tuple[str, int],
        timeout_ms: int = 30000,
        session_id: int = 0,
        passwd: bytes = b"\x00" * 16,
        last_zxid_seen: int = 0,
        io_timeout_s: float = IO_TIMEOUT_S,
    ) -> "RawSession":
        """Opens a socket and performs the handshake; raises HandshakeRejected for a dead session."""
        sock = open_socket(address, io_timeout_s)
        try:
            sock.sendall(frame(jute.connect_request(timeout_ms, session_id, passwd, last_zxid_seen)))
            response = jute.decode_connect_response(recv_frame(sock))
        except BaseException:
            sock.close()
            raise
        if response.session_id == 0 or response.timeout_ms <= 0:
            sock.close()
            raise HandshakeRejected(response)
        session = cls(sock, response)
        session.last_zxid = last_zxid_seen
        return session

    @property
    def session_id(self) -> int:
        return self.handshake.session_id

    @property
    def passwd(self) -> bytes:
        return self.handshake.passwd

    @property
    def timeout_ms(self) -> int:
        return self.handshake.timeout_ms

    def close(self) -> int:
        """Ends the session (closeSession) and the connection; returns the reply's error code."""
        try:
            reply = self.request(OpCode.CLOSE_SESSION)
            return reply.err
        finally:
            self.drop()

    def drop(self) -> None:
        """Closes the TCP connection only; the session lives on until it times out."""
        try:
            self.sock.close()
        except OSError:
            pass

    # ---- framing ---------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, xid: int, opcode: int, body: bytes = b"") -> None:
        self.sock.sendall(frame(jute.request_header(xid, opcode) + body))

    def read_packet(self, timeout_s: float = IO_TIMEOUT_S) -> Reply:
        """Reads one reply or notification frame."""
        self.sock.settimeout(timeout_s)
        payload = recv_frame(self.sock)
        reader = jute.Reader(payload)
        xid, zxid, err = reader.int(), reader.long(), reader.int()
        if zxid > 0:
            self.last_zxid = max(self.last_zxid, zxid)
        return Reply(xid, zxid, err, payload[reader.offset :])

    def request(self, opcode: int, body: bytes = b"", xid: Optional[int] = None, timeout_s: float = IO_TIMEOUT_S) -> Reply:
        """Sends one request and returns its reply, queueing notifications seen meanwhile."""
        if xid is None:
            xid = self.allocate_xid()
        if opcode == OpCode.PING:
            xid = Xid.PING
        self.send(xid, opcode, body)
        return self.read_reply(xid, timeout_s)

    def allocate_xid(self) -> int:
        xid = self._next_xid
        self._next_xid += 1
        return xid

    def read_reply(self, xid: int, timeout_s: float = IO_TIMEOUT_S) -> Reply:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply for xid {xid} within {timeout_s}s")
            packet = self.read_packet(remaining)
            if packet.xid == Xid.NOTIFICATION:
                self.events.append(jute.decode_event(packet.body))
            elif packet.xid == xid:
                return packet
            elif packet.xid == Xid.PING:
                continue
            else:
                raise AssertionError(f"reply for xid {packet.xid} while waiting for {xid}: {packet}")

    def wait_event(self, timeout_s: float = IO_TIMEOUT_S) -> WatcherEvent:
        """Returns the next notification, reading from the socket if none is queued."""
        deadline = time.monotonic() + timeout_s
        while not self.events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no notification within {timeout_s}s")
            try:
                packet = self.read_packet(remaining)
            except socket.timeout:
                continue
            if packet.xid == Xid.NOTIFICATION:
                self.events.append(jute.decode_event(packet.body))
        return self.events.popleft()

    def barrier(self) -> list[WatcherEvent]:
        """Returns (and clears) every notification the server queued before now."""
        reply = self.request(OpCode.EXISTS, jute.path_watch_body("/", False))
        assert reply.err == Err.OK, reply
        drained = list(self.events)
        self.events.clear()
        return drained

    def ping(self) -> Reply:
        return self.request(OpCode.PING)

    # ---- typed operations --------------------------------------------------------
    # Each returns the error code first; the decoded value is None when err != 0.

    def create(self, path: str, data: bytes = b"", acl: list[Acl] = OPEN_ACL_UNSAFE, mode: int = 0,
               ttl: Optional[int] = None, opcode: Optional[int] = None) -> tuple[int, Optional[str]]:
        if opcode is None:
            opcode = self._create_opcode(mode, ttl)
        reply = self.request(opcode, jute.create_body(path, data, acl, mode, ttl))
        return reply.err, jute.Reader(reply.body).ustring() if reply.err == 0 else None

    def create2(self, path: str, data: bytes = b"", acl: list[Acl] = OPEN_ACL_UNSAFE, mode: int = 0,
                ttl: Optional[int] = None) -> tuple[int, Optional[str], Optional[Stat]]:
        opcode = OpCode.CREATE2 if ttl is None and mode != jute.CreateMode.CONTAINER else self._create_opcode(mode, ttl)
        reply = self.request(opcode, jute.create_body(path, data, acl, mode, ttl))
        if reply.err != 0:
            return reply.err, None, None
        reader = jute.Reader(reply.body)
        return reply.err, reader.ustring(), reader.stat()

    @staticmethod
    def _create_opcode(mode: int, ttl: Optional[int]) -> int:
        if ttl is not None:
            return OpCode.CREATE_TTL
        if mode == jute.CreateMode.CONTAINER:
            return OpCode.CREATE_CONTAINER
        return OpCode.CREATE

    def delete(self, path: str, version: int = -1) -> int:
        return self.request(OpCode.DELETE, jute.path_version_body(path, version)).err

    def exists(self, path: str, watch: bool = False) -> tuple[int, Optional[Stat]]:
        reply = self.request(OpCode.EXISTS, jute.path_watch_body(path, watch))
        return reply.err, jute.Reader(reply.body).stat() if reply.err == 0 else None

    def get_data(self, path: str, watch: bool = False) -> tuple[int, Optional[bytes], Optional[Stat]]:
        reply = self.request(OpCode.GET_DATA, jute.path_watch_body(path, watch))
        if reply.err != 0:
            return reply.err, None, None
        reader = jute.Reader(reply.body)
        return reply.err, reader.buffer(), reader.stat()

    def set_data(self, path: str, data: bytes, version: int = -1) -> tuple[int, Optional[Stat]]:
        reply = self.request(OpCode.SET_DATA, jute.set_data_body(path, data, version))
        return reply.err, jute.Reader(reply.body).stat() if reply.err == 0 else None

    def get_children(self, path: str, watch: bool = False) -> tuple[int, Optional[list[str]]]:
        reply = self.request(OpCode.GET_CHILDREN, jute.path_watch_body(path, watch))
        return reply.err, jute.Reader(reply.body).strings() if reply.err == 0 else None

    def get_children2(self, path: str, watch: bool = False) -> tuple[int, Optional[list[str]], Optional[Stat]]:
        reply = self.request(OpCode.GET_CHILDREN2, jute.path_watch_body(path, watch))
        if reply.err != 0:
            return reply.err, None, None
        reader = jute.Reader(reply.body)
        return reply.err, reader.strings(), reader.stat()

    def get_acl(self, path: str) -> tuple[int, Optional[list[Acl]], Optional[Stat]]:
        reply = self.request(OpCode.GET_ACL, jute.path_body(path))
        if reply.err != 0:
            return reply.err, None, None
        reader = jute.Reader(reply.body)
        return reply.err, reader.acls(), reader.stat()

    def set_acl(self, path: str, acl: list[Acl], version: int = -1) -> tuple[int, Optional[Stat]]:
        reply = self.request(OpCode.SET_ACL, jute.set_acl_body(path, acl, version))
        return reply.err, jute.Reader(reply.body).stat() if reply.err == 0 else None

    def sync(self, path: str) -> tuple[int, Optional[str]]:
        reply = self.request(OpCode.SYNC, jute.path_body(path))
        return reply.err, jute.Reader(reply.body).ustring() if reply.err == 0 else None

    def check(self, path: str, version: int) -> int:
        return self.request(OpCode.CHECK, jute.path_version_body(path, version)).err

    def multi(self, ops: list[jute.MultiOp]) -> tuple[int, list[jute.MultiResult]]:
        reply = self.request(OpCode.MULTI, jute.multi_body(ops))
        return reply.err, jute.decode_multi_response(reply.body) if reply.body else []

    def get_ephemerals(self, prefix: str) -> tuple[int, Optional[list[str]]]:
        reply = self.request(OpCode.GET_EPHEMERALS, jute.path_body(prefix))
        return reply.err, jute.Reader(reply.body).strings() if reply.err == 0 else None

    def get_all_children_number(self, path: str) -> tuple[int, Optional[int]]:
        reply = self.request(OpCode.GET_ALL_CHILDREN_NUMBER, jute.path_body(path))
        return reply.err, jute.Reader(reply.body).int() if reply.err == 0 else None

    def add_watch(self, path: str, mode: int) -> int:
        return self.request(OpCode.ADD_WATCH, jute.path_int_body(path, mode)).err

    def check_watches(self, path: str, watcher_type: int) -> int:
        return self.request(OpCode.CHECK_WATCHES, jute.path_int_body(path, watcher_type)).err

    def remove_watches(self, path: str, watcher_type: int) -> int:
        return self.request(OpCode.REMOVE_WATCHES, jute.path_int_body(path, watcher_type)).err

    def set_watches(self, relative_zxid: int, data: list[str] = (), exist: list[str] = (), child: list[str] = ()) -> int:
        body = jute.set_watches_body(relative_zxid, list(data), list(exist), list(child))
        return self.request(OpCode.SET_WATCHES, body, xid=Xid.SET_WATCHES).err

    def set_watches2(self, relative_zxid: int, data=(), exist=(), child=(), persistent=(), recursive=()) -> int:
        body = jute.set_watches2_body(relative_zxid, list(data), list(exist), list(child), list(persistent), list(recursive))
        return self.request(OpCode.SET_WATCHES2, body, xid=Xid.SET_WATCHES).err

    def whoami(self) -> tuple[int, Optional[list[tuple[str, str]]]]:
        reply = self.request(OpCode.WHO_AM_I)
        if reply.err != 0:
            return reply.err, None
        reader = jute.Reader(reply.body)
        count = reader.int()
        return reply.err, [(reader.ustring(), reader.ustring()) for _ in range(max(count, 0))]

    def add_auth(self, scheme: str, credential: bytes) -> int:
        return self.request(OpCode.AUTH, jute.auth_body(scheme, credential), xid=Xid.AUTH).err
