"""Target selection and server start-up for tests: the part of the harness that
decides which servers run and turns a start-up failure into a loud test failure."""

import os

import pytest

import servers
from servers import ServerProcess, ServerSpec

TARGET_CHOICES = {"reference": [servers.REFERENCE], "ours": [servers.OURS], "both": [servers.REFERENCE, servers.OURS]}


def selected_target_name(config) -> str:
    name = config.getoption("--zk-target") or os.environ.get("ZK_TARGET", "both")
    if name not in TARGET_CHOICES:
        raise pytest.UsageError(f"ZK_TARGET must be one of {sorted(TARGET_CHOICES)}, not {name!r}")
    return name


def selected_targets(config) -> list[str]:
    return TARGET_CHOICES[selected_target_name(config)]


def start_server(target: str, spec: ServerSpec) -> ServerProcess:
    """Starts a server or fails the test loudly (never skips)."""
    server = ServerProcess(target, spec)
    try:
        return server.start()
    except servers.ServerError as error:
        server.cleanup()
        reason = str(error)
    pytest.fail(f"cannot start {target} server: {reason}", pytrace=False)
