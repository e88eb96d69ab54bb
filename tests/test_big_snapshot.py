"""A hall with 20,000 waiting tickets still reaches every screen (the snapshot is ≈ 9 MB)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

from dispatcher.client import DispatcherClient
from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.server.store import Record, Store

from .helpers import MONDAY_9, SCREEN, small_config
from .live import FakeClock, LiveDispatcher

WAITING = 20_000


def fill(db: Path) -> None:
    """20,000 tickets issued through the core and committed as the service would."""
    config = small_config()
    core = QueueCore(config)
    store = Store(db)
    services = [s.id for s in config.services.values()]
    records: list[Record] = []
    for i in range(WAITING):
        command = c.IssueTicket(request_id=f"fill-{i}", service_id=services[i % len(services)])
        outcome = core.handle(command, MONDAY_9 + dt.timedelta(milliseconds=i))
        records.append(Record(command, outcome, core.state.seq, "kiosk-1"))
        if len(records) == 1000:
            store.append(records)
            records = []
    store.append(records)
    store.close()


def test_a_snapshot_of_20000_waiting_tickets_reaches_a_client(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    fill(db)
    clock = FakeClock(MONDAY_9 + dt.timedelta(minutes=30))
    live = LiveDispatcher(small_config(), db, clock=clock).start()

    async def first_snapshot() -> dict[str, Any]:
        client = DispatcherClient(live.url, SCREEN)
        try:
            async with asyncio.timeout(60):
                async for item in client.events():
                    if item.get("type") == "snapshot":
                        return item
        finally:
            await client.close()
        raise AssertionError("no snapshot")

    try:
        snapshot = asyncio.run(first_snapshot())
    finally:
        live.stop()
    assert len(snapshot["state"]["waiting"]) == WAITING
    assert len(json.dumps(snapshot, ensure_ascii=False).encode()) > 4 * 1024 * 1024
