"""Whole trees read from one ensemble member at a time, and the comparison of replicas.

Each read goes through a client connected to that member alone, after sync("/"), so
it shows exactly what that member has applied; nothing is forwarded to another member.
Stats are compared in full (czxid, mzxid, pzxid, ctime, mtime, versions, owner, sizes):
a replica that applied the same writes in a different way differs there.
"""

from typing import Iterable

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.protocol.states import ZnodeStat

from support import wait_until

READ_TIMEOUT_S = 15.0
CONVERGE_TIMEOUT_S = 30.0
SHOWN_DIFFERENCES = 10

Tree = dict[str, tuple[bytes, ZnodeStat]]

# Not replicated: each member fills /zookeeper/config from its own configuration, and
# the reference stamps its mtime with the member's local clock whenever it (re)loads
# that configuration (e.g. on every new leader), so only this field may differ.
LOCAL_MTIME_PATHS = ("/zookeeper/config",)


class TreeChanged(Exception):
    """A node vanished between listing its parent and reading it (e.g. a session expired)."""


def child_path(parent: str, name: str) -> str:
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def read_tree(hosts: str, timeout_s: float = READ_TIMEOUT_S) -> Tree:
    """Every node under / with its data and stat, as the server(s) in `hosts` see it."""
    client = KazooClient(hosts=hosts, timeout=10.0)
    client.start(timeout=timeout_s)
    try:
        client.sync("/")
        tree: Tree = {}
        level = ["/"]
        while level:
            # One level at a time, pipelined: thousands of nodes read in a few round trips.
            reads = [(path, client.get_async(path), client.get_children_async(path)) for path in level]
            level = []
            for path, data_result, children_result in reads:
                try:
                    tree[path] = data_result.get(timeout=timeout_s)
                    children = children_result.get(timeout=timeout_s)
                except NoNodeError as error:
                    raise TreeChanged(path) from error
                level.extend(child_path(path, name) for name in sorted(children))
        return without_local_fields(tree)
    finally:
        client.stop()
        client.close()


def without_local_fields(tree: Tree) -> Tree:
    for path in LOCAL_MTIME_PATHS:
        if path in tree:
            data, stat = tree[path]
            tree[path] = (data, stat._replace(mtime=0))
    return tree


def differences(expected: Tree, actual: Tree, limit: int = SHOWN_DIFFERENCES) -> list[str]:
    """Human-readable differences between two trees (at most `limit`)."""
    found = []
    for path in sorted(set(expected) | set(actual)):
        if path not in actual:
            found.append(f"{path}: missing")
        elif path not in expected:
            found.append(f"{path}: unexpected {actual[path]!r}")
        elif expected[path] != actual[path]:
            found.append(f"{path}: {expected[path]!r} != {actual[path]!r}")
        if len(found) >= limit:
            found.append("...")
            break
    return found


def wait_converged(members: Iterable, timeout_s: float = CONVERGE_TIMEOUT_S) -> Tree:
    """Reads every member's tree until all are identical, and returns that tree.

    Trees are re-read (bounded) because a write in flight, such as a session expiring,
    may land between two members' reads."""
    members = list(members)
    last: dict = {}

    def identical():
        last.clear()
        try:
            for member in members:
                last[member] = read_tree(member.hosts)
        except TreeChanged:
            return None
        trees = list(last.values())
        return trees[0] if all(tree == trees[0] for tree in trees[1:]) else None

    try:
        return wait_until(identical, timeout_s, "identical trees on every member", interval_s=0.2)
    except AssertionError:
        if len(last) < 2:
            raise
        first, *others = list(last)
        report = [f"{member} vs {first}: {differences(last[first], last[member])}" for member in others]
        raise AssertionError("members did not converge:\n" + "\n".join(report)) from None


def describe(tree: Tree) -> str:
    return f"{len(tree)} nodes, largest mzxid {max(stat.mzxid for _data, stat in tree.values()):#x}"

