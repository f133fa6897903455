"""Fixtures of the interop suite: which server(s) to test, starting them, and clients.

ZK_TARGET (or --zk-target) is `reference`, `ours` or `both` (default). Every test that
uses a server fixture runs once per selected target. Selecting `ours` without an
executable $ZK_SERVER_BIN makes those tests fail; nothing is ever skipped.
"""

import itertools
import os
import re
import signal
import uuid

import pytest
from kazoo.client import KazooClient

import ensemble as ensembles
import jute
import servers
import zkraw
from ensemble import Ensemble, EnsembleSpec, start_ensemble
from harness import TARGET_CHOICES, selected_targets, start_server
from servers import ServerProcess, ServerSpec

KAZOO_TIMEOUT_S = 10.0
KAZOO_START_TIMEOUT_S = 15.0


def pytest_addoption(parser):
    parser.addoption(
        "--zk-target",
        default=None,
        choices=sorted(TARGET_CHOICES),
        help="server(s) under test; overrides $ZK_TARGET (default: both)",
    )


def pytest_configure(config):
    # A SIGTERM (e.g. from a CI timeout) becomes an interrupt: pytest then tears fixtures
    # down, and servers.kill_live_servers() catches whatever remains at exit.
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_report_header(config):
    binary = os.environ.get("ZK_SERVER_BIN", "(unset)")
    return f"zk interop: targets={selected_targets(config)} ZK_SERVER_BIN={binary}"


def pytest_generate_tests(metafunc):
    # Module scope, so a module's tests share one server per target.
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", selected_targets(metafunc.config), scope="module")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        # Ensemble members a test killed are no longer live, but their logs matter most.
        shown = set(servers.LIVE) | set(ensembles.all_members())
        for server in sorted(shown, key=repr):
            report.sections.append((f"log tail of {server} ({server.log_path})", server.log_tail()))


@pytest.fixture(scope="module")
def server_spec() -> ServerSpec:
    """Modules override this to get a differently configured module server."""
    return ServerSpec()


@pytest.fixture(scope="module")
def server(target, server_spec):
    process = start_server(target, server_spec)
    yield process
    process.cleanup()


@pytest.fixture
def server_factory(target):
    """Starts servers private to one test (for restarts, special configs); stops them after."""
    started: list[ServerProcess] = []

    def start(spec: ServerSpec = ServerSpec()) -> ServerProcess:
        process = start_server(target, spec)
        started.append(process)
        return process

    yield start
    for process in started:
        process.cleanup()


@pytest.fixture
def fresh_server(server_factory) -> ServerProcess:
    return server_factory()


@pytest.fixture
def kazoo_factory():
    """Connected kazoo clients for any server; stopped and closed after the test."""
    clients: list[KazooClient] = []

    def connect(server, **options) -> KazooClient:
        """`server` is a ServerProcess, or a connect string (e.g. several ensemble members)."""
        options.setdefault("timeout", KAZOO_TIMEOUT_S)
        hosts = server if isinstance(server, str) else server.hosts
        client = KazooClient(hosts=hosts, **options)
        clients.append(client)
        client.start(timeout=KAZOO_START_TIMEOUT_S)
        return client

    yield connect
    for client in clients:
        try:
            client.stop()
            client.close()
        except Exception:  # a test may have stopped it or killed its server already
            pass


@pytest.fixture
def zk(server, kazoo_factory) -> KazooClient:
    return kazoo_factory(server)


@pytest.fixture(scope="module")
def ensemble_spec() -> EnsembleSpec:
    """Modules with ensemble tests override this to size their ensemble."""
    return EnsembleSpec()


@pytest.fixture(scope="module")
def ensemble(target, ensemble_spec) -> Ensemble:
    """One ensemble per module and target (see ensemble.py); tests may kill members."""
    started = start_ensemble(target, ensemble_spec)
    yield started
    started.cleanup()


@pytest.fixture
def whole_ensemble(ensemble) -> Ensemble:
    """The module's ensemble with every member running and serving again, whatever
    the previous test killed."""
    ensemble.restore()
    return ensemble


@pytest.fixture
def raw_factory():
    """Raw protocol sessions (see zkraw.py); their sockets are closed after the test."""
    sessions: list[zkraw.RawSession] = []

    def connect(server: ServerProcess, **options) -> zkraw.RawSession:
        session = zkraw.RawSession.connect(server.address, **options)
        sessions.append(session)
        return session

    yield connect
    for session in sessions:
        # End sessions properly so their ephemerals and watches do not linger into later tests.
        try:
            session.request(jute.OpCode.CLOSE_SESSION, timeout_s=2.0)
        except Exception:  # already closed by the test or by the server
            pass
        session.drop()


@pytest.fixture
def raw(server, raw_factory) -> zkraw.RawSession:
    return raw_factory(server)


_root_counter = itertools.count()


def unique_root_name(request) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", request.node.name).strip("_")[:60]
    return f"/{name}-{next(_root_counter)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def root(zk, request) -> str:
    """A per-test persistent znode under which the test works; removed afterwards."""
    path = unique_root_name(request)
    zk.create(path, b"")
    yield path
    if zk.connected:
        try:
            zk.delete(path, recursive=True)
        except Exception:  # cleanup only: the test's own assertions matter
            pass


# Lines that tests want shown at the end of the run (e.g. the differential test's counts).
SUMMARY_KEY = pytest.StashKey[list]()


@pytest.fixture
def summary_line(request):
    """Call with a string to have it printed in the terminal summary."""
    lines = request.config.stash.setdefault(SUMMARY_KEY, [])
    return lines.append


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(SUMMARY_KEY, [])
    if lines:
        terminalreporter.section("zk interop")
        for line in lines:
            terminalreporter.write_line(line)
