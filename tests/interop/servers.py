"""Starting and stopping standalone servers for the interop tests.

A target is either `reference` (Apache ZooKeeper 3.8.0 from Debian, run as a JVM) or
`ours` (the binary named by $ZK_SERVER_BIN). Both get a generated zoo.cfg in a fresh
temporary directory, listen on a free port of 127.0.0.1, and are stopped by PID.
Tests only ever see `ServerProcess.address`, so they run unchanged against either.
"""

import atexit
import base64
import dataclasses
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Optional

import zkraw

REFERENCE = "reference"
OURS = "ours"
TARGETS = (REFERENCE, OURS)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
LOG_TAIL_LINES = 60

JAVA = "/usr/bin/java"
REFERENCE_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
# zookeeper.jar's manifest names its own dependencies; logging needs the log4j binding too.
REFERENCE_CLASSPATH = [
    "/etc/zookeeper/conf",
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
]

# The password "super" for the user "super", used by tests that need a superuser.
SUPER_USER = "super"
SUPER_PASSWORD = "super-secret"


class ServerError(Exception):
    """A server could not be started, did not become ready, or died."""


def digest(user: str, password: str) -> str:
    """The id of a digest ACL: user:base64(sha1(user:password))."""
    hashed = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(hashed).decode()}"


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """What a test needs from its server; everything else is fixed."""

    tick_time_ms: int = 2000
    min_session_timeout_ms: Optional[int] = None
    max_session_timeout_ms: Optional[int] = None
    max_client_cnxns: int = 60
    four_letter_whitelist: str = "*"
    with_super_user: bool = False
    container_check_interval_ms: int = 1000


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_binary() -> str:
    """$ZK_SERVER_BIN, which must name an executable: a missing server is a failure, not a skip."""
    path = os.environ.get("ZK_SERVER_BIN", "")
    if not path:
        raise ServerError("ZK_TARGET selects 'ours' but ZK_SERVER_BIN is not set")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise ServerError(f"ZK_SERVER_BIN={path!r} is not an executable file")
    return path


# Servers currently running, so a failing test can show their logs and an interrupted
# run can still stop them.
LIVE: set["ServerProcess"] = set()


@atexit.register
def kill_live_servers() -> None:
    """Last resort when the run ends without fixture teardown: never leave servers behind."""
    for server in list(LIVE):
        server.kill()


class ServerProcess:
    def __init__(self, target: str, spec: ServerSpec = ServerSpec()) -> None:
        if target not in TARGETS:
            raise ServerError(f"unknown target {target!r}")
        self.target = target
        self.spec = spec
        self.workdir = tempfile.mkdtemp(prefix=f"zk-interop-{target}-")
        self.data_dir = os.path.join(self.workdir, "data")
        os.mkdir(self.data_dir)
        self.config_path = os.path.join(self.workdir, "zoo.cfg")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None

    def __repr__(self) -> str:
        return f"<{self.target} server on {self.address}>"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def hosts(self) -> str:
        """The connect string for clients."""
        return f"{self.host}:{self.port}"

    # ---- configuration ---------------------------------------------------------

    def config_lines(self) -> list[str]:
        spec = self.spec
        lines = [
            f"tickTime={spec.tick_time_ms}",
            f"dataDir={self.data_dir}",
            f"clientPort={self.port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            f"4lw.commands.whitelist={spec.four_letter_whitelist}",
            f"maxClientCnxns={spec.max_client_cnxns}",
            "extendedTypesEnabled=true",
        ]
        if spec.min_session_timeout_ms is not None:
            lines.append(f"minSessionTimeout={spec.min_session_timeout_ms}")
        if spec.max_session_timeout_ms is not None:
            lines.append(f"maxSessionTimeout={spec.max_session_timeout_ms}")
        if self.target == OURS:
            # The reference takes these two as Java system properties (see command()).
            lines.append(f"znode.container.checkIntervalMs={spec.container_check_interval_ms}")
            if spec.with_super_user:
                lines.append(f"superDigest={digest(SUPER_USER, SUPER_PASSWORD)}")
        return lines

    def command(self) -> list[str]:
        if self.target == OURS:
            return [server_binary(), self.config_path]
        props = [
            "-Dzookeeper.root.logger=INFO,CONSOLE",
            "-Dzookeeper.extendedTypesEnabled=true",
            f"-Dznode.container.checkIntervalMs={self.spec.container_check_interval_ms}",
        ]
        if self.spec.with_super_user:
            props.append(
                f"-Dzookeeper.DigestAuthenticationProvider.superDigest={digest(SUPER_USER, SUPER_PASSWORD)}"
            )
        # Small heap and C1 only: these servers hold little and must start fast on 2 cores.
        jvm = ["-Xms32m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
        return [JAVA, *jvm, "-cp", ":".join(REFERENCE_CLASSPATH), *props, REFERENCE_MAIN, self.config_path]

    # ---- lifecycle -------------------------------------------------------------

    def start(self) -> "ServerProcess":
        """Starts the server and waits until it answers a real request."""
        # Another process may grab the port between free_port() and the server's bind.
        for attempt in range(3):
            self._spawn()
            try:
                self.wait_ready()
                return self
            except ServerError:
                port_taken = "Address already in use" in self.log_tail()
                self.stop()
                if not port_taken or attempt == 2:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def restart(self) -> "ServerProcess":
        """Stops and starts again on the same dataDir and port."""
        self.stop()
        self._spawn()
        self.wait_ready()
        return self

    def _spawn(self) -> None:
        with open(self.config_path, "w") as config:
            config.write("\n".join(self.config_lines()) + "\n")
        command = self.command()
        log = open(self.log_path, "ab")
        log.write(f"\n==== starting: {' '.join(command)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches its children
        )
        log.close()
        LIVE.add(self)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        last_error: Optional[BaseException] = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise ServerError(f"{self} exited with code {code} during start-up\n{self.log_tail()}")
            try:
                session = zkraw.RawSession.connect(self.address, timeout_ms=10000, io_timeout_s=2)
                try:
                    err, _stat = session.exists("/")
                    if err == 0:
                        return
                    last_error = AssertionError(f"exists('/') answered {err}")
                finally:
                    session.close()
            except (OSError, zkraw.ConnectionClosed, zkraw.HandshakeRejected, TimeoutError) as error:
                last_error = error
            time.sleep(0.05)
        raise ServerError(f"{self} not ready after {timeout_s}s: {last_error!r}\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL if it lingers."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait(STOP_TIMEOUT_S)
        self.process = None
        LIVE.discard(self)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        process = self.process
        if process is not None and process.poll() is None:
            self._signal_group(process, signal.SIGKILL)
            process.wait(STOP_TIMEOUT_S)
        self.process = None
        LIVE.discard(self)

    @staticmethod
    def _signal_group(process: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(process.pid, sig)  # the group we created with start_new_session
        except ProcessLookupError:
            pass

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(self.log_path, "rb") as log:
                content = log.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(content.splitlines()[-lines:])
