"""Crash test: kiosks and callers under load while the dispatcher is SIGKILLed, 50 times.

After each kill: every acknowledged ticket and call is in the log, no number twice in a day,
`seq` continuous, and a request retried after the restart gets the answer it would have got.
After each restart: the served state equals a full replay of the log.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatcher.domain.core import QueueCore
from dispatcher.domain.events import event_from_dict
from qms.config import parse_config

from .helpers import DEFAULT_POLICY, HALL, KIOSK, SCREEN, SMALL_TOML
from .live import http_call

CYCLES = 50
KIOSKS = 4
CALLERS = 2
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Worker:
    """One device: sends requests, remembers what was acknowledged and what is in flight."""

    name: str
    token: str
    n: int = 0
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # request_id -> answer
    in_flight: tuple[str, str, dict[str, Any]] | None = None  # (rid, path, body)
    retried: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def next_request(self, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
        self.n += 1
        rid = f"{self.name}-{self.n}"
        if self.token == KIOSK:
            service = rng.choice(["sb-card", "yb-dabing", "yb-jilu", "yb-baoxiao", "zf-lianzu"])
            return rid, "/tickets", {"request_id": rid, "service_id": service}
        window = rng.randint(1, 4)
        return rid, f"/windows/{window}/call-next", {"request_id": rid}

    def run(self, port: int, rng: random.Random, stop: threading.Event) -> None:
        while not stop.is_set():
            was_retry = self.in_flight is not None
            if self.in_flight is None:
                self.in_flight = self.next_request(rng)
            rid, path, body = self.in_flight
            try:
                status, answer = http_call(port, "POST", path, body, self.token, timeout=5)
            except OSError:
                return  # the dispatcher died: retry this same request after the restart
            if status in (200, 201):
                self.acked[rid] = answer
                if was_retry:
                    self.retried.append((rid, answer))
            self.in_flight = None


def start(config_path: Path, db: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "qms", "dispatcher", "--config", str(config_path),
         "--db", str(db), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "serving http://" in line, line
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return proc, port


def read_log(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    try:
        return [json.loads(d) for (d,) in conn.execute("SELECT data FROM events ORDER BY seq")]
    finally:
        conn.close()


def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    policy = "\n".join(f"{k} = {v}" for k, v in {**DEFAULT_POLICY, "double_press_s": 0}.items())
    toml = SMALL_TOML.replace("POLICY", policy)
    config_path = tmp_path / "center.toml"
    config_path.write_text(toml, encoding="utf-8")
    config = parse_config(toml)
    db = tmp_path / "qms.db"
    rng = random.Random(20261128)
    workers = [Worker(f"kiosk{i}", KIOSK) for i in range(KIOSKS)] + [
        Worker(f"hall{i}", HALL) for i in range(CALLERS)
    ]
    kills_under_load = 0
    for _ in range(CYCLES):
        proc, port = start(config_path, db)
        try:
            # The served state is a full replay of the log (the server replays partially),
            # up to its seq: the clock may start a business day after the state is read.
            state = http_call(port, "GET", "/state", token=SCREEN)[1]
            log = [m for m in read_log(db) if m["seq"] <= state["seq"]]
            replayed = QueueCore.replay(config, [event_from_dict(m) for m in log]).state
            assert state == {**replayed.to_dict(), "epoch": state["epoch"]}
            stop = threading.Event()
            threads = [threading.Thread(target=w.run, args=(port, random.Random(rng.random()),
                                                            stop)) for w in workers]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.35))
            seq_at_kill = http_call(port, "GET", "/health")[1]["seq"]
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            proc.kill()  # SIGKILL: no cleanup, no flush
            proc.wait()
        stop.set()
        for t in threads:
            t.join(10)
        kills_under_load += any(w.in_flight is not None for w in workers)

        log = read_log(db)
        seqs = [m["seq"] for m in log]
        assert seqs == list(range(1, len(seqs) + 1)), "seq is not continuous"
        assert len(seqs) >= seq_at_kill
        issued = [m for m in log if m["type"] == "ticket_issued"]
        per_day = Counter((m["business_day"], m["number"]) for m in issued)
        assert max(per_day.values()) == 1, "a number was issued twice in a day"
        by_request = {m["request_id"]: m for m in issued}
        calls = {m["request_id"]: m for m in log if m["type"] == "ticket_called"}
        for w in workers:
            for rid, answer in w.acked.items():
                if w.token == KIOSK:
                    assert by_request[rid]["ticket_id"] == answer["ticket"]["id"], rid
                elif answer["ticket"] is not None and "ignored" not in answer:
                    assert calls[rid]["ticket_id"] == answer["ticket"]["id"], rid

    assert kills_under_load >= CYCLES // 2, "the kills should land while requests are in flight"
    retried = sum(len(w.retried) for w in workers)
    acked = sum(len(w.acked) for w in workers)
    print(f"\ncrash test: {CYCLES} SIGKILLs ({kills_under_load} with requests in flight), "
          f"{acked} acknowledged requests, {retried} retried across a restart, "
          f"{len(read_log(db))} events; nothing acknowledged lost")


def test_copies_of_the_database_taken_under_load_are_consistent(tmp_path: Path) -> None:
    """A crude power cut: the database files copied at random moments while requests commit.

    Each copy must open, pass SQLite's integrity check, hold a gap-free event log with unique
    numbers, and replay into a state; a torn write-ahead-log tail is simply not part of it.
    """
    import shutil

    policy = "\n".join(f"{k} = {v}" for k, v in DEFAULT_POLICY.items())
    toml = SMALL_TOML.replace("POLICY", policy)
    config_path = tmp_path / "center.toml"
    config_path.write_text(toml, encoding="utf-8")
    config = parse_config(toml)
    db = tmp_path / "qms.db"
    proc, port = start(config_path, db)
    rng = random.Random(7)
    stop = threading.Event()
    workers = [Worker(f"kiosk{i}", KIOSK) for i in range(3)]
    threads = [threading.Thread(target=w.run, args=(port, random.Random(i), stop))
               for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    try:
        for n in range(30):
            time.sleep(rng.uniform(0.01, 0.08))
            copy = tmp_path / f"copy{n}"
            copy.mkdir()
            # The log first, then the main file (a checkpoint in between then only moves
            # pages the copied log holds anyway); the -shm index is rebuilt on open.
            for suffix in ("-wal", ""):
                source = Path(f"{db}{suffix}")
                if source.exists():
                    shutil.copyfile(source, copy / f"qms.db{suffix}")
            conn = sqlite3.connect(copy / "qms.db")
            try:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                log = [json.loads(d) for (d,) in
                       conn.execute("SELECT data FROM events ORDER BY seq")]
            finally:
                conn.close()
            seqs = [m["seq"] for m in log]
            assert seqs == list(range(1, len(seqs) + 1))
            numbers = Counter((m["business_day"], m["number"]) for m in log
                              if m["type"] == "ticket_issued")
            assert not numbers or max(numbers.values()) == 1
            QueueCore.replay(config, [event_from_dict(m) for m in log])
    finally:
        stop.set()
        proc.kill()
        proc.wait()
        for t in threads:
            t.join(10)
