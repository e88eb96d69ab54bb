"""The kiosk after review: a failed request does not pause ticketing while the event link is
up, requests that fail at once are sent again only after a backoff, the unresolved file
survives a bad entry and its rename is synced, and request ids do not collide."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import itertools
import json
import logging
import re
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from dispatcher.client import DispatcherClient, LinkDown
from kiosk.app import request_prefix
from kiosk.flow import Abandon, IssueFailed, Screen, Tick
from kiosk.unresolved import UnresolvedRequests

from .test_kiosk_app import FONT, Harness, started, take_number
from .test_kiosk_flow import Kiosk, to_printing

# -- the event link alone says whether the dispatcher is up ------------------------------------


def test_an_unanswered_request_does_not_declare_the_dispatcher_down() -> None:
    k = Kiosk(confirm_timeout_s=30, done_timeout_s=20)
    rid = to_printing(k)
    k.send(IssueFailed(rid, unreachable=True, message="LinkDown"))
    assert (k.screen, k.state.message, k.state.dispatcher_up) == (
        Screen.PRINTING, "confirming", True)
    assert k.send(Tick(), after_s=31) == [Abandon(rid)]
    assert (k.screen, k.state.message) == (Screen.PAUSED, "not_issued")
    k.send(Tick(), after_s=10)
    assert k.screen is Screen.PAUSED  # the resident reads that no number was taken…
    k.send(Tick(), after_s=10)
    assert k.screen is Screen.HOME  # …then ticketing goes on: the event link never went down


# -- a request that fails at once is not sent again at once ------------------------------------


@pytest.mark.skipif(FONT is None, reason="no CJK font: ./bootstrap.sh installs it")
def test_an_issue_request_failing_at_once_is_sent_again_only_after_a_backoff(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = started(Harness(tmp_path))
    try:
        sent: list[float] = []

        async def failing(self: DispatcherClient, path: str, **fields: Any) -> Any:
            sent.append(time.monotonic())
            raise LinkDown(f"POST {path}: no answer")

        monkeypatch.setattr(DispatcherClient, "post", failing)
        take_number(h)
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            h.app.step(wait_ms=20)
        assert h.app.state.message == "confirming"
        assert 2 <= len(sent) <= 5, f"{len(sent)} requests in 2 s"
        assert min(b - a for a, b in itertools.pairwise(sent)) >= 0.2
    finally:
        h.close()


# -- the unresolved requests' file ---------------------------------------------------------------


def test_a_bad_entry_in_the_unresolved_file_is_skipped_and_the_rest_kept(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "kiosk-1-unresolved.json"
    file.write_text(json.dumps([
        {"request_id": "k-1", "service_id": "sb-card"},
        {"request_id": "k-2"},  # no business
        "k-3",
        {"request_id": "k-4", "service_id": "sb-card", "colour": "red"},
        {"request_id": 5, "service_id": "sb-card"},
        {"request_id": "k-6", "service_id": "yb-dabing", "sign_language": True},
    ]), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        loaded = UnresolvedRequests(file)
    assert [(i.request_id, i.service_id, i.sign_language, i.abandoned)
            for i in loaded.items()] == [("k-1", "sb-card", False, True),
                                         ("k-6", "yb-dabing", True, True)]
    # Said (repeats of one message may be held back by the logs' rate limit).
    assert any("bad entry" in r.getMessage() for r in caplog.records)


def test_an_unreadable_unresolved_file_starts_empty_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "kiosk-1-unresolved.json"
    file.write_text('[{"request_id": "k-1", "serv', encoding="utf-8")  # torn
    with caplog.at_level(logging.WARNING):
        assert len(UnresolvedRequests(file)) == 0
    assert any("cannot be read" in r.getMessage() for r in caplog.records)


def test_saving_the_unresolved_file_syncs_its_folder_after_the_rename(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "state" / "kiosk-1-unresolved.json"
    done: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode) and st.st_ino == os.stat(file.parent).st_ino:
            done.append("folder synced")
        else:
            done.append("file synced")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        done.append("renamed")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    UnresolvedRequests(file).add("k-1", "sb-card", False)
    assert done == ["file synced", "renamed", "folder synced"]
    assert "k-1" in file.read_text(encoding="utf-8")


# -- request ids ---------------------------------------------------------------------------------


def test_request_prefixes_carry_64_random_bits_and_do_not_collide() -> None:
    prefixes = [request_prefix("kiosk-1") for _ in range(20_000)]
    assert all(re.fullmatch(r"kiosk-1-[0-9a-f]{16}", p) for p in prefixes)
    assert len(set(prefixes)) == len(prefixes)
