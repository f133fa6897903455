"""The C client, driven through its interactive shell cli_mt (Debian zookeeper-bin):
one command at a time on stdin, each answer awaited (bounded) on its output."""

import functools
import os
import re
import subprocess
import threading
import time

import pytest
from kazoo.security import make_digest_acl

CLI_MT_EXIT_TIMEOUT_S = 10.0
ANSWER_TIMEOUT_S = 10.0
# dumpStat's layout: ctime, czxid, mtime, mzxid, version and aversion (hex), ephemeralOwner (hex).
STAT_BLOCK = (
    r"\tctime = [^\n]*\n\tczxid=(?P<czxid>[0-9a-f]+)\n\tmtime=[^\n]*\n\tmzxid=(?P<mzxid>[0-9a-f]+)\n"
    r"\tversion=(?P<version>[0-9a-f]+)\taversion=(?P<aversion>[0-9a-f]+)\n\tephemeralOwner = (?P<owner>[0-9a-f]+)\n"
)


@functools.cache
def cli_mt_path() -> str:
    """cli_mt as installed by the Debian package `zookeeper-bin`; its absence is a failure."""
    listing = subprocess.run(["dpkg", "-L", "zookeeper-bin"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        if line.endswith("/cli_mt") and os.access(line, os.X_OK):
            return line
    pytest.fail("cli_mt not found: install the Debian package 'zookeeper-bin'", pytrace=False)


class CliMt:
    """A running cli_mt; output (stdout and stderr) accumulates in `output`."""

    def __init__(self, hosts: str) -> None:
        self.process = subprocess.Popen(
            [cli_mt_path(), hosts],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            bufsize=0,
        )
        self.output = ""
        self._condition = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        match = self.expect(r"Got a new session id: 0x([0-9a-f]+)\n", since=0)
        self.session_id = int(match.group(1), 16)

    def _read(self) -> None:
        while True:
            chunk = self.process.stdout.read(4096)
            with self._condition:
                if not chunk:
                    self._condition.notify_all()
                    return
                self.output += chunk.decode("utf-8", "replace")
                self._condition.notify_all()

    def send(self, line: str) -> int:
        """Sends one command; returns the output offset from which its answer appears."""
        with self._condition:
            offset = len(self.output)
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        return offset

    def expect(self, pattern: str, since: int, timeout_s: float = ANSWER_TIMEOUT_S, anchored: bool = False) -> re.Match:
        """Waits for pattern in the output from `since` on (exactly at `since` if anchored)."""
        regex = re.compile(pattern)
        find = regex.match if anchored else regex.search
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while True:
                match = find(self.output, since)
                if match:
                    return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {pattern!r} in cli_mt output:\n{self.output[since:]}")
                self._condition.wait(remaining)

    def run(self, line: str, pattern: str) -> re.Match:
        return self.expect(pattern, self.send(line))

    def quit(self) -> str:
        """Quits and returns the whole output (stdout is block-buffered until exit)."""
        offset = self.send("quit")
        self.expect(r"Quitting\.\.\.\n", offset)
        self.process.wait(CLI_MT_EXIT_TIMEOUT_S)
        self._reader.join(CLI_MT_EXIT_TIMEOUT_S)
        return self.output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(CLI_MT_EXIT_TIMEOUT_S)


@pytest.fixture
def cli(server):
    shell = CliMt(server.hosts)
    yield shell
    shell.kill()


def test_create_modes(cli, zk, root):
    def create(flags: str, path: str, mode: int) -> str:
        command = f"create {flags} {path}".replace("  ", " ")
        offset = cli.send(command)
        cli.expect(rf"Creating \[{re.escape(path)}\] node \(mode: {mode}\)\n", offset)
        match = cli.expect(rf"\[{re.escape(path)}\]: rc = (-?\d+)\n", offset)
        assert match.group(1) == "0", match.group(0)
        return cli.expect(r"\tname = (.*)\n", match.end(), anchored=True).group(1)

    assert create("", f"{root}/plain", 0) == f"{root}/plain"
    assert create("+s", f"{root}/seq-", 2) == f"{root}/seq-0000000001"
    assert create("+e", f"{root}/eph", 1) == f"{root}/eph"
    assert create("+es", f"{root}/eseq-", 3) == f"{root}/eseq-0000000003"
    assert create("+c", f"{root}/box", 4) == f"{root}/box"
    assert create("+t=60000", f"{root}/ttl", 5) == f"{root}/ttl"
    assert create("+st=60000", f"{root}/ttlseq-", 6) == f"{root}/ttlseq-0000000006"

    # cli_mt always stores the three bytes "new".
    assert zk.get(f"{root}/plain")[0] == b"new"
    assert zk.exists(f"{root}/eph").ephemeralOwner == cli.session_id
    match = cli.run(f"create {root}/plain", rf"\[{re.escape(root)}/plain\]: rc = (-?\d+)\n")
    assert match.group(1) == "-110"
    match = cli.run(f"create {root}/eph/kid", rf"\[{re.escape(root)}/eph/kid\]: rc = (-?\d+)\n")
    assert match.group(1) == "-108"


def test_create2_prints_stat(cli, zk, root):
    path = f"{root}/c2"
    match = cli.run(f"create2 {path}", rf"\[{re.escape(path)}\]: rc = 0\n\tname = {re.escape(path)}\n" + STAT_BLOCK)
    stat = zk.exists(path)
    assert int(match["czxid"], 16) == int(match["mzxid"], 16) == stat.czxid
    assert (match["version"], match["aversion"], match["owner"]) == ("0", "0", "0")


def test_get_set_ls_delete(cli, zk, root):
    path = zk.create(f"{root}/node", b"payload")
    zk.create(f"{path}/kid-a")
    zk.create(f"{path}/kid-b")

    match = cli.run(f"get {path}", rf"{re.escape(path)}: rc = 0\n value_len = 7\npayload\nStat:\n" + STAT_BLOCK)
    assert int(match["czxid"], 16) == zk.exists(path).czxid

    match = cli.run(f"set {path} new data", rf"{re.escape(path)}: rc = 0 Stat:\n" + STAT_BLOCK)
    assert match["version"] == "1"
    assert zk.get(path)[0] == b"new data"
    # The get above left a data watch through the default watcher.
    cli.expect(rf"Watcher CHANGED_EVENT state = CONNECTED_STATE for path {re.escape(path)}\n", since=0)

    match = cli.run(f"ls {path}", rf"{re.escape(path)}: rc = 0\n((?:\t.*\n)*)time = \d+ msec\n")
    assert sorted(match.group(1).split()) == ["kid-a", "kid-b"]
    match = cli.run(f"ls2 {path}", rf"{re.escape(path)}: rc = 0\n((?:\t[^\t\n]*\n)*)time = \d+ msec\n" + STAT_BLOCK)
    assert sorted(match.group(1).split()) == ["kid-a", "kid-b"]
    assert int(match["mzxid"], 16) == zk.exists(path).mzxid

    assert cli.run(f"delete {path}", rf"{re.escape(path)}: rc = (-?\d+)\n").group(1) == "-111"
    assert cli.run(f"delete {path}/kid-a", rf"{re.escape(path)}/kid-a: rc = (-?\d+)\n").group(1) == "0"
    assert cli.run(f"delete {path}/ghost", rf"{re.escape(path)}/ghost: rc = (-?\d+)\n").group(1) == "-101"
    assert cli.run(f"get {path}/ghost", rf"{re.escape(path)}/ghost: rc = (-?\d+)\n").group(1) == "-101"
    assert sorted(zk.get_children(path)) == ["kid-b"]


def test_exists_wexists_and_sync(cli, zk, root):
    path = f"{root}/later"
    # exists is synchronous in cli_mt and prints only failures.
    assert cli.run(f"exists {path}", rf"Error (-?\d+) for {re.escape(path)}\n").group(1) == "-101"
    cli.send(f"wexists {path}")
    match = cli.run(f"sync {root}", rf"\[{re.escape(root)}\]: rc = (-?\d+)\n\tname = (.*)\n")
    assert match.groups() == ("0", root)

    zk.create(path)
    cli.expect(rf"Watcher CREATED_EVENT state = CONNECTED_STATE for path {re.escape(path)}\n", since=0)


def test_addauth_grants_digest_access(cli, zk, root):
    path = zk.create(f"{root}/secret", b"s3", acl=[make_digest_acl("erin", "pw", read=True)])

    assert cli.run(f"get {path}", rf"{re.escape(path)}: rc = (-?\d+)\n").group(1) == "-102"
    cli.send("addauth digest erin:pw")  # no completion is printed
    match = cli.run(f"get {path}", rf"{re.escape(path)}: rc = (-?\d+)\n value_len = 2\ns3\n")
    assert match.group(1) == "0"


def test_config_and_myid(cli):
    match = cli.run("config", r"/zookeeper/config: rc = 0\n value_len = 0\n\nStat:\n" + STAT_BLOCK)
    assert (match["czxid"], match["version"], match["aversion"]) == ("0", "0", "ffffffff")
    cli.send("myid")
    output = cli.quit()
    assert f"session Id = {cli.session_id:x}\n" in output


def test_quit_closes_the_session(server, zk, root):
    shell = CliMt(server.hosts)
    try:
        match = shell.run(f"create +e {root}/bye", rf"\[{re.escape(root)}/bye\]: rc = (-?\d+)\n")
        assert match.group(1) == "0"
        shell.quit()
        assert shell.process.returncode == 0
    finally:
        shell.kill()
    assert zk.exists(f"{root}/bye") is None
