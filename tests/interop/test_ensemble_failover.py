"""The leader is SIGKILLed while clients on every member write continuously.

Every write a client saw acknowledged must be on every surviving member afterwards;
nothing a client never sent may appear; all members, read one at a time, hold the same
tree down to every stat field; and the old leader, restarted, rejoins as a follower
and converges to that same tree. The failover time (kill -> first acknowledged write
sent after the kill) is printed and shown in the run's summary."""

import threading
import time
from typing import Optional

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, OperationTimeoutError, SessionExpiredError
from kazoo.handlers.threading import KazooTimeoutError

from ensemble import FOLLOWER, LEADER, QUICK_RECONNECT, EnsembleSpec
from replicas import describe, differences, wait_converged
from support import wait_until

ROOT = "/failover"
# Acknowledged writes each writer needs before the kill and again after it.
WRITES_PER_PHASE = 100
PHASE_TIMEOUT_S = 60.0
OPERATION_TIMEOUT_S = 5.0
SESSION_TIMEOUT_S = 10.0
# Every fifth write updates the writer's counter node instead of creating a node.
SET_EVERY = 5
# What a failed write may raise while the ensemble elects a new leader.
TRANSIENT_ERRORS = (ConnectionLoss, OperationTimeoutError, SessionExpiredError, KazooTimeoutError)


@pytest.fixture(scope="module")
def ensemble_spec() -> EnsembleSpec:
    return EnsembleSpec(voters=3, observers=1)


class Writer(threading.Thread):
    """Writes unique values one at a time until stopped, recording what was sent and
    what was acknowledged (with when each acknowledged write was sent and answered)."""

    def __init__(self, hosts: str, index: int) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.index = index
        self.home = f"{ROOT}/w{index}"
        self.counter = f"{ROOT}/counter-{index}"
        # Members in the given order, so each writer starts on a member of our choosing.
        self.client = KazooClient(
            hosts=hosts, timeout=SESSION_TIMEOUT_S, randomize_hosts=False, connection_retry=QUICK_RECONNECT
        )
        self.attempted_creates: dict[str, bytes] = {}
        self.acked_creates: dict[str, bytes] = {}
        self.attempted_sets: list[int] = []
        self.acked_sets: list[int] = []
        self.acks: list[tuple[float, float]] = []  # (sent, answered), monotonic
        self.failures = 0
        self.error: Optional[BaseException] = None
        self.halt = threading.Event()
        self._connected = threading.Event()

    def prepare(self) -> None:
        self.client.add_listener(self._on_state)
        self.client.start(timeout=15.0)
        self.client.ensure_path(self.home)
        self.client.create(self.counter, b"0")

    def _on_state(self, state) -> None:
        (self._connected.set if state == "CONNECTED" else self._connected.clear)()

    def acks_since(self, moment: float) -> int:
        return sum(1 for sent, _answered in list(self.acks) if sent >= moment)

    def run(self) -> None:
        step = 0
        try:
            while not self.halt.is_set():
                step += 1
                sent = time.monotonic()
                try:
                    self._write(step)
                except TRANSIENT_ERRORS:
                    self.failures += 1
                    # A pause while disconnected, not a synchronisation: the next write
                    # simply has no chance before the client is connected again.
                    self._connected.wait(0.5)
                    continue
                self.acks.append((sent, time.monotonic()))
        except BaseException as error:  # reported by the test
            self.error = error

    def _write(self, step: int) -> None:
        if step % SET_EVERY == 0:
            self.attempted_sets.append(step)
            self.client.set_async(self.counter, str(step).encode()).get(timeout=OPERATION_TIMEOUT_S)
            self.acked_sets.append(step)
        else:
            path, data = f"{self.home}/n-{step:07d}", f"w{self.index}-{step}".encode()
            self.attempted_creates[path] = data
            self.client.create_async(path, data).get(timeout=OPERATION_TIMEOUT_S)
            self.acked_creates[path] = data

    def finish(self) -> None:
        self.halt.set()
        self.join(OPERATION_TIMEOUT_S * 2)
        try:
            self.client.stop()
            self.client.close()
        except Exception:  # cleanup only
            pass


def check_writes(writer: Writer, tree) -> None:
    """Acknowledged writes are there; nothing unsent is; the counter holds a value sent
    no earlier than the last acknowledged one."""
    missing = [path for path, data in writer.acked_creates.items() if tree.get(path, (None,))[0] != data]
    assert not missing, f"{writer.name}: {len(missing)} acknowledged creates lost, e.g. {missing[:5]}"
    present = {path: data for path, (data, _stat) in tree.items() if path.startswith(writer.home + "/")}
    invented = {path: data for path, data in present.items() if writer.attempted_creates.get(path) != data}
    assert not invented, f"{writer.name}: nodes nobody wrote: {list(invented.items())[:5]}"
    value, stat = tree[writer.counter]
    last_acked = writer.acked_sets[-1] if writer.acked_sets else 0
    allowed = {last_acked} | {step for step in writer.attempted_sets if step > last_acked}
    assert int(value) in allowed, f"{writer.name}: counter {value!r}, last acknowledged {last_acked}"
    assert len(writer.acked_sets) <= stat.version <= len(writer.attempted_sets), (writer.name, stat.version)


def test_leader_sigkill_under_write_load(whole_ensemble, summary_line):
    ensemble = whole_ensemble
    old_leader = ensemble.leader()
    members = ensemble.members
    setup = KazooClient(hosts=ensemble.hosts(), timeout=SESSION_TIMEOUT_S)
    setup.start(timeout=15.0)
    setup.ensure_path(ROOT)
    setup.stop()
    setup.close()

    # One writer per member to start with (each member in turn first in its list), so
    # clients of the leader, of followers and of the observer all live through the kill.
    writers = [
        Writer(ensemble.hosts(members[index:] + members[:index]), index) for index in range(len(members))
    ]
    try:
        for writer in writers:
            writer.prepare()
        for writer in writers:
            writer.start()
        wait_until(
            lambda: all(len(w.acks) >= WRITES_PER_PHASE for w in writers),
            PHASE_TIMEOUT_S,
            "every writer to get writes acknowledged before the kill",
        )

        killed_at = ensemble.kill_9(old_leader)
        new_leader = ensemble.leader()
        elected_in = time.monotonic() - killed_at
        assert new_leader is not old_leader
        wait_until(
            lambda: all(w.acks_since(killed_at) >= WRITES_PER_PHASE for w in writers),
            PHASE_TIMEOUT_S,
            "every writer to get writes acknowledged after the kill",
        )
    finally:
        for writer in writers:
            writer.finish()
    for writer in writers:
        assert writer.error is None, f"{writer.name} failed: {writer.error!r}"
        assert not writer.is_alive(), f"{writer.name} did not stop"

    failover_s = min(answered for w in writers for sent, answered in w.acks if sent >= killed_at) - killed_at
    acked = sum(len(w.acks) for w in writers)
    failures = sum(w.failures for w in writers)
    line = (
        f"[{ensemble.target}] leader SIGKILL under load: new leader {new_leader.myid} seen after {elected_in:.2f}s, "
        f"first write acknowledged {failover_s:.2f}s after the kill; {acked} writes acknowledged, {failures} failed"
    )
    print(line)
    summary_line(line)

    survivors = ensemble.running()
    assert old_leader not in survivors and len(survivors) == len(members) - 1
    tree = wait_converged(survivors)
    for writer in writers:
        check_writes(writer, tree)

    ensemble.restart(old_leader)
    assert ensemble.wait_mode(old_leader, (FOLLOWER, LEADER)) == FOLLOWER, "the old leader took over again"
    rejoined = wait_converged(members)
    assert rejoined == tree, differences(tree, rejoined)
    print(f"[{ensemble.target}] converged tree: {describe(tree)}")
