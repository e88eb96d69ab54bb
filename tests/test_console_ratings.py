"""The console's 好差评 page (bad ratings followed up, the day's grades) and the bus devices'
health on the overview."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import HALL, KIOSK, small_config
from .live import LiveDispatcher
from .test_console import Browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveDispatcher]:
    d = LiveDispatcher(small_config(double_press_s=0), tmp_path / "qms.db",
                       demo_accounts=True).start()
    yield d
    d.stop()


def manager(live: LiveDispatcher) -> Browser:
    b = Browser(live.port)
    status, _, _ = b.login("admin", "demo-admin")
    assert status in (200, 303)
    return b


def serve_and_rate(live: LiveDispatcher, n: int, score: int, rid: str) -> dict[str, object]:
    status, body = live.call("POST", "/tickets", {"request_id": f"t-{rid}",
                                                 "service_id": "yb-dabing"}, KIOSK)
    assert status == 201, body
    status, body = live.call("POST", f"/windows/{n}/call-next", {"request_id": f"c-{rid}"},
                             HALL)
    assert status == 200 and body["ticket"], body
    status, body = live.call("POST", f"/windows/{n}/rating",
                             {"request_id": f"r-{rid}", "score": score}, HALL)
    assert status == 200, body
    return dict(body["ticket"])


def test_bad_rating_is_listed_with_its_deadline_and_its_follow_up_recorded_once(
        live: LiveDispatcher) -> None:
    serve_and_rate(live, 1, 1, "a")
    serve_and_rate(live, 2, 2, "b")
    bad = serve_and_rate(live, 3, 5, "c")
    b = manager(live)
    status, _, page = b.request("GET", "/console/ratings")
    assert status == 200
    assert re.search(r'id="ratings-total">3<', page)
    assert re.search(r'id="satisfaction">66\.7%<', page)  # 2 of 3 in the top two grades
    task = re.search(r'id="task-(\d+)"', page)
    assert task and str(bad["number"]) in page and "非常不满意" in page
    assert "2026-12-03" in page  # rated Monday 2026-11-30: due 3 working days later
    csrf = b.csrf("/console/ratings")
    status, body = b.act(f"/console/ratings/{task.group(1)}/close", csrf, outcome="nonsense")
    assert status == 422
    status, body = b.act(f"/console/ratings/{task.group(1)}/close", csrf,
                         outcome="resolved", note="已电话致歉，补办完成")
    assert status == 200 and body["ok"], body
    status, body = b.act(f"/console/ratings/{task.group(1)}/close", csrf, outcome="other")
    assert status == 409  # recorded once; the first outcome stays
    _, _, page = b.request("GET", "/console/ratings")
    assert "已解决" in page and "已电话致歉" in page
    _, _, audit = b.request("GET", "/console/audit")
    assert "rating-follow-up" in audit


def test_staff_cannot_open_the_ratings_page(live: LiveDispatcher) -> None:
    b = Browser(live.port)
    b.login("s1", "demo")
    status, _, _ = b.request("GET", "/console/ratings")
    assert status == 403


def test_overview_shows_bus_devices_and_alarms_for_a_silent_one(live: LiveDispatcher) -> None:
    status, body = live.call("PUT", "/bus/health", {"cycle_ms": 230.0, "devices": [
        {"address": 1, "kind": "window_display", "window": 1, "state": "ok", "errors": 0,
         "since": None},
        {"address": 2, "kind": "keypad", "window": 1, "state": "no_answer", "errors": 4,
         "since": None}]}, HALL)
    assert status == 204, body
    _, _, page = manager(live).request("GET", "/console/")
    assert 'id="bus-1"' in page and 'id="bus-2"' in page
    assert "呼叫器 #2（1 号窗口）：无应答，错误 4 次" in page
    assert "窗口屏 #1" not in page.split('class="alarms"')[1].split("</section>")[0]


def test_overview_links_open_follow_ups(live: LiveDispatcher) -> None:
    serve_and_rate(live, 1, 4, "x")
    _, _, page = manager(live).request("GET", "/console/")
    assert "待回访差评 1 条" in page
