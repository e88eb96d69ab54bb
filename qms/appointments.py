"""`qms appointments import CSV`: bookings from the city portal's export (PROTOCOL.md,
Appointments). Every row is checked first; one bad row imports nothing and each problem is
printed with its line. Importing the same file again changes nothing. Works while the
dispatcher runs (its own connection to the database)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from dispatcher.domain.appointments import parse_csv
from dispatcher.server.bookings import BookingStore
from dispatcher.server.main import default_db_path
from qms.config import QmsConfig

EXIT_INVALID = 2


def read_export(path: Path) -> str | None:
    """An export file's text (UTF-8, as the portal and other systems save CSV), or None,
    said on stderr: unreadable, or not UTF-8."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
    except UnicodeDecodeError:
        print(f"{path}: not UTF-8 text (save the export as CSV UTF-8)", file=sys.stderr)
    return None


def appointments_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    path: Path = args.csv
    text = read_export(path)
    if text is None:
        return EXIT_INVALID
    store = BookingStore(args.db or default_db_path(config_path))
    try:
        bookings, problems = parse_csv(text, config.services, config.appointments, store.all())
        if problems:
            for problem in problems:
                print(f"{path}: {problem}", file=sys.stderr)
            print(f"nothing imported: {len(problems)} problem(s)", file=sys.stderr)
            return EXIT_INVALID
        done = store.import_bookings(bookings, dt.datetime.now(dt.UTC))
    finally:
        store.close()
    print(f"imported {len(bookings)} ({done.added} new, {done.updated} changed, "
          f"{done.unchanged} unchanged)")
    return 0
