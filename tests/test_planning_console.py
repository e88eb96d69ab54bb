"""Forecast and what-if in the console: the forecast page says how accurate the method has been
on this center's history (the backtest's figures, as `qms forecast` gives them), shows the
windows needed per hour; the what-if page replays a past day with changes beside what
happened. History: four months of the example center from the demo generator."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.domain.history import parse_history_csv
from dispatcher.server.history import HistoryStore
from dispatcher.server.reports import month_forecast
from qms.config import load_config
from qms.demo_history import generate_history, history_csv_text

from .live import LiveDispatcher
from .test_console import Browser

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDispatcher]:
    config = load_config(EXAMPLE)
    db = tmp_path_factory.mktemp("planning") / "qms.db"
    text = history_csv_text(generate_history(config, dt.date(2026, 7, 1),
                                             dt.date(2026, 10, 31)))
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    assert problems == []
    store = HistoryStore(db)
    store.import_visits(visits)
    store.close()
    live = LiveDispatcher(config, db, demo_accounts=True).start()  # clock: 2026-11-30
    yield live
    live.stop()


def manager(server: LiveDispatcher) -> Browser:
    b = Browser(server.port)
    assert b.login("admin", "demo-admin")[0] == 303
    return b


def test_the_forecast_page_says_how_accurate_the_method_has_been(
        server: LiveDispatcher) -> None:
    status, _, page = manager(server).request("GET", "/console/forecast")  # next month
    assert status == 200 and "2026-12" in page
    store = HistoryStore(server.db)
    try:
        expected = month_forecast(store, load_config(EXAMPLE), "2026-12")
    finally:
        store.close()
    test = expected["backtest"]
    assert [m["month"] for m in test["months"]] == ["2026-09", "2026-10"]
    assert f'id="f-total">{expected["total"]:.0f}<' in page
    assert f'id="f-wape">{test["wape"] * 100:.1f}%<' in page
    assert f'id="f-baseline">{test["baseline_wape"] * 100:.1f}%<' in page
    assert "过去 2 个月回测" in page and 'id="chart-forecast"' in page
    assert 'id="f-holidays"' not in page  # 2026 is in the shipped table
    january = manager(server).request("GET", "/console/forecast?month=2027-01")[2]
    assert 'id="f-holidays"' in january and "2027 年的法定节假日" in january
    monday = expected["staffing"]["windows"]["mon"]
    row = re.search(r"<th scope=\"row\">周一</th>(.*?)</tr>", page)
    assert row and f'<td class="num">{monday["09"]}</td>' in row.group(1)


def test_the_whatif_page_replays_a_day_with_fewer_windows(server: LiveDispatcher) -> None:
    b = manager(server)
    status, _, page = b.request("GET", "/console/whatif")
    assert status == 200 and 'name="day"' in page and "whatif-result" not in page
    status, _, page = b.request("GET", "/console/whatif?day=2026-10-12&windows=5")
    assert status == 200 and 'id="row-simulated_with_changes"' in page
    row = re.search(r'id="row-simulated_with_changes">.*?</tr>', page, re.S)
    assert row and '<td class="num">5</td>' in row.group(0)
    assert b.request("GET", "/console/whatif?day=2026-10-12&windows=abc")[0] == 400
    assert b.request("GET", "/console/whatif?day=soon")[0] == 400
    status, _, page = b.request("GET", "/console/whatif?day=2026-10-04")  # 国庆: closed
    assert status == 200 and "该日没有记录" in page


def test_planning_pages_are_for_managers_only(server: LiveDispatcher) -> None:
    staff = Browser(server.port)
    staff.login("s01", "demo")
    assert staff.request("GET", "/console/forecast")[0] == 403
    assert staff.request("GET", "/console/whatif")[0] == 403
    assert manager(server).request("GET", "/console/forecast?month=12-2026")[0] == 400


def test_screenshots_of_the_forecast_and_whatif_pages(server: LiveDispatcher,
                                                      tmp_path: Path) -> None:
    from tests import browser as web

    if (why := web.unavailable()) is not None:
        pytest.skip(why)
    out = web.screenshot_dir(tmp_path / "shots")
    base = f"http://127.0.0.1:{server.port}"
    with web.chromium() as chromium:
        for page, size in web.signed_in_pages(chromium, base, "admin", "demo-admin"):
            page.goto(f"{base}/console/forecast?month=2026-12")
            assert page.evaluate("document.querySelector('#chart-forecast img')"
                                 ".naturalWidth") > 300
            page.screenshot(path=out / f"console-forecast-{size}.png")
            assert not web.scrolls_sideways(page)
            page.goto(f"{base}/console/whatif")
            page.fill("input[name=day]", "2026-10-12")
            page.fill("input[name=windows]", "6")
            page.get_by_role("button", name="推演", exact=True).click()
            page.wait_for_selector("#whatif-result")
            page.screenshot(path=out / f"console-whatif-{size}.png")
            assert not web.scrolls_sideways(page)
    assert json.dumps(sorted(p.name for p in out.iterdir()))
