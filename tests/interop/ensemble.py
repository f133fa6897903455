"""Real-process ensembles for the interop tests: N voters and optional observers on
127.0.0.1, each member in its own temporary directory with its own client, quorum and
election ports.

Both targets start from the same files: a zoo.cfg in Apache's format (tickTime,
initLimit, syncLimit, dataDir, clientPort, `server.N=127.0.0.1:quorum:election[:observer]`,
`peerType=observer` on an observer) and a `myid` file in dataDir. Only the command
differs (see servers.ServerProcess.command). Roles are read the way operators read
them, from the four-letter word `srvr` (`Mode: leader|follower|observer`), so the
harness never depends on either implementation's internals.
"""

import dataclasses
import os
import re
import socket
import time
from contextlib import ExitStack
from typing import Iterable, Optional

import pytest

from servers import ServerError, ServerProcess, ServerSpec
from support import four_letter, wait_until

LEADER = "leader"
FOLLOWER = "follower"
OBSERVER = "observer"

# Generous: several JVMs start at once on 2 shared cores before the first election.
ENSEMBLE_START_TIMEOUT_S = 90.0
# A restarted member must load its snapshot, find the leader and sync.
REJOIN_TIMEOUT_S = 60.0
# How long a test waits for a new leader after losing the old one.
ELECTION_TIMEOUT_S = 30.0
FOUR_LETTER_TIMEOUT_S = 3.0
START_ATTEMPTS = 3

MODE_LINE = re.compile(r"^Mode: (\w+)$", re.MULTILINE)

# kazoo's default reconnect delay doubles up to an hour; through a failover a client must
# keep cycling through the members quickly (options for KazooClient(connection_retry=...)).
QUICK_RECONNECT = {"max_tries": -1, "delay": 0.05, "backoff": 1.5, "max_delay": 0.5, "max_jitter": 0.2}


@dataclasses.dataclass(frozen=True)
class EnsembleSpec:
    voters: int = 3
    observers: int = 0
    # A short tick makes failover quick: followers give up on a silent leader after
    # syncLimit ticks, and a new leader waits initLimit ticks for its followers.
    tick_time_ms: int = 200
    init_limit: int = 10
    sync_limit: int = 5
    # minSessionTimeout defaults to 2 ticks and maxSessionTimeout to 20 ticks (4 s with a
    # 200 ms tick), too short for clients on a busy machine: tests choose their own.
    min_session_timeout_ms: int = 1000
    max_session_timeout_ms: int = 30000


def distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports of 127.0.0.1 (held together while choosing, so none repeats)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


class Member(ServerProcess):
    """One server of an ensemble; `peers` (every member, itself included) is set by Ensemble."""

    def __init__(self, target: str, spec: EnsembleSpec, myid: int, observer: bool) -> None:
        super().__init__(
            target,
            ServerSpec(
                tick_time_ms=spec.tick_time_ms,
                min_session_timeout_ms=spec.min_session_timeout_ms,
                max_session_timeout_ms=spec.max_session_timeout_ms,
            ),
        )
        self.ensemble_spec = spec
        self.myid = myid
        self.observer = observer
        self.quorum_port = 0
        self.election_port = 0
        self.peers: list["Member"] = [self]

    def __repr__(self) -> str:
        role = OBSERVER if self.observer else "voter"
        return f"<{self.target} member {self.myid} ({role}) on {self.hosts}>"

    @property
    def expected_roles(self) -> tuple[str, ...]:
        return (OBSERVER,) if self.observer else (LEADER, FOLLOWER)

    def server_line(self) -> str:
        line = f"server.{self.myid}=127.0.0.1:{self.quorum_port}:{self.election_port}"
        return line + (":observer" if self.observer else "")

    def config_lines(self) -> list[str]:
        # The same file for both targets: only keys Apache's zoo.cfg has.
        spec = self.ensemble_spec
        lines = [
            f"tickTime={spec.tick_time_ms}",
            f"initLimit={spec.init_limit}",
            f"syncLimit={spec.sync_limit}",
            f"dataDir={self.data_dir}",
            f"clientPort={self.port}",
            "clientPortAddress=127.0.0.1",
            "admin.enableServer=false",
            "4lw.commands.whitelist=*",
            f"minSessionTimeout={spec.min_session_timeout_ms}",
            f"maxSessionTimeout={spec.max_session_timeout_ms}",
        ]
        if self.observer:
            lines.append("peerType=observer")
        lines.extend(peer.server_line() for peer in self.peers)
        return lines

    def launch(self) -> None:
        """Writes myid and zoo.cfg and starts the process, without waiting for anything."""
        with open(os.path.join(self.data_dir, "myid"), "w") as myid:
            myid.write(f"{self.myid}\n")
        self._spawn()

    # ---- what it says about itself -------------------------------------------------

    def four_letter(self, word: str) -> Optional[str]:
        """The answer to a four-letter word, or None if the member cannot be reached."""
        if not self.is_running():
            return None
        try:
            return four_letter(self.address, word, timeout_s=FOUR_LETTER_TIMEOUT_S)
        except OSError:  # refused, reset or timed out (TimeoutError is an OSError)
            return None

    def mode(self) -> Optional[str]:
        """`Mode:` from srvr; None while the member does not serve (no quorum, electing, down)."""
        answer = self.four_letter("srvr")
        match = MODE_LINE.search(answer or "")
        return match.group(1) if match else None

    def mntr(self) -> dict[str, str]:
        answer = self.four_letter("mntr") or ""
        return dict(line.split("\t", 1) for line in answer.splitlines() if "\t" in line)


class Ensemble:
    """Starts, inspects, crashes and restarts the members of one ensemble."""

    def __init__(self, target: str, spec: EnsembleSpec = EnsembleSpec()) -> None:
        if spec.voters < 1 or spec.observers < 0:
            raise ValueError(f"bad ensemble spec {spec}")
        self.target = target
        self.spec = spec
        self.members = [
            Member(target, spec, myid, observer=myid > spec.voters)
            for myid in range(1, spec.voters + spec.observers + 1)
        ]
        for member in self.members:
            member.peers = self.members
        self._assign_ports()
        ACTIVE.add(self)

    def __repr__(self) -> str:
        return f"<{self.target} ensemble of {self.spec.voters} voters + {self.spec.observers} observers>"

    def _assign_ports(self) -> None:
        ports = distinct_free_ports(3 * len(self.members))
        for index, member in enumerate(self.members):
            member.port, member.quorum_port, member.election_port = ports[3 * index: 3 * index + 3]

    # ---- lifecycle -------------------------------------------------------------

    def start(self, timeout_s: float = ENSEMBLE_START_TIMEOUT_S) -> "Ensemble":
        """Starts every member and waits until the ensemble is whole (see wait_whole)."""
        for attempt in range(START_ATTEMPTS):
            for member in self.members:
                member.launch()
            try:
                self.wait_whole(timeout_s)
                return self
            except (ServerError, AssertionError):
                # Another process may take a port between choosing it and the bind.
                port_taken = any("Address already in use" in member.log_tail() for member in self.members)
                for member in self.members:
                    member.stop()
                if not port_taken or attempt == START_ATTEMPTS - 1:
                    raise
                self._assign_ports()
        raise AssertionError("unreachable")

    def wait_whole(self, timeout_s: float = ENSEMBLE_START_TIMEOUT_S) -> None:
        """Every member runs and serves requests; exactly one voter leads, the other voters
        follow and observers observe. Raises ServerError if a member exited."""
        deadline = time.monotonic() + timeout_s
        for member in self.members:
            if not member.is_running():
                raise ServerError(f"{member} is not running\n{member.log_tail()}")
            member.wait_ready(max(deadline - time.monotonic(), 0.1))
        last_modes: dict[int, Optional[str]] = {}

        def roles_settled() -> bool:
            last_modes.clear()
            last_modes.update(self.modes())
            if any(last_modes[member.myid] not in member.expected_roles for member in self.members):
                return False
            return list(last_modes.values()).count(LEADER) == 1

        try:
            wait_until(roles_settled, max(deadline - time.monotonic(), 0.1), "settled roles")
        except AssertionError:
            raise AssertionError(
                f"{self}: no single leader with the other voters following and observers observing "
                f"within {timeout_s}s; modes by myid: {last_modes}"
            ) from None

    def restore(self, timeout_s: float = REJOIN_TIMEOUT_S) -> None:
        """Restarts every member a test killed and waits until the ensemble is whole again."""
        for member in self.members:
            if not member.is_running():
                member.launch()
        self.wait_whole(timeout_s)

    def cleanup(self) -> None:
        for member in self.members:
            member.cleanup()
        ACTIVE.discard(self)

    # ---- roles -----------------------------------------------------------------

    def running(self) -> list[Member]:
        return [member for member in self.members if member.is_running()]

    def modes(self) -> dict[int, Optional[str]]:
        """myid -> Mode of every member (None for one that is down or not serving)."""
        return {member.myid: member.mode() for member in self.members}

    def leader(self, timeout_s: float = ELECTION_TIMEOUT_S) -> Member:
        """The one running member that reports Mode: leader (waits for an election to end)."""

        seen: dict[int, Optional[str]] = {}

        def sole_leader() -> Optional[Member]:
            seen.clear()
            seen.update((member.myid, member.mode()) for member in self.running())
            leaders = [member for member in self.members if seen.get(member.myid) == LEADER]
            return leaders[0] if len(leaders) == 1 else None

        try:
            return wait_until(sole_leader, timeout_s, "a leader")
        except AssertionError:
            raise AssertionError(f"{self}: no single leader within {timeout_s}s; modes by myid: {seen}") from None

    def followers(self) -> list[Member]:
        """Running voters that report Mode: follower."""
        return [member for member in self.running() if not member.observer and member.mode() == FOLLOWER]

    def observers(self) -> list[Member]:
        return [member for member in self.members if member.observer]

    def observer(self) -> Member:
        observers = self.observers()
        if not observers:
            raise AssertionError(f"{self} has no observer")
        return observers[0]

    def voters(self) -> list[Member]:
        return [member for member in self.members if not member.observer]

    # ---- faults ----------------------------------------------------------------

    def kill_9(self, member: Member) -> float:
        """SIGKILL to the member's process group; returns the monotonic time of the kill."""
        killed_at = time.monotonic()
        member.kill()
        return killed_at

    def restart(self, member: Member, timeout_s: float = REJOIN_TIMEOUT_S) -> Member:
        """Starts a stopped member on its old dataDir and ports and waits until it serves."""
        if member.is_running():
            raise AssertionError(f"{member} is still running")
        member.launch()
        member.wait_ready(timeout_s)
        return member

    def wait_mode(self, member: Member, modes: tuple[str, ...], timeout_s: float = REJOIN_TIMEOUT_S) -> str:
        return wait_until(lambda: (mode := member.mode()) in modes and mode, timeout_s, f"{member} in mode {modes}")

    # ---- clients ---------------------------------------------------------------

    def hosts(self, members: Optional[Iterable[Member]] = None) -> str:
        """A connect string of the given members (all members by default), in that order."""
        chosen = self.members if members is None else list(members)
        return ",".join(member.hosts for member in chosen)

    def connected_member(self, client) -> Optional[Member]:
        """The member a kazoo client is connected to now (None while it is reconnecting)."""
        # kazoo keeps its socket private; the version is pinned in requirements.txt.
        sock = getattr(getattr(client, "_connection", None), "_socket", None)
        try:
            port = sock.getpeername()[1]
        except (AttributeError, OSError):
            return None
        return next((member for member in self.members if member.port == port), None)


# Ensembles alive now, so a failing test can show the logs of killed members too.
ACTIVE: set[Ensemble] = set()


def all_members() -> list[ServerProcess]:
    """Members of every live ensemble, running or not (for log tails on failure)."""
    return [member for ensemble in ACTIVE for member in ensemble.members]


def start_ensemble(target: str, spec: EnsembleSpec) -> Ensemble:
    """An ensemble for a test; a failure to start fails loudly (never skips)."""
    ensemble = Ensemble(target, spec)
    try:
        return ensemble.start()
    except (ServerError, AssertionError) as error:
        reason = f"{error}\n" + "\n".join(f"--- {m}:\n{m.log_tail(30)}" for m in ensemble.members)
        ensemble.cleanup()
    pytest.fail(f"cannot start {ensemble}: {reason}", pytrace=False)

