"""Repeated log messages are rate-limited, and the next one says how many were held back."""

from __future__ import annotations

import logging

from base.logs import RepeatFilter


def record(msg: str, lineno: int = 1) -> logging.LogRecord:
    return logging.LogRecord("qms.x", logging.WARNING, "x.py", lineno, msg, None, None)


def test_a_flood_of_one_message_lets_one_through_per_interval() -> None:
    now = [0.0]
    f = RepeatFilter(interval_s=10, clock=lambda: now[0])
    passed = [f.filter(record("accept() out of resources")) for _ in range(1000)]
    assert passed.count(True) == 1
    now[0] = 10.5
    late = record("accept() out of resources")
    assert f.filter(late) and "999 more like this" in str(late.msg)


def test_different_messages_are_not_held_back_by_each_other() -> None:
    f = RepeatFilter(interval_s=10, clock=lambda: 0.0)
    assert f.filter(record("printer lost")) and f.filter(record("link down"))
    assert f.filter(record("printer lost", lineno=2))  # the same text from another place
