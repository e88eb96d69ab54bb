"""全岗通 in the console: the manager's matrix of staff × businesses holds the analysis's own
figures (`staff_ability` over the same history), the suggestions are listed, each person has a
page, and only managers see any of it. History: three months of the example center from the
demo generator (Aug–Oct 2026; the clock stands at 2026-11-30, so the default period, the three
whole months before November, is exactly those)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dispatcher.domain.ability import staff_ability
from dispatcher.domain.history import parse_history_csv
from dispatcher.server.console.ability_view import period, ratio_class
from dispatcher.server.history import HistoryStore
from dispatcher.server.reports import trusted_visits
from qms.config import load_config
from qms.demo_history import generate_history, history_csv_text

from .live import LiveDispatcher
from .test_console import Browser

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"
FIRST, LAST = dt.date(2026, 8, 1), dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def center_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(EXAMPLE)
    db = tmp_path_factory.mktemp("ability") / "qms.db"
    text = history_csv_text(generate_history(config, FIRST, LAST))
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    assert problems == []
    store = HistoryStore(db)
    store.import_visits(visits)
    store.close()
    return db


@pytest.fixture(scope="module")
def expected(center_db: Path) -> dict[str, Any]:
    """The analysis of the default period, computed here from the same history."""
    config = load_config(EXAMPLE)
    store = HistoryStore(center_db)
    try:
        visits = trusted_visits(store.visits(FIRST, LAST), config)
    finally:
        store.close()
    return staff_ability(visits, {s.id: s for s in config.staff})


@pytest.fixture
def server(center_db: Path, tmp_path: Path) -> Iterator[LiveDispatcher]:
    db = tmp_path / "qms.db"
    db.write_bytes(center_db.read_bytes())
    live = LiveDispatcher(load_config(EXAMPLE), db, demo_accounts=True).start()
    yield live
    live.stop()


def manager_of(server: LiveDispatcher) -> Browser:
    manager = Browser(server.port)
    assert manager.login("admin", "demo-admin")[0] == 303
    return manager


def cell_of(page: str, staff_id: str, service_id: str) -> str:
    found = re.search(rf'<td id="cell-{staff_id}-{service_id}" [^>]*>.*?</td>', page, re.S)
    assert found, (staff_id, service_id)
    return found.group(0)


def test_the_period_is_the_whole_months_before_this_one() -> None:
    assert period(dt.date(2026, 11, 30), 3) == (FIRST, LAST)
    assert period(dt.date(2026, 11, 1), 1) == (dt.date(2026, 10, 1), LAST)
    assert period(dt.date(2026, 2, 14), 12) == (dt.date(2025, 2, 1), dt.date(2026, 1, 31))
    assert [ratio_class(r) for r in (0.8, 0.85, 0.9, 1.0, 1.1, 1.2, 1.25, 2.0, None)] == [
        "r-fast2", "r-fast2", "r-fast", "r-ok", "r-slow", "r-slow", "r-slow2", "r-slow2",
        "r-none"]


def test_the_matrix_holds_the_analysiss_figures_and_its_suggestions(
        server: LiveDispatcher, expected: dict[str, Any]) -> None:
    manager = manager_of(server)
    status, headers, page = manager.request("GET", "/console/ability")
    assert status == 200, page
    assert "script-src" not in headers["content-security-policy"]  # the strict default
    assert "2026-08-01 至 2026-10-31" in page and 'href="/console/ability">全岗通</a>' in page
    config = load_config(EXAMPLE)
    # Every staff member who served has a row with their figures.
    served = {p: v for p, v in expected["staff"].items() if v["served"]}
    assert len(served) == len(config.staff) == 9
    for staff_id, person in served.items():
        row = re.search(rf'<tr id="row-{staff_id}">(.*?)</tr>', page, re.S)
        assert row, staff_id
        assert f">{html.escape(person['name'])}</a>" in row.group(1)
        assert f'<td class="num sum">{person["served"]}</td>' in row.group(1)
        assert f'{person["index"]:.2f}×' in row.group(1)
    # Every business served is a column, and a cell shows the analysis's ratio and count.
    assert page.count('<th scope="col" class="svc') == len(expected["medians"])
    s01 = expected["staff"]["s01"]["by_service"]
    busiest = max(s01, key=lambda sid: s01[sid]["served"])
    cell = cell_of(page, "s01", busiest)
    ratio = s01[busiest]["ratio"]
    assert f'data-ratio="{ratio}"' in cell and f">{ratio:.2f}×<" in cell
    assert f'<span class="n">{s01[busiest]["served"]}' in cell
    assert ratio_class(ratio) in cell
    # A "preferred" business is marked (张敏 is configured preferred for 残联 business).
    preferred = next(sid for sid, c in s01.items() if c["level"] == "preferred")
    assert "★" in cell_of(page, "s01", preferred)
    # The suggestions: each cell outlined, each listed in the analysis's order (strongest first).
    assert expected["suggestions"], "the demo history should give the page something to suggest"
    listed = re.findall(r'<li class="dir-(?:up|down)" id="suggest-([^"]+)"', page)
    assert listed == [f'{s["staff_id"]}-{s["service_id"]}' for s in expected["suggestions"]]
    for s in expected["suggestions"]:
        assert "suggest" in cell_of(page, s["staff_id"], s["service_id"]).split(">")[0]
    first = expected["suggestions"][0]
    name = expected["staff"][first["staff_id"]]["name"]
    service = config.services[first["service_id"]].name
    assert (f'{name}（{first["staff_id"]}）· {service}：现配置“') in page
    assert f'（{first["ratio"]:.2f}×，办结 {first["served"]} 件）' in page
    assert "系统不会自动更改" in page
    # In English too.
    manager.request("GET", "/console/lang?to=en&next=/console/ability")
    page = manager.request("GET", "/console/ability?months=3")[2]
    assert "the 3 whole months before this one" in page and ">Staff ability</a>" in page
    assert "configured " in page and " → suggest " in page


def test_a_shorter_period_reads_only_its_months(server: LiveDispatcher,
                                                 center_db: Path) -> None:
    config = load_config(EXAMPLE)
    store = HistoryStore(center_db)
    try:
        october = staff_ability(trusted_visits(store.visits(dt.date(2026, 10, 1), LAST), config),
                                {s.id: s for s in config.staff})
    finally:
        store.close()
    page = manager_of(server).request("GET", "/console/ability?months=1")[2]
    assert "2026-10-01 至 2026-10-31" in page
    s03 = october["staff"]["s03"]["by_service"]
    sid = max(s03, key=lambda k: s03[k]["served"])
    assert f'data-ratio="{s03[sid]["ratio"]}"' in cell_of(page, "s03", sid)


def test_a_page_per_person_sorted_by_served(server: LiveDispatcher,
                                            expected: dict[str, Any]) -> None:
    manager = manager_of(server)
    status, _, page = manager.request("GET", "/console/ability/s01")
    assert status == 200, page
    person = expected["staff"]["s01"]
    assert "张敏" in page and f'id="p-served">{person["served"]}<' in page
    assert f'{person["index"]:.2f}×' in page
    rows = re.findall(r'<tr id="svc-([^"]+)"', page)
    assert sorted(rows) == sorted(person["by_service"])
    counts = [person["by_service"][sid]["served"] for sid in rows]
    assert counts == sorted(counts, reverse=True)
    top = person["by_service"][rows[0]]
    assert f'data-ratio="{top["ratio"]}"' in page
    assert f'{top["mean_s"] / 60:.1f}' in page and f'{top["median_s"] / 60:.1f}' in page
    # The person with the strongest suggestion sees it on their page.
    first = expected["suggestions"][0]
    page = manager.request("GET", f"/console/ability/{first['staff_id']}")[2]
    assert 'class="suggest"' in page and "系统不会自动更改" in page


def test_only_managers_and_only_known_people_and_periods(server: LiveDispatcher) -> None:
    staff = Browser(server.port)
    staff.login("s01", "demo")
    assert staff.request("GET", "/console/ability")[0] == 403
    assert staff.request("GET", "/console/ability/s01")[0] == 403
    assert "/console/ability" not in staff.request("GET", "/console/")[2]
    nobody = Browser(server.port)
    assert nobody.request("GET", "/console/ability")[0] == 303
    manager = manager_of(server)
    status, _, page = manager.request("GET", "/console/ability/nobody-here")
    assert status == 404 and "没有这位工作人员" in page
    assert manager.request("GET", "/console/ability/" + "x" * 200)[0] == 404
    for bad in ("0", "13", "-1", "abc", "3.5", "%EF%BC%91", "999999999999"):
        status, _, page = manager.request("GET", f"/console/ability?months={bad}")
        assert status == 400 and "月数应为 1–12" in page, bad
    assert manager.request("GET", "/console/ability/s01?months=0")[0] == 400


def test_screenshots_of_the_ability_pages(server: LiveDispatcher, tmp_path: Path) -> None:
    """Looked at: docs/screenshots/console-ability-*.png (QMS_SCREENSHOTS=1 writes them)."""
    from tests import browser as web

    if (why := web.unavailable()) is not None:
        pytest.skip(why)
    out = web.screenshot_dir(tmp_path / "shots")
    base = f"http://127.0.0.1:{server.port}"
    shots = (("ability", "/console/ability", {"width": 1280, "height": 800}),
             ("ability", "/console/ability", {"width": 390, "height": 844}),
             ("ability-person", "/console/ability/s02", {"width": 1280, "height": 800}))
    with web.chromium() as chromium:
        for name, path, viewport in shots:
            context = chromium.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
            try:
                page = context.new_page()
                web.log_in(page, base, "admin", "demo-admin")
                page.goto(base + path)
                if name == "ability":
                    assert page.locator("#ability-matrix td.cell.suggest").count() >= 1
                    inner = page.evaluate("(() => { const s = document.querySelector("
                                          "'.ability-scroll'); return s.scrollWidth > "
                                          "s.clientWidth; })()")
                    assert inner, "the matrix is wider than its box: it scrolls in there"
                size = f"{viewport['width']}x{viewport['height']}"
                page.screenshot(path=out / f"console-{name}-{size}.png")
                wide = page.evaluate("document.documentElement.scrollWidth > "
                                     "document.documentElement.clientWidth")
                assert not wide, f"{path} at {size} scrolls sideways"
            finally:
                context.close()
    assert (out / "console-ability-1280x800.png").stat().st_size > 20_000
