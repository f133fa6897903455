"""Jute encoding of the ZooKeeper client protocol, written from zookeeper.jute.

Pure codec: no sockets here (zkraw.py does the I/O). Every multi-byte integer is
big-endian; a `buffer` and a `ustring` are an int length (-1 for null) followed by
the bytes; a `vector` is an int count (-1 for null) followed by its items.
"""

import struct
from typing import NamedTuple, Optional


class OpCode:
    """Request types (ZooDefs.OpCode)."""

    NOTIFICATION = 0
    CREATE = 1
    DELETE = 2
    EXISTS = 3
    GET_DATA = 4
    SET_DATA = 5
    GET_ACL = 6
    SET_ACL = 7
    GET_CHILDREN = 8
    SYNC = 9
    PING = 11
    GET_CHILDREN2 = 12
    CHECK = 13
    MULTI = 14
    CREATE2 = 15
    RECONFIG = 16
    CHECK_WATCHES = 17
    REMOVE_WATCHES = 18
    CREATE_CONTAINER = 19
    DELETE_CONTAINER = 20
    CREATE_TTL = 21
    MULTI_READ = 22
    AUTH = 100
    SET_WATCHES = 101
    SASL = 102
    GET_EPHEMERALS = 103
    GET_ALL_CHILDREN_NUMBER = 104
    SET_WATCHES2 = 105
    ADD_WATCH = 106
    WHO_AM_I = 107
    CREATE_SESSION = -10
    CLOSE_SESSION = -11
    ERROR = -1


class Err:
    """KeeperException.Code values."""

    OK = 0
    SYSTEM_ERROR = -1
    RUNTIME_INCONSISTENCY = -2
    DATA_INCONSISTENCY = -3
    CONNECTION_LOSS = -4
    MARSHALLING_ERROR = -5
    UNIMPLEMENTED = -6
    OPERATION_TIMEOUT = -7
    BAD_ARGUMENTS = -8
    UNKNOWN_SESSION = -12
    API_ERROR = -100
    NO_NODE = -101
    NO_AUTH = -102
    BAD_VERSION = -103
    NO_CHILDREN_FOR_EPHEMERALS = -108
    NODE_EXISTS = -110
    NOT_EMPTY = -111
    SESSION_EXPIRED = -112
    INVALID_CALLBACK = -113
    INVALID_ACL = -114
    AUTH_FAILED = -115
    SESSION_MOVED = -118
    NOT_READ_ONLY = -119
    EPHEMERAL_ON_LOCAL_SESSION = -120
    NO_WATCHER = -121


class Xid:
    """Reserved xids of server-originated or special packets."""

    NOTIFICATION = -1
    PING = -2
    AUTH = -4
    SET_WATCHES = -8


class CreateMode:
    """The `flags` field of CreateRequest (CreateMode.toFlag)."""

    PERSISTENT = 0
    EPHEMERAL = 1
    PERSISTENT_SEQUENTIAL = 2
    EPHEMERAL_SEQUENTIAL = 3
    CONTAINER = 4
    PERSISTENT_WITH_TTL = 5
    PERSISTENT_SEQUENTIAL_WITH_TTL = 6


class EventType:
    NONE = -1
    NODE_CREATED = 1
    NODE_DELETED = 2
    NODE_DATA_CHANGED = 3
    NODE_CHILDREN_CHANGED = 4
    DATA_WATCH_REMOVED = 5
    CHILD_WATCH_REMOVED = 6
    PERSISTENT_WATCH_REMOVED = 7


class KeeperState:
    DISCONNECTED = 0
    SYNC_CONNECTED = 3
    AUTH_FAILED = 4
    EXPIRED = -112


class WatcherType:
    """The `type` of CheckWatchesRequest / RemoveWatchesRequest."""

    CHILDREN = 1
    DATA = 2
    ANY = 3


class AddWatchMode:
    PERSISTENT = 0
    PERSISTENT_RECURSIVE = 1


class Perms:
    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


class Stat(NamedTuple):
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeral_owner: int
    data_length: int
    num_children: int
    pzxid: int


class Acl(NamedTuple):
    perms: int
    scheme: str
    id: str


class WatcherEvent(NamedTuple):
    type: int
    state: int
    path: str


class ConnectResponse(NamedTuple):
    protocol_version: int
    timeout_ms: int
    session_id: int
    passwd: bytes
    read_only: Optional[bool]


OPEN_ACL_UNSAFE = [Acl(Perms.ALL, "world", "anyone")]


class Writer:
    """Appends jute primitives to a byte buffer."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def int(self, value: int) -> "Writer":
        self._parts.append(struct.pack(">i", value))
        return self

    def long(self, value: int) -> "Writer":
        self._parts.append(struct.pack(">q", value))
        return self

    def bool(self, value: bool) -> "Writer":
        self._parts.append(b"\x01" if value else b"\x00")
        return self

    def buffer(self, value: Optional[bytes]) -> "Writer":
        if value is None:
            return self.int(-1)
        self.int(len(value))
        self._parts.append(bytes(value))
        return self

    def ustring(self, value: Optional[str]) -> "Writer":
        return self.buffer(None if value is None else value.encode("utf-8"))

    def strings(self, values: Optional[list[str]]) -> "Writer":
        if values is None:
            return self.int(-1)
        self.int(len(values))
        for value in values:
            self.ustring(value)
        return self

    def acls(self, acls: list[Acl]) -> "Writer":
        self.int(len(acls))
        for acl in acls:
            self.int(acl.perms).ustring(acl.scheme).ustring(acl.id)
        return self

    def raw(self, data: bytes) -> "Writer":
        self._parts.append(data)
        return self

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class DecodeError(Exception):
    pass


class Reader:
    """Reads jute primitives from a byte string, failing on truncation."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self._data = data
        self.offset = offset

    def _take(self, count: int) -> bytes:
        if count < 0 or self.offset + count > len(self._data):
            raise DecodeError(f"need {count} bytes at {self.offset}, have {len(self._data)}")
        chunk = self._data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def remaining(self) -> int:
        return len(self._data) - self.offset

    def int(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def bool(self) -> bool:
        return self._take(1) != b"\x00"

    def buffer(self) -> Optional[bytes]:
        length = self.int()
        return None if length < 0 else self._take(length)

    def ustring(self) -> Optional[str]:
        raw = self.buffer()
        return None if raw is None else raw.decode("utf-8")

    def strings(self) -> Optional[list[str]]:
        count = self.int()
        return None if count < 0 else [self.ustring() for _ in range(count)]

    def stat(self) -> Stat:
        return Stat(
            czxid=self.long(),
            mzxid=self.long(),
            ctime=self.long(),
            mtime=self.long(),
            version=self.int(),
            cversion=self.int(),
            aversion=self.int(),
            ephemeral_owner=self.long(),
            data_length=self.int(),
            num_children=self.int(),
            pzxid=self.long(),
        )

    def acls(self) -> list[Acl]:
        count = self.int()
        return [Acl(self.int(), self.ustring(), self.ustring()) for _ in range(max(count, 0))]


# ---- connection handshake -------------------------------------------------

def connect_request(
    timeout_ms: int,
    session_id: int = 0,
    passwd: bytes = b"\x00" * 16,
    last_zxid_seen: int = 0,
    read_only: bool = False,
) -> bytes:
    return (
        Writer()
        .int(0)  # protocolVersion
        .long(last_zxid_seen)
        .int(timeout_ms)
        .long(session_id)
        .buffer(passwd)
        .bool(read_only)
        .bytes()
    )


def decode_connect_response(payload: bytes) -> ConnectResponse:
    reader = Reader(payload)
    protocol_version = reader.int()
    timeout_ms = reader.int()
    session_id = reader.long()
    passwd = reader.buffer() or b""
    # Old servers omit the trailing readOnly flag, so it is optional here.
    read_only = reader.bool() if reader.remaining() else None
    return ConnectResponse(protocol_version, timeout_ms, session_id, passwd, read_only)


def request_header(xid: int, opcode: int) -> bytes:
    return Writer().int(xid).int(opcode).bytes()


# ---- request bodies ---------------------------------------------------------

def path_body(path: str) -> bytes:
    """Requests whose only field is a path (sync, getACL, getEphemerals, ...)."""
    return Writer().ustring(path).bytes()


def path_watch_body(path: str, watch: bool) -> bytes:
    """exists, getData, getChildren, getChildren2."""
    return Writer().ustring(path).bool(watch).bytes()


def create_body(path: str, data: bytes, acl: list[Acl], flags: int, ttl: Optional[int] = None) -> bytes:
    writer = Writer().ustring(path).buffer(data).acls(acl).int(flags)
    if ttl is not None:
        writer.long(ttl)
    return writer.bytes()


def path_version_body(path: str, version: int) -> bytes:
    """delete and check."""
    return Writer().ustring(path).int(version).bytes()


def set_data_body(path: str, data: bytes, version: int) -> bytes:
    return Writer().ustring(path).buffer(data).int(version).bytes()


def set_acl_body(path: str, acl: list[Acl], version: int) -> bytes:
    return Writer().ustring(path).acls(acl).int(version).bytes()


def path_int_body(path: str, value: int) -> bytes:
    """addWatch (mode), checkWatches and removeWatches (watcher type)."""
    return Writer().ustring(path).int(value).bytes()


def auth_body(scheme: str, credential: bytes) -> bytes:
    return Writer().int(0).ustring(scheme).buffer(credential).bytes()


def set_watches_body(relative_zxid: int, data: list[str], exist: list[str], child: list[str]) -> bytes:
    return Writer().long(relative_zxid).strings(data).strings(exist).strings(child).bytes()


def set_watches2_body(
    relative_zxid: int,
    data: list[str],
    exist: list[str],
    child: list[str],
    persistent: list[str],
    persistent_recursive: list[str],
) -> bytes:
    return (
        Writer()
        .long(relative_zxid)
        .strings(data)
        .strings(exist)
        .strings(child)
        .strings(persistent)
        .strings(persistent_recursive)
        .bytes()
    )


class MultiOp(NamedTuple):
    opcode: int
    body: bytes


def multi_body(ops: list[MultiOp]) -> bytes:
    writer = Writer()
    for op in ops:
        writer.int(op.opcode).bool(False).int(-1).raw(op.body)
    return writer.int(-1).bool(True).int(-1).bytes()


class MultiResult(NamedTuple):
    opcode: int  # OpCode.ERROR for a failed (or rolled back) op
    err: int
    path: Optional[str] = None
    stat: Optional[Stat] = None


def decode_multi_response(payload: bytes) -> list[MultiResult]:
    reader = Reader(payload)
    results: list[MultiResult] = []
    while True:
        opcode, done, err = reader.int(), reader.bool(), reader.int()
        if done:
            return results
        if opcode == OpCode.ERROR:
            results.append(MultiResult(opcode, reader.int()))
        elif opcode == OpCode.CREATE:
            results.append(MultiResult(opcode, err, path=reader.ustring()))
        elif opcode == OpCode.CREATE2:
            results.append(MultiResult(opcode, err, path=reader.ustring(), stat=reader.stat()))
        elif opcode == OpCode.SET_DATA:
            results.append(MultiResult(opcode, err, stat=reader.stat()))
        elif opcode in (OpCode.DELETE, OpCode.CHECK):
            results.append(MultiResult(opcode, err))
        else:
            raise DecodeError(f"unexpected op {opcode} in multi response")


def decode_event(payload: bytes) -> WatcherEvent:
    reader = Reader(payload)
    return WatcherEvent(reader.int(), reader.int(), reader.ustring())
