"""What a busy day writes to the SD card; prints one JSON object.

    .venv/bin/python -m bench.wal [--tickets 1500]      (from the repository root)

Runs a day of the example center through the Store, one request per commit as a real hall
mostly commits: each ticket is issued, its print reported by the kiosk, called at a window and
finished by that window's next call. The Store's files live in tests/crashvfs.py's disk in
memory, which counts what SQLite hands the OS: bytes passed to write(), syncs, and the
distinct 4 KiB blocks dirtied between syncs (what a device writes: a file system writes whole
blocks). Also: the WAL's size over the day (the largest, and sampled), whether checkpoints
keep it within the autocheckpoint size plus a commit, and how many there were (a checkpoint
ends with a database sync). The figures are counts, so they hold on a Pi as here.

Schema 1 (4 KiB pages, an index on the event type, tickets' indexes on their status, INSERT
OR REPLACE) wrote 177 KB per ticket (59 KB per commit); schema 2 writes 44 KB (15 KB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from dispatcher.domain import commands as c
from dispatcher.domain.commands import CommandError
from dispatcher.domain.config import Config
from dispatcher.domain.core import QueueCore
from dispatcher.server.store import Record, Store
from qms.config import load_config
from tests.crashvfs import BLOCK, Disk

ROOT = Path(__file__).resolve().parent.parent
WAITING = 15  # the windows call whenever more than this many wait


class Day:
    """One day at the center, each request committed on its own."""

    def __init__(self, config: Config, store: Store, disk: Disk, seed: int) -> None:
        self.config, self.store, self.disk = config, store, disk
        self.rng = random.Random(seed)
        self.core = QueueCore(config)
        tz = config.center.tz
        self.now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=tz)
        self.ids = itertools.count(1)
        self.prefixes: dict[str, str] = {}
        self.commits = 0
        self.wal_sizes: list[int] = []

    def rid(self, device: str) -> str:
        """A request id as the devices' client makes them: device, boot, counter."""
        if device not in self.prefixes:
            self.prefixes[device] = f"{device}-{self.rng.randbytes(6).hex()}"
        return f"{self.prefixes[device]}-{next(self.ids)}"

    def request(self, command: c.Command, device: str) -> dict[str, Any] | None:
        self.now += dt.timedelta(seconds=self.rng.uniform(2, 12))
        try:
            outcome = self.core.handle(command, self.now)
        except CommandError:
            return None
        self.store.append([Record(command, outcome, self.core.state.seq, device)])
        self.commits += 1
        if self.commits % 250 == 0:
            self.wal_sizes.append(self.disk.size("wal"))
        return outcome.reply

    def run(self, tickets: int) -> None:
        services = list(self.config.services)
        windows = itertools.cycle([w.number for w in self.config.windows])
        issued = 0
        while issued < tickets:
            kiosk = self.rng.choice(["kiosk-1", "kiosk-2"])
            reply = self.request(c.IssueTicket(request_id=self.rid(kiosk),
                                               service_id=self.rng.choice(services)), kiosk)
            if reply is None:
                continue  # no window serves that business today
            issued += 1
            self.request(c.ReportPrint(request_id=self.rid(kiosk), printed=True,
                                       ticket_id=reply["ticket"]["id"]), kiosk)
            while len(self.core.state.waiting) > WAITING:
                self.call(next(windows))
        for _ in range(len(self.config.windows) * (tickets + 1)):
            if not self.core.state.waiting:
                break
            self.call(next(windows))
        for window in self.config.windows:  # the last ones are finished too
            self.request(c.Pause(request_id=self.rid(f"desk-{window.number}"),
                                 window=window.number), f"desk-{window.number}")

    def call(self, window: int) -> None:
        desk = f"desk-{window}"
        self.request(c.CallNext(request_id=self.rid(desk), window=window), desk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = load_config(ROOT / "examples" / "center.toml")
    with tempfile.TemporaryDirectory() as tmp:
        disk = Disk(root=Path(tmp))
        report = measure(config, disk, args.tickets, args.seed)
    print(json.dumps(report, indent=2))


def measure(config: Config, disk: Disk, tickets: int, seed: int) -> dict[str, Any]:
    store = Store(disk.path("qms.db"), connect=disk.connect)
    pragmas = {name: store._query(f"PRAGMA {name}")[0][0]
               for name in ("page_size", "wal_autocheckpoint", "journal_size_limit")}
    day = Day(config, store, disk, seed)
    started = time.perf_counter()
    day.run(tickets)
    seconds = time.perf_counter() - started
    store.close()  # the last connection checkpoints and removes the WAL, as at a shutdown

    n, s = tickets, disk.stats
    wal_limit = pragmas["wal_autocheckpoint"] * (pragmas["page_size"] + 24)
    most_per_commit = 64 * (pragmas["page_size"] + 24)
    written = {kind: s[kind].bytes for kind in ("wal", "db")}
    blocks = {kind: s[kind].blocks for kind in ("wal", "db")}
    return {
        "tickets": n,
        "commits": day.commits,
        "pragmas": pragmas,
        "bytes_written_per_ticket": {k: round(v / n) for k, v in written.items()}
        | {"total": round(sum(written.values()) / n)},
        "bytes_written_per_commit": round(sum(written.values()) / day.commits),
        "device_bytes_per_ticket": {k: round(v * BLOCK / n) for k, v in blocks.items()}
        | {"total": round(sum(blocks.values()) * BLOCK / n)},
        "syncs_per_commit": round((s["wal"].syncs + s["db"].syncs) / day.commits, 2),
        "checkpoints": s["db"].syncs,
        "wal_max_bytes": s["wal"].max_size,
        "wal_autocheckpoint_bytes": wal_limit,
        "wal_bounded": s["wal"].max_size <= wal_limit + most_per_commit,
        "wal_bytes_sampled_every_250_commits": day.wal_sizes,
        "database_bytes": disk.size("db"),
        "seconds_through_the_python_vfs": round(seconds, 1),
    }


if __name__ == "__main__":
    main()
