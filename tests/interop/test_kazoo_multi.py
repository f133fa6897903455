"""multi (kazoo's transaction()) and the check op: all-or-nothing, per-op results."""

from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    NoNodeError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.states import ZnodeStat

import jute
from jute import CreateMode, Err, MultiOp, MultiResult, OpCode, OPEN_ACL_UNSAFE


def test_successful_transaction_results_and_single_zxid(zk, root):
    zk.create(f"{root}/existing", b"old")
    zk.create(f"{root}/gone", b"")

    transaction = zk.transaction()
    transaction.create(f"{root}/made", b"new")
    transaction.create(f"{root}/seq-", b"", sequence=True)
    transaction.set_data(f"{root}/existing", b"updated", version=0)
    transaction.check(f"{root}/existing", 1)
    transaction.delete(f"{root}/gone")
    results = transaction.commit()

    assert results[0] == f"{root}/made"
    assert results[1] == f"{root}/seq-0000000003"
    assert isinstance(results[2], ZnodeStat)
    assert results[2].version == 1
    assert results[3:] == [True, True]
    made = zk.exists(f"{root}/made")
    # Every op of one multi is one transaction: one zxid.
    assert made.czxid == results[2].mzxid == zk.exists(root).pzxid
    assert zk.get(f"{root}/existing")[0] == b"updated"
    assert zk.exists(f"{root}/gone") is None


def test_failing_op_applies_nothing(zk, root):
    zk.create(f"{root}/kept", b"v0")
    before = zk.exists(root)

    transaction = zk.transaction()
    transaction.create(f"{root}/not-made", b"")
    transaction.set_data(f"{root}/kept", b"v1", version=5)  # wrong version
    transaction.delete(f"{root}/kept")
    results = transaction.commit()

    assert [type(result) for result in results] == [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.exists(f"{root}/not-made") is None
    assert zk.get(f"{root}/kept")[0] == b"v0"
    assert zk.exists(root) == before


def test_failing_check_aborts(zk, root):
    zk.create(f"{root}/guard", b"")
    transaction = zk.transaction()
    transaction.check(f"{root}/guard", 3)
    transaction.create(f"{root}/guarded", b"")
    results = transaction.commit()

    assert [type(result) for result in results] == [BadVersionError, RuntimeInconsistency]
    assert zk.exists(f"{root}/guarded") is None


def test_ops_see_earlier_ops_of_the_same_multi(zk, root):
    transaction = zk.transaction()
    transaction.create(f"{root}/p", b"")
    transaction.create(f"{root}/p/c", b"")
    transaction.set_data(f"{root}/p/c", b"x", version=0)
    transaction.delete(f"{root}/p/c", version=1)
    transaction.create(f"{root}/p/c", b"again")
    results = transaction.commit()

    assert results[0] == f"{root}/p"
    assert results[1] == f"{root}/p/c"
    assert results[3] is True
    assert results[4] == f"{root}/p/c"
    data, stat = zk.get(f"{root}/p/c")
    assert (data, stat.version) == (b"again", 0)


def test_duplicate_and_missing_nodes_in_multi(zk, root):
    transaction = zk.transaction()
    transaction.create(f"{root}/twin", b"")
    transaction.create(f"{root}/twin", b"")
    assert [type(r) for r in transaction.commit()] == [RolledBackError, NodeExistsError]

    transaction = zk.transaction()
    transaction.delete(f"{root}/nobody")
    transaction.create(f"{root}/after", b"")
    assert [type(r) for r in transaction.commit()] == [NoNodeError, RuntimeInconsistency]
    assert zk.get_children(root) == []


# ---- exact bytes of multi replies, via the raw client ------------------------------


def test_raw_failed_multi_header_and_results(raw, root):
    err, results = raw.multi(
        [
            MultiOp(OpCode.CREATE, jute.create_body(f"{root}/a", b"1", OPEN_ACL_UNSAFE, 0)),
            MultiOp(OpCode.DELETE, jute.path_version_body(f"{root}/none", -1)),
            MultiOp(OpCode.SET_DATA, jute.set_data_body(root, b"x", -1)),
        ]
    )
    # The reply header carries 0; the failure is only in the per-op results.
    assert err == Err.OK
    assert results == [
        MultiResult(OpCode.ERROR, Err.OK),
        MultiResult(OpCode.ERROR, Err.NO_NODE),
        MultiResult(OpCode.ERROR, Err.RUNTIME_INCONSISTENCY),
    ]


def test_raw_successful_multi_result_types(raw, root):
    err, results = raw.multi(
        [
            MultiOp(OpCode.CREATE, jute.create_body(f"{root}/a", b"1", OPEN_ACL_UNSAFE, 0)),
            # create2 inside a multi still answers with a plain create result (no stat).
            MultiOp(OpCode.CREATE2, jute.create_body(f"{root}/b", b"1", OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL)),
            MultiOp(OpCode.CHECK, jute.path_version_body(root, 0)),
            MultiOp(OpCode.SET_DATA, jute.set_data_body(root, b"x", -1)),
            MultiOp(OpCode.DELETE, jute.path_version_body(f"{root}/a", -1)),
        ]
    )
    assert err == Err.OK
    assert [(r.opcode, r.err, r.path) for r in results] == [
        (OpCode.CREATE, 0, f"{root}/a"),
        (OpCode.CREATE, 0, f"{root}/b0000000001"),
        (OpCode.CHECK, 0, None),
        (OpCode.SET_DATA, 0, None),
        (OpCode.DELETE, 0, None),
    ]
    set_stat = results[3].stat
    assert (set_stat.version, set_stat.num_children, set_stat.cversion) == (1, 2, 2)
    assert set_stat.mzxid == set_stat.pzxid


def test_raw_empty_multi(raw):
    assert raw.multi([]) == (Err.OK, [])
