#!/usr/bin/env python3
"""Capture golden ZooKeeper wire-protocol fixtures from real clients.

Runs the reference Apache ZooKeeper 3.8.0 (Debian packages) as a standalone server, puts a
recording TCP proxy in front of it, drives real clients through the proxy (kazoo, zkCli.sh, the
C client shell cli_mt, and a small program on the Java client API), and writes what they said to
crates/zk-proto/tests/fixtures/, one file per TCP connection, plus a README with an opcode census.

# Layout
- Limits and paths ............ constants below.
- ReferenceServer ............. starts/stops the reference server in its own process group.
- RecordingProxy .............. asyncio proxy on its own thread; splits each direction into frames.
- Wire helpers ................ just enough jute decoding for waits and for the census.
- Client sessions ............. one function per client; each returns the fixtures it produced.
- Fixture files and census .... writing, reading back, counting, README.

Usage (from the repository root):  python3 scripts/capture_fixtures.py [--log-dir DIR]

Everything is bounded: every wait has a deadline and a missing tool is a loud failure.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import dataclasses
import datetime
import hashlib
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

# ---------------------------------------------------------------------------------------------
# Limits and paths
# ---------------------------------------------------------------------------------------------

WAIT_LIMIT_S = 30.0  # Upper bound for any single wait on a server, client or proxy event.
SERVER_START_LIMIT_S = 60.0  # The JVM start and the database load on a busy 2-core machine.
CLIENT_RUN_LIMIT_S = 120.0  # A whole scripted client session (zkCli starts a JVM).
FRAME_LENGTH_MAX = 4 * 1024 * 1024  # Larger "lengths" mean the stream is not the ZK protocol.
KAZOO_SESSION_TIMEOUT_S = 4.0  # Short, so that kazoo pings (xid -2) after ~1.3 s of idleness.
POLL_INTERVAL_S = 0.2  # Between readiness attempts while the server starts.
REPLY_GRACE_S = 5.0  # How long a client's EOF is held back while its last requests are answered.

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / "crates" / "zk-proto" / "tests" / "fixtures"
JAVA_SOURCE = Path(__file__).resolve().parent / "fixtures_java" / "CaptureSession.java"
REGENERATE_COMMAND = "python3 scripts/capture_fixtures.py"

JAVA = "/usr/bin/java"
JAVAC = "/usr/bin/javac"
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
C_CLI = "/usr/lib/zookeeper/bin/cli_mt"
DEBIAN_CONF_DIR = "/etc/zookeeper/conf"  # Holds the log4j.properties the server logs with.
JAR_DIR = Path("/usr/share/java")
# zookeeper.jar's manifest Class-Path names its own dependencies; logging needs these two more.
SERVER_JARS = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"]
CLIENT_JARS = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-nop.jar"]

CLIENT_TO_SERVER = ">"
SERVER_TO_CLIENT = "<"


class CaptureError(Exception):
    """Anything that makes a capture untrustworthy; the script stops with this message."""


def require_tools() -> None:
    """A missing tool is a loud failure, never a skipped session."""
    missing = [tool for tool in (JAVA, JAVAC, ZKCLI, C_CLI, DEBIAN_CONF_DIR) if not os.path.exists(tool)]
    missing += [str(JAR_DIR / jar) for jar in SERVER_JARS + CLIENT_JARS if not (JAR_DIR / jar).exists()]
    if missing:
        raise CaptureError("missing tools (install the Debian zookeeper packages): " + ", ".join(missing))
    try:
        import kazoo  # noqa: F401
    except ImportError as error:
        raise CaptureError("kazoo is not installed (pip install kazoo==2.11.0)") from error


def classpath(jars: Iterable[str], *extra: str) -> str:
    return ":".join([*extra, *(str(JAR_DIR / jar) for jar in jars)])


def free_port() -> int:
    """A port that was free a moment ago; the server binds it soon after (a small, accepted race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process_group(process: subprocess.Popen, name: str) -> None:
    """Stops a child started with start_new_session=True: its group id is its own PID."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=WAIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            print(f"warning: {name} ignored SIGTERM; sending SIGKILL", file=sys.stderr)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=WAIT_LIMIT_S)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------------------------
# ReferenceServer
# ---------------------------------------------------------------------------------------------


class ReferenceServer:
    """A standalone Apache ZooKeeper 3.8.0 in a temporary directory, on a free loopback port."""

    def __init__(self, log_dir: Path):
        self.log_path = log_dir / "reference-server.log"
        self.port = 0
        self._directory: Path | None = None
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "ReferenceServer":
        self._directory = Path(tempfile.mkdtemp(prefix="zk-fixture-server-"))
        try:
            self._start()
            self._await_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            stop_process_group(self._process, "reference server")
            self._process = None
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def _start(self) -> None:
        assert self._directory is not None
        data_dir = self._directory / "data"
        data_dir.mkdir()
        self.port = free_port()
        config = self._directory / "zoo.cfg"
        config.write_text(
            "\n".join(
                [
                    "tickTime=2000",
                    f"dataDir={data_dir}",
                    f"clientPort={self.port}",
                    "clientPortAddress=127.0.0.1",
                    "admin.enableServer=false",
                    "4lw.commands.whitelist=*",
                    "",
                ]
            )
        )
        command = [
            JAVA,
            "-Xmx256m",
            "-Dzookeeper.extendedTypesEnabled=true",
            "-Dznode.container.checkIntervalMs=1000",
            "-Dzookeeper.root.logger=INFO,CONSOLE",
            f"-Dzookeeper.log.dir={self._directory}",
            "-cp",
            classpath(SERVER_JARS, DEBIAN_CONF_DIR),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(config),
        ]
        with open(self.log_path, "wb") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _await_ready(self) -> None:
        """`ruok` answers before the database is loaded, so readiness is a successful request."""
        from kazoo.client import KazooClient

        deadline = time.monotonic() + SERVER_START_LIMIT_S
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise CaptureError(f"reference server exited early:\n{tail(self.log_path)}")
            client = KazooClient(hosts=f"127.0.0.1:{self.port}", timeout=5.0)
            try:
                client.start(timeout=2.0)
                client.get_children("/")
                return
            except Exception:  # noqa: BLE001 - any failure means "not ready yet"
                if time.monotonic() > deadline:
                    raise CaptureError(f"reference server not ready in time:\n{tail(self.log_path)}")
                time.sleep(POLL_INTERVAL_S)
            finally:
                client.stop()
                client.close()


# ---------------------------------------------------------------------------------------------
# RecordingProxy
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Frame:
    direction: str  # CLIENT_TO_SERVER or SERVER_TO_CLIENT
    payload: bytes  # Without the 4-byte length prefix.


@dataclasses.dataclass
class ConnectionRecord:
    """Everything one TCP connection carried, in the order the proxy saw complete frames."""

    index: int
    frames: list[Frame] = dataclasses.field(default_factory=list)
    closed: bool = False
    problems: list[str] = dataclasses.field(default_factory=list)
    writers: tuple = ()
    dropped: bool = False  # Cut on purpose by the proxy: nothing more is owed in either direction.
    server_finished: bool = False  # The server's side reached end of stream.
    frame_arrived: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def payloads(self, direction: str) -> list[bytes]:
        return [frame.payload for frame in self.frames if frame.direction == direction]


class FrameSplitter:
    """Splits one direction of a stream into length-prefixed frames; partial input stays buffered."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 4:
            (length,) = struct.unpack_from(">i", self._buffer)
            if length < 0 or length > FRAME_LENGTH_MAX:
                raise CaptureError(f"frame length {length} is not the ZooKeeper protocol (four-letter word?)")
            if len(self._buffer) < 4 + length:
                break
            frames.append(bytes(self._buffer[4 : 4 + length]))
            del self._buffer[: 4 + length]
        return frames

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)


class RecordingProxy:
    """Forwards bytes both ways between clients and the server, recording frames per direction.

    The asyncio loop runs on its own thread so that blocking clients (kazoo, subprocesses) can be
    driven from the main thread; the main thread waits on `changed`, which is notified after every
    recorded frame and every closed connection.
    """

    def __init__(self, upstream_port: int):
        self._upstream_port = upstream_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="recording-proxy", daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self.changed = threading.Condition()
        self.connections: list[ConnectionRecord] = []
        self.port = 0

    def __enter__(self) -> "RecordingProxy":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = future.result(timeout=WAIT_LIMIT_S)
        return self

    def __exit__(self, *exc_info) -> None:
        async def shut_down() -> None:
            if self._server is not None:
                self._server.close()
            for record in self.connections:
                for writer in record.writers:
                    writer.close()

        asyncio.run_coroutine_threadsafe(shut_down(), self._loop).result(timeout=WAIT_LIMIT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=WAIT_LIMIT_S)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        with self.changed:
            record = ConnectionRecord(index=len(self.connections))
            self.connections.append(record)
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError as error:
            self._note_problem(record, f"cannot reach the server: {error}")
            client_writer.close()
            return
        record.writers = (client_writer, server_writer)
        await asyncio.gather(
            self._pump(client_reader, server_writer, record, CLIENT_TO_SERVER),
            self._pump(server_reader, client_writer, record, SERVER_TO_CLIENT),
        )
        client_writer.close()
        server_writer.close()
        with self.changed:
            record.closed = True
            self.changed.notify_all()

    async def _pump(self, reader, writer, record: ConnectionRecord, direction: str) -> None:
        splitter = FrameSplitter()
        try:
            while data := await reader.read(65536):
                # Record before forwarding, so a frame is on file before its answer can exist.
                for payload in splitter.feed(data):
                    with self.changed:
                        record.frames.append(Frame(direction, payload))
                        self.changed.notify_all()
                    record.frame_arrived.set()
                writer.write(data)
                await writer.drain()
            if direction == SERVER_TO_CLIENT:
                record.server_finished = True
                record.frame_arrived.set()
            else:
                await self._let_server_answer(record)
            # Pass a half-close on instead of closing: a client that shuts down its sending side
            # right after closeSession must still let the server's last frames through.
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        except CaptureError as error:
            self._note_problem(record, str(error))
            writer.close()
        except (ConnectionError, OSError):
            writer.close()  # A dropped connection ends the pump; what was recorded stays valid.
        finally:
            if splitter.pending_bytes:
                self._note_problem(record, f"{direction} ended inside a frame ({splitter.pending_bytes} bytes)")

    @staticmethod
    async def _let_server_answer(record: ConnectionRecord) -> None:
        """Holds back a client's end of stream until its requests are answered (bounded).

        cli_mt closes its socket right after sending closeSession; forwarding that at once makes
        the server drop the reply on some runs. Holding the EOF back a moment changes no byte of
        any frame and makes the capture complete and repeatable.
        """
        deadline = time.monotonic() + REPLY_GRACE_S
        while unanswered_xids(record) and not (record.dropped or record.server_finished):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            record.frame_arrived.clear()
            try:
                await asyncio.wait_for(record.frame_arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _note_problem(self, record: ConnectionRecord, problem: str) -> None:
        with self.changed:
            record.problems.append(problem)
            self.changed.notify_all()

    def drop(self, record: ConnectionRecord) -> None:
        """Cuts both sides of a connection, as a network failure would."""

        def close_both() -> None:
            record.dropped = True
            for writer in record.writers:
                writer.close()

        self._loop.call_soon_threadsafe(close_both)
        self.wait_until(lambda: record.closed, f"connection {record.index} to close after a drop")

    def wait_until(self, condition: Callable[[], bool], what: str, limit_s: float = WAIT_LIMIT_S) -> None:
        with self.changed:
            if not self.changed.wait_for(condition, timeout=limit_s):
                raise CaptureError(f"timed out after {limit_s:.0f} s waiting for {what}")

    def await_connection(self, index: int) -> ConnectionRecord:
        """Waits until connection `index` exists and its handshake has been answered."""
        self.wait_until(
            lambda: len(self.connections) > index and bool(self.connections[index].payloads(SERVER_TO_CLIENT)),
            f"handshake of connection {index}",
        )
        return self.connections[index]

    def await_answers(self, record: ConnectionRecord, requests_before: int) -> None:
        """Waits until a new request was sent on `record` and every request has its reply."""
        self.wait_until(
            lambda: len(record.payloads(CLIENT_TO_SERVER)) > requests_before and not unanswered_xids(record),
            f"replies on connection {record.index}",
        )


# ---------------------------------------------------------------------------------------------
# Wire helpers: just enough jute to pair replies with requests and to count what was captured
# ---------------------------------------------------------------------------------------------

NOTIFICATION_XID = -1
PING_XID = -2

OPCODE_NAMES = {
    0: "notification", 1: "create", 2: "delete", 3: "exists", 4: "getData", 5: "setData",
    6: "getACL", 7: "setACL", 8: "getChildren", 9: "sync", 11: "ping", 12: "getChildren2",
    13: "check", 14: "multi", 15: "create2", 16: "reconfig", 17: "checkWatches",
    18: "removeWatches", 19: "createContainer", 20: "deleteContainer", 21: "createTTL",
    22: "multiRead", 100: "auth", 101: "setWatches", 102: "sasl", 103: "getEphemerals",
    104: "getAllChildrenNumber", 105: "setWatches2", 106: "addWatch", 107: "whoAmI",
    -10: "createSession", -11: "closeSession", -1: "error",
}
ERROR_NAMES = {
    0: "OK", -1: "SystemError", -2: "RuntimeInconsistency", -3: "DataInconsistency",
    -4: "ConnectionLoss", -5: "MarshallingError", -6: "Unimplemented", -7: "OperationTimeout",
    -8: "BadArguments", -13: "NewConfigNoQuorum", -14: "ReconfigInProgress", -15: "UnknownSession",
    -100: "APIError", -101: "NoNode", -102: "NoAuth", -103: "BadVersion",
    -108: "NoChildrenForEphemerals", -110: "NodeExists", -111: "NotEmpty", -112: "SessionExpired",
    -113: "InvalidCallback", -114: "InvalidACL", -115: "AuthFailed", -118: "SessionMoved",
    -119: "NotReadOnly", -120: "EphemeralOnLocalSession", -121: "NoWatcher", -122: "RequestTimeout",
    -123: "ReconfigDisabled", -124: "SessionClosedRequireSaslAuth", -125: "QuotaExceeded",
    -127: "ThrottledOp",
}
EVENT_NAMES = {
    -1: "None", 1: "NodeCreated", 2: "NodeDeleted", 3: "NodeDataChanged", 4: "NodeChildrenChanged",
    5: "DataWatchRemoved", 6: "ChildWatchRemoved", 7: "PersistentWatchRemoved",
}
STAT_BYTES = 68  # czxid, mzxid, ctime, mtime (i64) version, cversion, aversion (i32) ephemeralOwner (i64)
# dataLength, numChildren (i32) pzxid (i64)


def opcode_name(code: int) -> str:
    return f"{OPCODE_NAMES.get(code, 'unknown')}({code})"


def error_name(code: int) -> str:
    return f"{ERROR_NAMES.get(code, 'unknown')}({code})"


class JuteReader:
    """Big-endian jute primitives over one frame payload."""

    def __init__(self, payload: bytes, offset: int = 0):
        self.payload = payload
        self.offset = offset

    def _take(self, fmt: str):
        values = struct.unpack_from(fmt, self.payload, self.offset)
        self.offset += struct.calcsize(fmt)
        return values[0]

    def int(self) -> int:
        return self._take(">i")

    def long(self) -> int:
        return self._take(">q")

    def bool(self) -> bool:
        return self._take(">B") != 0

    def buffer(self) -> bytes | None:
        length = self.int()
        if length < 0:
            return None
        data = self.payload[self.offset : self.offset + length]
        if len(data) != length:
            raise CaptureError("buffer runs past the end of the frame")
        self.offset += length
        return data

    def string(self) -> str | None:
        data = self.buffer()
        return None if data is None else data.decode("utf-8")

    def acl_vector(self) -> None:
        for _ in range(max(self.int(), 0)):
            self.int()
            self.string()
            self.string()

    def skip(self, count: int) -> None:
        self.offset += count

    @property
    def remaining(self) -> int:
        return len(self.payload) - self.offset


def request_header(payload: bytes) -> tuple[int, int]:
    """(xid, opcode) of a request frame that follows the handshake."""
    return struct.unpack_from(">ii", payload)


def reply_header(payload: bytes) -> tuple[int, int, int]:
    """(xid, zxid, err) of a reply frame that follows the handshake."""
    return struct.unpack_from(">iqi", payload)


def unanswered_xids(record: ConnectionRecord) -> collections.Counter:
    requests = collections.Counter(request_header(p)[0] for p in record.payloads(CLIENT_TO_SERVER)[1:])
    replies = collections.Counter(reply_header(p)[0] for p in record.payloads(SERVER_TO_CLIENT)[1:])
    return requests - replies


def multi_request_ops(reader: JuteReader) -> list[int]:
    """Op types inside a MultiOperationRecord (multi, multiRead)."""
    ops = []
    while True:
        op_type, done, _err = reader.int(), reader.bool(), reader.int()
        if done:
            return ops
        ops.append(op_type)
        reader.string()  # Every op starts with its path.
        if op_type in (1, 15, 19, 21):
            reader.buffer()
            reader.acl_vector()
            reader.int()
            if op_type == 21:
                reader.long()
        elif op_type in (2, 13):
            reader.int()
        elif op_type == 5:
            reader.buffer()
            reader.int()
        elif op_type in (4, 8):
            reader.bool()
        else:
            raise CaptureError(f"census cannot skip multi op {op_type}")


def multi_response_results(reader: JuteReader) -> list[tuple[int, int]]:
    """(result type, err) of each result inside a MultiResponse."""
    results = []
    while True:
        result_type, done, err = reader.int(), reader.bool(), reader.int()
        if done:
            return results
        results.append((result_type, err))
        if result_type == 1:
            reader.string()
        elif result_type == 15:
            reader.string()
            reader.skip(STAT_BYTES)
        elif result_type == 5:
            reader.skip(STAT_BYTES)
        elif result_type == 8:
            for _ in range(max(reader.int(), 0)):
                reader.string()
        elif result_type == 4:
            reader.buffer()
            reader.skip(STAT_BYTES)
        elif result_type == -1:
            reader.int()
        elif result_type not in (2, 13):
            raise CaptureError(f"census cannot skip multi result {result_type}")


# ---------------------------------------------------------------------------------------------
# Client sessions
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Fixture:
    """One captured TCP connection and the words that explain it."""

    name: str
    client: str
    notes: list[str]
    frames: list[Frame]
    synthesized: bool = False


def connection_fixtures(proxy: RecordingProxy, first_index: int, base_name: str, client: str,
                        notes_per_connection: list[list[str]]) -> list[Fixture]:
    """Turns the connections a session opened into fixtures, checking there were no problems."""
    with proxy.changed:
        records = proxy.connections[first_index:]
    if len(records) != len(notes_per_connection):
        raise CaptureError(f"{base_name}: expected {len(notes_per_connection)} connections, saw {len(records)}")
    fixtures = []
    for position, (record, notes) in enumerate(zip(records, notes_per_connection)):
        if record.problems:
            raise CaptureError(f"{base_name} connection {record.index}: {'; '.join(record.problems)}")
        suffix = notes[0]
        name = base_name if not suffix else f"{base_name}-{suffix}"
        header = [f"connection {position + 1} of {len(records)} of this client session"] + notes[1:]
        fixtures.append(Fixture(name=name, client=client, notes=header, frames=list(record.frames)))
    return fixtures


def wait_for_exit(process: subprocess.Popen, name: str, log_path: Path, limit_s: float = CLIENT_RUN_LIMIT_S) -> None:
    try:
        code = process.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        stop_process_group(process, name)
        raise CaptureError(f"{name} did not finish within {limit_s:.0f} s:\n{tail(log_path)}")
    if code != 0:
        raise CaptureError(f"{name} exited with status {code}:\n{tail(log_path)}")


def digest_of(user: str, password: str) -> str:
    """The digest scheme's id: base64(sha1("user:password")), as DigestAuthenticationProvider makes it."""
    return base64.b64encode(hashlib.sha1(f"{user}:{password}".encode()).digest()).decode()


def kazoo_version() -> str:
    import kazoo.version

    return f"kazoo {kazoo.version.__version__} (Python {platform.python_version()})"


def capture_kazoo(proxy: RecordingProxy) -> list[Fixture]:
    """kazoo's public API: every op it has, errors, watches firing, pings, a reconnect, close."""
    from kazoo.client import KazooClient, KazooState
    from kazoo.exceptions import (
        BadVersionError, NoAuthError, NoChildrenForEphemeralsError, NodeExistsError, NoNodeError,
        NotEmptyError, ReconfigDisabledError,
    )
    from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl

    first_index = len(proxy.connections)
    client = KazooClient(hosts=proxy.address, timeout=KAZOO_SESSION_TIMEOUT_S)
    reconnected = threading.Event()
    lost_connection = threading.Event()

    def on_state(state) -> None:
        if state == KazooState.SUSPENDED:
            lost_connection.set()
        elif state == KazooState.CONNECTED and lost_connection.is_set():
            reconnected.set()

    client.add_listener(on_state)
    client.start(timeout=WAIT_LIMIT_S)
    try:
        record = proxy.await_connection(first_index)

        def expect(error_type, call, *args, **kwargs) -> None:
            try:
                call(*args, **kwargs)
            except error_type:
                return
            raise CaptureError(f"kazoo: expected {error_type.__name__} from {call.__name__}{args}")

        locked_acl = [make_digest_acl("alice", "secret", all=True), make_acl("world", "anyone", read=True)]
        client.create("/kazoo", b"root")
        client.create("/kazoo/empty", b"")
        client.create("/kazoo/eph", b"e", ephemeral=True)
        client.create("/kazoo/seq-", b"s", sequence=True)
        client.create("/kazoo/ephseq-", b"es", ephemeral=True, sequence=True)
        client.create("/kazoo/stat", b"create2", include_data=True)
        client.create("/kazoo/deep/a/b", b"made parents", makepath=True)
        client.create("/kazoo/locked", b"secret", acl=locked_acl)

        expect(NodeExistsError, client.create, "/kazoo", b"again")
        expect(NoNodeError, client.get, "/kazoo/missing")
        expect(NotEmptyError, client.delete, "/kazoo")
        expect(BadVersionError, client.set, "/kazoo/empty", b"x", version=42)
        expect(NoAuthError, client.set, "/kazoo/locked", b"x")
        expect(NoChildrenForEphemeralsError, client.create, "/kazoo/eph/child", b"")

        fired = collections.defaultdict(threading.Event)

        def watch_for(label: str):
            return lambda event: fired[label].set()

        client.exists("/kazoo/later", watch=watch_for("created"))
        client.exists("/kazoo", watch=watch_for("exists-hit"))
        client.get("/kazoo/empty", watch=watch_for("changed"))
        client.get_children("/kazoo", watch=watch_for("children"))
        client.get_children("/kazoo/deep", include_data=True)
        client.set("/kazoo/empty", b"changed")
        client.create("/kazoo/later", b"later")
        client.get("/kazoo/later", watch=watch_for("deleted"))
        client.delete("/kazoo/later")
        for label in ("created", "changed", "children", "deleted"):
            if not fired[label].wait(WAIT_LIMIT_S):
                raise CaptureError(f"kazoo: watch {label} did not fire")

        client.get_acls("/kazoo/locked")
        client.add_auth("digest", "alice:secret")
        client.set("/kazoo/locked", b"opened")
        client.set_acls("/kazoo/locked", OPEN_ACL_UNSAFE)
        expect(BadVersionError, client.set_acls, "/kazoo/locked", OPEN_ACL_UNSAFE, version=42)
        client.sync("/kazoo")
        client.get("/zookeeper/config")
        expect(ReconfigDisabledError, client.reconfig, "server.9=127.0.0.1:2888:3888;2181", None, None)

        good = client.transaction()
        good.create("/kazoo/t1", b"1")
        good.set_data("/kazoo/t1", b"2")
        good.check("/kazoo/t1", 1)
        good.delete("/kazoo/t1")
        if any(isinstance(result, Exception) for result in good.commit()):
            raise CaptureError("kazoo: the transaction meant to succeed failed")
        bad = client.transaction()
        bad.create("/kazoo/t2", b"")
        bad.check("/kazoo/empty", 999)
        bad.delete("/kazoo/stat")
        if not any(isinstance(result, Exception) for result in bad.commit()):
            raise CaptureError("kazoo: the transaction meant to fail succeeded")

        proxy.wait_until(
            lambda: any(reply_header(p)[0] == PING_XID for p in record.payloads(SERVER_TO_CLIENT)[1:]),
            "a kazoo ping and its reply",
        )

        proxy.drop(record)
        reconnect_record = proxy.await_connection(first_index + 1)
        if not reconnected.wait(WAIT_LIMIT_S):
            raise CaptureError("kazoo did not report CONNECTED after the drop")
        proxy.wait_until(lambda: not unanswered_xids(reconnect_record), "kazoo's re-sent auth to be answered")
        client.get("/kazoo/eph")  # The ephemeral survived: same session.
        client.delete("/kazoo/deep", recursive=True)
        session_id, password = client.client_id
    finally:
        client.stop()
        client.close()
    proxy.wait_until(lambda: proxy.connections[-1].closed, "kazoo's close to finish")

    fixtures = connection_fixtures(proxy, first_index, "kazoo-session", kazoo_version(), [
        ["", "kazoo public API: create in every mode kazoo has (incl. makepath, include_data -> create2,",
         "digest ACL), errors (NodeExists, NoNode, NotEmpty, BadVersion, NoAuth, NoChildrenForEphemerals),",
         "watches set by exists/get/get_children and the notifications they cause, getChildren2,",
         "get/set ACLs, add_auth, sync, getData of /zookeeper/config, reconfig (ReconfigDisabled),",
         "a committed and a failed transaction (multi), at least one ping; then the proxy cut the connection."],
        ["reconnect", "kazoo reconnected with the session id and password of the previous connection",
         "and re-sent its auth (kazoo does not send SetWatches); then get, recursive delete, closeSession."],
    ])
    return fixtures + capture_kazoo_expired(proxy, session_id, password) + capture_kazoo_read_only(proxy)


def capture_kazoo_expired(proxy: RecordingProxy, session_id: int, password: bytes) -> list[Fixture]:
    """A handshake for a session that was closed: the server answers with an expired handshake."""
    from kazoo.client import KazooClient

    first_index = len(proxy.connections)
    client = KazooClient(hosts=proxy.address, timeout=KAZOO_SESSION_TIMEOUT_S, client_id=(session_id, password))
    try:
        # kazoo sees the expiry, then opens a new session on a second connection; start() returns then.
        client.start(timeout=WAIT_LIMIT_S)
        proxy.await_connection(first_index)
    finally:
        client.stop()
        client.close()
    proxy.wait_until(lambda: all(r.closed for r in proxy.connections[first_index:]), "kazoo connections to close")
    with proxy.changed:
        record = proxy.connections[first_index]
    if record.problems:
        raise CaptureError(f"kazoo expired session: {'; '.join(record.problems)}")
    return [Fixture(
        name="kazoo-expired-session",
        client=kazoo_version(),
        notes=["kazoo asked to resume a session that had been closed (old session id and password);",
               "the server's answer is the expired-session handshake, then it closes the connection.",
               "(kazoo's follow-up connection with a fresh session is not kept.)"],
        frames=list(record.frames),
    )]


def capture_kazoo_read_only(proxy: RecordingProxy) -> list[Fixture]:
    """A ConnectRequest whose trailing readOnly flag is 1."""
    from kazoo.client import KazooClient

    first_index = len(proxy.connections)
    client = KazooClient(hosts=proxy.address, timeout=KAZOO_SESSION_TIMEOUT_S, read_only=True)
    try:
        client.start(timeout=WAIT_LIMIT_S)
        client.get_children("/")
    finally:
        client.stop()
        client.close()
    proxy.wait_until(lambda: proxy.connections[-1].closed, "kazoo's close to finish")
    return connection_fixtures(proxy, first_index, "kazoo-read-only-flag", kazoo_version(), [
        ["", "kazoo with read_only=True: the ConnectRequest ends with readOnly=1; getChildren; close."],
    ])


ZKCLI_COMMANDS = [
    "create /cli",
    "create /cli/data hello",
    "create -e /cli/eph e",
    "create -s /cli/seq- s",
    "create -s -e /cli/ephseq- es",
    "create -c /cli/container",
    "create -t 60000 /cli/ttl t",
    "create /cli/locked secret digest:alice:{digest}:cdrwa,world:anyone:r",
    "create /cli",
    "create /cli/missing/child x",
    "get /cli/nothere",
    "get -s -w /cli/data",
    "set /cli/data changed",
    "set -v 42 /cli/data x",
    "set -s /cli/data again",
    "stat /cli/data",
    "stat -w /cli/later",
    "create /cli/later",
    "ls /cli",
    "ls -s -w /cli",
    "ls -R /cli",
    "create /cli/more",
    "getAcl /cli/locked",
    "getAcl -s /cli/locked",
    "set /cli/locked x",
    "addauth digest alice:secret",
    "set /cli/locked opened",
    "setAcl /cli/locked world:anyone:cdrwa",
    "setAcl -v 42 /cli/locked world:anyone:r",
    "delete /cli",
    "delete -v 42 /cli/data",
    "delete /cli/data",
    "sync /cli",
    "getEphemerals /cli",
    "getEphemerals",
    "getAllChildrenNumber /cli",
    "addWatch /cli/rw",
    "addWatch -m PERSISTENT /cli/pw",
    "addWatch -m PERSISTENT_RECURSIVE /cli/rw2",
    "create /cli/pw p",
    "set /cli/pw p2",
    "create /cli/rw r",
    "create /cli/rw/deep d",
    "removewatches /cli/rw",
    "removewatches /cli/pw -a",
    "removewatches /cli/rw2 -a",
    "get -w /cli/ttl",
    "removewatches /cli/ttl -d",
    "ls -w /cli/rw",
    "removewatches /cli/rw -c",
    "whoami",
    "config",
    "config -s",
    "reconfig -add server.9=127.0.0.1:2888:3888;2181",
    "deleteall /cli",
    "ls /cli",
    "close",
]


def capture_zkcli(proxy: RecordingProxy, log_dir: Path) -> list[Fixture]:
    """zkCli.sh in batch mode: commands on stdin, run one after another by the shell's own loop."""
    first_index = len(proxy.connections)
    commands = "\n".join(ZKCLI_COMMANDS).format(digest=digest_of("alice", "secret")) + "\n"
    log_path = log_dir / "zkcli.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [ZKCLI, "-server", proxy.address], stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            assert process.stdin is not None
            process.stdin.write(commands.encode())
            process.stdin.close()
            wait_for_exit(process, "zkCli.sh", log_path)
        finally:
            stop_process_group(process, "zkCli.sh")
    proxy.wait_until(lambda: all(r.closed for r in proxy.connections[first_index:]), "zkCli's connection to close")
    return connection_fixtures(proxy, first_index, "zkcli-session", f"zkCli.sh, Java client {debian_version('libzookeeper-java')} on {java_version()}", [
        ["", "zkCli.sh -server HOST:PORT with these commands on stdin (the digest is alice:secret's):",
         *("  " + command for command in ZKCLI_COMMANDS)],
    ])


C_CLI_COMMANDS_FIRST_CONNECTION = [
    "create /c",
    "create +e /c/eph",
    "create +s /c/seq-",
    "create +es /c/ephseq-",
    "create2 /c/two",
    "create +c /c/container",
    "create +t=60000 /c/ttl",
    "create2 +t=60000 /c/ttl2",
    "create /c",
    "get /c",
    "get /c/missing",
    "set /c hello",
    "ls /c",
    "ls2 /c",
    "exists /c",
    "exists /c/missing",
    "sync /c",
    "addauth digest alice:secret",
    "config",
    "delete /c/two",
    "delete /c",
    "get /c/eph",
    "ls2 /c",
]
C_CLI_COMMANDS_AFTER_RECONNECT = ["get /c/eph", "delete /c/container"]


def capture_c_client(proxy: RecordingProxy, log_dir: Path) -> list[Fixture]:
    """cli_mt (C client, threaded): one command at a time, each waited for on the wire."""
    first_index = len(proxy.connections)
    log_path = log_dir / "cli_mt.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [C_CLI, proxy.address], stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            assert process.stdin is not None
            record = proxy.await_connection(first_index)

            def run(records: ConnectionRecord, command: str) -> None:
                before = len(records.payloads(CLIENT_TO_SERVER))
                process.stdin.write((command + "\n").encode())
                process.stdin.flush()
                proxy.await_answers(records, before)

            for command in C_CLI_COMMANDS_FIRST_CONNECTION:
                run(record, command)
            proxy.drop(record)
            reconnect_record = proxy.await_connection(first_index + 1)
            proxy.wait_until(
                lambda: len(reconnect_record.payloads(CLIENT_TO_SERVER)) > 1 and not unanswered_xids(reconnect_record),
                "the C client's SetWatches and auth after reconnecting",
            )
            for command in C_CLI_COMMANDS_AFTER_RECONNECT:
                run(reconnect_record, command)
            process.stdin.close()  # End of input: cli_mt says "bye" and calls zookeeper_close.
            wait_for_exit(process, "cli_mt", log_path)
        finally:
            stop_process_group(process, "cli_mt")
    proxy.wait_until(lambda: all(r.closed for r in proxy.connections[first_index:]), "cli_mt's connection to close")
    client = f"cli_mt, C client {debian_version('zookeeper-bin')} (libzookeeper-mt)"
    return connection_fixtures(proxy, first_index, "c-cli-session", client, [
        ["", "cli_mt HOST:PORT, one command per line on stdin, each sent after the previous reply:",
         *("  " + command for command in C_CLI_COMMANDS_FIRST_CONNECTION),
         "then the proxy cut the connection. (cli_mt's create always sends the data \"new\".)"],
        ["reconnect", "cli_mt reconnected with its session id and password, re-registered its",
         "watches (SetWatches) and re-sent its auth; then:",
         *("  " + command for command in C_CLI_COMMANDS_AFTER_RECONNECT), "and end of input (closeSession)."],
    ])


def capture_java_api(proxy: RecordingProxy, log_dir: Path) -> list[Fixture]:
    """scripts/fixtures_java/CaptureSession.java: ops only the Java API sends; two reconnects."""
    first_index = len(proxy.connections)
    build_dir = Path(tempfile.mkdtemp(prefix="zk-fixture-java-"))
    log_path = log_dir / "java-api.log"
    try:
        compile_result = subprocess.run(
            [JAVAC, "-Xlint:all,-path", "-cp", classpath(CLIENT_JARS), "-d", str(build_dir), str(JAVA_SOURCE)],
            capture_output=True, timeout=CLIENT_RUN_LIMIT_S, text=True,
        )
        if compile_result.returncode != 0:
            raise CaptureError(f"javac failed:\n{compile_result.stdout}{compile_result.stderr}")
        process = subprocess.Popen(
            [JAVA, "-cp", classpath(CLIENT_JARS, str(build_dir)), "CaptureSession", proxy.address],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        # The watchdog bounds the whole run, because reading stdout below blocks.
        watchdog = threading.Timer(CLIENT_RUN_LIMIT_S, stop_process_group, (process, "Java API session"))
        watchdog.start()
        drops = 0
        try:
            with open(log_path, "w") as log:
                assert process.stdout is not None
                for raw_line in process.stdout:
                    line = raw_line.decode(errors="replace").rstrip("\n")
                    log.write(line + "\n")
                    log.flush()
                    if line == "DROP":
                        drops += 1
                        with proxy.changed:
                            active = [r for r in proxy.connections[first_index:] if not r.closed]
                        if len(active) != 1:
                            raise CaptureError(f"Java API session: {len(active)} open connections at DROP")
                        proxy.drop(active[0])
            wait_for_exit(process, "Java API session", log_path)
        finally:
            watchdog.cancel()
            stop_process_group(process, "Java API session")
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    if drops != 2:
        raise CaptureError(f"Java API session asked for {drops} drops, expected 2:\n{tail(log_path)}")
    proxy.wait_until(lambda: all(r.closed for r in proxy.connections[first_index:]), "the Java session to close")
    client = f"Java client API {debian_version('libzookeeper-java')} on {java_version()}"
    source = "scripts/fixtures_java/CaptureSession.java"
    return connection_fixtures(proxy, first_index, "java-api-session", client, [
        ["", f"{source}: create in every CreateMode (container -> createContainer, TTL -> createTTL),",
         "null and empty data, error replies, digest ACL + addAuthInfo, one-shot watches firing,",
         "multi (success, failure), multiRead with a failing read, getEphemerals, getAllChildrenNumber,",
         "whoAmI, getConfig, reconfig (ReconfigDisabled), sync, addWatch PERSISTENT and",
         "PERSISTENT_RECURSIVE with notifications; then the proxy cut the connection."],
        ["reconnect-setwatches2", "The Java client reconnected while persistent watches were registered:",
         "SetWatches2 (105); then removeWatches for one watcher (checkWatches) and removeAllWatches;",
         "then the proxy cut the connection again."],
        ["reconnect-setwatches", "The Java client reconnected with only standard watches: SetWatches (101);",
         "then sync, exists and closeSession."],
    ])


def capture_synthesized_old_connect(proxy: RecordingProxy) -> list[Fixture]:
    """A 3.4-C-client-style ConnectRequest without the readOnly byte, written by this script.

    The requests are synthesized from the ConnectRequest layout (no real pre-readOnly client is
    installed here); the server's replies are real.
    """
    first_index = len(proxy.connections)
    connect = struct.pack(">iqiqi", 0, 0, 30000, 0, 16) + bytes(16)  # 44 bytes: no readOnly flag.
    ping = struct.pack(">ii", PING_XID, 11)
    close = struct.pack(">ii", 1, -11)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT_LIMIT_S) as connection:
        connection.sendall(struct.pack(">i", len(connect)) + connect)
        record = proxy.await_connection(first_index)
        for request in (ping, close):
            before = len(record.payloads(CLIENT_TO_SERVER))
            connection.sendall(struct.pack(">i", len(request)) + request)
            proxy.await_answers(record, before)
        while connection.recv(4096):
            pass  # Drain until the server closes, as a client would after closeSession.
    proxy.wait_until(lambda: proxy.connections[-1].closed, "the synthesized connection to close")
    fixtures = connection_fixtures(proxy, first_index, "synthesized-3.4-connect", "none: requests written by capture_fixtures.py", [
        ["", "SYNTHESIZED, NOT CAPTURED FROM A REAL CLIENT: the three '>' frames were built by",
         "capture_fixtures.py from the ConnectRequest layout as the 3.4 C client sends it (44 bytes,",
         "no trailing readOnly byte; the 3.3 Java client did the same), then a ping and closeSession.",
         "The '<' frames are the real replies of the reference server."],
    ])
    for fixture in fixtures:
        fixture.synthesized = True
    return fixtures


# ---------------------------------------------------------------------------------------------
# Fixture files and census
# ---------------------------------------------------------------------------------------------


def debian_version(package: str) -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True,
                            timeout=WAIT_LIMIT_S)
    if result.returncode != 0:
        raise CaptureError(f"dpkg-query cannot see {package}: {result.stderr.strip()}")
    return f"{result.stdout.strip()} (Debian {package})"


def java_version() -> str:
    result = subprocess.run([JAVA, "-version"], capture_output=True, text=True, timeout=WAIT_LIMIT_S)
    first = (result.stderr or result.stdout).splitlines()
    return first[0].strip() if first else "java (unknown version)"


def write_fixture(fixture: Fixture, server: str, captured_on: str) -> Path:
    lines = [
        f"# ZooKeeper wire fixture: {fixture.name}",
        f"# client: {fixture.client}",
        f"# server: {server}",
        f"# date: {captured_on}",
        f"# command: {REGENERATE_COMMAND}",
        *(f"# {note}" for note in fixture.notes),
        "# format: '> HEX' client->server, '< HEX' server->client; HEX is one frame's payload without",
        "#   its 4-byte length prefix. The first frame each way is the handshake (ConnectRequest /",
        "#   ConnectResponse, no header). Order is as the proxy saw it; pair replies to requests by xid.",
    ]
    lines += [f"{frame.direction} {frame.payload.hex()}" for frame in fixture.frames]
    path = FIXTURE_DIR / f"{fixture.name}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_fixture(path: Path) -> list[Frame]:
    frames = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        direction, _, text = line.partition(" ")
        if direction not in (CLIENT_TO_SERVER, SERVER_TO_CLIENT) or text != text.lower():
            raise CaptureError(f"{path.name}:{number}: not a frame line")
        frames.append(Frame(direction, bytes.fromhex(text)))
    return frames


@dataclasses.dataclass
class Census:
    """What one fixture file contains, counted from its frames."""

    connect_request: str = ""
    connect_response: str = ""
    opcodes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    multi_ops: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    multi_results: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    events: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    errors: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    error_bodies: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    notifications: int = 0
    pings: int = 0
    auths: int = 0
    set_watches: int = 0
    requests: int = 0
    replies: int = 0


def describe_handshake(payload: bytes, is_request: bool) -> str:
    reader = JuteReader(payload)
    if is_request:
        reader.int()
        reader.long()
        timeout_ms = reader.int()
        session_id = reader.long()
    else:
        reader.int()
        timeout_ms = reader.int()
        session_id = reader.long()
    password = reader.buffer() or b""
    read_only = "no readOnly byte" if reader.remaining == 0 else f"readOnly={payload[reader.offset]}"
    extra = "" if reader.remaining <= 1 else f", {reader.remaining - 1} unexpected trailing bytes"
    return (f"{len(payload)} B, timeout {timeout_ms} ms, session 0x{session_id & (2**64 - 1):x}, "
            f"passwd {len(password)} B, {read_only}{extra}")


def take_census(frames: list[Frame]) -> Census:
    census = Census()
    requests = [f.payload for f in frames if f.direction == CLIENT_TO_SERVER]
    replies = [f.payload for f in frames if f.direction == SERVER_TO_CLIENT]
    if requests:
        census.connect_request = describe_handshake(requests[0], is_request=True)
    if replies:
        census.connect_response = describe_handshake(replies[0], is_request=False)
    opcode_by_xid: dict[int, int] = {}
    for payload in requests[1:]:
        xid, opcode = request_header(payload)
        census.requests += 1
        census.opcodes[opcode] += 1
        opcode_by_xid[xid] = opcode
        census.pings += opcode == 11
        census.auths += opcode == 100
        census.set_watches += opcode in (101, 105)
        if opcode in (14, 22):
            census.multi_ops.update(multi_request_ops(JuteReader(payload, 8)))
    for payload in replies[1:]:
        xid, _zxid, err = reply_header(payload)
        if xid == NOTIFICATION_XID:
            census.notifications += 1
            reader = JuteReader(payload, 16)
            census.events[reader.int()] += 1
            continue
        census.replies += 1
        opcode = opcode_by_xid.get(xid)
        if err != 0:
            census.errors[(opcode, err)] += 1
            census.error_bodies[len(payload) - 16] += 1
        elif opcode in (14, 22):
            census.multi_results.update(multi_response_results(JuteReader(payload, 16)))
    return census


def census_rows(censuses: dict[str, Census]) -> list[tuple[str, list[str]]]:
    """(row label, one cell per file) for the README matrix."""
    names = list(censuses)
    rows: list[tuple[str, list[str]]] = []

    def add(label: str, value: Callable[[Census], int]) -> None:
        cells = [str(value(censuses[name]) or "") for name in names]
        if any(cells):
            rows.append((label, cells))

    for opcode in sorted({op for c in censuses.values() for op in c.opcodes}, key=lambda o: (o < 0, o)):
        add(f"request {opcode_name(opcode)}", lambda c, o=opcode: c.opcodes[o])
    for opcode in sorted({op for c in censuses.values() for op in c.multi_ops}):
        add(f"multi op {opcode_name(opcode)}", lambda c, o=opcode: c.multi_ops[o])
    for kind in sorted({k for c in censuses.values() for k, _ in c.multi_results}):
        add(f"multi result {opcode_name(kind)}", lambda c, k=kind: sum(n for (t, _), n in c.multi_results.items() if t == k))
    add("notifications (xid -1)", lambda c: c.notifications)
    for event in sorted({e for c in censuses.values() for e in c.events}):
        add(f"  event {EVENT_NAMES.get(event, '?')}({event})", lambda c, e=event: c.events[e])
    for opcode, err in sorted({k for c in censuses.values() for k in c.errors}, key=lambda k: (k[1], k[0] or 0)):
        label = f"error {error_name(err)} on {opcode_name(opcode) if opcode is not None else '?'}"
        add(label, lambda c, k=(opcode, err): c.errors[k])
    return rows


def render_readme(censuses: dict[str, Census], server: str, captured_on: str) -> str:
    names = list(censuses)
    legend = "\n".join(f"| {i + 1} | `{name}.txt` | {censuses[name].requests} | {censuses[name].replies} | "
                       f"{censuses[name].notifications} | {censuses[name].pings} | {censuses[name].auths} | "
                       f"{censuses[name].set_watches} |"
                       for i, name in enumerate(names))
    handshakes = "\n".join(f"| `{name}` | {c.connect_request} | {c.connect_response} |" for name, c in censuses.items())
    header = "| record | " + " | ".join(str(i + 1) for i in range(len(names))) + " |"
    divider = "|---|" + "---:|" * len(names)
    matrix = "\n".join(f"| {label} | " + " | ".join(cells) + " |" for label, cells in census_rows(censuses))
    bodies = collections.Counter()
    for census in censuses.values():
        bodies.update(census.error_bodies)
    body_note = ", ".join(f"{count} error replies with {size} body bytes" for size, count in sorted(bodies.items()))
    return README_TEMPLATE.format(
        command=REGENERATE_COMMAND, server=server, captured_on=captured_on, legend=legend,
        handshakes=handshakes, header=header, divider=divider, matrix=matrix, error_bodies=body_note,
        not_captured=render_not_captured(censuses),
    )


# Why an opcode can be missing from every real-client capture.
NOT_CAPTURED_REASONS = {
    13: "no installed client has a stand-alone check call; it is captured as an op inside multi",
    102: "needs a SASL-configured server and client",
    -10: "internal to the server (a session-creation transaction), never sent by a client",
    20: "internal to the server (the container reaper), never sent by a client",
}


def render_not_captured(censuses: dict[str, Census]) -> str:
    captured = {op for name, c in censuses.items() if not name.startswith("synthesized") for op in c.opcodes}
    missing = [op for op in OPCODE_NAMES if op not in captured and op not in (0, -1)]
    lines = [f"- `{opcode_name(op)}`: {NOT_CAPTURED_REASONS.get(op, 'no installed client sent it')}" for op in missing]
    lines.append("- `error(-1)` is never a request; it appears only as a result type inside multi replies.")
    lines.append("- A ConnectRequest without the trailing readOnly byte: every installed client sends the byte;")
    lines.append("  see `synthesized-3.4-connect.txt`.")
    return "\n".join(lines)


README_TEMPLATE = """\
# Golden wire fixtures

Frames that real ZooKeeper clients exchanged with the reference server, Apache ZooKeeper
{server}, standalone, captured {captured_on}. A decoder test reads every `>` and `<` frame,
decodes it and re-encodes it, and must get the same bytes back.

This file is generated; do not edit it by hand. Regenerate everything (fixtures and this README)
from the repository root with:

    {command}

The script starts the reference server (temporary dataDir, free loopback port, its own process
group, `-Dzookeeper.extendedTypesEnabled=true` for TTL nodes), puts a recording TCP proxy in
front of it, drives each client through the proxy and writes one file per TCP connection. A
client session that reconnects (the proxy cuts its connection on purpose) therefore gives two or
three files; each file starts with its own handshake. Session ids and passwords, zxids, times,
the C client's clock-derived xids and the number of pings change from run to run; the kinds of
records and their layouts do not.

Clients: kazoo (pip), zkCli.sh and the Java client API (Debian `libzookeeper-java`), and the C
client shell `cli_mt` (Debian `zookeeper-bin`); `scripts/fixtures_java/CaptureSession.java`
drives the Java API for the requests zkCli.sh cannot send. `synthesized-3.4-connect.txt` is the
one exception: its requests were written by the script (see below). Each file's header names
the exact client and version that produced it (kazoo 2.11.0 on Python 3.11, Java client and
zkCli.sh 3.8.0 on OpenJDK 17, cli_mt 3.8.0).

## File format

- Lines starting with `#` are comments: the client and its version, the server, the date, the
  command, and what the session did.
- Every other line is one frame: `> HEX` client to server, `< HEX` server to client. HEX is the
  frame's payload in lowercase hex, **without** the 4-byte big-endian length prefix.
- Frames keep their order within each direction. The interleaving of the two directions is what
  the proxy observed (a notification, for instance, arrives before the reply of the request that
  caused it); pair replies with requests by xid, not by position.
- The first `>` frame of a file is a ConnectRequest and the first `<` frame a ConnectResponse,
  neither with a RequestHeader/ReplyHeader. Every later `>` frame starts with a RequestHeader
  (xid i32, type i32), every later `<` frame with a ReplyHeader (xid i32, zxid i64, err i32).
- Four-letter words are not part of the protocol and are not in these files.

## Files and counts

Requests and replies exclude the handshake; notifications (xid -1) are not counted as replies;
"set watches" counts SetWatches (101) and SetWatches2 (105).

| # | file | requests | replies | notifications | pings | auth | set watches |
|---|---|---:|---:|---:|---:|---:|---:|
{legend}

## Handshakes

| file | ConnectRequest | ConnectResponse |
|---|---|---|
{handshakes}

## Which records appear where

Counts per file (columns numbered as above). "multi op" are the operations inside multi (14)
and multiRead (22) requests; "multi result" the result records in their replies. Error rows
name the request whose reply carried the error code. Every reply with a non-zero err is the
16-byte ReplyHeader alone ({error_bodies}).

{header}
{divider}
{matrix}

## Framing facts a decoder must know (all visible in these files)

- Handshake: the first client frame is a bare ConnectRequest (protocolVersion i32, lastZxidSeen
  i64, timeOut i32, sessionId i64, passwd buffer, readOnly bool), no RequestHeader; every client
  here sends the readOnly byte (45 bytes with a 16-byte passwd). A new session sends sessionId 0
  and 16 zero bytes of passwd. The server's ConnectResponse (protocolVersion, timeOut, sessionId,
  passwd, readOnly) carries the readOnly byte (37 bytes) only if the request had it: to the
  44-byte request in `synthesized-3.4-connect.txt` it answers 36 bytes.
- Expired or unknown session on reconnect (`kazoo-expired-session.txt`): a normal-sized
  ConnectResponse with timeOut 0, sessionId 0 and 16 zero bytes of passwd, then the server closes.
- Errors: a non-zero err comes with no body, e.g. exists on a missing node is err -101 and no
  Stat. A failed multi is the exception: ReplyHeader err 0, a zxid is still consumed, and every
  op gets a MultiHeader of type -1 (error) with an ErrorResponse: 0 for ops before the failing
  one, the failing code, then -2 (RuntimeInconsistency) for the rest.
- Multi requests: each op is MultiHeader(type i32, done bool, err i32 = -1) + the op's record;
  the list ends with MultiHeader(-1, true, -1). Replies end the same way. Container and TTL
  creates inside a multi are answered with create2 (15) results (path + Stat).
- Null versus empty data: the Java client (zkCli `create /x`, `create(path, null, ...)`,
  `setData(path, null, -1)`) writes buffer length -1 (`ffffffff`); kazoo and `new byte[0]` write
  length 0. cli_mt always sends the data "new" on create, so C-client null data is not in these
  files (its library writes -1 for a NULL buffer). An empty /zookeeper/config (standalone) is
  returned as length 0.
- Special xids: notifications -1 (ReplyHeader xid -1, zxid -1, err 0, then WatcherEvent type,
  state 3, path); ping -2 (request is the 8-byte header alone; the reply's zxid is the server's
  last zxid, not 0); auth -4 (AuthPacket type 0, scheme, auth; reply header only); closeSession
  is header only both ways. SetWatches uses xid -8 from the C client, but the 3.8 Java client
  gives SetWatches and SetWatches2 an ordinary xid from its counter: match the reply by xid,
  never assume -8.
- cli_mt closes its socket right after sending closeSession, without waiting for the reply. The
  proxy holds that end of stream back until the reply is in (bounded), so these files are
  complete; a server must still expect a client to vanish straight after closeSession.
- After a reconnect kazoo, cli_mt and the Java client all re-send auth (xid -4) before
  anything else; the C and Java clients then re-register watches (kazoo does not).
- Ordinary xids: kazoo starts at 1 on every connection, the Java client continues its counter
  across reconnects, the C client starts from a clock-derived value (e.g. 0x6b03...).
- Replies with a body that one might not expect: addWatch is answered with a 4-byte
  ErrorResponse (err 0) after the ReplyHeader; sync with the path; createContainer and
  createTTL with Create2Response (path + Stat); whoAmI with a vector of ClientInfo
  (authScheme, user). Requests with no body: whoAmI, ping, closeSession.
- A notification arrives before the reply of the request that caused it. getACL needs READ or
  ADMIN; a client with READ but not ADMIN gets digest ids masked as `user:x`.

## Not captured from a real client

{not_captured}
"""


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

SESSIONS = ["kazoo", "zkcli", "c", "java", "synthesized"]


def capture_all(proxy: RecordingProxy, log_dir: Path, sessions: list[str]) -> list[Fixture]:
    fixtures: list[Fixture] = []
    for session in sessions:
        print(f"capturing: {session}", flush=True)
        if session == "kazoo":
            fixtures += capture_kazoo(proxy)
        elif session == "zkcli":
            fixtures += capture_zkcli(proxy, log_dir)
        elif session == "c":
            fixtures += capture_c_client(proxy, log_dir)
        elif session == "java":
            fixtures += capture_java_api(proxy, log_dir)
        elif session == "synthesized":
            fixtures += capture_synthesized_old_connect(proxy)
    return fixtures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-dir", type=Path, help="keep server and client logs here (default: discarded)")
    parser.add_argument("--sessions", default=",".join(SESSIONS),
                        help=f"comma-separated subset of {','.join(SESSIONS)} (the README counts every file present)")
    arguments = parser.parse_args()
    sessions = [s for s in arguments.sessions.split(",") if s]
    unknown = set(sessions) - set(SESSIONS)
    if unknown:
        parser.error(f"unknown sessions: {', '.join(sorted(unknown))}")

    import logging

    logging.basicConfig(level=logging.ERROR)  # kazoo warns on every planned disconnect.
    try:
        require_tools()
        log_dir = arguments.log_dir or Path(tempfile.mkdtemp(prefix="zk-fixture-logs-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        try:
            server_version = debian_version("zookeeper")
            captured_on = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
            with ReferenceServer(log_dir) as server, RecordingProxy(server.port) as proxy:
                fixtures = capture_all(proxy, log_dir, sessions)
            FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
            if set(sessions) == set(SESSIONS):  # A full run replaces the set, so renamed files do not linger.
                for stale in FIXTURE_DIR.glob("*.txt"):
                    stale.unlink()
            for fixture in fixtures:
                print(f"wrote {write_fixture(fixture, server_version, captured_on).relative_to(REPO_ROOT)}")
            censuses = {path.stem: take_census(read_fixture(path)) for path in sorted(FIXTURE_DIR.glob("*.txt"))}
            (FIXTURE_DIR / "README.md").write_text(render_readme(censuses, server_version, captured_on))
            print_census(censuses)
        finally:
            if arguments.log_dir is None:
                shutil.rmtree(log_dir, ignore_errors=True)
    except CaptureError as error:
        print(f"capture failed: {error}", file=sys.stderr)
        return 1
    return 0


def print_census(censuses: dict[str, Census]) -> None:
    for name, census in censuses.items():
        opcodes = ", ".join(f"{opcode_name(o)}x{n}" for o, n in sorted(census.opcodes.items()))
        print(f"{name}: {census.requests} requests, {census.replies} replies, "
              f"{census.notifications} notifications; {opcodes}")


if __name__ == "__main__":
    sys.exit(main())
