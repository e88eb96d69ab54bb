"""`qms history import CSV` and `qms report --month YYYY-MM` (PROTOCOL.md, History and
reports). An import checks every row first: one bad row imports nothing, and each problem is
printed with its line; importing the same file again changes nothing. Both work while the
dispatcher runs (their own connection to the database)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dispatcher.domain.history import parse_history_csv
from dispatcher.domain.report import month_days, report_text
from dispatcher.server.history import HistoryStore
from dispatcher.server.main import default_db_path
from dispatcher.server.reports import day_seating, day_what_if, month_forecast, month_report
from qms.appointments import read_export
from qms.config import QmsConfig

EXIT_INVALID = 2


def _open_store(config_path: Path, args: argparse.Namespace) -> HistoryStore | None:
    """The dispatcher's database for reading, or None (said on stderr) when it does not
    exist: a report of nothing would look like a month without residents."""
    db: Path = args.db or default_db_path(config_path)
    if not db.exists():
        print(f"{db}: no such database (start the dispatcher or import history first)",
              file=sys.stderr)
        return None
    return HistoryStore(db)


def _read_month(read: Callable[[HistoryStore, QmsConfig, str], dict[str, Any]],
                config: QmsConfig, config_path: Path, args: argparse.Namespace
                ) -> dict[str, Any] | None:
    """`read(store, config, --month)`, the month checked before the database is opened;
    None (said on stderr) for a bad month or a missing database."""
    try:
        month_days(args.month)
    except ValueError as exc:
        print(f"--month: {exc}", file=sys.stderr)
        return None
    store = _open_store(config_path, args)
    if store is None:
        return None
    try:
        return read(store, config, args.month)
    finally:
        store.close()


def history_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    path: Path = args.csv
    text = read_export(path)
    if text is None:
        return EXIT_INVALID
    visits, problems = parse_history_csv(text, config.services, config.center.tz)
    if problems:
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        print(f"nothing imported: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_INVALID
    store = HistoryStore(args.db or default_db_path(config_path))
    try:
        done = store.import_visits(visits)
        days = sorted({v.business_day for v in visits})
        native = store.native_days(days[0], days[-1]) & set(days) if days else set()
    finally:
        store.close()
    print(f"imported {len(visits)} ({done.added} new, {done.updated} changed, "
          f"{done.unchanged} unchanged)")
    if native:
        print(f"note: {len(native)} day(s) of the file ({min(native)} … {max(native)}) have "
              "this dispatcher's own tickets: reports count those, not the imported rows")
    return 0


def report_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    report = _read_month(month_report, config, config_path, args)
    if report is None:
        return EXIT_INVALID
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(report_text(report, services={s.id: s.name for s in config.services.values()},
                          staff={s.id: s.name for s in config.staff},
                          departments={d.id: d.name for d in config.departments}), end="")
    return 0


def forecast_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    """`qms forecast --month YYYY-MM [--json]`: the month's tickets per day and business."""
    result = _read_month(month_forecast, config, config_path, args)
    if result is None:
        return EXIT_INVALID
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    test = result["backtest"]
    lo, hi = result["total_interval"]
    print(f"{result['month']} 取号预测 forecast ({result['method']}): {result['total']:.0f} "
          f"(80% {lo:.0f}–{hi:.0f})")
    if not result["holidays_known"]:
        print(f"注意 note: {result['month'][:4]} 年节假日未收录 — this year's holidays are not "
              "listed (add them to [ratings] holidays / workdays): the ordinary week is assumed")
    if test["wape"] is not None:
        print(f"回测 backtest WAPE {test['wape'] * 100:.1f}% vs 基线 baseline "
              f"{test['baseline_wape'] * 100:.1f}% over {len(test['months'])} months")
        for m in test["months"]:
            print(f"  {m['month']}: {m['wape'] * 100:.1f}% vs {m['baseline_wape'] * 100:.1f}%")
    else:
        print("回测 backtest: not enough history (8 weeks before a complete month)")
    for day, value in result["by_day"].items():
        if value:
            print(f"  {day} {value:.0f}")
    names = {s.id: s.name for s in config.services.values()}
    print("按业务 by business:")
    for sid, value in sorted(result["by_service"].items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {names.get(sid, sid)} [{sid}]: {value:.0f}")
    for kind, hours in result["staffing"]["windows"].items():
        print(f"窗口需求 windows needed, {kind}: "
              + " ".join(f"{h}时 {n}" for h, n in hours.items()))
    return 0


def whatif_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    """`qms whatif --day YYYY-MM-DD [changes] [--json]`: the day again, with the changes."""
    try:
        day = dt.date.fromisoformat(args.day)
        seating = {}
        for seat in args.seat or ():
            window, _, who = seat.partition("=")
            seating[int(window)] = who or None
    except ValueError as exc:
        print(f"bad --day or --seat: {exc} (--day YYYY-MM-DD, --seat WINDOW=STAFF or WINDOW=)",
              file=sys.stderr)
        return EXIT_INVALID
    store = _open_store(config_path, args)
    if store is None:
        return EXIT_INVALID
    try:
        result = day_what_if(store, config, day, policy=args.policy,
                             short_threshold=args.short_threshold, windows=args.windows,
                             seating=seating)
    except ValueError as exc:
        print(f"whatif: {exc}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        store.close()
    if result["happened"]["tickets"] == 0:
        print(f"{day}: no tickets that day", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    rows = (("实际 happened", result["happened"]),
            ("模拟·当日配置 simulated as it was", result["simulated_as_it_was"]),
            ("模拟·调整后 simulated with the changes", result["simulated_with_changes"]))
    print(f"{day} 推演 what-if: {json.dumps(result['changes'], ensure_ascii=False)}")
    for name, r in rows:
        print(f"  {name}: 窗口 windows {r['windows']} · 平均等候 mean wait "
              f"{r['mean_wait_s'] / 60:.1f} min · P90 {r['p90_wait_s'] / 60:.1f} min · "
              f"最长 max {r['max_wait_s'] / 60:.1f} min")
    return 0


def seating_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    """`qms seating --day YYYY-MM-DD [--staff s01,s02,…] [--json]`: who sits where."""
    try:
        day = dt.date.fromisoformat(args.day)
    except ValueError as exc:
        print(f"--day: {exc}", file=sys.stderr)
        return EXIT_INVALID
    available = [s.strip() for s in args.staff.split(",") if s.strip()] if args.staff else None
    known = {s.id for s in config.staff}
    if available is not None and not set(available) <= known:
        print(f"--staff: unknown {', '.join(sorted(set(available) - known))}", file=sys.stderr)
        return EXIT_INVALID
    store = _open_store(config_path, args)
    if store is None:
        return EXIT_INVALID
    try:
        result = day_seating(store, config, day, available)
    finally:
        store.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    names = {s.id: s.name for s in config.staff}
    green = set(config.green_windows)
    print(f"{day} 座位建议 seating: forecast {result['forecast_total']:.0f} residents, "
          f"breaks {', '.join(result['breaks']) or 'none'}, {result['simulations']} simulations")
    for key, title in (("configured", "现安排 configured"), ("suggested", "建议 suggested")):
        r = result[key]
        seats = " ".join(f"{w}{'绿' if int(w) in green else ''}:{names.get(s or '', '—')}"
                         for w, s in r["seating"].items())
        print(f"  {title}: {seats}")
        print(f"    预计 expected: within {config.reports.target_wait_min} min "
              f"{r['service_level'] * 100:.1f}% · 平均等候 mean wait "
              f"{r['mean_wait_s'] / 60:.1f} min · P90 {r['p90_wait_s'] / 60:.1f} min")
    return 0
