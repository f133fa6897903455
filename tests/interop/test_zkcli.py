"""The Java client, driven through zkCli.sh: each test feeds one script on stdin (one
JVM), and checks the printed output command by command, then cross-checks the
resulting tree with kazoo. (multi is not a zkCli command; kazoo covers it.)"""

import functools
import os
import re
import subprocess

import pytest
from kazoo.security import Permissions

from servers import digest

ZKCLI_TIMEOUT_S = 60
STAT_KEYS = [
    "cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion",
    "dataVersion", "aclVersion", "ephemeralOwner", "dataLength", "numChildren",
]
MARKER_PREFIX = "/interop-marker-"
NOISE = re.compile(
    r"^(SLF4J: .*|Connecting to .*|Welcome to ZooKeeper!|JLine support is disabled|WATCHER::|WatchedEvent .*|)$"
)


@functools.cache
def zkcli_path() -> str:
    """zkCli.sh as installed by the Debian package `zookeeper`; its absence is a failure."""
    listing = subprocess.run(["dpkg", "-L", "zookeeper"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        if line.endswith("/zkCli.sh") and os.access(line, os.X_OK):
            return line
    pytest.fail("zkCli.sh not found: install the Debian package 'zookeeper'", pytrace=False)


class ZkCliRun:
    """The output of one zkCli.sh process that ran a list of commands."""

    def __init__(self, commands: list[str], raw_output: str) -> None:
        self.commands = commands
        self.raw_output = raw_output
        self.events = re.findall(r"WatchedEvent state:(\w+) type:(\w+) path:(\S+)", raw_output)
        self.outputs = self._split(raw_output)

    def _split(self, text: str) -> list[list[str]]:
        # Each command is followed by `stat <marker i>`, whose error line closes its output.
        outputs, current = [], []
        for line in text.splitlines():
            if line.startswith(f"Node does not exist: {MARKER_PREFIX}"):
                outputs.append(current)
                current = []
            elif not NOISE.match(line):
                current.append(line)
        assert len(outputs) == len(self.commands), f"zkCli output incomplete:\n{text}"
        return outputs

    def output(self, index: int) -> list[str]:
        return self.outputs[index]


def run_zkcli(server, commands: list[str]) -> ZkCliRun:
    script = "".join(f"{command}\nstat {MARKER_PREFIX}{index}\n" for index, command in enumerate(commands))
    script += "quit\n"
    completed = subprocess.run(
        [zkcli_path(), "-waitforconnection", "-timeout", "30000", "-server", server.hosts],
        input=script,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the CLI prints some results on stderr: keep one ordered stream
        text=True,
        timeout=ZKCLI_TIMEOUT_S,
        env={**os.environ, "ZOO_LOG_DIR": server.workdir, "CLIENT_JVMFLAGS": "-XX:TieredStopAtLevel=1 -Xshare:auto"},
    )
    # The exit code is that of the last failing command (our markers fail on purpose), so
    # completeness is judged by the markers instead.
    return ZkCliRun(commands, completed.stdout)


def parse_stat(lines: list[str]) -> dict[str, str]:
    stat_lines = [line for line in lines if " = " in line]
    assert [line.split(" = ")[0] for line in stat_lines] == STAT_KEYS, lines
    return dict(line.split(" = ", 1) for line in stat_lines)


def assert_stat_matches(printed: dict[str, str], stat) -> None:
    assert int(printed["cZxid"], 16) == stat.czxid
    assert int(printed["mZxid"], 16) == stat.mzxid
    assert int(printed["pZxid"], 16) == stat.pzxid
    assert int(printed["cversion"]) == stat.cversion
    assert int(printed["dataVersion"]) == stat.version
    assert int(printed["aclVersion"]) == stat.aversion
    assert int(printed["ephemeralOwner"], 16) == stat.ephemeralOwner
    assert int(printed["dataLength"]) == stat.dataLength
    assert int(printed["numChildren"]) == stat.numChildren


def test_create_modes_and_reads(server, zk, root):
    run = run_zkcli(
        server,
        [
            f"create {root}/p hello",
            f"create -s {root}/p/seq- a",
            f"create -s {root}/p/seq- b",
            f"create -e {root}/eph e",
            f"create -c {root}/box",
            f"create -t 60000 {root}/ttl t",
            f"create {root}/p hello-again",
            f"create {root}/missing/child",
            f"create -e {root}/eph/child",
            f"get -s {root}/p",
            f"ls {root}/p",
            f"ls -s {root}/p",
            f"ls -R {root}/p",
            f"stat {root}/p",
            f"getEphemerals {root}",
            f"getAllChildrenNumber {root}",
            f"get {root}/nothing",
            "whoami",
            f"sync {root}",
        ],
    )

    assert run.output(0) == [f"Created {root}/p"]
    assert run.output(1) == [f"Created {root}/p/seq-0000000000"]
    assert run.output(2) == [f"Created {root}/p/seq-0000000001"]
    assert run.output(3) == [f"Created {root}/eph"]
    assert run.output(4) == [f"Created {root}/box"]
    assert run.output(5) == [f"Created {root}/ttl"]
    assert run.output(6) == [f"Node already exists: {root}/p"]
    assert run.output(7) == [f"Node does not exist: {root}/missing/child"]
    assert run.output(8) == [f"Ephemerals cannot have children: {root}/eph/child"]

    get_lines = run.output(9)
    assert get_lines[0] == "hello"
    assert_stat_matches(parse_stat(get_lines[1:]), zk.exists(f"{root}/p"))
    assert run.output(10) == ["[seq-0000000000, seq-0000000001]"]
    assert run.output(11)[0] == "[seq-0000000000, seq-0000000001]"
    assert_stat_matches(parse_stat(run.output(11)[1:]), zk.exists(f"{root}/p"))
    assert run.output(12) == [f"{root}/p", f"{root}/p/seq-0000000000", f"{root}/p/seq-0000000001"]
    assert_stat_matches(parse_stat(run.output(13)), zk.exists(f"{root}/p"))
    # The CLI's session has ended by now, so its ephemeral is gone; while it ran:
    assert run.output(14) == [f"[{root}/eph]"]
    assert run.output(15) == ["6"]  # p, 2 seq, eph, box, ttl
    assert run.output(16) == [f"Node does not exist: {root}/nothing"]
    assert run.output(17) == ["Auth scheme: User", "ip: 127.0.0.1"]
    assert run.output(18) == ["Sync is OK"]

    assert zk.exists(f"{root}/eph") is None
    assert sorted(zk.get_children(root)) == ["box", "p", "ttl"]
    assert zk.get(f"{root}/ttl")[0] == b"t"


def test_set_delete_and_deleteall(server, zk, root):
    zk.create(f"{root}/v", b"0")
    zk.create(f"{root}/tree/a/b", b"", makepath=True)
    zk.create(f"{root}/tree/c", b"")
    run = run_zkcli(
        server,
        [
            f"set -v 0 {root}/v one",
            f"set -v 0 {root}/v two",
            f"set -s {root}/v three",
            f"delete -v 0 {root}/v",
            f"delete {root}/tree",
            f"deleteall {root}/tree",
            f"delete -v 2 {root}/v",
            f"delete {root}/v",
        ],
    )

    assert run.output(0) == []
    assert run.output(1) == [f"version No is not valid : {root}/v"]
    assert parse_stat(run.output(2))["dataVersion"] == "2"
    assert run.output(3) == [f"version No is not valid : {root}/v"]
    assert run.output(4) == [f"Node not empty: {root}/tree"]
    assert run.output(5) == []
    assert run.output(6) == []
    assert run.output(7) == [f"Node does not exist: {root}/v"]
    assert zk.get_children(root) == []


def test_acls_and_addauth(server, zk, root, kazoo_factory):
    alice = digest("alice", "pw")
    run = run_zkcli(
        server,
        [
            f"getAcl {root}",
            "addauth digest alice:pw",
            f"create {root}/mine x auth:alice:pw:cdrwa",
            f"getAcl {root}/mine",
            f"create {root}/shared y",
            f"setAcl {root}/shared world:anyone:r,digest:{alice}:cdrwa",
            f"getAcl -s {root}/shared",
            f"setAcl -v 0 {root}/shared world:anyone:rw",
            f"create {root}/ip z ip:127.0.0.1:r",
            f"getAcl {root}/ip",
            "whoami",
        ],
    )

    assert run.output(0) == ["'world,'anyone", ": cdrwa"]
    assert run.output(1) == []
    assert run.output(3) == [f"'digest,'{alice}", ": cdrwa"]
    assert run.output(5) == []
    shared = run.output(6)
    assert shared[:4] == ["'world,'anyone", ": r", f"'digest,'{alice}", ": cdrwa"]
    assert parse_stat(shared[4:])["aclVersion"] == "1"
    assert run.output(7) == [f"version No is not valid : {root}/shared"]
    assert run.output(9) == ["'ip,'127.0.0.1", ": r"]
    assert sorted(run.output(10)) == sorted(["Auth scheme: User", "ip: 127.0.0.1", "digest: alice"])

    alice_session = kazoo_factory(server, auth_data=[("digest", "alice:pw")])
    acls, _ = alice_session.get_acls(f"{root}/mine")
    assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(Permissions.ALL, "digest", alice)]
    acls, stat = alice_session.get_acls(f"{root}/shared")
    assert sorted((a.perms, a.id.scheme, a.id.id) for a in acls) == sorted(
        [(Permissions.READ, "world", "anyone"), (Permissions.ALL, "digest", alice)]
    )
    assert stat.aversion == 1


def test_watches_add_and_remove(server, zk, root):
    zk.create(f"{root}/w", b"0")
    zk.create(f"{root}/r", b"0")
    run = run_zkcli(
        server,
        [
            f"addWatch -m PERSISTENT {root}/w",
            f"addWatch -m PERSISTENT_RECURSIVE {root}/r",
            f"set {root}/w 1",
            f"create {root}/r/kid",
            f"get -w {root}/w",
            f"removewatches {root}/w",
            f"removewatches {root}/w",
            f"ls -w {root}",
            f"create {root}/new",
            f"stat -w {root}/r/kid",
            f"delete {root}/r/kid",
            f"sync {root}",  # a round trip more, so the event thread prints before quit
        ],
    )

    assert run.output(4) == ["1"]
    assert run.output(5) == []
    assert run.output(6) == [f"KeeperErrorCode = No such watcher for {root}/w"]
    assert run.output(7) == ["[r, w]"]
    events = [(event_type, path) for _state, event_type, path in run.events if event_type != "None"]
    # The watch events arrive asynchronously; their relative order per path is fixed.
    assert events.count(("NodeDataChanged", f"{root}/w")) == 1
    assert events.count(("NodeCreated", f"{root}/r/kid")) == 1
    assert events.count(("NodeChildrenChanged", root)) == 1
    # One notification although both the stat -w watch and the recursive watch match.
    assert events.count(("NodeDeleted", f"{root}/r/kid")) == 1
    # A persistent watch never reports child changes below a recursive one.
    assert ("NodeChildrenChanged", f"{root}/r") not in events
    # The client reports the removed watches itself, one event per kind removed.
    assert events.count(("PersistentWatchRemoved", f"{root}/w")) == 1
    assert events.count(("DataWatchRemoved", f"{root}/w")) == 1
    assert zk.exists(f"{root}/new") is not None


def test_single_command_mode(server, zk, root):
    """`zkCli.sh -server HOST:PORT cmd args` runs one command and exits."""
    completed = subprocess.run(
        [zkcli_path(), "-server", server.hosts, "create", f"{root}/one-shot", "data"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=ZKCLI_TIMEOUT_S,
        env={**os.environ, "ZOO_LOG_DIR": server.workdir},
    )
    assert completed.returncode == 0, completed.stdout
    assert f"Created {root}/one-shot" in completed.stdout.splitlines()
    assert zk.get(f"{root}/one-shot")[0] == b"data"
