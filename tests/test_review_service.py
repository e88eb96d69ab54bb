"""The service after review: a resume never overfills a subscriber's queue, closing a full
queue does not raise, and the first business day of a new database starts by the clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

from dispatcher.domain import commands as c
from dispatcher.domain.core import QueueCore
from dispatcher.server.service import RESUME_LIMIT, DispatcherService, Subscriber
from dispatcher.server.store import Store

from .conftest import wait_until
from .helpers import HALL, KIOSK, MONDAY_9, SCREEN, small_config
from .live import FakeClock, LiveDispatcher

SMALL = small_config()


def drain(sub: Subscriber) -> list[dict[str, Any] | None]:
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


def test_a_subscriber_too_far_behind_for_its_queue_gets_a_snapshot_not_an_error(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")

    async def scenario() -> None:
        service = DispatcherService(SMALL, store, FakeClock())
        await service.start()
        try:
            missed = Subscriber().queue.maxsize + 100  # more than a queue holds
            await asyncio.gather(*[
                service.execute(c.IssueTicket(request_id=f"t{i}", service_id="sb-card"))
                for i in range(missed)])
            far = drain(await service.subscribe(since=0, epoch=service.epoch))
            assert far[0] is not None and far[0]["type"] == "snapshot" and len(far) == 1
            since = service.seq - RESUME_LIMIT  # as far behind as a resume goes
            near = drain(await service.subscribe(since=since, epoch=service.epoch))
            assert near[0] is not None and near[0]["type"] == "resume"
            assert [m["seq"] for m in near[1:] if m] == list(range(since + 1, service.seq + 1))
        finally:
            await service.stop()

    asyncio.run(scenario())
    store.close()


def test_closing_a_subscriber_whose_queue_is_full_ends_its_stream(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")

    async def scenario() -> None:
        service = DispatcherService(SMALL, store, FakeClock())
        await service.start()
        sub = await service.subscribe()
        while not sub.queue.full():
            sub.queue.put_nowait({"type": "filler"})
        await service.stop()  # closes every subscription
        assert sub.closed and drain(sub)[-1] is None  # the end mark is there

    asyncio.run(scenario())
    store.close()


def test_a_new_database_has_its_first_business_day_due() -> None:
    core = QueueCore(SMALL)
    assert core.day_is_over(MONDAY_9)  # no day yet: StartDay is due
    core.handle(c.StartDay(request_id="day-1"), MONDAY_9)
    assert not core.day_is_over(MONDAY_9 + dt.timedelta(hours=12))
    assert core.day_is_over(MONDAY_9 + dt.timedelta(hours=20))  # Tuesday 05:00


def test_a_new_dispatcher_starts_its_first_day_without_any_request(tmp_path: Path) -> None:
    live = LiveDispatcher(SMALL, tmp_path / "q.db").start()
    try:
        def state() -> dict[str, Any]:
            body: dict[str, Any] = live.call("GET", "/state", token=SCREEN)[1]
            return body

        wait_until(lambda: state()["date"] == "2026-11-30", timeout=5, what="the first day")
        assert state()["seq"] == 1  # day_started, once
        status, body = live.call("POST", "/tickets", {"request_id": "k", "service_id": "sb-card"},
                                 token=KIOSK)
        assert (status, body["ticket"]["number"]) == (201, "B001")
        assert live.call("GET", "/tickets", token=HALL)[1]["tickets"][0]["number"] == "B001"
        assert state()["seq"] == 2
    finally:
        live.stop()
