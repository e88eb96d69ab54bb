"""Benchmark the monthly report, the forecast and their database; prints one JSON object.

    .venv/bin/python bench/reports.py [--daily-mean 820] [--native-days 10]

1. A year of the example center's history (the demo generator, ≈ 220,000 tickets at the
   default daily mean: a center of 600 tickets a working day, Saturdays included), imported
   into a fresh database. Measured: the database's size, `month_report` for the last
   complete month (best and median of 5), `month_forecast` with its backtest (WAPE per month
   against the baseline), and the console's report page over HTTP (a live dispatcher, a
   manager's session; see `console_page`).
2. Native tickets: `--native-days` generated days replayed through the real queue core and
   Store (events, answers, tickets), to measure what a native ticket costs on disk while its
   day is live; then every closed day archived (`dispatcher.server.archive`), to measure
   what it costs once archived (bytes of the archive's tables and indexes, from SQLite's
   dbstat), the time to pack a day (a thread of its own) and to move it (the writer's
   transaction: the queue waits that long), and the report over archived days. The year's
   size = LIVE_DAYS + 1 days live + the rest archived.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dispatcher.domain import commands as c  # noqa: E402
from dispatcher.domain.core import QueueCore  # noqa: E402
from dispatcher.domain.history import parse_history_csv  # noqa: E402
from dispatcher.server.archive import LIVE_DAYS  # noqa: E402
from dispatcher.server.history import HistoryStore  # noqa: E402
from dispatcher.server.reports import month_forecast, month_report  # noqa: E402
from dispatcher.server.store import Record, Store  # noqa: E402
from qms.config import load_config  # noqa: E402
from qms.demo_history import generate_history, history_csv_text  # noqa: E402

EXAMPLE = ROOT / "examples" / "center.toml"
LAST = dt.date(2026, 11, 27)
MONTH = "2026-10"  # the last complete month before LAST


def timed(fn: Any, runs: int = 5) -> dict[str, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3)}


def imported_year(db: Path, daily_mean: float) -> dict[str, Any]:
    config = load_config(EXAMPLE)
    start = time.perf_counter()
    text = history_csv_text(generate_history(config, LAST - dt.timedelta(days=364), LAST,
                                             daily_mean=daily_mean))
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    assert not problems, problems[:3]
    store = HistoryStore(db)
    store.import_visits(visits)
    built = time.perf_counter() - start
    month = month_report(store, config, MONTH)
    result = {
        "tickets": len(visits), "build_s": round(built, 1),
        "db_mb": round(db.stat().st_size / 1e6, 1),
        "month": MONTH, "month_tickets": month["tickets"],
        "month_report": timed(lambda: month_report(store, config, MONTH)),
        "forecast": timed(lambda: month_forecast(store, config, "2026-12"), runs=3),
    }
    fc = month_forecast(store, config, "2026-12")
    result["backtest"] = fc["backtest"]
    store.close()
    result["console_page"] = console_page(db)
    return result


def console_page(db: Path) -> dict[str, Any]:
    """GET /console/reports over HTTP with a manager's session (tests.live's dispatcher):
    the finished months built ahead at start (how long until all are kept), a month's first
    view then, a month whose data just changed (built on request), a month's first view after
    a restart (read from the database), and a view again (kept in memory)."""
    from tests.live import LiveDispatcher
    from tests.test_console import Browser

    def kept() -> int:
        conn = sqlite3.connect(db)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM report_views").fetchone()[0])
        finally:
            conn.close()

    def get(browser: Browser, month: str) -> tuple[float, str]:
        start = time.perf_counter()
        status, _, page = browser.request("GET", f"/console/reports?month={month}")
        assert status == 200, page[:300]
        return time.perf_counter() - start, page

    config = load_config(EXAMPLE)
    months = 12  # 2025-11 … 2026-10: the finished months of the year (clock: 2026-11-30)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    live = LiveDispatcher(config, db, demo_accounts=True).start()
    try:
        browser = Browser(live.port)
        browser.login("admin", "demo-admin")
        while kept() < months:
            time.sleep(0.05)
        out["built_ahead_months"] = months
        out["built_ahead_s"] = round(time.perf_counter() - started, 1)
        out["first_view_s"], page = get(browser, "2026-03")
        out["bytes"] = len(page)
        changed, problems = parse_history_csv(
            "date,number,service_id,issued_at,called_at,finished_at,window,staff_id,outcome\n"
            "2026-05-29,Z999,yibao-dabing,09:00:00,,,,,cancelled\n",
            config.services, config.center.tz)
        assert not problems
        history = HistoryStore(db)
        history.import_visits(changed)
        history.close()
        out["data_just_changed_s"], _ = get(browser, "2026-05")  # built on request
        out["again_median_s"] = statistics.median(get(browser, "2026-03")[0] for _ in range(5))
    finally:
        live.stop()
    live = LiveDispatcher(config, db, demo_accounts=True).start()
    try:
        browser = Browser(live.port)
        browser.login("admin", "demo-admin")
        out["after_restart_first_view_s"], _ = get(browser, "2026-04")
    finally:
        live.stop()
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def native_days(db: Path, days: int) -> dict[str, Any]:
    """Generated days replayed through the core and the Store: issue at each row's time,
    call-next at each window at the row's call times (the policy picks the ticket)."""
    config = load_config(EXAMPLE)
    store = Store(db)
    core = QueueCore(config)
    first = dt.date(2026, 9, 1)
    rows = list(generate_history(config, first, first + dt.timedelta(days=days + 3)))
    by_day: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_day.setdefault(row["date"], []).append(row)
    tz = config.center.tz
    n = tickets = 0
    for day in sorted(by_day)[:days]:
        actions: list[tuple[dt.datetime, int, c.Command]] = []
        date = dt.date.fromisoformat(day)
        for row in by_day[day]:
            n += 1

            def at(hms: str, date: dt.date = date) -> dt.datetime:
                return dt.datetime.combine(date, dt.time.fromisoformat(hms), tz)

            actions.append((at(row["issued_at"]), 0, c.IssueTicket(
                request_id=f"k-{n}", service_id=row["service_id"])))
            if row["called_at"] and row["window"]:
                actions.append((at(row["called_at"]), 1, c.CallNext(
                    request_id=f"h-{n}", window=int(row["window"]))))
        actions.sort(key=lambda a: (a[0], a[1]))
        batch: list[Record] = []
        for when, _, command in actions:
            try:
                outcome = core.handle(command, when)
            except c.CommandError:
                continue
            tickets += isinstance(command, c.IssueTicket)
            batch.append(Record(command, outcome, core.state.seq, "bench"))
            if len(batch) >= 50:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)
    live_size = _file_size(db)
    live_per = live_size / max(tickets, 1)
    packing, moving = [], []
    while True:  # every closed day: all but the last
        t0 = time.perf_counter()
        piece = store.build_archive(first + dt.timedelta(days=days + 30))
        t1 = time.perf_counter()
        if piece is None:
            break
        assert store.install_archive(piece)
        packing.append(t1 - t0)
        moving.append(time.perf_counter() - t1)
    conn = store._connect(db)
    try:
        pages = dict(conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"
                                  ).fetchall())
        archived_tickets = conn.execute("SELECT COUNT(*) FROM native_visits").fetchone()[0]
        packed = conn.execute("SELECT SUM(LENGTH(events) + LENGTH(answers) + LENGTH(tickets))"
                              " FROM archive").fetchone()[0]
    finally:
        conn.close()
    store.close()
    archived = sum(pages.get(n, 0) for n in ("archive", "archive_by_day", "native_visits",
                                              "archived_requests"))
    archived_per = archived / max(archived_tickets, 1)
    daily = tickets / days
    year = (LIVE_DAYS + 1) * daily * live_per + (220_000 - (LIVE_DAYS + 1) * daily) * archived_per
    history = HistoryStore(db)
    month = f"{first.year:04d}-{first.month:02d}"
    report = month_report(history, config, month)
    read = timed(lambda: month_report(history, config, month))
    history.close()
    return {"days": days, "tickets": tickets, "live_db_mb": round(live_size / 1e6, 2),
            "live_bytes_per_ticket": round(live_per), "archived_days": len(packing),
            "archived_tickets": archived_tickets,
            "archived_bytes_per_ticket": round(archived_per),
            "archived_bytes_per_ticket_by_table": {
                n: round(pages.get(n, 0) / max(archived_tickets, 1))
                for n in ("archive", "native_visits", "archived_requests")},
            "packed_blob_bytes_per_ticket": round((packed or 0) / max(archived_tickets, 1)),
            "pack_day_s": _spread(packing), "move_day_s": _spread(moving),
            "year_of_220k_mb": round(year / 1e6),
            "report_tickets": report["tickets"], "report": read,
            "report_per_1000_tickets_s": round(read["median_s"] / max(tickets, 1) * 1000, 4)}


def _file_size(db: Path) -> int:
    return db.stat().st_size + sum(p.stat().st_size for p in db.parent.glob(db.name + "-wal"))


def _spread(times: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(times), 3), "max": round(max(times), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--daily-mean", type=float, default=820.0)
    parser.add_argument("--native-days", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = {"imported_year": imported_year(Path(tmp) / "year.db", args.daily_mean),
               "native": native_days(Path(tmp) / "native.db", args.native_days)}
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
