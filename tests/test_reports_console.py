"""The monthly report in the console: the page's figures are the JSON's, the exports (CSV,
XLSX, PDF) hold the same tables, charts are drawn, and only managers see any of it. History:
two months of the example center from the demo generator, imported like another system's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatcher.domain.history import parse_history_csv
from dispatcher.server.console import reports as console_reports
from dispatcher.server.console.reports import report_key
from dispatcher.server.history import HistoryStore
from dispatcher.server.reports import month_report
from qms.config import load_config
from qms.demo_history import generate_history, history_csv_text

from .conftest import wait_until
from .live import LiveDispatcher
from .test_console import Browser

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "center.toml"


@pytest.fixture(scope="module")
def center_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = load_config(EXAMPLE)
    db = tmp_path_factory.mktemp("reports") / "qms.db"
    text = history_csv_text(generate_history(config, dt.date(2026, 9, 1),
                                             dt.date(2026, 10, 31)))
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    assert problems == []
    store = HistoryStore(db)
    store.import_visits(visits)
    store.close()
    return db


@pytest.fixture
def server(center_db: Path, tmp_path: Path) -> Iterator[LiveDispatcher]:
    db = tmp_path / "qms.db"
    db.write_bytes(center_db.read_bytes())
    live = LiveDispatcher(load_config(EXAMPLE), db, demo_accounts=True).start()
    yield live
    live.stop()


def test_the_report_page_shows_the_jsons_figures_charts_and_every_table(
        server: LiveDispatcher) -> None:
    manager = Browser(server.port)
    assert manager.login("admin", "demo-admin")[0] == 303
    status, headers, raw = manager.request("GET", "/console/reports/export.json?month=2026-10")
    assert status == 200 and headers["content-type"].startswith("application/json")
    report = json.loads(raw)
    assert report["tickets"] > 5000 and report["month"] == "2026-10"
    status, _, page = manager.request("GET", "/console/reports?month=2026-10")
    assert status == 200
    assert re.search(rf'id="r-tickets">{report["tickets"]}<', page)
    assert f'{report["mean_wait_s"] / 60:.1f} 分钟' in page
    assert f'{report["service_level"] * 100:.1f}%' in page
    assert page.count('src="/console/reports/chart/') == 3 and "chart-heat" in page
    src = re.search(r'src="(/console/reports/chart/heat\.svg[^"]+)"', page)
    assert src
    status, headers, svg = manager.request("GET", src.group(1).replace("&amp;", "&"))
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    assert svg.startswith("<svg") and "<path" in svg
    for key in ("by_service", "by_window", "by_staff", "by_day", "bookings", "ratings"):
        assert f'id="table-{key}"' in page
    busiest = max(report["by_service"].items(), key=lambda kv: kv[1]["tickets"])
    assert f"<td>{busiest[0]}</td><td class=\"num\">{busiest[1]['tickets']}</td>" in page


def test_the_exports_hold_the_same_tables(server: LiveDispatcher) -> None:
    from openpyxl import load_workbook

    manager = Browser(server.port)
    manager.login("admin", "demo-admin")
    report = json.loads(manager.request("GET", "/console/reports/export.json?month=2026-10")[2])
    status, headers, text = manager.request("GET", "/console/reports/export.csv?month=2026-10")
    assert status == 200 and "qms-report-2026-10.csv" in headers["content-disposition"]
    assert text.startswith("\ufeff总览 Summary")
    assert f"取号 tickets,{report['tickets']}" in text
    conn = __import__("http.client").client.HTTPConnection("127.0.0.1", server.port)
    for kind, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        conn.request("GET", f"/console/reports/export.{kind}?month=2026-10",
                     headers={"Cookie": "; ".join(f"{k}={v}" for k, v in
                                                  manager.cookies.items())})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200 and body.startswith(magic), kind
        if kind == "xlsx":
            book = load_workbook(io.BytesIO(body))
            assert book.sheetnames[:3] == ["总览", "按业务", "按部门"]
            assert book["总览"]["B3"].value == report["tickets"]
        else:
            assert body.count(b"/Type /Page\n") + body.count(b"/Type /Page\r") \
                + body.count(b"/Type /Page ") + body.count(b"/Type /Page>") >= 2
    conn.close()


def test_staff_and_scripts_without_a_session_see_no_report(server: LiveDispatcher) -> None:
    staff = Browser(server.port)
    staff.login("s01", "demo")
    assert staff.request("GET", "/console/reports")[0] == 403
    assert staff.request("GET", "/console/reports/export.json")[0] == 403
    nobody = Browser(server.port)
    assert nobody.request("GET", "/console/reports")[0] == 303
    manager = Browser(server.port)
    manager.login("admin", "demo-admin")
    assert manager.request("GET", "/console/reports?month=2026-13")[0] == 400
    assert manager.request("GET", "/console/reports/export.doc?month=2026-10")[0] == 404
    status, _, page = manager.request("GET", "/console/reports?month=2020-01")
    assert status == 200 and "该月没有记录" in page


def test_screenshots_of_the_report_page_and_the_pdfs_first_page(
        server: LiveDispatcher, tmp_path: Path) -> None:
    """Looked at: docs/screenshots/console-reports-*.png and report-pdf-page1.png
    (QMS_SCREENSHOTS=1 writes them there)."""
    from tests import browser as web

    if (why := web.unavailable()) is not None:
        pytest.skip(why)
    from dispatcher.server.report_files import Charts
    from dispatcher.server.report_tables import report_tables
    from dispatcher.server.reports import month_report

    out = web.screenshot_dir(tmp_path / "shots")
    base = f"http://127.0.0.1:{server.port}"
    with web.chromium() as chromium:
        for page, size in web.signed_in_pages(chromium, base, "admin", "demo-admin"):
            page.goto(f"{base}/console/reports?month=2026-10")
            assert page.locator("figure.chart img").count() == 3
            assert page.evaluate("Array.from(document.querySelectorAll('figure.chart img'))"
                                 ".every((i) => i.complete && i.naturalWidth > 300)")
            page.screenshot(path=out / f"console-reports-{size}.png")
            if size == "1280x800":
                page.screenshot(path=tmp_path / "full-reports.png", full_page=True)
            assert not web.scrolls_sideways(page), "the page scrolls sideways"
    store = HistoryStore(server.db)
    try:
        config = load_config(EXAMPLE)
        report = month_report(store, config, "2026-10")
    finally:
        store.close()
    first = next(Charts().pages(report, report_tables(report, config), config.center.name))
    first.savefig(out / "report-pdf-page1.png", dpi=80)
    assert (out / "report-pdf-page1.png").stat().st_size > 20_000


def test_a_finished_months_page_is_kept_until_its_data_change(server: LiveDispatcher) -> None:
    manager = Browser(server.port)
    manager.login("admin", "demo-admin")
    page = manager.request("GET", "/console/reports?month=2026-10")[2]
    count = int(re.search(r'id="r-tickets">(\d+)<', page).group(1))  # type: ignore[union-attr]
    config = load_config(EXAMPLE)
    extra, problems = parse_history_csv(
        "date,number,service_id,issued_at,called_at,finished_at,window,staff_id,outcome\n"
        "2026-10-31,Z999,yibao-dabing,09:00:00,,,,,cancelled\n",
        config.services, config.center.tz)
    assert problems == []
    store = HistoryStore(server.db)
    store.import_visits(extra)
    store.close()
    page = manager.request("GET", "/console/reports?month=2026-10")[2]
    assert f'id="r-tickets">{count + 1}<' in page


def test_the_key_of_a_kept_view_changes_when_an_import_changes_a_row(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    row = "2026-10-30,Z998,yibao-dabing,09:00:00,,,,,cancelled\n"
    header = "date,number,service_id,issued_at,called_at,finished_at,window,staff_id,outcome\n"
    store = HistoryStore(tmp_path / "qms.db")
    try:
        first, _ = parse_history_csv(header + row, config.services, config.center.tz)
        store.import_visits(first)
        span = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        september = (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
        before = store.fingerprint(*span, today=dt.date(2026, 11, 30))
        other = store.fingerprint(*september, today=dt.date(2026, 11, 30))
        changed, _ = parse_history_csv(header + row.replace("09:00:00", "10:00:00"),
                                       config.services, config.center.tz)
        assert store.import_visits(changed).updated == 1
        assert store.fingerprint(*span, today=dt.date(2026, 11, 30)) != before
        # another month's kept view stays: its data did not change
        assert store.fingerprint(*september, today=dt.date(2026, 11, 30)) == other
    finally:
        store.close()


def _kept_months(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [m for (m,) in conn.execute("SELECT month FROM report_views ORDER BY month")]
    finally:
        conn.close()


def test_finished_months_are_built_ahead_and_kept_across_a_restart(
        center_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At start every finished month with data is built (newest first) and kept in the
    database: after a restart a month's first view is read, not built again."""
    db = tmp_path / "qms.db"
    db.write_bytes(center_db.read_bytes())
    live = LiveDispatcher(load_config(EXAMPLE), db, demo_accounts=True).start()
    try:
        wait_until(lambda: _kept_months(db) == ["2026-09", "2026-10"], timeout=60,
                   what="for September and October to be built")
        manager = Browser(live.port)
        manager.login("admin", "demo-admin")
        before = manager.request("GET", "/console/reports?month=2026-09")[2]
    finally:
        live.stop()

    def no_build(*_: object) -> None:
        raise AssertionError("a kept month was built again")

    monkeypatch.setattr(console_reports, "month_report", no_build)
    live = LiveDispatcher(load_config(EXAMPLE), db, demo_accounts=True).start()
    try:
        manager = Browser(live.port)
        manager.login("admin", "demo-admin")
        status, _, after = manager.request("GET", "/console/reports?month=2026-09")
        assert status == 200
        figures = re.compile(r'id="r-[a-z-]+">[^<]*<|<td[^>]*>[^<]*</td>')
        assert figures.findall(after) == figures.findall(before) != []
    finally:
        live.stop()


def test_a_kept_report_is_the_report_and_is_keyed_by_data_config_and_code(
        center_db: Path) -> None:
    config = load_config(EXAMPLE)
    store = HistoryStore(center_db)
    try:
        report = month_report(store, config, "2026-10")
        span = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
        fingerprint = store.fingerprint(*span, today=dt.date(2026, 11, 30))
        key = report_key(config, fingerprint)
        store.keep_report("2026-10", key, report)
        assert store.kept_report("2026-10", key) == report  # through JSON, unchanged
        assert store.kept_report("2026-10", key[::-1]) is None
        stricter = dataclasses.replace(config, reports=dataclasses.replace(
            config.reports, target_wait_min=10))
        assert report_key(stricter, fingerprint) != key
        assert report_key(config, (*fingerprint, 1)) != key
    finally:
        store.close()
