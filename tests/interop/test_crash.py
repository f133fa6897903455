"""Crash safety: concurrent clients write while the server is killed with SIGKILL at
random moments, over several rounds. After every restart, each acknowledged write is
there, no multi is half-applied and sequential counters never go back.

The seed is printed; ZK_CRASH_SEED replays a run."""

import os
import random
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NodeExistsError
from kazoo.handlers.threading import KazooTimeoutError

ROUNDS = 4
WRITERS = 4
ROOT = "/crash"
# Every client call is bounded, so a writer always notices the crash within this time.
OPERATION_TIMEOUT_S = 5.0


class Writer(threading.Thread):
    """Writes until its connection fails, recording each write the server acknowledged."""

    def __init__(self, hosts: str, index: int, round_number: int) -> None:
        super().__init__(daemon=True)
        self.hosts = hosts
        self.index = index
        self.round_number = round_number
        self.created: list[str] = []
        self.counter_value = -1
        self.multis: list[tuple[str, str]] = []
        self.sequential: list[str] = []
        self.failure: Exception | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        client = KazooClient(hosts=self.hosts, timeout=3.0, connection_retry=None, command_retry=None)
        try:
            client.start(timeout=OPERATION_TIMEOUT_S)
        except Exception as error:  # the server may already be gone
            self.failure = error
            return
        counter = f"{ROOT}/counter-{self.index}"
        step = 0
        try:
            while not self.stop.is_set():
                step += 1
                tag = f"r{self.round_number}-w{self.index}-{step}"
                kind = step % 4
                if kind == 0:
                    path = f"{ROOT}/plain/{tag}"
                    client.create_async(path, tag.encode()).get(timeout=OPERATION_TIMEOUT_S)
                    self.created.append(path)
                elif kind == 1:
                    client.set_async(counter, str(step).encode()).get(timeout=OPERATION_TIMEOUT_S)
                    self.counter_value = step
                elif kind == 2:
                    first, second = f"{ROOT}/multi/{tag}-a", f"{ROOT}/multi/{tag}-b"
                    transaction = client.transaction()
                    transaction.create(first, b"a")
                    transaction.create(second, b"b")
                    results = transaction.commit_async().get(timeout=OPERATION_TIMEOUT_S)
                    assert results == [first, second], results
                    self.multis.append((first, second))
                else:
                    created = client.create_async(f"{ROOT}/seq/n-", tag.encode(), sequence=True)
                    self.sequential.append(created.get(timeout=OPERATION_TIMEOUT_S))
        except (KazooException, KazooTimeoutError, OSError) as error:
            self.failure = error  # expected once the server is killed
        finally:
            try:
                client.stop()
                client.close()
            except Exception:
                pass


def suffix(path: str) -> int:
    return int(path.rsplit("-", 1)[1])


def test_acknowledged_writes_survive_sigkill(fresh_server):
    seed = int(os.environ.get("ZK_CRASH_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"crash test seed={seed} target={fresh_server.target}")
    rng = random.Random(seed)

    setup = KazooClient(hosts=fresh_server.hosts, timeout=5.0)
    setup.start(timeout=10)
    for path in (f"{ROOT}/plain", f"{ROOT}/multi", f"{ROOT}/seq"):
        setup.ensure_path(path)
    for index in range(WRITERS):
        try:
            setup.create(f"{ROOT}/counter-{index}", b"-1")
        except NodeExistsError:
            pass
    setup.stop()
    setup.close()

    acknowledged_creates: list[str] = []
    acknowledged_multis: list[tuple[str, str]] = []
    acknowledged_counters = [-1] * WRITERS
    highest_sequence = -1
    for round_number in range(ROUNDS):
        writers = [Writer(fresh_server.hosts, index, round_number) for index in range(WRITERS)]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.3, 1.2))  # let writes flow for a random time, then crash
        fresh_server.kill()
        for writer in writers:
            writer.stop.set()
            writer.join(4 * OPERATION_TIMEOUT_S)
            assert not writer.is_alive(), "a writer did not notice the crash"
        for writer in writers:
            acknowledged_creates += writer.created
            acknowledged_multis += writer.multis
            if writer.counter_value >= 0:
                acknowledged_counters[writer.index] = writer.counter_value
            if writer.sequential:
                highest_sequence = max(highest_sequence, max(map(suffix, writer.sequential)))

        fresh_server.restart()
        checker = KazooClient(hosts=fresh_server.hosts, timeout=5.0)
        checker.start(timeout=10)
        try:
            missing = [path for path in acknowledged_creates if checker.exists(path) is None]
            assert not missing, f"round {round_number}: acknowledged creates lost: {missing[:5]}"
            for index, value in enumerate(acknowledged_counters):
                data, _ = checker.get(f"{ROOT}/counter-{index}")
                assert int(data) >= value, f"round {round_number}: counter {index} went back to {data!r} from {value}"
            for first, second in acknowledged_multis:
                assert checker.exists(first) and checker.exists(second), (first, second)
            # No multi is half-applied, acknowledged or not.
            multi_children = set(checker.get_children(f"{ROOT}/multi"))
            for name in multi_children:
                partner = name[:-1] + ("b" if name.endswith("a") else "a")
                assert partner in multi_children, f"round {round_number}: half-applied multi {name}"
            # The sequence counter never goes back.
            fresh_sequential = checker.create(f"{ROOT}/seq/n-", b"check", sequence=True)
            assert suffix(fresh_sequential) > highest_sequence, (fresh_sequential, highest_sequence)
            highest_sequence = suffix(fresh_sequential)
        finally:
            checker.stop()
            checker.close()
    total = len(acknowledged_creates) + len(acknowledged_multis)
    print(f"crash test: {ROUNDS} rounds, {total} acknowledged creates and multis verified")
    assert acknowledged_creates, "the writers never got a create acknowledged"
