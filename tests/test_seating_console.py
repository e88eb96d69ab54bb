"""The seating suggestion in the console (/console/seating, managers): computed in the
background (half a minute), the page says so and reloads itself until the configured and the
suggested seating stand side by side with their expected waits. Most tests put a fast fake
in place of `day_seating`; one runs the real computation on ten weeks of the example center
from the demo generator and checks the page against `day_seating`'s own figures."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain.history import parse_history_csv
from dispatcher.server.console import planning
from dispatcher.server.history import HistoryStore
from dispatcher.server.reports import day_seating
from qms.config import load_config
from qms.demo_history import generate_history, history_csv_text

from .conftest import wait_until
from .live import LiveDispatcher
from .test_console import Browser

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"
CONFIG = load_config(EXAMPLE)
NAMES = {s.id: s.name for s in CONFIG.staff}
REFRESH = '<meta http-equiv="refresh" content="3">'
RUNNING = "正在计算座位建议…（约半分钟）"
AWAY = "?day=2026-12-01&absent=s08"  # the real computation's page (and the screenshots')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDispatcher]:
    db = tmp_path_factory.mktemp("seating") / "qms.db"
    text = history_csv_text(generate_history(CONFIG, dt.date(2026, 9, 21),
                                             dt.date(2026, 11, 29)))  # ten weeks
    visits, problems = parse_history_csv(text, CONFIG.services, CONFIG.center.tz)
    assert problems == []
    store = HistoryStore(db)
    store.import_visits(visits)
    store.close()
    live = LiveDispatcher(CONFIG, db, demo_accounts=True).start()  # clock: Mon 2026-11-30
    yield live
    live.stop()


class FakeSeating:
    """`day_seating`'s stand-in: window 8 goes to s09 (when at work); records its calls,
    waits for `release`, raises `fail` once if set."""

    def __init__(self) -> None:
        self.calls: list[tuple[dt.date, list[str] | None]] = []
        self.release = threading.Event()
        self.fail: Exception | None = None
        self.residents = 600

    def __call__(self, store: HistoryStore, config: Any, day: dt.date,
                 available: list[str] | None = None) -> dict[str, Any]:
        self.calls.append((day, available))
        assert self.release.wait(30)
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        people = available if available is not None else list(NAMES)
        seats = {str(w.number): w.staff_id if w.staff_id in people else None
                 for w in config.windows}
        figures = {"mean_wait_s": 300.0, "p90_wait_s": 900.0, "max_wait_s": 1800.0,
                   "service_level": 0.8512, "unserved": 3, "windows": 8}
        better = {**seats, "8": "s09" if "s09" in people else seats["8"]}
        return {"day": day.isoformat(), "residents": self.residents, "simulations": 7,
                "forecast_total": 600.4, "breaks": ["12:00–13:30"],
                "configured": {"seating": seats, **figures},
                "suggested": {"seating": better, **figures, "mean_wait_s": 240.0,
                              "service_level": 0.9, "unserved": 0},
                "moves": [] if better == seats else [{"window": 8, "from": seats["8"],
                                                      "to": "s09"}]}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSeating]:
    stand_in = FakeSeating()
    monkeypatch.setattr(planning, "day_seating", stand_in)
    try:
        yield stand_in
    finally:
        stand_in.release.set()  # never leave the seating thread waiting (the server stops)


def manager(server: LiveDispatcher) -> Browser:
    b = Browser(server.port)
    assert b.login("admin", "demo-admin")[0] == 303
    return b


def page_when_done(b: Browser, path: str, timeout: float = 10.0) -> str:
    """The page at `path` once it no longer says it is computing."""
    seen: list[str] = []

    def done() -> bool:
        status, _, page = b.request("GET", path)
        assert status == 200, page
        seen[:] = [page]
        return RUNNING not in page

    wait_until(done, timeout=timeout, poll=0.2, what=f"for {path}")
    return seen[0]


def cell(page: str, cell_id: str) -> str:
    found = re.search(rf'id="{cell_id}">([^<]*)<', page)
    assert found, cell_id
    return found.group(1)


def test_a_manager_sees_the_computing_page_then_the_suggestion(
        server: LiveDispatcher, fake: FakeSeating) -> None:
    b = manager(server)
    status, _, page = b.request("GET", "/console/seating?day=2026-12-02")
    assert status == 200 and RUNNING in page and REFRESH in page
    assert 'href="/console/seating"' in page  # the nav link
    fake.release.set()
    page = page_when_done(b, "/console/seating?day=2026-12-02")
    assert REFRESH not in page and 'id="seating-result"' in page
    assert fake.calls == [(dt.date(2026, 12, 2), None)]  # once, however often polled
    assert cell(page, "s-residents") == "600" and cell(page, "s-simulations") == "7"
    assert "12:00–13:30" in page
    row = re.search(r'<tr id="seat-8" class="moved">(.*?)</tr>', page)
    assert row and f"<td>{NAMES['s08']}</td><td>{NAMES['s09']} <span" in row.group(1)
    green = re.search(r'<tr id="seat-1">(.*?)</tr>', page)
    assert green and "绿色窗口" in green.group(1) and 'id="seat-3" class' not in page
    assert cell(page, "configured-level") == "85.1%" and cell(page, "suggested-level") == "90.0%"
    assert cell(page, "configured-mean") == "5.0" and cell(page, "suggested-mean") == "4.0"
    assert cell(page, "configured-p90") == "15.0" and cell(page, "suggested-unserved") == "0"
    assert f"{CONFIG.reports.target_wait_min} 分钟内叫号率" in page


def test_the_form_names_who_is_at_work_and_the_absent_are_not_seated(
        server: LiveDispatcher, fake: FakeSeating) -> None:
    b = manager(server)
    at = "&".join(f"at={sid}" for sid in NAMES if sid not in ("s02", "s09"))
    status, headers, _ = b.request("GET", f"/console/seating?form=staff&day=2026-12-03&{at}")
    assert status == 303
    assert headers["location"] == "/console/seating?day=2026-12-03&absent=s02,s09"
    fake.release.set()
    page = page_when_done(b, headers["location"])
    assert fake.calls == [(dt.date(2026, 12, 3), [s for s in NAMES if s not in ("s02", "s09")])]
    assert cell(page, "s-away") == f"{NAMES['s02']}、{NAMES['s09']}"
    assert re.search(r'value="s02"> ', page) and re.search(r'value="s01" checked>', page)
    seats = re.search(r'id="table-seating">.*?</table>', page, re.S)
    assert seats and NAMES["s02"] not in seats.group(0) and NAMES["s09"] not in seats.group(0)
    assert 'id="no-moves"' in page  # s09 away: nobody to seat at window 8


def test_staff_and_no_session_are_refused_as_for_whatif(server: LiveDispatcher) -> None:
    staff = Browser(server.port)
    staff.login("s01", "demo")
    assert staff.request("GET", "/console/seating")[0] == 403
    assert staff.request("GET", "/console/whatif")[0] == 403
    status, _, page = staff.request("GET", "/console/")
    assert 'href="/console/seating"' not in page
    nobody = Browser(server.port)
    status, headers, _ = nobody.request("GET", "/console/seating")
    assert status == 303 and headers["location"].startswith("/console/login?next=")
    as_json = {"Accept": "application/json"}
    assert nobody.request("GET", "/console/seating", headers=as_json)[0] == 401
    assert nobody.request("GET", "/console/whatif", headers=as_json)[0] == 401


def test_a_bad_day_or_an_unknown_staff_member_is_refused(
        server: LiveDispatcher, fake: FakeSeating) -> None:
    b = manager(server)
    status, _, page = b.request("GET", "/console/seating?day=soon")
    assert status == 400 and "日期格式应为 YYYY-MM-DD" in page
    status, _, page = b.request("GET", "/console/seating?day=0001-01-01")
    assert status == 400 and "日期应在今天前后一年之内" in page
    status, _, page = b.request("GET", "/console/seating?day=2026-12-04&absent=s01,s99")
    assert status == 400 and "没有这位工作人员：s99" in page
    status, _, page = b.request("GET", "/console/seating?form=staff&day=2026-12-04&at=zz")
    assert status == 400 and "没有这位工作人员：zz" in page
    assert fake.calls == []


def test_a_failed_computation_says_why_and_the_next_request_starts_again(
        server: LiveDispatcher, fake: FakeSeating) -> None:
    b = manager(server)
    fake.fail = ValueError("no forecast for that month")
    fake.release.set()
    page = page_when_done(b, "/console/seating?day=2026-12-07")
    assert "座位建议计算失败：no forecast for that month" in page and "Traceback" not in page
    assert REFRESH not in page and 'id="seating-error"' in page
    page = page_when_done(b, "/console/seating?day=2026-12-07")  # retried: done this time
    assert 'id="seating-result"' in page and len(fake.calls) == 2


def test_a_day_without_forecast_residents_says_so(server: LiveDispatcher,
                                                   fake: FakeSeating) -> None:
    fake.residents = 0  # a closed day, or no history before it
    fake.release.set()
    page = page_when_done(manager(server), "/console/seating?day=2026-12-06")
    assert 'id="no-residents"' in page and 'id="table-expected"' not in page


def test_the_real_suggestion_is_the_one_day_seating_gives(server: LiveDispatcher) -> None:
    b = manager(server)
    status, _, page = b.request("GET", "/console/seating?absent=s08")
    assert status == 200 and RUNNING in page
    assert "座位建议 · 2026-12-01" in page  # the next working day after Mon 2026-11-30
    page = page_when_done(b, "/console/seating" + AWAY, timeout=120)
    store = HistoryStore(server.db)
    try:
        expected = day_seating(store, CONFIG, dt.date(2026, 12, 1),
                               [s for s in NAMES if s != "s08"])
    finally:
        store.close()
    assert "s08" not in expected["suggested"]["seating"].values()
    assert cell(page, "s-residents") == f"{expected['forecast_total']:.0f}"
    assert cell(page, "s-simulations") == str(expected["simulations"])
    assert cell(page, "s-breaks") == ", ".join(expected["breaks"])
    for key in ("configured", "suggested"):
        r = expected[key]
        assert cell(page, f"{key}-level") == f"{r['service_level'] * 100:.1f}%"
        assert cell(page, f"{key}-mean") == f"{r['mean_wait_s'] / 60:.1f}"
        assert cell(page, f"{key}-p90") == f"{r['p90_wait_s'] / 60:.1f}"
        assert cell(page, f"{key}-unserved") == str(r["unserved"])
        assert cell(page, f"{key}-windows") == str(r["windows"])
    for w, who in expected["configured"]["seating"].items():
        after = expected["suggested"]["seating"][w]
        row = re.search(rf'<tr id="seat-{w}"( class="moved")?>(.*?)</tr>', page)
        assert row and bool(row.group(1)) == (who != after)
        cells = re.findall(r"<td>([^<]*)", row.group(2))
        assert [c.strip() for c in cells] == [NAMES.get(who or "", "—"),
                                              NAMES.get(after or "", "—")]
    seats = re.search(r'id="table-seating">.*?</table>', page, re.S)
    assert seats and NAMES["s08"] not in seats.group(0)


def test_screenshots_of_the_seating_page(server: LiveDispatcher, tmp_path: Path) -> None:
    from tests import browser as web

    if (why := web.unavailable()) is not None:
        pytest.skip(why)
    out = web.screenshot_dir(tmp_path / "shots")
    base = f"http://127.0.0.1:{server.port}"
    with web.chromium() as chromium:
        for page, size in web.signed_in_pages(chromium, base, "admin", "demo-admin"):
            page.goto(f"{base}/console/seating{AWAY}")  # computed already, or it reloads
            page.wait_for_selector("#seating-result", timeout=120_000)
            page.screenshot(path=out / f"console-seating-{size}.png")
            page.screenshot(path=tmp_path / f"full-seating-{size}.png", full_page=True)
            assert not web.scrolls_sideways(page)
    assert sorted(p.name for p in out.glob("console-seating-*.png")) == [
        "console-seating-1280x800.png", "console-seating-390x844.png"]
