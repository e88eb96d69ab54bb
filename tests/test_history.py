"""History import (PROTOCOL.md "History and reports"): every bad row named with its line, all
rows or none, importing again changes nothing, a changed row is an update."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from dispatcher.domain.history import CSV_COLUMNS, Visit, parse_history_csv
from dispatcher.server.history import HistoryStore
from dispatcher.server.store import SCHEMA_VERSION, Store
from qms.cli import main

from .helpers import SHANGHAI, SMALL_TOML

SERVICES = {"sb-card", "yb-dabing"}
HEADER = ",".join(CSV_COLUMNS)
GOOD = f"""{HEADER}
2026-10-08,B001,sb-card,09:00:00,09:05:00,09:15:00,3,s3,done
2026-10-08,A001,yb-dabing,09:01:00,09:10:00,,4,,no_show
2026-10-08,B002,sb-card,09:02:00,,09:20:00,,,cancelled
"""


def parse(text: str) -> tuple[list[Visit], list[str]]:
    return parse_history_csv(text, SERVICES, SHANGHAI)


def test_a_good_export_gives_visits_at_local_times_of_their_day() -> None:
    visits, problems = parse("\ufeff" + GOOD)
    assert problems == []
    done, absent, cancelled = visits
    assert done == Visit(
        business_day=dt.date(2026, 10, 8), number="B001", service_id="sb-card",
        issued_at=dt.datetime(2026, 10, 8, 9, 0, tzinfo=SHANGHAI),
        called_at=dt.datetime(2026, 10, 8, 9, 5, tzinfo=SHANGHAI),
        finished_at=dt.datetime(2026, 10, 8, 9, 15, tzinfo=SHANGHAI), window=3, staff_id="s3",
        outcome="done", source="import")
    assert done.issued_at.utcoffset() == dt.timedelta(hours=8)
    assert (absent.outcome, absent.finished_at, absent.staff_id) == ("no_show", None, None)
    assert (cancelled.outcome, cancelled.called_at, cancelled.window) == ("cancelled", None, None)


BAD_ROWS = [  # (row, what its problem says)
    ("2026-13-01,B001,sb-card,09:00:00,09:05:00,09:15:00,3,s3,done", "date '2026-13-01'"),
    ("2026/10/08,B001,sb-card,09:00:00,09:05:00,09:15:00,3,s3,done", "is not a day YYYY-MM-DD"),
    ("2026-10-08,B-1,sb-card,09:00:00,09:05:00,09:15:00,3,s3,done", "number 'B-1'"),
    ("2026-10-08,B003,nope,09:00:00,09:05:00,09:15:00,3,s3,done", "unknown business 'nope'"),
    ("2026-10-08,B004,sb-card,9:00,09:05:00,09:15:00,3,s3,done",
     "issued_at '9:00' is not a time HH:MM:SS"),
    ("2026-10-08,B005,sb-card,09:00:00,24:05:00,09:15:00,3,s3,done",
     "called_at '24:05:00' is not a time"),
    ("2026-10-08,B006,sb-card,09:10:00,09:05:00,09:15:00,3,s3,done",
     "called_at 09:05:00 is before issued_at 09:10:00"),
    ("2026-10-08,B007,sb-card,09:00:00,09:05:00,09:04:59,3,s3,done",
     "finished_at 09:04:59 is before called_at 09:05:00"),
    ("2026-10-08,B008,sb-card,09:00:00,,08:59:00,,,cancelled",
     "finished_at 08:59:00 is before issued_at 09:00:00"),
    ("2026-10-08,B009,sb-card,09:00:00,09:05:00,09:15:00,3,s3,served",
     "outcome 'served' must be one of done, no_show, cancelled"),
    ("2026-10-08,B010,sb-card,09:00:00,09:05:00,09:15:00,3,,done",
     "staff_id is required when the outcome is done"),
    ("2026-10-08,B011,sb-card,09:00:00,,09:15:00,3,s3,done",
     "called_at is required when the outcome is done"),
    ("2026-10-08,B012,sb-card,09:00:00,09:05:00,,3,s3,done",
     "finished_at is required when the outcome is done"),
    ("2026-10-08,B013,sb-card,09:00:00,09:05:00,,,s3,no_show",
     "window is required when the outcome is no_show"),
    ("2026-10-08,B014,sb-card,09:00:00,09:05:00,09:06:00,,,cancelled",
     "called_at must be empty when the outcome is cancelled"),
    ("2026-10-08,B015,sb-card,09:00:00,,,3,,cancelled",
     "window must be empty when the outcome is cancelled"),
    ("2026-10-08,B016,sb-card,09:00:00,09:05:00,09:15:00,0,s3,done",
     "window '0' must be a number 1–999"),
    ("2026-10-08,B017,sb-card,09:00:00,09:05:00,09:15:00,3,S 3,done",
     "staff_id 'S 3' is not a valid id"),
    ("2026-10-08,B018,sb-card,,09:05:00,09:15:00,3,s3,done", "issued_at is required"),
    ("2026-10-08,B019,sb-card,09:00:00", "expected 9 fields"),
    ("2026-10-08,B001,sb-card,10:00:00,10:05:00,10:15:00,4,s4,done",
     "ticket B001 of 2026-10-08 is already on line 2"),
]


def test_every_kind_of_bad_row_is_named_with_its_line_and_nothing_is_taken() -> None:
    lines = [HEADER, "2026-10-08,B001,sb-card,09:00:00,09:05:00,09:15:00,3,s3,done", ""]
    lines += [row for row, _ in BAD_ROWS]  # (line 3 is blank: lines stay physical)
    visits, problems = parse("\n".join(lines) + "\n")
    assert visits == []
    assert len(problems) == len(BAD_ROWS), "\n".join(problems)
    for k, ((_, expected), problem) in enumerate(zip(BAD_ROWS, problems, strict=True), start=4):
        assert problem.startswith(f"line {k}: ") and expected in problem, (k, problem)


def test_a_row_with_several_problems_lists_each() -> None:
    _, problems = parse(f"{HEADER}\n2026-10-08,B001,nope,09:00:00,08:00:00,,3,,done\n")
    assert [p.split(": ", 1)[1] for p in problems] == [
        "unknown business 'nope'", "finished_at is required when the outcome is done",
        "staff_id is required when the outcome is done",
        "called_at 08:00:00 is before issued_at 09:00:00"]


def test_lines_count_physically_across_a_quoted_line_break() -> None:
    text = (f'{HEADER}\n2026-10-08,"B\n001",sb-card,09:00:00,09:05:00,09:15:00,3,s3,done\n'
            "2026-10-08,B002,nope,09:00:00,09:05:00,09:15:00,3,s3,done\n")
    _, problems = parse(text)
    assert problems[0].startswith("line 3: number") and problems[1].startswith("line 4: ")


@pytest.mark.parametrize("text", ["", "date,number\n2026-10-08,B001\n",
                                  HEADER.replace("staff_id", "staff") + "\n"])
def test_a_wrong_or_missing_header_is_refused_on_line_1(text: str) -> None:
    visits, problems = parse(text)
    assert visits == [] and len(problems) == 1
    assert problems[0].startswith("line 1: the header must be exactly " + HEADER)


# -- the store ---------------------------------------------------------------------------------


def test_an_import_is_one_transaction_and_a_failing_row_leaves_nothing(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "qms.db")
    try:
        good, _, _ = parse(GOOD)[0]
        broken = dataclasses.replace(good, number="B002", window=object())  # type: ignore[arg-type]
        with pytest.raises(sqlite3.Error):
            store.import_visits([good, broken])
        assert store.imported(dt.date(2026, 10, 1), dt.date(2026, 10, 31)) == []
    finally:
        store.close()


def test_the_dispatchers_store_makes_the_history_table_from_schema_5_on(tmp_path: Path) -> None:
    db = tmp_path / "qms.db"
    history = HistoryStore(db)  # before the dispatcher ever ran: its tables come later
    try:
        history.import_visits(parse(GOOD)[0])
    finally:
        history.close()
    Store(db).close()
    conn = sqlite3.connect(db)
    try:
        assert SCHEMA_VERSION >= 5
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() \
            == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT COUNT(*) FROM history").fetchone() == (3,)
    finally:
        conn.close()


# -- the command line --------------------------------------------------------------------------


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "center.toml"
    path.write_text(SMALL_TOML.replace("POLICY", "short_threshold = 2"), encoding="utf-8")
    return path


def _import(tmp_path: Path, text: str | bytes) -> int:
    csv = tmp_path / "history.csv"
    if isinstance(text, str):
        csv.write_text(text, encoding="utf-8")
    else:
        csv.write_bytes(text)
    return main(["history", "import", "--config", str(_config_file(tmp_path)), "--db",
                 str(tmp_path / "qms.db"), str(csv)])


def _stored(tmp_path: Path) -> list[Visit]:
    store = HistoryStore(tmp_path / "qms.db")
    try:
        return store.imported(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    finally:
        store.close()


def test_import_stores_every_row_again_changes_nothing_and_a_changed_row_is_updated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(tmp_path, GOOD) == 0
    assert capsys.readouterr().out == "imported 3 (3 new, 0 changed, 0 unchanged)\n"
    assert _import(tmp_path, GOOD) == 0
    assert capsys.readouterr().out == "imported 3 (0 new, 0 changed, 3 unchanged)\n"
    assert _import(tmp_path, GOOD.replace("09:15:00,3,s3", "09:16:00,3,s1")) == 0
    assert capsys.readouterr().out == "imported 3 (0 new, 1 changed, 2 unchanged)\n"
    stored = {v.number: v for v in _stored(tmp_path)}
    assert len(stored) == 3
    assert stored["B001"].finished_at == dt.datetime(2026, 10, 8, 9, 16, tzinfo=SHANGHAI)
    assert stored["B001"].staff_id == "s1"
    assert stored["A001"].called_at == dt.datetime(2026, 10, 8, 9, 10, tzinfo=SHANGHAI)


def test_a_file_with_one_bad_row_imports_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = GOOD + "2026-10-09,B001,sb-card,09:00:00,09:05:00,09:15:00,3,s3,finished\n"
    assert _import(tmp_path, bad) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.splitlines()
    assert err[0].endswith("history.csv: line 5: outcome 'finished' must be one of done, "
                           "no_show, cancelled")
    assert err[-1] == "nothing imported: 1 problem(s)"
    assert _stored(tmp_path) == []


def test_an_export_that_is_not_utf8_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(tmp_path, GOOD.replace("s3", "张三").encode("gb18030")) == 2
    assert "not UTF-8" in capsys.readouterr().err
