"""Differential test: the same seeded operation sequences against two servers, with
every observable answer compared (see transcript.py for what is normalised and why).

ZK_TARGET=both compares the reference with ours. ZK_TARGET=reference compares the
reference with a second reference instance, which checks that the test itself is
deterministic. ZK_TARGET=ours alone cannot run it and fails.

ZK_DIFF_SEED=1,2,3 chooses the seeds (default below); ZK_DIFF_OPS the sequence length.
"""

import os

import pytest

from harness import selected_target_name, start_server
from servers import OURS, REFERENCE, ServerSpec
from transcript import Replayer
from workload import generate

DEFAULT_SEEDS = (20240601, 7, 1234567)
DEFAULT_OPS = 300
CONTEXT_OPS = 8


def seeds() -> list[int]:
    value = os.environ.get("ZK_DIFF_SEED", "")
    return [int(seed) for seed in value.split(",") if seed.strip()] or list(DEFAULT_SEEDS)


def op_count() -> int:
    return int(os.environ.get("ZK_DIFF_OPS", DEFAULT_OPS))


@pytest.fixture(scope="module")
def server_pair(request):
    name = selected_target_name(request.config)
    if name == "both":
        targets = (REFERENCE, OURS)
    elif name == "reference":
        targets = (REFERENCE, REFERENCE)
    else:
        pytest.fail(
            "the differential test needs the reference: run it with ZK_TARGET=both "
            "(or ZK_TARGET=reference to self-check it against a second reference)",
            pytrace=False,
        )
    started = []
    try:
        for target in targets:
            started.append(start_server(target, ServerSpec()))
        yield started
    finally:
        for server in started:
            server.cleanup()


def describe_mismatch(seed, entries_a, entries_b, index, labels) -> str:
    first = max(0, index - CONTEXT_OPS)
    lines = [f"seed {seed}: first difference at op {index} (replay with ZK_DIFF_SEED={seed})", "context:"]
    for entry in entries_a[first:index]:
        lines.append(f"  #{entry.index} {entry.description} -> {entry.result!r} events={entry.events}")
    a, b = entries_a[index], entries_b[index]
    lines.append(f"op #{index}: {a.description}")
    lines.append(f"  {labels[0]}: result={a.result!r} events={a.events}")
    lines.append(f"  {labels[1]}: result={b.result!r} events={b.events}")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", seeds())
def test_same_answers_as_the_reference(server_pair, seed, summary_line):
    count = op_count()
    print(f"differential seed={seed} ops={count}")
    ops = generate(seed, count, base=f"/diff-{seed}")
    labels = [f"{server.target}#{number}" for number, server in enumerate(server_pair)]

    transcripts, normalizers = [], []
    for server in server_pair:
        replayer = Replayer(server)
        transcripts.append(replayer.run(ops))
        replayer.close()
        normalizers.append(replayer.normalize)

    entries_a, entries_b = transcripts
    assert len(entries_a) == len(entries_b) == len(ops)
    for index in range(len(ops)):
        a, b = entries_a[index], entries_b[index]
        if (a.result, a.events) != (b.result, b.events):
            pytest.fail(describe_mismatch(seed, entries_a, entries_b, index, labels), pytrace=False)
    assert normalizers[0].zxid_ranks() == normalizers[1].zxid_ranks(), f"seed {seed}: zxid order differs"

    errors = sum(1 for entry in entries_a if isinstance(entry.result, tuple) and entry.result[:1] == ("err",))
    events = sum(len(events) for entry in entries_a for events in entry.events.values())
    line = (
        f"differential seed={seed}: compared {len(ops)} operations "
        f"({errors} error answers, {events} watch events) between {labels[0]} and {labels[1]}"
    )
    print(line)
    summary_line(line)
