"""Quorum arithmetic of a five-voter ensemble, with real processes: after two members
die (the leader among them) the other three still elect a leader and commit writes;
after a third dies the last two stop serving altogether (no leader, no follower,
clients lose their connections, writes fail); restarting one member brings service
back, with every acknowledged write and the client's session intact."""

import time

import pytest
from kazoo.exceptions import ConnectionLoss, NodeExistsError, OperationTimeoutError
from kazoo.handlers.threading import KazooTimeoutError

import zkraw
from ensemble import FOLLOWER, LEADER, QUICK_RECONNECT, EnsembleSpec
from replicas import wait_converged
from support import wait_until

ROOT = "/quorum"
OPERATION_TIMEOUT_S = 3.0
SERVICE_TIMEOUT_S = 45.0
# Long enough to outlive the outage (detection, a JVM restart, an election) on a busy machine.
SESSION_TIMEOUT_S = 30.0
WRITE_FAILURES = (ConnectionLoss, OperationTimeoutError, KazooTimeoutError)
# What the reference answers to srvr, stat and mntr without a quorum (monitoring matches it).
NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"


@pytest.fixture(scope="module")
def ensemble_spec() -> EnsembleSpec:
    return EnsembleSpec(voters=5)


def write_eventually(client, path: str, data: bytes) -> None:
    """Creates `path`, retrying (bounded) while the ensemble has no leader."""

    def attempt() -> bool:
        try:
            client.create_async(path, data).get(timeout=OPERATION_TIMEOUT_S)
            return True
        except NodeExistsError:  # an earlier attempt that timed out was applied after all
            return client.get(path)[0] == data
        except WRITE_FAILURES:
            return False

    wait_until(attempt, SERVICE_TIMEOUT_S, f"a successful write of {path}", interval_s=0.1)


def serves_nothing(member) -> bool:
    """The member reports no role and refuses to establish a session."""
    if member.mode() is not None:
        return False
    try:
        session = zkraw.RawSession.connect(member.address, timeout_ms=10000, io_timeout_s=OPERATION_TIMEOUT_S)
    except (OSError, zkraw.ConnectionClosed, zkraw.HandshakeRejected):
        return True
    session.close()
    return False


def test_majority_serves_minority_does_not_and_service_resumes(whole_ensemble, kazoo_factory):
    ensemble = whole_ensemble
    client = kazoo_factory(ensemble.hosts(), timeout=SESSION_TIMEOUT_S, connection_retry=QUICK_RECONNECT)
    session_id = client.client_id[0]
    acknowledged = {ROOT: b"5 of 5"}
    client.create(ROOT, acknowledged[ROOT])

    # Two down, the leader among them: three of five remain, a quorum.
    leader = ensemble.leader()
    killed = [leader, ensemble.followers()[0]]
    for member in killed:
        ensemble.kill_9(member)
    new_leader = ensemble.leader()
    assert new_leader not in killed
    write_eventually(client, f"{ROOT}/with-3", b"3 of 5")
    acknowledged[f"{ROOT}/with-3"] = b"3 of 5"

    # A third down (a follower, so the leader itself must notice it lost its quorum).
    third = next(member for member in ensemble.running() if member is not new_leader)
    lost_at = ensemble.kill_9(third)
    killed.append(third)
    remaining = ensemble.running()
    assert len(remaining) == 2
    wait_until(
        lambda: all(serves_nothing(member) for member in remaining),
        SERVICE_TIMEOUT_S,
        f"the last two members to stop serving (modes {ensemble.modes()})",
        interval_s=0.1,
    )
    stopped_in = time.monotonic() - lost_at
    for member in remaining:
        assert [member.four_letter(word) for word in ("srvr", "stat", "mntr")] == [NOT_SERVING] * 3, member
        # ...but the process is alive, and health checks that use ruok must say so.
        assert member.four_letter("ruok") == "imok", member
    wait_until(lambda: not client.connected, SERVICE_TIMEOUT_S, "the client to lose its connection")
    # kazoo holds a request while it reconnects, so the write fails by timing out. (It may
    # still be sent once service resumes: its absence is not checked.)
    with pytest.raises(WRITE_FAILURES):
        client.create_async(f"{ROOT}/without-quorum", b"x").get(timeout=OPERATION_TIMEOUT_S)

    # One back: three of five again.
    restarted_at = time.monotonic()
    ensemble.restart(killed[0], timeout_s=SERVICE_TIMEOUT_S)
    serving = ensemble.running()
    ensemble.leader(timeout_s=SERVICE_TIMEOUT_S)
    wait_until(
        lambda: all(member.mode() in (LEADER, FOLLOWER) for member in serving),
        SERVICE_TIMEOUT_S,
        "the three running members to serve again",
    )
    write_eventually(client, f"{ROOT}/with-3-again", b"3 of 5 again")
    acknowledged[f"{ROOT}/with-3-again"] = b"3 of 5 again"
    assert client.client_id[0] == session_id, "the session did not survive the outage"
    print(
        f"[{ensemble.target}] quorum lost: the last two stopped serving {stopped_in:.2f}s after the third kill; "
        f"restart -> write acknowledged {time.monotonic() - restarted_at:.2f}s"
    )

    tree = wait_converged(serving)
    for path, data in acknowledged.items():
        assert tree[path][0] == data, path
