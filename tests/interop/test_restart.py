"""Durability across a restart on the same dataDir and port: after a clean stop
(SIGTERM) and after a crash (SIGKILL), acknowledged writes, stats, sequence counters,
zxid order, sessions and their ephemerals are all still there."""

import pytest

from jute import CreateMode, Err


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_state_survives_restart(fresh_server, kazoo_factory, raw_factory, stop):
    client = kazoo_factory(fresh_server)
    client.create("/kept", b"v0")
    client.set("/kept", b"v1")
    client.create("/kept/seq-", sequence=True)
    client.create("/kept/seq-", sequence=True)
    client.delete("/kept/seq-0000000000")
    session = raw_factory(fresh_server, timeout_ms=30000)
    assert session.create("/kept/eph", b"e", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    transaction = client.transaction()
    transaction.create("/kept/multi-a")
    transaction.create("/kept/multi-b")
    transaction.commit()
    before = {path: client.get(path) for path in ("/kept", "/kept/eph", "/kept/multi-a", "/kept/multi-b")}
    children_before = sorted(client.get_children("/kept"))
    client.stop()
    session.drop()

    if stop == "sigterm":
        fresh_server.restart()
    else:
        fresh_server.kill()
        fresh_server.restart()

    client = kazoo_factory(fresh_server)
    for path, (data, stat) in before.items():
        assert client.get(path) == (data, stat), path
    assert sorted(client.get_children("/kept")) == children_before
    # The sequence counter and the zxid carry on from where they were.
    new_path, new_stat = client.create("/kept/seq-", sequence=True, include_data=True)
    assert new_path == "/kept/seq-0000000005"
    assert new_stat.czxid > max(stat.pzxid for _data, stat in before.values())

    # The session outlived the restart: it resumes and still owns its ephemeral.
    resumed = raw_factory(fresh_server, timeout_ms=30000, session_id=session.session_id, passwd=session.passwd)
    assert resumed.session_id == session.session_id
    assert resumed.get_ephemerals("/kept") == (Err.OK, ["/kept/eph"])
    assert resumed.close() == Err.OK
    assert client.exists("/kept/eph") is None
