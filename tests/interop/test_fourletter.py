"""Four-letter words, parsed the way monitoring scripts parse them: the keys they read
must be there, and each value must have its type; where a value is knowable (our
session, our watches, our ephemerals, the config) it is checked exactly."""

import re


from jute import AddWatchMode, CreateMode, Err
from servers import ServerSpec
from support import four_letter, wait_until

VERSION_PATTERN = r"3\.8\.\d+.*"
SERVER_STATS_KEYS = {
    "Latency min/avg/max": r"\d+/\d+(\.\d+)?/\d+",
    "Received": r"\d+",
    "Sent": r"\d+",
    "Connections": r"\d+",
    "Outstanding": r"\d+",
    "Zxid": r"0x[0-9a-f]+",
    "Mode": r"standalone",
    "Node count": r"\d+",
}
# The mntr keys classic monitoring (check_zookeeper, the Nagios/Ganglia plugins, exporters) reads.
MNTR_INTEGER_KEYS = [
    "zk_max_latency",
    "zk_min_latency",
    "zk_packets_received",
    "zk_packets_sent",
    "zk_num_alive_connections",
    "zk_outstanding_requests",
    "zk_znode_count",
    "zk_watch_count",
    "zk_ephemerals_count",
    "zk_approximate_data_size",
    "zk_open_file_descriptor_count",
    "zk_max_file_descriptor_count",
]


def parse_colon_lines(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            pairs[key] = value
    return pairs


def parse_mntr(text: str) -> dict[str, str]:
    assert text.endswith("\n")
    lines = text.splitlines()
    assert all(line.count("\t") == 1 for line in lines), lines
    return dict(line.split("\t") for line in lines)


def parse_equals_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def word(server, name: str) -> str:
    return four_letter(server.address, name)


def test_ruok(server):
    assert word(server, "ruok") == "imok"


def test_isro(server):
    assert word(server, "isro") == "rw"


def test_srvr(server, zk, root):
    last_zxid = zk.exists(zk.create(f"{root}/marker")).czxid
    text = word(server, "srvr")

    assert text.endswith("\n")
    assert re.fullmatch(f"Zookeeper version: {VERSION_PATTERN}", text.splitlines()[0])
    stats = parse_colon_lines(text)
    for key, pattern in SERVER_STATS_KEYS.items():
        assert re.fullmatch(pattern, stats[key]), (key, stats.get(key))
    assert int(stats["Zxid"], 16) == last_zxid
    assert int(stats["Node count"]) >= 6  # /, /zookeeper, config, quota, root, marker
    assert int(stats["Connections"]) >= 1


def client_lines_of_stat(text: str) -> list[str]:
    lines = text.splitlines()
    assert re.fullmatch(f"Zookeeper version: {VERSION_PATTERN}", lines[0])
    assert lines[1] == "Clients:"
    client_lines = lines[2 : lines.index("")]
    assert all(re.fullmatch(STAT_CLIENT_PATTERN, line) for line in client_lines), client_lines
    return client_lines


STAT_CLIENT_PATTERN = r" /127\.0\.0\.1:(\d+)\[(\d+)\]\(queued=(\d+),recved=(\d+),sent=(\d+)\)"


def test_stat_lists_client_connections(server, raw):
    local_port = raw.sock.getsockname()[1]
    # One request (the handshake) received, one reply sent. The reference counts a packet
    # as sent just after writing it, so the client may see the reply a moment earlier.
    expected = f" /127.0.0.1:{local_port}[1](queued=0,recved=1,sent=1)"

    def stat_with_expected_line():
        text = word(server, "stat")
        return text if expected in client_lines_of_stat(text) else None

    text = wait_until(stat_with_expected_line, 5.0, "the stat line of our connection")

    stats = parse_colon_lines(text)
    for key, pattern in SERVER_STATS_KEYS.items():
        assert re.fullmatch(pattern, stats[key]), (key, stats.get(key))


def test_mntr_keys_and_types(server, raw, root):
    before = parse_mntr(word(server, "mntr"))
    assert raw.create(f"{root}/eph", b"12345", mode=CreateMode.EPHEMERAL)[0] == Err.OK
    after = parse_mntr(word(server, "mntr"))

    assert re.fullmatch(VERSION_PATTERN, after["zk_version"])
    assert after["zk_server_state"] == "standalone"
    for key in MNTR_INTEGER_KEYS:
        assert re.fullmatch(r"\d+", after[key]), (key, after.get(key))
    assert re.fullmatch(r"\d+(\.\d+)?", after["zk_avg_latency"])
    assert int(after["zk_ephemerals_count"]) == int(before["zk_ephemerals_count"]) + 1
    assert int(after["zk_znode_count"]) == int(before["zk_znode_count"]) + 1
    assert int(after["zk_approximate_data_size"]) > int(before["zk_approximate_data_size"])
    assert int(after["zk_packets_received"]) > int(before["zk_packets_received"])


def test_conf_reflects_zoo_cfg(server):
    conf = parse_equals_lines(word(server, "conf"))

    assert conf["clientPort"] == str(server.port)
    # The server keeps its snapshots and logs in dataDir/version-2.
    assert conf["dataDir"] == f"{server.data_dir}/version-2"
    assert conf["dataLogDir"] == f"{server.data_dir}/version-2"
    assert conf["tickTime"] == "2000"
    assert conf["maxClientCnxns"] == "60"
    assert conf["minSessionTimeout"] == "4000"
    assert conf["maxSessionTimeout"] == "40000"
    assert conf["serverId"] == "0"
    assert re.fullmatch(r"\d+", conf["dataDirSize"])


def cons_fields(server, local_port: int) -> dict[str, str]:
    text = word(server, "cons")
    assert text.endswith("\n\n")
    line = next(line for line in text.splitlines() if line.startswith(f" /127.0.0.1:{local_port}["))
    fields = re.fullmatch(r" /[\d.:]+\[\d+\]\((.*)\)", line).group(1).split(",")
    return dict(field.split("=", 1) for field in fields)


def test_cons_describes_our_session(server, raw):
    local_port = raw.sock.getsockname()[1]
    # (The sent counter may trail the reply by a moment, as for stat.)
    def fields_once_reply_counted():
        fields = cons_fields(server, local_port)
        return fields if fields["sent"] == "1" else None

    fields = wait_until(fields_once_reply_counted, 5.0, "cons to count the handshake reply")

    assert fields["sid"] == hex(raw.session_id)
    assert fields["to"] == str(raw.timeout_ms)
    assert (fields["queued"], fields["recved"], fields["sent"]) == ("0", "1", "1")
    for key in ("est", "lresp", "llat", "minlat", "avglat", "maxlat"):
        assert re.fullmatch(r"-?\d+", fields[key]), (key, fields[key])


def test_envi(server):
    text = word(server, "envi")
    lines = text.splitlines()
    assert lines[0] == "Environment:"
    env = parse_equals_lines(text)
    assert re.fullmatch(VERSION_PATTERN, env["zookeeper.version"])
    for key in ("host.name", "os.name", "os.arch", "os.version", "user.name"):
        assert env[key], key
    assert env["user.dir"] == server.workdir


def test_watch_words_list_data_watches(server, raw_factory, root, zk):
    watcher = raw_factory(server)
    for name in ("a", "b"):
        zk.create(f"{root}/{name}")
    assert watcher.get_data(f"{root}/a", watch=True)[0] == Err.OK
    assert watcher.get_children(f"{root}/a", watch=True)[0] == Err.OK
    assert watcher.exists(f"{root}/missing", watch=True)[0] == Err.NO_NODE
    assert watcher.add_watch(f"{root}/b", AddWatchMode.PERSISTENT_RECURSIVE) == Err.OK
    # A child-only watch: these words count data (and exists, persistent) watches only.
    children_only = raw_factory(server)
    assert children_only.get_children(f"{root}/b", watch=True)[0] == Err.OK
    sid = hex(watcher.session_id)
    paths = sorted([f"{root}/a", f"{root}/b", f"{root}/missing"])

    # Sessions of earlier tests may still be closing: wait for their watches to go.
    expected_wchs = "1 connections watching 3 paths\nTotal watches:3\n"
    wait_until(lambda: word(server, "wchs") == expected_wchs, 5.0, "wchs to show only this test's watches")

    wchc = word(server, "wchc").split("\n")
    # Sessions, each followed by its watched paths (in no particular order), then a blank line.
    assert wchc[0] == sid
    assert sorted(wchc[1:4]) == [f"\t{path}" for path in paths]
    assert wchc[4:] == ["", ""]

    wchp = word(server, "wchp").split("\n")
    assert wchp[6:] == ["", ""]
    by_path = dict(zip(wchp[0:6:2], wchp[1:6:2]))
    assert by_path == {path: f"\t{sid}" for path in paths}


def test_dump_lists_sessions_and_ephemerals(server, raw, root):
    path = f"{root}/eph"
    assert raw.create(path, mode=CreateMode.EPHEMERAL)[0] == Err.OK
    text = word(server, "dump")

    assert text.startswith("SessionTracker dump:\n")
    assert "ephemeral nodes dump:\n" in text
    ephemerals = text.split("ephemeral nodes dump:\n", 1)[1]
    assert re.match(r"Sessions with Ephemerals \(\d+\):\n", ephemerals)
    assert f"{hex(raw.session_id)}:\n\t{path}\n" in ephemerals
    assert f"\t{hex(raw.session_id)}\n" in text.split("ephemeral nodes dump:")[0]


def test_crst_and_srst_reset_counters(server, zk, root):
    for number in range(5):
        zk.create(f"{root}/n{number}")
    assert word(server, "crst") == "Connection stats reset.\n"
    assert word(server, "srst") == "Server stats reset.\n"

    stats = parse_colon_lines(word(server, "srvr"))
    # Counters restart from zero (the srvr request itself may or may not be counted).
    assert int(stats["Received"]) <= 2
    assert int(stats["Sent"]) <= 2
    assert stats["Latency min/avg/max"].split("/")[0] == "0"


def test_restricted_whitelist(server_factory):
    restricted = server_factory(ServerSpec(four_letter_whitelist="srvr,ruok"))

    assert word(restricted, "ruok") == "imok"
    assert word(restricted, "srvr").startswith("Zookeeper version: ")
    for name in ("stat", "mntr", "conf", "wchs", "dump", "envi"):
        assert word(restricted, name) == f"{name} is not executed because it is not in the whitelist.\n"


def test_unknown_word_closes_without_answer(server):
    # Not a known word: the four bytes are read as a frame length far over the limit.
    assert word(server, "xyzw") == ""
    assert word(server, "ruok") == "imok"
