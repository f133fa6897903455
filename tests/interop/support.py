"""Small helpers shared by the interop tests: bounded waiting and four-letter words."""

import socket
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.05) -> T:
    """Polls until predicate() is truthy and returns it; fails after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last value {value!r}")
        time.sleep(interval_s)


def four_letter(address: tuple[str, int], word: str, timeout_s: float = 10.0) -> str:
    """Sends a four-letter word and returns everything the server writes before closing."""
    with socket.create_connection(address, timeout=timeout_s) as sock:
        sock.sendall(word.encode())
        chunks = []
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{word}: server did not close within {timeout_s}s")
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks).decode("utf-8", "replace")
            chunks.append(chunk)


class EventRecorder:
    """A kazoo watcher that records events; usable for any number of watches.

    kazoo runs watcher callbacks one at a time in arrival order, so once a later
    "sentinel" event is recorded, every earlier notification has been recorded too.
    """

    def __init__(self) -> None:
        import threading

        self.events: list = []
        self._condition = threading.Condition()

    def __call__(self, event) -> None:
        with self._condition:
            self.events.append(event)
            self._condition.notify_all()

    def summary(self) -> list[tuple[str, str]]:
        with self._condition:
            return [(event.type, event.path) for event in self.events]

    def wait_for(self, expected: tuple[str, str], timeout_s: float = 10.0) -> list[tuple[str, str]]:
        """Waits until (type, path) has been recorded; returns everything recorded so far."""
        with self._condition:
            ok = self._condition.wait_for(
                lambda: expected in [(e.type, e.path) for e in self.events], timeout_s
            )
            summary = [(event.type, event.path) for event in self.events]
        if not ok:
            raise AssertionError(f"no {expected} event within {timeout_s}s; got {summary}")
        return summary
