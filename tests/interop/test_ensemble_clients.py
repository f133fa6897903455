"""Real clients against a three-voter ensemble with one observer: multi-host connect
strings (kazoo and zkCli.sh), sessions that move to another member when theirs is
killed, writes forwarded by followers and the observer, roles as srvr/mntr report
them, and sync() making a write acknowledged elsewhere visible.

The module shares one ensemble per target; `whole_ensemble` restarts whatever the
previous test killed, so each test begins with every member serving."""

import os
import subprocess
import uuid

import pytest
from kazoo.protocol.states import EventType, KazooState

from ensemble import FOLLOWER, LEADER, OBSERVER, QUICK_RECONNECT, EnsembleSpec
from jute import CreateMode, Err
from support import EventRecorder, wait_until
from test_zkcli import zkcli_path

RECONNECT_TIMEOUT_S = 30.0
# Short sessions, so expiry can be awaited; still far above a reconnect on this machine.
SHORT_SESSION_S = 4.0
ZKCLI_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def ensemble_spec() -> EnsembleSpec:
    return EnsembleSpec(voters=3, observers=1)


@pytest.fixture
def base(request) -> str:
    """A path no other test uses (the ensemble is shared by the module)."""
    return f"/{request.node.originalname}-{uuid.uuid4().hex[:8]}"


def record_states(client) -> list[str]:
    states: list[str] = []
    client.add_listener(states.append)
    return states


def wait_moved(ensemble, client, away_from) -> object:
    """Waits until the client is connected again, to a member other than `away_from`."""

    def moved():
        member = ensemble.connected_member(client)
        return client.connected and member is not None and member is not away_from and member

    return wait_until(moved, RECONNECT_TIMEOUT_S, f"the client to reconnect away from {away_from}")


def test_kazoo_multi_host_crud_and_session_moves_when_its_server_dies(whole_ensemble, kazoo_factory, base):
    ensemble = whole_ensemble
    leader = ensemble.leader()
    others = [member for member in ensemble.members if member is not leader]
    # The leader first and in order, so the client starts on the member we then kill.
    client = kazoo_factory(
        ensemble.hosts([leader, *others]), randomize_hosts=False, connection_retry=QUICK_RECONNECT
    )
    assert ensemble.connected_member(client) is leader

    client.create(base, b"root")
    path, created = client.create(f"{base}/node", b"one", include_data=True)
    assert client.get(path) == (b"one", created)
    changed = client.set(path, b"two")
    assert (changed.version, changed.czxid) == (1, created.czxid) and changed.mzxid > created.mzxid
    assert client.get_children(base) == ["node"]
    client.delete(path, version=1)
    assert client.exists(path) is None
    ephemeral = client.create(f"{base}/ephemeral", b"mine", ephemeral=True)
    session_id = client.client_id[0]
    states = record_states(client)

    ensemble.kill_9(leader)
    # A member that has not yet noticed the leader's death can take the client back and
    # then drop it when it does (as the reference's followers do): wait for the new leader
    # first, so that the member the client settles on is one that serves.
    ensemble.leader()
    new_member = wait_moved(ensemble, client, leader)

    assert client.client_id[0] == session_id, "the client got a new session instead of resuming its own"
    assert KazooState.LOST not in states, states
    data, stat = client.get(ephemeral)
    assert (data, stat.ephemeralOwner) == (b"mine", session_id)
    client.set(ephemeral, b"still mine")
    # A client of another surviving member sees the same ephemeral, owned by the same session.
    witness = kazoo_factory(next(member for member in others if member is not new_member))
    witness.sync(ephemeral)
    assert witness.get(ephemeral)[0] == b"still mine"
    assert witness.exists(ephemeral).ephemeralOwner == session_id


def run_zkcli(ensemble, hosts: str, *command: str) -> str:
    completed = subprocess.run(
        [zkcli_path(), "-server", hosts, *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=ZKCLI_TIMEOUT_S,
        env={
            **os.environ,
            "ZOO_LOG_DIR": ensemble.members[0].workdir,
            "CLIENT_JVMFLAGS": "-XX:TieredStopAtLevel=1 -Xshare:auto",
        },
    )
    assert completed.returncode == 0, f"zkCli.sh {' '.join(command)} exited {completed.returncode}:\n{completed.stdout}"
    return completed.stdout


def test_zkcli_multi_host_connect_string(whole_ensemble, kazoo_factory, base):
    ensemble = whole_ensemble
    members = ensemble.members
    created = run_zkcli(ensemble, ensemble.hosts(members), "create", base, "from-zkcli")
    assert f"Created {base}" in created.splitlines(), created
    read = run_zkcli(ensemble, ensemble.hosts(reversed(members)), "get", base)
    assert "from-zkcli" in read.splitlines(), read
    for member in members:
        reader = kazoo_factory(member)
        reader.sync(base)
        assert reader.get(base)[0] == b"from-zkcli", member


def test_write_sent_to_a_follower_is_forwarded_and_everywhere(whole_ensemble, kazoo_factory, base):
    ensemble = whole_ensemble
    follower = ensemble.followers()[0]
    writer = kazoo_factory(follower)  # this member only: nothing but forwarding can commit
    assert ensemble.connected_member(writer) is follower

    _path, created = writer.create(base, b"via follower", include_data=True)
    changed = writer.set(base, b"changed via follower")
    # The follower replies only after applying the commit, so its own client reads the write at once.
    assert writer.get(base) == (b"changed via follower", changed)
    transaction = writer.transaction()
    transaction.create(f"{base}/a", b"a")
    transaction.create(f"{base}/b", b"b")
    assert transaction.commit() == [f"{base}/a", f"{base}/b"]
    writer.delete(f"{base}/b")
    assert writer.get_children(base) == ["a"]
    assert changed.czxid == created.czxid and changed.mzxid > created.mzxid
    expected = {path: writer.get(path) for path in (base, f"{base}/a")}
    assert expected[base][1].pzxid > changed.mzxid

    for member in ensemble.members:
        reader = kazoo_factory(member)
        reader.sync(base)
        assert {path: reader.get(path) for path in expected} == expected, member
        assert reader.get_children(base) == ["a"], member


def test_observer_serves_sessions_reads_and_writes_and_roles_are_reported(whole_ensemble, kazoo_factory, base):
    ensemble = whole_ensemble
    observer = ensemble.observer()
    leader = ensemble.leader()
    modes = ensemble.modes()
    assert modes[observer.myid] == OBSERVER, modes
    assert sorted(modes.values()) == sorted([LEADER] + [FOLLOWER] * (ensemble.spec.voters - 1) + [OBSERVER]), modes

    for member in ensemble.members:
        mntr = member.mntr()
        assert mntr.get("zk_server_state") == modes[member.myid], (member, mntr.get("zk_server_state"))
        if member is leader:
            # 3.8.0 reports learners (followers and observers) and the synced ones by kind;
            # it has no zk_followers.
            assert mntr.get("zk_learners") == str(ensemble.spec.voters - 1 + ensemble.spec.observers), mntr
            assert mntr.get("zk_synced_followers") == str(ensemble.spec.voters - 1), mntr
            assert mntr.get("zk_synced_observers") == str(ensemble.spec.observers), mntr
        else:
            assert "zk_synced_followers" not in mntr, (member, mntr.get("zk_synced_followers"))

    on_observer = kazoo_factory(observer)
    on_leader = kazoo_factory(leader)
    assert ensemble.connected_member(on_observer) is observer
    on_leader.create(base, b"from leader")
    on_observer.sync(base)
    assert on_observer.get(base)[0] == b"from leader"

    # A watch set on the observer fires for a write committed through the leader.
    events = EventRecorder()
    on_observer.get(base, watch=events)
    on_leader.set(base, b"changed by leader")
    events.wait_for((EventType.CHANGED, base))
    assert on_observer.get(base)[0] == b"changed by leader"

    # Writes sent to the observer are forwarded; its sessions are the ensemble's sessions.
    ephemeral = on_observer.create(f"{base}/observer-session", b"obs", ephemeral=True)
    on_leader.sync(ephemeral)
    assert on_leader.exists(ephemeral).ephemeralOwner == on_observer.client_id[0]
    on_observer.stop()
    on_leader.sync(base)
    assert on_leader.exists(ephemeral) is None, "closing a session on the observer left its ephemeral"


def test_ephemerals_survive_follower_death_if_the_client_reconnects(
    whole_ensemble, kazoo_factory, raw_factory, base
):
    ensemble = whole_ensemble
    leader = ensemble.leader()
    follower = ensemble.followers()[0]
    rest = [member for member in ensemble.members if member is not follower]
    witness = kazoo_factory(leader)
    witness.create(base)

    survivor = kazoo_factory(
        ensemble.hosts([follower, *rest]),
        randomize_hosts=False,
        timeout=SHORT_SESSION_S,
        connection_retry=QUICK_RECONNECT,
    )
    assert ensemble.connected_member(survivor) is follower
    kept = survivor.create(f"{base}/kept", b"k", ephemeral=True)
    session_id = survivor.client_id[0]
    # A session on the same follower whose client never comes back: its ephemeral must go,
    # which shows the session timeout has passed for the leader.
    abandoned = raw_factory(follower, timeout_ms=int(SHORT_SESSION_S * 1000))
    assert abandoned.create(f"{base}/dropped", b"d", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    witness.sync(base)
    assert sorted(witness.get_children(base)) == ["dropped", "kept"]

    ensemble.kill_9(follower)
    wait_moved(ensemble, survivor, follower)
    assert survivor.client_id[0] == session_id

    wait_until(
        lambda: witness.exists(f"{base}/dropped") is None,
        RECONNECT_TIMEOUT_S,
        "the abandoned session's ephemeral to expire",
        interval_s=0.2,
    )
    stat = witness.exists(kept)
    assert stat is not None, "the reconnected session's ephemeral was removed"
    assert stat.ephemeralOwner == session_id
    assert survivor.get(kept)[0] == b"k"


def test_sync_makes_a_write_acknowledged_elsewhere_visible(whole_ensemble, kazoo_factory, base):
    ensemble = whole_ensemble
    clients = {member: kazoo_factory(member) for member in ensemble.members}
    first = clients[ensemble.members[0]]
    first.create(base, b"")
    for writer_member, writer in clients.items():
        for reader_member, reader in clients.items():
            if reader_member is writer_member:
                continue
            for round_number in range(3):
                value = f"{writer_member.myid}->{reader_member.myid} #{round_number}".encode()
                written = writer.set(base, value)
                reader.sync(base)
                # No polling: right after sync the reader's member must have the write.
                assert reader.get(base) == (value, written), (writer_member, reader_member)
