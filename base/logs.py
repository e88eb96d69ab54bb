"""Logging for every qms service: one format, and repeated messages rate-limited.

A fault that repeats fast (a flood of connections, `accept()` out of file descriptors, a
printer unplugged) must not fill the disk or the journal: the same message from the same
place is let through at most once per `interval_s`, and the next one that passes says how
many were held back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RepeatFilter(logging.Filter):
    """Lets a message (logger + template + place) through once per `interval_s`."""

    def __init__(self, interval_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._last: dict[tuple[str, str, int], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg), record.lineno)
        now = self.clock()
        with self._lock:
            last, held = self._last.get(key, (-1e18, 0))
            if now - last < self.interval_s:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
            if len(self._last) > 10_000:  # keep memory bounded
                self._last.clear()
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last " \
                         f"{self.interval_s:g} s not shown)"
        return True


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr (the journal under systemd) with repeats rate-limited."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
