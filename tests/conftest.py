"""What many tests share: a live dispatcher on a loopback port, and waiting for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import small_config
from .live import LiveDispatcher


def wait_until(check: Callable[[], object], timeout: float = 5.0, poll: float = 0.01,
               what: str = "") -> None:
    """Poll `check` until it is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout} s {what}".rstrip()
        time.sleep(poll)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveDispatcher]:
    """The small test center's dispatcher (fake clock), its database in the test's folder."""
    server = LiveDispatcher(small_config(), tmp_path / "qms.db").start()
    yield server
    server.stop()
