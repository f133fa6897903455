"""Seeded random operation sequences for the differential test.

Pure generation: the sequence depends only on the seed, never on server answers, so
the same list can be replayed against any number of servers. Paths come from a small
namespace so that creates collide, parents go missing, versions go stale and deletes
hit non-empty nodes: the errors are as much part of the comparison as the successes.
"""

import dataclasses
import random
from typing import Optional

from jute import Acl, CreateMode, Perms

SLOT_COUNT = 3  # concurrent sessions; a "close" op replaces the slot's session
SEGMENTS = ("a", "b", "c")
DEPTH_MAX = 3
TTL_MS = 86_400_000  # long enough that no TTL node is reaped during a run
VERSIONS = (-1, -1, -1, 0, 0, 1, 2)

ACL_CHOICES = (
    (Acl(Perms.ALL, "world", "anyone"),),
    (Acl(Perms.READ | Perms.ADMIN | Perms.CREATE | Perms.DELETE, "world", "anyone"),),  # no WRITE
    (Acl(Perms.WRITE | Perms.ADMIN, "world", "anyone"),),  # no READ, no CREATE
    (Acl(Perms.ALL, "ip", "127.0.0.1"),),
)


@dataclasses.dataclass(frozen=True)
class Op:
    kind: str
    slot: int
    path: str = ""
    data: bytes = b""
    mode: int = CreateMode.PERSISTENT
    version: int = -1
    watch: bool = False
    acl: tuple = ()
    ttl: Optional[int] = None
    sub_ops: tuple = ()  # for "multi": Ops of kind create/delete/set/check

    def describe(self) -> str:
        fields = [f"{self.kind}[s{self.slot}]", repr(self.path)]
        if self.kind in ("create", "create2"):
            fields.append(f"mode={self.mode} data={self.data!r}" + (f" ttl={self.ttl}" if self.ttl else ""))
        if self.kind in ("delete", "set", "check", "set_acl"):
            fields.append(f"version={self.version}")
        if self.kind == "set":
            fields.append(f"data={self.data!r}")
        if self.watch:
            fields.append("watch")
        if self.acl:
            fields.append(f"acl={list(self.acl)}")
        if self.sub_ops:
            fields.append("[" + "; ".join(op.describe() for op in self.sub_ops) + "]")
        return " ".join(fields)


class Generator:
    def __init__(self, seed: int, base: str) -> None:
        self.random = random.Random(seed)
        self.base = base
        self.recent: list[str] = []  # paths of earlier creates: likely to exist
        self.fresh_count = 0

    def node_path(self) -> str:
        """Mostly a path this sequence created before (hits), else any path of the namespace."""
        if self.recent and self.random.random() < 0.6:
            return self.random.choice(self.recent)
        depth = self.random.choices(range(1, DEPTH_MAX + 1), weights=(5, 3, 2))[0]
        path = self.base + "".join("/" + self.random.choice(SEGMENTS) for _ in range(depth))
        if self.random.random() < 0.1:
            # A name a sequential create may have produced.
            parent = path.rsplit("/", 1)[0]
            path = f"{parent}/s-{self.random.randint(0, 6):010d}"
        return path

    def parent_path(self) -> str:
        depth = self.random.choices(range(0, DEPTH_MAX), weights=(4, 4, 2))[0]
        return self.base + "".join("/" + self.random.choice(SEGMENTS) for _ in range(depth))

    def fresh_path(self) -> str:
        """A name no earlier op used, under the base or a likely-existing parent."""
        self.fresh_count += 1
        parent = self.random.choice([self.base, self.parent_path()])
        return f"{parent}/m{self.fresh_count}"

    def remember(self, path: str) -> None:
        if path not in self.recent:
            self.recent.append(path)
            del self.recent[:-32]

    def invalid_path(self) -> str:
        return self.random.choice(
            ["x/y", "", f"{self.base}/a/", f"{self.base}//a", f"{self.base}/a/../b", f"{self.base}/a/.", f"{self.base}/a\x00b"]
        )

    def data(self) -> bytes:
        return bytes(self.random.getrandbits(8) for _ in range(self.random.randint(0, 12)))

    def create(self, slot: int, kind: str = "create") -> Op:
        roll = self.random.random()
        ttl = None
        if roll < 0.45:
            mode, path = CreateMode.PERSISTENT, self.create_target()
        elif roll < 0.65:
            mode, path = CreateMode.EPHEMERAL, self.create_target()
        elif roll < 0.78:
            mode, path = CreateMode.PERSISTENT_SEQUENTIAL, self.parent_path() + "/s-"
        elif roll < 0.88:
            mode, path = CreateMode.EPHEMERAL_SEQUENTIAL, self.parent_path() + "/s-"
        elif roll < 0.94:
            # Containers only at the deepest level: nothing ever gets a child there, so the
            # reaper (timing-dependent) never removes one during a run.
            depth_max_path = self.base + "".join("/" + self.random.choice(SEGMENTS) for _ in range(DEPTH_MAX))
            mode, path = CreateMode.CONTAINER, depth_max_path
        else:
            mode = self.random.choice([CreateMode.PERSISTENT_WITH_TTL, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL])
            path = self.create_target() if mode == CreateMode.PERSISTENT_WITH_TTL else self.parent_path() + "/s-"
            ttl = TTL_MS
        if not path.endswith("/s-"):
            self.remember(path)
        return Op(kind, slot, path=path, data=self.data(), mode=mode, ttl=ttl)

    def create_target(self) -> str:
        if self.random.random() < 0.3:
            return self.fresh_path()
        depth = self.random.choices(range(1, DEPTH_MAX + 1), weights=(5, 3, 2))[0]
        return self.base + "".join("/" + self.random.choice(SEGMENTS) for _ in range(depth))

    def multi_sub_op(self, slot: int) -> Op:
        roll = self.random.random()
        if roll < 0.4:
            mode = self.random.choice([CreateMode.PERSISTENT, CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL])
            path = self.fresh_path() if mode != CreateMode.PERSISTENT_SEQUENTIAL else self.parent_path() + "/s-"
            if mode != CreateMode.PERSISTENT_SEQUENTIAL:
                self.remember(path)
            return Op("create", slot, path=path, data=self.data(), mode=mode)
        if roll < 0.6:
            return Op("delete", slot, path=self.node_path(), version=self.random.choice(VERSIONS))
        if roll < 0.85:
            return Op("set", slot, path=self.node_path(), data=self.data(), version=self.random.choice(VERSIONS))
        return Op("check", slot, path=self.node_path(), version=self.random.choice(VERSIONS))

    def op(self) -> Op:
        slot = self.random.randrange(SLOT_COUNT)
        roll = self.random.random()
        choose = self.random.choice
        if roll < 0.22:
            return self.create(slot)
        if roll < 0.27:
            return self.create(slot, kind="create2")
        if roll < 0.38:
            return Op("delete", slot, path=self.node_path(), version=choose(VERSIONS))
        if roll < 0.52:
            return Op("set", slot, path=self.node_path(), data=self.data(), version=choose(VERSIONS))
        if roll < 0.60:
            return Op("get", slot, path=self.node_path(), watch=self.random.random() < 0.5)
        if roll < 0.68:
            return Op("exists", slot, path=self.node_path(), watch=self.random.random() < 0.5)
        if roll < 0.75:
            return Op("get_children2", slot, path=self.parent_path(), watch=self.random.random() < 0.5)
        if roll < 0.78:
            return Op("get_children", slot, path=self.parent_path(), watch=self.random.random() < 0.5)
        if roll < 0.86:
            count = self.random.randint(1, 4)
            return Op("multi", slot, sub_ops=tuple(self.multi_sub_op(slot) for _ in range(count)))
        if roll < 0.87:
            return Op("close", slot)
        if roll < 0.90:
            return Op("get_acl", slot, path=self.node_path())
        if roll < 0.92:
            return Op("set_acl", slot, path=self.node_path(), acl=choose(ACL_CHOICES), version=choose(VERSIONS))
        if roll < 0.94:
            kind = choose(["create", "set", "delete", "exists", "get"])
            return Op(kind, slot, path=self.invalid_path(), data=b"x", version=-1)
        if roll < 0.95:
            return Op("add_watch", slot, path=self.parent_path(), mode=self.random.randint(0, 1))
        if roll < 0.96:
            return Op("check_watches", slot, path=self.node_path(), mode=3)
        if roll < 0.97:
            return Op("get_all_children_number", slot, path=self.parent_path())
        if roll < 0.98:
            return Op("get_ephemerals", slot, path=self.parent_path())
        return Op("sync", slot, path=self.parent_path())


def generate(seed: int, count: int, base: str) -> list[Op]:
    """A prelude creates the base node and the namespace's upper levels, so that the
    random ops that follow mostly hit existing nodes; `count` random ops follow."""
    generator = Generator(seed, base)
    prelude = [Op("create", 0, path=base)]
    for first in SEGMENTS:
        prelude.append(Op("create", 0, path=f"{base}/{first}", data=first.encode()))
        for second in SEGMENTS:
            prelude.append(Op("create", 0, path=f"{base}/{first}/{second}", data=second.encode()))
    for op in prelude[1:]:
        generator.remember(op.path)
    return prelude + [generator.op() for _ in range(count)]
