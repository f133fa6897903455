"""Replays a workload (workload.py) on one server and writes down, op by op, what a
client could observe, in a form comparable across servers:

- zxids (stat fields, and the header of successful writes) become the index of their
  first appearance; their relative order is checked separately (`zxid_ranks`);
- session ids become the order in which this run opened the sessions;
- ctime/mtime are dropped after per-server sanity checks (ctime <= mtime, equal while
  the node was never set);
- children and getEphemerals lists are sorted (the server's order is unspecified);
- each session's watch events are recorded per op, in arrival order (sorted for a
  closeSession, which deletes a session's ephemerals in an unspecified order).
"""

import dataclasses
from typing import Any, Optional

import jute
import zkraw
from jute import CreateMode, Err, MultiOp, OpCode, Stat
from workload import SLOT_COUNT, Op

SESSION_TIMEOUT_MS = 30000


@dataclasses.dataclass
class Entry:
    index: int
    description: str
    result: Any
    events: dict  # slot -> list of (type, state, path)


class Normalizer:
    def __init__(self) -> None:
        self.zxids: dict[int, int] = {}
        self.sessions: dict[int, str] = {}

    def zxid(self, value: int) -> int:
        return self.zxids.setdefault(value, len(self.zxids))

    def session_opened(self, session_id: int) -> None:
        self.sessions[session_id] = f"session-{len(self.sessions)}"

    def owner(self, value: int) -> Optional[str]:
        if value == 0:
            return None
        return self.sessions.get(value, f"unknown-{value:x}")

    def stat(self, stat: Optional[Stat]) -> Optional[tuple]:
        if stat is None:
            return None
        assert stat.ctime <= stat.mtime, stat
        if stat.version == 0 and stat.czxid != 0:
            assert stat.ctime == stat.mtime, f"never-set node with ctime != mtime: {stat}"
        return (
            ("czxid", self.zxid(stat.czxid)),
            ("mzxid", self.zxid(stat.mzxid)),
            ("pzxid", self.zxid(stat.pzxid)),
            ("version", stat.version),
            ("cversion", stat.cversion),
            ("aversion", stat.aversion),
            ("owner", self.owner(stat.ephemeral_owner)),
            ("dataLength", stat.data_length),
            ("numChildren", stat.num_children),
        )

    def zxid_ranks(self) -> list[int]:
        """First-appearance indices ordered by actual zxid: equal across servers iff orders agree."""
        return [index for _zxid, index in sorted(self.zxids.items())]


def create_opcode(op: Op) -> int:
    if op.ttl is not None:
        return OpCode.CREATE_TTL
    if op.mode == CreateMode.CONTAINER:
        return OpCode.CREATE_CONTAINER
    return OpCode.CREATE2 if op.kind == "create2" else OpCode.CREATE


def multi_sub_op(op: Op) -> MultiOp:
    if op.kind == "create":
        return MultiOp(OpCode.CREATE, jute.create_body(op.path, op.data, jute.OPEN_ACL_UNSAFE, op.mode))
    if op.kind == "delete":
        return MultiOp(OpCode.DELETE, jute.path_version_body(op.path, op.version))
    if op.kind == "set":
        return MultiOp(OpCode.SET_DATA, jute.set_data_body(op.path, op.data, op.version))
    if op.kind == "check":
        return MultiOp(OpCode.CHECK, jute.path_version_body(op.path, op.version))
    raise ValueError(op.kind)


class Replayer:
    def __init__(self, server) -> None:
        self.server = server
        self.normalize = Normalizer()
        self.slots: list[zkraw.RawSession] = []
        for _ in range(SLOT_COUNT):
            self.slots.append(self._open())

    def _open(self) -> zkraw.RawSession:
        session = zkraw.RawSession.connect(self.server.address, timeout_ms=SESSION_TIMEOUT_MS)
        self.normalize.session_opened(session.session_id)
        return session

    def close(self) -> None:
        for session in self.slots:
            session.close()

    def run(self, ops: list[Op]) -> list[Entry]:
        entries = []
        for index, op in enumerate(ops):
            result = self.execute(op)
            events = {}
            for slot, session in enumerate(self.slots):
                drained = [tuple(event) for event in session.barrier()]
                if drained:
                    events[slot] = sorted(drained) if op.kind == "close" else drained
            entries.append(Entry(index, op.describe(), result, events))
        return entries

    # Each branch returns a plain, comparable value.
    def execute(self, op: Op) -> Any:
        session = self.slots[op.slot]
        norm = self.normalize
        if op.kind in ("create", "create2"):
            body = jute.create_body(op.path, op.data, jute.OPEN_ACL_UNSAFE, op.mode, op.ttl)
            reply = session.request(create_opcode(op), body)
            if reply.err != Err.OK:
                return ("err", reply.err)
            reader = jute.Reader(reply.body)
            path = reader.ustring()
            stat = norm.stat(reader.stat()) if reader.remaining() else None
            return ("ok", path, stat, ("zxid", norm.zxid(reply.zxid)))
        if op.kind == "delete":
            reply = session.request(OpCode.DELETE, jute.path_version_body(op.path, op.version))
            return self._write_result(reply)
        if op.kind == "set":
            reply = session.request(OpCode.SET_DATA, jute.set_data_body(op.path, op.data, op.version))
            return self._write_result(reply, jute.Reader(reply.body).stat() if reply.err == Err.OK else None)
        if op.kind == "set_acl":
            reply = session.request(OpCode.SET_ACL, jute.set_acl_body(op.path, list(op.acl), op.version))
            return self._write_result(reply, jute.Reader(reply.body).stat() if reply.err == Err.OK else None)
        if op.kind == "get":
            err, data, stat = session.get_data(op.path, op.watch)
            return (err, data, norm.stat(stat))
        if op.kind == "exists":
            err, stat = session.exists(op.path, op.watch)
            return (err, norm.stat(stat))
        if op.kind == "get_children":
            err, children = session.get_children(op.path, op.watch)
            return (err, sorted(children) if children is not None else None)
        if op.kind == "get_children2":
            err, children, stat = session.get_children2(op.path, op.watch)
            return (err, sorted(children) if children is not None else None, norm.stat(stat))
        if op.kind == "get_acl":
            err, acl, stat = session.get_acl(op.path)
            return (err, acl, norm.stat(stat))
        if op.kind == "multi":
            reply = session.request(OpCode.MULTI, jute.multi_body([multi_sub_op(sub) for sub in op.sub_ops]))
            results = jute.decode_multi_response(reply.body) if reply.body else []
            succeeded = reply.err == Err.OK and all(r.opcode != OpCode.ERROR for r in results)
            return (
                reply.err,
                [(r.opcode, r.err, r.path, norm.stat(r.stat)) for r in results],
                ("zxid", norm.zxid(reply.zxid)) if succeeded and results else None,
            )
        if op.kind == "close":
            err = session.close()
            self.slots[op.slot] = self._open()
            return ("closed", err)
        if op.kind == "add_watch":
            return session.add_watch(op.path, op.mode)
        if op.kind == "check_watches":
            return session.check_watches(op.path, op.mode)
        if op.kind == "get_all_children_number":
            return session.get_all_children_number(op.path)
        if op.kind == "get_ephemerals":
            err, paths = session.get_ephemerals(op.path)
            return (err, sorted(paths) if paths is not None else None)
        if op.kind == "sync":
            return session.sync(op.path)
        raise ValueError(f"unknown op kind {op.kind}")

    def _write_result(self, reply: zkraw.Reply, stat: Optional[Stat] = None) -> tuple:
        if reply.err != Err.OK:
            return ("err", reply.err)
        return ("ok", self.normalize.stat(stat), ("zxid", self.normalize.zxid(reply.zxid)))
